package movement

import (
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// BenchmarkNext is the one SM3 a movement costs its account: a transfer
// pays it twice (debit and credit).
func BenchmarkNext(b *testing.B) {
	m := Movement{Height: 123456, TxIndex: 17, TxID: txA, Event: 0, Ledger: "payments", Asset: "CNY", Account: alice,
		Kind: KindTransfer, Direction: Debit, Amount: 100, BalanceAfter: 1 << 40, Counterparty: bob, Memo: "invoice 2026-0042"}
	var c Commitment
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if c, err = c.Next(m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFromEventsTransfer decodes a transfer's events (the transfer
// and the jinlian_tx event) into its two movements, as the app does for
// every executed transfer.
func BenchmarkFromEventsTransfer(b *testing.B) {
	events := []abci.Event{
		wire.Event(&txpb.EventTransfer{Ledger: "payments", Asset: "CNY", From: alice, To: bob, Amount: 5, FromBalance: 95, ToBalance: 5, ToOrg: "bankB", Memo: "invoice 2026-0042"}),
		wire.Event(&txpb.EventJinlianTx{Id: txA, Ledger: "payments", Sender: alice, Org: "bankA", Type: "transfer"}),
	}
	b.ReportAllocs()
	for b.Loop() {
		ms, err := FromEvents(9, 2, txA, alice, events)
		if err != nil || len(ms) != 2 {
			b.Fatal(ms, err)
		}
	}
}
