package reserves_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/jinlian-ledger/jinlian/contracts/reserves"
)

func TestBundleVerifies(t *testing.T) {
	f := newFixture(t, map[int]uint64{1: 100, 2: 250, 3: 5, 7: 40, 9: 1}, 30)
	for _, i := range []int{1, 2, 3, 7, 9} {
		b := f.bundle(t, addr(i))
		raw, err := b.Encode()
		must(t, err)
		back, err := reserves.DecodeBundle(raw)
		must(t, err)
		rep, err := reserves.Verify(back)
		must(t, err)
		if rep.Total != 396 || rep.Accounts != 5 || rep.Height != 1 {
			t.Fatalf("report %+v", rep)
		}
	}
	v, err := f.store.View(1)
	must(t, err)
	if _, err := f.k.Prove(v, "c", "payments", "CNY", addr(4)); !errors.Is(err, reserves.ErrNoLeaf) {
		t.Fatalf("account without a balance: %v, want ErrNoLeaf", err)
	}
	if _, err := f.k.Prove(v, "c", "payments", "USD", addr(1)); !errors.Is(err, reserves.ErrNoRecord) {
		t.Fatalf("asset without a record: %v, want ErrNoRecord", err)
	}
	if got, ok, err := reserves.GetRecord(v, "payments", "CNY"); err != nil || !ok || got.CheckSupply() != nil {
		t.Fatalf("record %+v %v %v", got, ok, err)
	}
}

func TestBundleRefusesTampering(t *testing.T) {
	f := newFixture(t, map[int]uint64{1: 100, 2: 250, 3: 5, 7: 40, 9: 1}, 0)
	for _, c := range []struct {
		name   string
		tamper func(b *reserves.Bundle)
		want   error
	}{
		{"balance raised", func(b *reserves.Bundle) { b.Balance++ }, reserves.ErrRootMismatch},
		{"other account claims the leaf", func(b *reserves.Bundle) { b.Account = addr(4).String() }, reserves.ErrRootMismatch},
		{"sibling sum lowered to hide a liability", func(b *reserves.Bundle) { b.Path[0].Sum-- }, reserves.ErrRootMismatch},
		{"sibling sum wraps around", func(b *reserves.Bundle) { b.Path[0].Sum = 1<<64 - 1 }, reserves.ErrSumOverflow},
		{"sibling hash changed", func(b *reserves.Bundle) { b.Path[1].Hash[3] ^= 0x80 }, reserves.ErrRootMismatch},
		{"path reordered", func(b *reserves.Bundle) { b.Path[0], b.Path[1] = b.Path[1], b.Path[0] }, reserves.ErrPathShape},
		{"path side flipped", func(b *reserves.Bundle) {
			b.Path[0].Side = map[string]string{"left": "right", "right": "left"}[b.Path[0].Side]
		}, reserves.ErrPathShape},
		{"index moved", func(b *reserves.Bundle) { b.Index++ }, reserves.ErrPathShape},
		{"root shown changed", func(b *reserves.Bundle) { b.Record.Root[0] ^= 1 }, reserves.ErrRootMismatch},
		{"total shown changed", func(b *reserves.Bundle) { b.Record.Total++ }, reserves.ErrTotalMismatch},
		{"issued shown changed", func(b *reserves.Bundle) { b.Record.Issued++ }, reserves.ErrRecordMismatch},
		{"record bytes changed", func(b *reserves.Bundle) { b.RecordValue[len(b.RecordValue)-1] ^= 1 }, reserves.ErrRecordMismatch},
		{"record of another height", func(b *reserves.Bundle) { b.Height = 2 }, reserves.ErrRecordMismatch},
		{"record proof changed", func(b *reserves.Bundle) { b.RecordProof[len(b.RecordProof)-3] ^= 1 }, reserves.ErrRecordNotProven},
		{"record proof empty", func(b *reserves.Bundle) { b.RecordProof = nil }, reserves.ErrRecordNotProven},
		{"ledger root changed", func(b *reserves.Bundle) { b.LedgerRoots[1].Root[0] ^= 1 }, reserves.ErrRecordNotProven},
		{"ledger missing from the roots", func(b *reserves.Bundle) { b.LedgerRoots = b.LedgerRoots[:1] }, reserves.ErrRecordNotProven},
		{"other ledger's root changed", func(b *reserves.Bundle) { b.LedgerRoots[0].Root[0] ^= 1 }, reserves.ErrAppHashMismatch},
		{"app hash changed", func(b *reserves.Bundle) { b.AppHash[31] ^= 1 }, reserves.ErrAppHashMismatch},
		{"asset renamed", func(b *reserves.Bundle) { b.Asset = "USD" }, reserves.ErrRecordNotProven},
		{"format unknown", func(b *reserves.Bundle) { b.Format = 2 }, reserves.ErrBadBundle},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := f.bundle(t, addr(2)) // leaf 1 of 5: a left sibling, then a right one
			if len(b.Path) < 2 || len(b.LedgerRoots) != 2 {
				t.Fatalf("fixture: path %d steps, %d ledger roots", len(b.Path), len(b.LedgerRoots))
			}
			c.tamper(b)
			if _, err := reserves.Verify(b); !errors.Is(err, c.want) {
				t.Fatalf("Verify: %v, want %v", err, c.want)
			}
		})
	}
}

