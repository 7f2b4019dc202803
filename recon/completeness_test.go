package recon

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/movement"
	"github.com/jinlian-ledger/jinlian/wire"
)

// TestAccountMovements lists accounts' movements from the day's blocks:
// every movement of the account, asset and sub-ledger and nothing else,
// failed and app-made transactions skipped, a custody account's payments
// (sent by its signers, in no organisation's statement) found; ranges the
// node does not keep and malformed accounts are errors.
func TestAccountMovements(t *testing.T) {
	b := chainBlocks{newChain(dayTxs)}
	ctx := context.Background()
	short := func(ms []movement.Movement) []string {
		var out []string
		for _, m := range ms {
			out = append(out, fmt.Sprintf("%d/%d/%d %s %s %d cp=%.4s =%d %s", m.Height, m.TxIndex, m.Event, m.Kind, m.Direction, m.Amount, m.Counterparty, m.BalanceAfter, m.Memo))
		}
		return out
	}
	for _, c := range []struct {
		name     string
		acct     movement.Account
		from, to int64
		want     []string
	}{
		{"a1 CNY, the day and its edges", movement.Account{Ledger: "payments", Asset: "CNY", Address: a1}, 1, 40, []string{
			"9/0/0 transfer debit 100 cp=" + b1[:4] + " =900 yesterday",
			"11/1/0 transfer debit 30 cp=" + b1[:4] + " =870 INV-1",
			"13/0/0 transfer debit 5 cp=" + a2[:4] + " =865 sweep",
			"16/0/0 transfer debit 50 cp=" + cust[:4] + " =815 into custody",
			"34/0/0 transfer credit 1 cp=" + b1[:4] + " =1 tomorrow",
		}},
		{"a1 CNY, heights 10..15", movement.Account{Ledger: "payments", Asset: "CNY", Address: a1}, 10, 15, []string{
			"11/1/0 transfer debit 30 cp=" + b1[:4] + " =870 INV-1",
			"13/0/0 transfer debit 5 cp=" + a2[:4] + " =865 sweep",
		}},
		{"a1 USD: issue, redeem, rejected settlement", movement.Account{Ledger: "payments", Asset: "USD", Address: a1}, 1, 40, []string{
			"12/1/0 issue credit 70 cp=" + issB[:4] + " =70 ",
			"13/2/0 redeem debit 7 cp= =63 R-3",
			"14/0/0 redemption_settled credit 7 cp=" + issB[:4] + " =70 closed",
		}},
		{"the custody account", movement.Account{Ledger: "payments", Asset: "CNY", Address: cust}, 1, 40, []string{
			"16/0/0 transfer credit 50 cp=" + a1[:4] + " =50 into custody",
			"17/0/1 transfer debit 8 cp=" + b1[:4] + " =42 custody payout",
		}},
		{"upper-case account", movement.Account{Ledger: "payments", Asset: "CNY", Address: strings.ToUpper(cust)}, 16, 16, []string{
			"16/0/0 transfer credit 50 cp=" + a1[:4] + " =50 into custody",
		}},
		{"another sub-ledger", movement.Account{Ledger: "custody", Asset: "CNY", Address: a1}, 1, 40, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			ms, err := AccountMovements(ctx, b, c.acct, c.from, c.to)
			if err != nil {
				t.Fatal(err)
			}
			if got := short(ms); !slices.Equal(got, c.want) {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
	acct := movement.Account{Ledger: "payments", Asset: "CNY", Address: a1}
	var he *HeightsError
	if _, err := AccountMovements(ctx, b, acct, 30, 41); !errors.As(err, &he) || he.Latest != 40 {
		t.Fatalf("past the latest height: %v", err)
	}
	for _, bad := range []struct {
		acct     movement.Account
		from, to int64
	}{
		{movement.Account{Ledger: "payments", Asset: "CNY", Address: "x"}, 1, 2},
		{movement.Account{Ledger: "pay ments", Asset: "CNY", Address: a1}, 1, 2},
		{movement.Account{Ledger: "payments", Asset: "", Address: a1}, 1, 2},
		{acct, 0, 2},
		{acct, 5, 4},
	} {
		if _, err := AccountMovements(ctx, b, bad.acct, bad.from, bad.to); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v %d..%d: %v, want ErrInvalid", bad.acct, bad.from, bad.to, err)
		}
	}
	// A movement in a transaction without a jinlian_tx event is no
	// transaction of jinlian's: refused rather than listed without its id.
	odd := chainBlocks{newChain(nil)}
	odd.txs = append(odd.txs, &abci.TxResult{Height: 3, Result: abci.ExecTxResult{Events: []abci.Event{wire.Event(xfer("payments", "CNY", a1, b1, "bankB", 1, 1, 1, ""))}}})
	if _, err := AccountMovements(ctx, odd, acct, 1, 5); err == nil || !strings.Contains(err.Error(), "without a jinlian_tx event") {
		t.Fatalf("movement without jinlian_tx: %v", err)
	}
}

// resultsOnly is a Blocks that also reads results alone
// (ResultsReader), without the transactions, and whose blocks cannot be
// read: AccountMovements must list from the results alone.
type resultsOnly struct{ chainBlocks }

func (resultsOnly) BlockTxs(h int64) (time.Time, []*abci.TxResult, error) {
	return time.Time{}, nil, fmt.Errorf("block %d read", h)
}

func (r resultsOnly) TxResults(h int64) ([]*abci.TxResult, error) {
	_, txs, err := r.chainBlocks.BlockTxs(h)
	out := make([]*abci.TxResult, len(txs))
	for i, t := range txs {
		out[i] = &abci.TxResult{Height: t.Height, Index: t.Index, Result: t.Result}
	}
	return out, err
}

// TestAccountMovementsFromResultsAlone: where the blocks offer their
// results alone (a node's RPC, whose block JSON carries every
// transaction again), AccountMovements reads nothing else and lists what
// it lists from the blocks.
func TestAccountMovementsFromResultsAlone(t *testing.T) {
	b := chainBlocks{newChain(dayTxs)}
	ctx := context.Background()
	for _, addr := range []string{a1, a2, b1, cust} {
		acct := movement.Account{Ledger: "payments", Asset: "CNY", Address: addr}
		want, err := AccountMovements(ctx, b, acct, 1, 40)
		if err != nil {
			t.Fatal(err)
		}
		got, err := AccountMovements(ctx, resultsOnly{b}, acct, 1, 40)
		if err != nil {
			t.Fatal(err)
		}
		if len(want) == 0 || !slices.Equal(got, want) {
			t.Fatalf("%.8s: from the results alone %+v, from the blocks %+v", addr, got, want)
		}
	}
}

// TestStatementRowsAreMovements: an account's rows in the day's statement
// are, as movements, exactly what AccountMovements lists for the day's
// heights, so a statement checks against the commitments.
func TestStatementRowsAreMovements(t *testing.T) {
	ctx := context.Background()
	chain := newChain(dayTxs)
	for _, c := range []struct{ org, account, asset string }{
		{"bankA", a1, "CNY"}, {"bankA", a1, "USD"}, {"bankB", b1, "CNY"}, {"bankA", a2, "CNY"},
	} {
		st, err := Build(ctx, chain, cst, Request{Org: c.org, Date: "2026-12-03", Account: c.account, Asset: c.asset, Ledger: "payments"})
		if err != nil {
			t.Fatal(err)
		}
		var fromRows []movement.Movement
		for _, r := range st.Rows {
			if m, ok := r.Movement(); ok {
				fromRows = append(fromRows, m)
			}
		}
		listed, err := AccountMovements(ctx, chainBlocks{chain}, movement.Account{Ledger: "payments", Asset: c.asset, Address: c.account}, st.Day.FromHeight, st.Day.ToHeight)
		if err != nil {
			t.Fatal(err)
		}
		if len(listed) == 0 || !slices.Equal(fromRows, listed) {
			t.Errorf("%s %s: statement rows\n%+v\nlisted\n%+v", c.account[:4], c.asset, fromRows, listed)
		}
	}
}
