package regulator

import (
	"fmt"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// The accounts of the PvP tables: "p" and "q" of bankA, "bankB.r" of
// bankB (tableGenesis); escrows belong to no organisation.
const (
	escrowA = "escrow.a"
	escrowB = "escrow.b"
)

// pvpStep is one transaction of a PvP table: a plain CNY transfer, or a
// funding, settlement or refund of trade "T" in which p (bankA) pays
// amountA CNY on payments and bankB.r pays amountB HKD on hkd.
type pvpStep struct {
	at      time.Duration
	kind    string // transfer, fund-a, settle (the funding of leg B that settles), refund
	amountA uint64 // CNY: leg A, or the transfer
	amountB uint64 // HKD: leg B
	// receiverB receives leg A (default bankB.r); receiverA receives leg
	// B (default p).
	receiverA, receiverB string
}

func (s pvpStep) tx(id string) Tx {
	recvA, recvB := s.receiverA, s.receiverB
	if recvA == "" {
		recvA = "p"
	}
	if recvB == "" {
		recvB = "bankB.r"
	}
	trade := PvpTrade{Trade: "T", LedgerA: "payments", AssetA: "CNY", AmountA: s.amountA, LedgerB: "hkd", AssetB: "HKD", AmountB: s.amountB,
		Rate: fmt.Sprintf("%.10f", float64(s.amountB)/float64(s.amountA))}
	move := func(ledger, asset, from, to string, amount uint64) Movement {
		return Movement{Kind: KindTransfer, Ledger: ledger, Asset: asset, From: from, To: to, Amount: amount}
	}
	tx := Tx{ID: id, Ledger: "_system", Type: "pvp_fund"}
	switch s.kind {
	case "transfer":
		return Tx{ID: id, Ledger: "payments", Sender: "p", Org: "bankA", Type: "transfer", Parties: []string{"p", "bankB.r"},
			Movements: []Movement{move("payments", "CNY", "p", "bankB.r", s.amountA)}}
	case "fund-a":
		tx.Sender, tx.Org = "p", "bankA"
		trade.Status = PvpFunded
		tx.Movements = []Movement{move("payments", "CNY", "p", escrowA, s.amountA)}
	case "settle":
		tx.Sender, tx.Org = "bankB.r", "bankB"
		trade.Status = PvpSettled
		trade.Proposer, trade.Counterparty, trade.ReceiverA, trade.ReceiverB = "p", "bankB.r", recvA, recvB
		tx.Movements = []Movement{move("hkd", "HKD", "bankB.r", escrowB, s.amountB),
			move("payments", "CNY", escrowA, recvB, s.amountA), move("hkd", "HKD", escrowB, recvA, s.amountB)}
	case "refund":
		tx.Sender, tx.Org, tx.Type = "q", "bankA", "pvp_refund"
		trade.Status = PvpRefunded
		tx.Movements = []Movement{move("payments", "CNY", escrowA, "p", s.amountA)}
	default:
		panic(s.kind)
	}
	tx.Parties = []string{tx.Sender}
	tx.Pvp = &trade
	return tx
}

// TestCrossBorderReadsPvpTrades: the cross-border rule counts a settled
// PvP trade's legs from payer to receiver organisation, each in its own
// asset, and names the trade and its rate; funding a leg and refunding
// it count nothing, although their movements go to and from an escrow of
// no known organisation (which a plain transfer would count as a flow to
// "unknown"). A trade and a plain transfer that make up one day's total
// are both listed.
func TestCrossBorderReadsPvpTrades(t *testing.T) {
	eng := onlyRule(t, "[cross_border]\ntimezone = \"UTC\"\n[cross_border.default_limit]\nCNY = 1000\nHKD = 1000\n")
	const h = time.Hour
	type alert struct{ subject, tx string }
	for _, c := range []struct {
		name  string
		steps []pvpStep
		want  []alert
		// reason: what every alert's reason must contain
		reason []string
	}{
		{name: "funding a large leg is no flow", steps: []pvpStep{{kind: "fund-a", amountA: 5000, amountB: 6000}}},
		{name: "a refund is no flow", steps: []pvpStep{{kind: "fund-a", amountA: 5000, amountB: 6000}, {at: h, kind: "refund", amountA: 5000, amountB: 6000}}},
		{name: "a settlement below the limits", steps: []pvpStep{{kind: "fund-a", amountA: 1000, amountB: 1000}, {at: h, kind: "settle", amountA: 1000, amountB: 1000}}},
		{name: "a settlement counts both legs, each from its payer's bank to its receiver's",
			steps:  []pvpStep{{kind: "fund-a", amountA: 1001, amountB: 1200}, {at: h, kind: "settle", amountA: 1001, amountB: 1200}},
			want:   []alert{{"bankA->bankB/CNY/2026-03-02", "t1"}, {"bankB->bankA/HKD/2026-03-02", "t1"}},
			reason: []string{"PvP trade T", "1001 CNY on payments against 1200 HKD on hkd", "rate 1.1988011988 HKD per CNY"}},
		{name: "only the leg over its limit alerts",
			steps: []pvpStep{{kind: "settle", amountA: 900, amountB: 1100}},
			want:  []alert{{"bankB->bankA/HKD/2026-03-02", "t0"}}, reason: []string{"leg B on hkd"}},
		{name: "a trade and a plain transfer add up the same day",
			steps: []pvpStep{{kind: "transfer", amountA: 600}, {at: h, kind: "settle", amountA: 500, amountB: 10}},
			want:  []alert{{"bankA->bankB/CNY/2026-03-02", "t0,t1"}}, reason: []string{"sent 1100 CNY to bankB", "in 2 transactions"}},
		{name: "a leg received in its payer's own bank is no flow",
			steps: []pvpStep{{kind: "settle", amountA: 5000, amountB: 5000, receiverB: "q"}},
			want:  []alert{{"bankB->bankA/HKD/2026-03-02", "t0"}}},
		{name: "the next day is a new day for trades too",
			steps: []pvpStep{{kind: "settle", amountA: 1001, amountB: 1}, {at: 24 * h, kind: "settle", amountA: 1001, amountB: 1}},
			want:  []alert{{"bankA->bankB/CNY/2026-03-02", "t0"}, {"bankA->bankB/CNY/2026-03-03", "t1"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var blocks []*Block
			for i, s := range c.steps {
				blocks = append(blocks, &Block{Height: int64(i + 1), Time: dedupeStart.Add(s.at), Txs: []Tx{s.tx(fmt.Sprintf("t%d", i))}})
			}
			alerts, _ := applyAll(t, tableGenesis(), blocks, eng)
			var got []alert
			for _, a := range alerts {
				if a.Rule != RuleCrossBorder {
					t.Fatalf("alert %+v", a)
				}
				got = append(got, alert{a.Subject, strings.Join(a.TxIDs, ",")}) // every transaction of the day's flow
				for _, r := range c.reason {
					if !strings.Contains(a.Reason, r) {
						t.Errorf("reason %q lacks %q", a.Reason, r)
					}
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				for _, a := range alerts {
					t.Logf("%s: %s", a.Subject, a.Reason)
				}
				t.Fatalf("alerts %v, want %v", got, c.want)
			}
		})
	}
}

// TestCrossBorderPlainTransferToEscrowCounts pins what the PvP reading
// changes: the same movement into an escrow without a trade's event is a
// flow to "unknown", as any transfer to an address of no organisation.
func TestCrossBorderPlainTransferToEscrowCounts(t *testing.T) {
	eng := onlyRule(t, "[cross_border]\ntimezone = \"UTC\"\n[cross_border.default_limit]\nCNY = 1000\n")
	tx := pvpStep{kind: "fund-a", amountA: 5000, amountB: 1}.tx("t0")
	tx.Pvp = nil
	alerts, _ := applyAll(t, tableGenesis(), []*Block{{Height: 1, Time: dedupeStart, Txs: []Tx{tx}}}, eng)
	if len(alerts) != 1 || alerts[0].Subject != "bankA->unknown/CNY/2026-03-02" {
		t.Fatalf("alerts %+v", alerts)
	}
}

// TestDecodePvp: a transaction's pvp events become its trade: a funding
// that completes the trade is settled (its pvp_settled follows its
// pvp_funded), with payers and receivers; a plain funding and a refund
// carry the legs and rate.
func TestDecodePvp(t *testing.T) {
	k, err := gmcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	trade := strings.Repeat("7e", 32)
	a, b, ra, rb, esA, esB := strings.Repeat("0a", 20), strings.Repeat("0b", 20), strings.Repeat("1a", 20), strings.Repeat("1b", 20), strings.Repeat("ea", 20), strings.Repeat("eb", 20)
	raw, _, err := wire.BuildTx(wire.Signer{Key: k, MSPID: "bankB"}, "c", "_system", time.Now(),
		&txpb.Message{Body: &txpb.Message_PvpFund{PvpFund: &txpb.PvpFund{Trade: trade, Leg: "B"}}})
	if err != nil {
		t.Fatal(err)
	}
	legs := func() (string, string, uint64, string, string, uint64, string) {
		return "payments", "CNY", 60, "hkd", "HKD", 50, "0.8333333333"
	}
	la, aa, na, lb, ab, nb, rate := legs()
	for _, c := range []struct {
		name   string
		events []abci.Event
		want   PvpTrade
	}{
		{"a funding", []abci.Event{
			wire.Event(&txpb.EventTransfer{Ledger: lb, Asset: ab, From: b, To: esB, Amount: nb}),
			wire.Event(&txpb.EventPvpFunded{Trade: trade, LedgerA: la, AssetA: aa, AmountA: na, LedgerB: lb, AssetB: ab, AmountB: nb, Rate: rate, Leg: "B", Funder: b, Escrow: esB}),
		}, PvpTrade{Trade: trade, Status: PvpFunded, LedgerA: la, AssetA: aa, AmountA: na, LedgerB: lb, AssetB: ab, AmountB: nb, Rate: rate}},
		{"a funding that settles", []abci.Event{
			wire.Event(&txpb.EventTransfer{Ledger: lb, Asset: ab, From: b, To: esB, Amount: nb}),
			wire.Event(&txpb.EventPvpFunded{Trade: trade, LedgerA: la, AssetA: aa, AmountA: na, LedgerB: lb, AssetB: ab, AmountB: nb, Rate: rate, Leg: "B", Funder: b, Escrow: esB}),
			wire.Event(&txpb.EventTransfer{Ledger: la, Asset: aa, From: esA, To: rb, Amount: na}),
			wire.Event(&txpb.EventTransfer{Ledger: lb, Asset: ab, From: esB, To: ra, Amount: nb}),
			wire.Event(&txpb.EventPvpSettled{Trade: trade, LedgerA: la, AssetA: aa, AmountA: na, LedgerB: lb, AssetB: ab, AmountB: nb, Rate: rate,
				Proposer: a, Counterparty: b, ReceiverA: ra, ReceiverB: rb, By: b}),
		}, PvpTrade{Trade: trade, Status: PvpSettled, LedgerA: la, AssetA: aa, AmountA: na, LedgerB: lb, AssetB: ab, AmountB: nb, Rate: rate,
			Proposer: a, Counterparty: b, ReceiverA: ra, ReceiverB: rb}},
		{"a refund", []abci.Event{
			wire.Event(&txpb.EventTransfer{Ledger: la, Asset: aa, From: esA, To: a, Amount: na}),
			wire.Event(&txpb.EventPvpRefunded{Trade: trade, LedgerA: la, AssetA: aa, AmountA: na, LedgerB: lb, AssetB: ab, AmountB: nb, Rate: rate, RefundedA: na, By: b, Reason: "expired"}),
		}, PvpTrade{Trade: trade, Status: PvpRefunded, LedgerA: la, AssetA: aa, AmountA: na, LedgerB: lb, AssetB: ab, AmountB: nb, Rate: rate}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tx, err := DecodeTx(raw, &abci.ExecTxResult{Events: c.events})
			if err != nil {
				t.Fatal(err)
			}
			if tx.Pvp == nil || *tx.Pvp != c.want {
				t.Fatalf("decoded trade %+v, want %+v", tx.Pvp, c.want)
			}
		})
	}
	// A transaction without pvp events has no trade.
	tx, err := DecodeTx(raw, &abci.ExecTxResult{Code: 6, Codespace: "pvp", Log: "unknown trade"})
	if err != nil || tx.Pvp != nil {
		t.Fatalf("refused funding decoded as %+v, %v", tx, err)
	}
}
