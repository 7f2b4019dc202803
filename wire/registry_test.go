package wire

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/jinlian-ledger/jinlian/proto/txpb"
)

func TestRegistryCoversEveryMessage(t *testing.T) {
	fields := bodyOneof.Fields()
	for i := range fields.Len() {
		f := fields.Get(i)
		m := &txpb.Message{}
		m.ProtoReflect().Set(f, m.ProtoReflect().NewField(f))
		s, ok := Spec(m)
		if !ok || s.Name != string(f.Name()) || MessageName(m) != s.Name {
			t.Errorf("field %s: spec %+v, %v", f.Name(), s, ok)
		}
	}
	if _, ok := Spec(&txpb.Message{}); ok || MessageName(&txpb.Message{}) != "unknown" {
		t.Error("an empty message has a spec")
	}
}

// checkRegistry is what stops a program whose registry drifted from the
// protobuf message set: each way of drifting must be caught.
func TestCheckRegistryRefusesDrift(t *testing.T) {
	good := Messages()
	if err := checkRegistry(bodyOneof, good); err != nil {
		t.Fatal(err)
	}
	cases := map[string]func([]MessageSpec) []MessageSpec{
		"missing entry": func(s []MessageSpec) []MessageSpec { return s[:len(s)-1] },
		"wrong order":   func(s []MessageSpec) []MessageSpec { s[0], s[1] = s[1], s[0]; return s },
		"no policy":     func(s []MessageSpec) []MessageSpec { s[2].Policy = ""; return s },
		"no events":     func(s []MessageSpec) []MessageSpec { s[2].Events = nil; return s },
		"not an event":  func(s []MessageSpec) []MessageSpec { s[2].Events = events(&txpb.Transfer{}); return s },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			if err := checkRegistry(bodyOneof, mutate(Messages())); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestProposalTypes(t *testing.T) {
	types := ProposalTypes()
	if len(types) != actionOneof.Fields().Len() || types[0] != "add_organisation" {
		t.Fatalf("%v", types)
	}
	p := &txpb.Propose{Action: &txpb.Propose_PlaceHold{PlaceHold: &txpb.PlaceHold{}}}
	if got := ProposalType(p); got != "place_hold" {
		t.Errorf("ProposalType = %q", got)
	}
	if got := ProposalType(&txpb.Propose{}); got != "" {
		t.Errorf("no action: %q", got)
	}
}

func TestEventTypeNames(t *testing.T) {
	for m, want := range map[protoreflect.ProtoMessage]string{
		&txpb.EventAmlThreshold{}: "aml_threshold", &txpb.EventJinlianTx{}: "jinlian_tx",
		&txpb.EventTransfer{}: "transfer", &txpb.EventProposalVote{}: "proposal_vote",
	} {
		if got := EventType(m); got != want {
			t.Errorf("%T: %q, want %q", m, got, want)
		}
	}
	if got := strings.Join(EventTypes(), " "); !strings.Contains(got, "checkpoint checkpoint_key") {
		t.Errorf("EventTypes: %s", got)
	}
}
