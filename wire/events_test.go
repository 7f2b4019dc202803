package wire

import (
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"pgregory.net/rapid"

	"github.com/jinlian-ledger/jinlian/proto/txpb"
)

// Every event message survives Event then ParseEvent with any field values.
func TestEventRoundTrip(t *testing.T) {
	for _, typ := range EventTypes() {
		mt := eventsByType[typ]
		t.Run(typ, rapid.MakeCheck(func(t *rapid.T) {
			r := mt.New()
			fields := r.Descriptor().Fields()
			for i := range fields.Len() {
				f := fields.Get(i)
				r.Set(f, randomValue(t, f))
			}
			ev := Event(r.Interface())
			if ev.Type != typ || len(ev.Attributes) != fields.Len() {
				t.Fatalf("event %+v", ev)
			}
			back, ok, err := ParseEvent(ev)
			if !ok || err != nil {
				t.Fatalf("ParseEvent: %v %v", ok, err)
			}
			if !proto.Equal(back, r.Interface()) {
				t.Fatalf("round trip: %v != %v", back, r.Interface())
			}
		}))
	}
}

func randomValue(t *rapid.T, f protoreflect.FieldDescriptor) protoreflect.Value {
	name := string(f.Name())
	switch f.Kind() {
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(rapid.String().Draw(t, name))
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(rapid.Bool().Draw(t, name))
	case protoreflect.Int64Kind:
		return protoreflect.ValueOfInt64(rapid.Int64().Draw(t, name))
	case protoreflect.Uint64Kind:
		return protoreflect.ValueOfUint64(rapid.Uint64().Draw(t, name))
	case protoreflect.Uint32Kind:
		return protoreflect.ValueOfUint32(rapid.Uint32().Draw(t, name))
	}
	t.Fatalf("field %s: kind %s has no generator", name, f.Kind())
	return protoreflect.Value{}
}

func TestParseEventRefuses(t *testing.T) {
	good := Event(&txpb.EventTransfer{Ledger: "payments", Asset: "CNY", Amount: 5})
	if _, ok, err := ParseEvent(abci.Event{Type: "tx"}); ok || err != nil {
		t.Errorf("a foreign event type: %v %v", ok, err)
	}
	for name, attrs := range map[string][]abci.EventAttribute{
		"unknown attribute":  append(good.Attributes, abci.EventAttribute{Key: "fee", Value: "1"}),
		"repeated attribute": append(good.Attributes, good.Attributes[0]),
		"bad number":         {{Key: "amount", Value: "-5"}},
		"overflow":           {{Key: "amount", Value: "18446744073709551616"}},
	} {
		if _, ok, err := ParseEvent(abci.Event{Type: "transfer", Attributes: attrs}); !ok || err == nil {
			t.Errorf("%s: accepted (%v)", name, ok)
		}
	}
	if _, _, err := ParseEvent(abci.Event{Type: "sanction", Attributes: []abci.EventAttribute{{Key: "removed", Value: "maybe"}}}); err == nil {
		t.Error("a bool that is not one")
	}
}

// FuzzParseEvent: events come from outside (a node's RPC); the decoder
// never panics, and what it accepts encodes back to the same attributes.
func FuzzParseEvent(f *testing.F) {
	f.Add("transfer", "amount", "5", "to", "ab")
	f.Add("sanction", "removed", "true", "entry", "x")
	f.Add("checkpoint", "epoch", "18446744073709551615", "height", "-1")
	f.Fuzz(func(t *testing.T, typ, k1, v1, k2, v2 string) {
		ev := abci.Event{Type: typ, Attributes: []abci.EventAttribute{{Key: k1, Value: v1}, {Key: k2, Value: v2}}}
		m, ok, err := ParseEvent(ev)
		if !ok || err != nil {
			return
		}
		again := Event(m)
		back, _, err := ParseEvent(again)
		if err != nil || !proto.Equal(back, m) {
			t.Fatalf("re-encoded %+v does not parse back: %v", again, err)
		}
	})
}
