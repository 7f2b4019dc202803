package regulator

import (
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// TestCarriedFoldsEqualFreshOnes: for any account's movements over any
// blocks, velocity's and fast-in/fast-out's folds carried from block to
// block (resume: the entries that left the window subtracted, only the
// new ones read) equal the folds of the whole window read afresh, at
// every movement of every block: the count, the sums (past 2⁶⁴ too) and
// the opening balance before the window's first receipt. Receipts, issues,
// outflows, transfers to itself, other assets and ledgers are mixed; the
// blocks' gaps are shorter and longer than the window.
func TestCarriedFoldsEqualFreshOnes(t *testing.T) {
	const acct, window = "p", time.Hour
	amounts := []uint64{1, 500, 1000, 1 << 62, ^uint64(0)}
	gaps := []time.Duration{time.Second, 10 * time.Minute, 30 * time.Minute, window - time.Second, window, window + time.Second, 3 * window}
	rapid.Check(t, func(rt *rapid.T) {
		at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
		var committed []Entry
		var carriedV, carriedF *carried
		balance := rapid.SampledFrom([]uint64{0, 700, 1 << 40}).Draw(rt, "opening")
		for h := int64(1); h <= int64(rapid.IntRange(1, 30).Draw(rt, "blocks")); h++ {
			at = at.Add(rapid.SampledFrom(gaps).Draw(rt, "gap"))
			since := at.Add(-window)
			var old []Entry
			for _, e := range committed {
				if !e.Time.Before(since) {
					old = append(old, e)
				}
			}
			kv := foldKey{rule: RuleVelocity, addr: acct, asset: "CNY", since: since.UnixNano()}
			kf := foldKey{rule: RuleFastInOut, addr: acct, asset: "CNY", ledger: "payments", since: since.UnixNano()}
			var block []Entry
			var fv, ff *windowFold
			for i := range rapid.IntRange(0, 6).Draw(rt, "entries") {
				e := Entry{TxID: fmt.Sprintf("%d-%d", h, i), Height: h, Index: i, Time: at, Kind: KindTransfer, Ledger: "payments", Asset: "CNY",
					Amount: rapid.SampledFrom(amounts).Draw(rt, "amount")}
				switch rapid.IntRange(0, 6).Draw(rt, "kind") {
				case 0, 1: // a receipt
					e.From, e.To = "q", acct
					balance += min(e.Amount, ^uint64(0)-balance)
					e.ToBalance = balance
				case 2:
					e.Kind, e.From, e.To = KindIssue, "issuer", acct
					balance += min(e.Amount, ^uint64(0)-balance)
					e.ToBalance = balance
				case 3:
					e.From, e.To = acct, acct
				case 4:
					e.From, e.To = acct, "q"
					e.Asset = rapid.SampledFrom([]string{"CNY", "USD"}).Draw(rt, "asset")
					if rapid.Bool().Draw(rt, "other ledger") {
						e.Ledger = "custody"
					}
				default: // an outflow
					e.From, e.To = acct, "q"
				}
				block = append(block, e)
				if e.From != acct || e.Kind != KindTransfer || e.Asset != "CNY" || e.Ledger != "payments" {
					continue
				}
				// The rules run at each of the account's transfers (of
				// the folds' asset and ledger: others have folds of their own).
				es := Window{committed: old, block: block}
				m := e
				if fv == nil {
					if fv = resume(carriedV, kv, at, es); fv == nil {
						fv = &windowFold{}
					}
					if ff = resume(carriedF, kf, at, es); ff == nil {
						ff = &windowFold{}
					}
				}
				var freshN int
				var freshSum wide
				var fresh passing
				for x := range es.From(0) {
					if x.Kind == KindTransfer && !x.Refund && x.From == acct && x.Asset == "CNY" {
						freshN++
						freshSum.add(x.Amount)
					}
					fresh.add(x, acct, m, nil)
				}
				for x := range es.From(fv.upto) {
					if x.Kind == KindTransfer && !x.Refund && x.From == acct && x.Asset == "CNY" {
						fv.n++
						fv.sum.add(x.Amount)
						fv.keep(x, false)
					}
				}
				fv.folded(es)
				for x := range es.From(ff.upto) {
					if ff.pass.add(x, acct, m, nil) {
						ff.keep(x, x.To == acct)
					}
				}
				ff.folded(es)
				if fv.n != freshN || fv.sum != freshSum {
					rt.Fatalf("height %d entry %d: velocity carried %d, %v; afresh %d, %v", h, i, fv.n, fv.sum, freshN, freshSum)
				}
				if ff.pass != fresh {
					rt.Fatalf("height %d entry %d: fast-in/fast-out carried %+v; afresh %+v", h, i, ff.pass, fresh)
				}
			}
			if fv != nil {
				carriedV = &carried{since: kv.since, span: window, fold: *fv}
				carriedF = &carried{since: kf.since, span: window, fold: *ff}
			}
			committed = append(committed, block...)
		}
	})
}

// Carried folds live in the cache of recent entries with their account:
// counted in its bytes, replaced by the next block's, dropped when a
// fold is not to be carried, with the account when it is evicted, and by
// clear (a restart); an account the cache does not keep carries none.
func TestCarriedFoldsAreBoundedWithTheirAccounts(t *testing.T) {
	at := time.Unix(1_780_000_000, 0)
	size := entrySize(&Entry{TxID: "0", Time: at})
	c := &recentCache{max: 1 << 20}
	c.committed(at, map[string]*recentEntries{"a": {from: at, entries: []Entry{{TxID: "0", Time: at}}}}, nil, nil)
	k := foldKey{rule: RuleVelocity, addr: "a", asset: "CNY", since: at.Add(-time.Hour).UnixNano()}
	kz := foldKey{rule: RuleVelocity, addr: "z", asset: "CNY", since: at.Add(-time.Hour).UnixNano()}
	three := &windowFold{items: make([]foldItem, 3), n: 3}
	c.committed(at, nil, nil, map[foldKey]*windowFold{k: three, kz: three})
	if got := c.carried(k); got == nil || got.fold.n != 3 || got.span != time.Hour || c.total != size+3*foldItemSize || c.accounts["a"].size != c.total {
		t.Fatalf("carried %+v, %d bytes; want 3 items and %d bytes", got, c.total, size+3*foldItemSize)
	}
	if c.carried(kz) != nil {
		t.Fatal("an account the cache does not keep carries a fold")
	}
	one := &windowFold{items: make([]foldItem, 3), head: 2, n: 1}
	c.committed(at, nil, nil, map[foldKey]*windowFold{k: one})
	if got := c.carried(k); got == nil || got.fold.n != 1 || c.total != size+foldItemSize {
		t.Fatalf("replaced: %+v, %d bytes", got, c.total)
	}
	c.committed(at, nil, nil, map[foldKey]*windowFold{k: {noCarry: true}})
	if c.carried(k) != nil || c.total != size {
		t.Fatalf("a fold not to carry: %+v, %d bytes", c.carried(k), c.total)
	}
	c.committed(at, nil, nil, map[foldKey]*windowFold{k: three})
	c.evict(0)
	if c.carried(k) != nil || c.total != 0 {
		t.Fatalf("evicted: %+v, %d bytes", c.carried(k), c.total)
	}
	c.committed(at, map[string]*recentEntries{"a": {from: at, entries: []Entry{{TxID: "0", Time: at}}}}, nil, map[foldKey]*windowFold{k: three})
	c.clear()
	if c.carried(k) != nil {
		t.Fatal("cleared, a fold is still carried")
	}
}
