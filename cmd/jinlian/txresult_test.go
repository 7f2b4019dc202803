package main

import (
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"google.golang.org/protobuf/proto"

	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

func TestProposalOf(t *testing.T) {
	ev := func(status string, id uint64) abci.Event {
		if status == "vote" {
			return wire.Event(&txpb.EventProposalVote{Proposal: id, Org: "bankA", Yes: true})
		}
		return wire.Event(&txpb.EventProposal{Proposal: id, Type: "set_params", Status: status})
	}
	for _, tc := range []struct {
		name   string
		events []abci.Event
		id     uint64
		status string
	}{
		{"a transfer opens no proposal", []abci.Event{{Type: "transfer"}}, 0, ""},
		{"propose, still voting", []abci.Event{ev("voting", 7)}, 7, "voting"},
		{"propose that passes at once", []abci.Event{ev("voting", 8), ev("passed", 8)}, 8, "passed"},
		{"deciding vote", []abci.Event{ev("vote", 3), ev("passed", 3)}, 3, "passed"},
		{"vote that makes it hopeless", []abci.Event{ev("vote", 4), ev("rejected", 4)}, 4, "rejected"},
		{"vote, still voting", []abci.Event{ev("vote", 5)}, 5, "voting"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, status := proposalOf(tc.events)
			if id != tc.id || status != tc.status {
				t.Fatalf("got %d %q, want %d %q", id, status, tc.id, tc.status)
			}
		})
	}
}

func TestActionFields(t *testing.T) {
	p := &txpb.Propose{Action: &txpb.Propose_SetValidator{SetValidator: &txpb.SetValidator{
		PubKeyEd25519: []byte{0xab, 0xcd}, Org: "bankB", Power: 10}}}
	b, err := proto.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	got := actionFields(b)
	want := map[string]string{"pub_key_ed25519": "abcd", "org": "bankB", "power": "10"}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("%s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	if got := actionFields([]byte{0xff}); got["error"] == "" {
		t.Fatalf("undecodable action: %v", got)
	}
}
