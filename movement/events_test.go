package movement

import (
	"reflect"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

func TestFromEvents(t *testing.T) {
	issuer := "dd" + alice[2:]
	events := []abci.Event{
		wire.Event(&txpb.EventTransfer{Ledger: "payments", Asset: "CNY", From: alice, To: bob, Amount: 5, FromBalance: 95, ToBalance: 5, ToOrg: "bankB", Memo: "R-1"}),
		wire.Event(&txpb.EventCustodyCreated{Ledger: "payments", Account: bob, Creator: alice}), // moves nothing
		wire.Event(&txpb.EventIssue{Ledger: "payments", Asset: "CNY", From: issuer, To: bob, Amount: 7, ToBalance: 12, Memo: "new"}),
		wire.Event(&txpb.EventBurn{Ledger: "payments", Asset: "CNY", From: bob, Amount: 2, FromBalance: 10}),
		wire.Event(&txpb.EventRedeem{Ledger: "payments", Asset: "CNY", From: bob, Amount: 3, FromBalance: 7, Id: 4, Reference: "ref"}),
		wire.Event(&txpb.EventRedemptionSettled{Ledger: "payments", Asset: "CNY", Id: 4, To: bob, Amount: 3, ToBalance: 7, Reason: "burned"}),
		wire.Event(&txpb.EventRedemptionSettled{Ledger: "payments", Asset: "CNY", Id: 5, To: bob, Amount: 1, Rejected: true, ToBalance: 8, Reason: "no"}),
		wire.Event(&txpb.EventTransfer{Ledger: "payments", Asset: "CNY", From: alice, To: alice, Amount: 1, FromBalance: 95, ToBalance: 95}),
		{Type: "cometbft_internal"},
	}
	got, err := FromEvents(9, 2, txA, issuer, events)
	if err != nil {
		t.Fatal(err)
	}
	at := func(ev uint32, kind, dir, account, cp string, amount, after, red uint64, memo string) Movement {
		return Movement{Height: 9, TxIndex: 2, TxID: txA, Event: ev, Ledger: "payments", Asset: "CNY", Account: account, Kind: kind, Direction: dir,
			Amount: amount, BalanceAfter: after, Counterparty: cp, Redemption: red, Memo: memo}
	}
	want := []Movement{
		at(0, KindTransfer, Debit, alice, bob, 5, 95, 0, "R-1"),
		at(0, KindTransfer, Credit, bob, alice, 5, 5, 0, "R-1"),
		at(2, KindIssue, Credit, bob, issuer, 7, 12, 0, "new"),
		at(3, KindBurn, Debit, bob, "", 2, 10, 0, ""),
		at(4, KindRedeem, Debit, bob, "", 3, 7, 4, "ref"),
		// event 5, an accepted redemption, moves no balance
		at(6, KindRedemptionSettled, Credit, bob, issuer, 1, 8, 5, "no"),
		at(7, KindTransfer, Debit, alice, alice, 1, 95, 0, ""),
		at(7, KindTransfer, Credit, alice, alice, 1, 95, 0, ""),
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("FromEvents\n got %+v\nwant %+v", got, want)
	}
	for _, m := range got {
		if _, err := Encode(m); err != nil {
			t.Fatalf("%+v: %v", m, err)
		}
	}
	bad := []abci.Event{{Type: "transfer", Attributes: []abci.EventAttribute{{Key: "amount", Value: "lots"}}}}
	if _, err := FromEvents(9, 0, txA, alice, bad); err == nil {
		t.Fatal("a transfer event whose amount does not parse was accepted")
	}
}

// TestKnownAttributesAreTheEvents: the attributes FromEvents accepts of
// each movement event are exactly its message's fields, so a field added
// to an event in events.proto fails here until FromEvents reads it.
func TestKnownAttributesAreTheEvents(t *testing.T) {
	for _, m := range []protoreflect.ProtoMessage{&txpb.EventTransfer{}, &txpb.EventIssue{}, &txpb.EventBurn{}, &txpb.EventRedeem{}, &txpb.EventRedemptionSettled{}} {
		ev := wire.Event(m)
		want := map[string]bool{}
		for _, a := range ev.Attributes {
			want[a.Key] = true
		}
		if !reflect.DeepEqual(known[ev.Type], want) {
			t.Errorf("%s: FromEvents reads %v, the event has %v", ev.Type, known[ev.Type], want)
		}
	}
	if len(known) != 5 {
		t.Fatalf("%d movement event types", len(known))
	}
	// Refused as wire.ParseEvent refuses them.
	tr := wire.Event(&txpb.EventTransfer{Ledger: "payments", Asset: "CNY", From: alice, To: bob, Amount: 1})
	for name, ev := range map[string]abci.Event{
		"unknown attribute":  {Type: "transfer", Attributes: append(append([]abci.EventAttribute{}, tr.Attributes...), abci.EventAttribute{Key: "extra", Value: "1"})},
		"repeated attribute": {Type: "transfer", Attributes: append(append([]abci.EventAttribute{}, tr.Attributes...), abci.EventAttribute{Key: "amount", Value: "9"})},
		"bad bool":           {Type: "redemption_settled", Attributes: []abci.EventAttribute{{Key: "rejected", Value: "yes"}}},
	} {
		if _, err := FromEvents(1, 0, txA, alice, []abci.Event{ev}); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if _, _, err := wire.ParseEvent(ev); err == nil {
			t.Errorf("%s: wire.ParseEvent accepts it, FromEvents does not", name)
		}
	}
}