func TestDecodeBundleRefuses(t *testing.T) {
	f := newFixture(t, map[int]uint64{1: 3}, 0)
	good, err := f.bundle(t, addr(1)).Encode()
	must(t, err)
	var m map[string]any
	must(t, json.Unmarshal(good, &m))
	with := func(k string, v any) []byte {
		c := map[string]any{}
		for kk, vv := range m {
			c[kk] = vv
		}
		c[k] = v
		b, _ := json.Marshal(c)
		return b
	}
	for _, c := range []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"not json", []byte("bundle")},
		{"trailing data", append(append([]byte{}, good...), []byte(" {}")...)},
		{"unknown field", with("extra", 1)},
		{"app hash not hex", with("app_hash", "zz")},
		{"app hash short", with("app_hash", "ABCD")},
		{"account not an address", with("account", "bob")},
		{"path step without side", with("path", []any{map[string]any{"hash": good[:0], "sum": "1"}})},
		{"balance not a string", with("balance", 3)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := reserves.DecodeBundle(c.in); !errors.Is(err, reserves.ErrBadBundle) {
				t.Fatalf("DecodeBundle: %v, want ErrBadBundle", err)
			}
		})
	}
}

// TestBrokenSupplyIsShownNotHidden: balances that do not add up to the
// supply still get their record (the chain does not halt over it), and
// both a holder's verification and the invariant report the breach.
func TestBrokenSupplyIsShownNotHidden(t *testing.T) {
	f := newFixture(t, map[int]uint64{1: 10, 2: 20}, 0)
	// One more unit in a balance than was ever issued, then a new record.
	must(t, f.store.Set("payments", balKey("CNY", addr(3)), []byte{0, 0, 0, 0, 0, 0, 0, 1}))
	if _, err := f.k.Commit(f.store, []string{"payments"}, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Commit(); err != nil {
		t.Fatal(err)
	}
	v, err := f.store.View(2)
	must(t, err)
	b, err := f.k.Prove(v, "c", "payments", "CNY", addr(3))
	must(t, err)
	if _, err := reserves.Verify(b); !errors.Is(err, reserves.ErrSupplyMismatch) {
		t.Fatalf("Verify: %v, want ErrSupplyMismatch", err)
	}
	rec, _, err := reserves.GetRecord(v, "payments", "CNY")
	must(t, err)
	if res, err := f.k.Check(v, "payments", "CNY", rec); err != nil || res.Holds || !strings.Contains(res.Problem, "does not match the supply") {
		t.Fatalf("invariant: %+v %v", res, err)
	}
}
