package reserves_test

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/jinlian-ledger/jinlian/contracts/reserves"
)

func entries(bals ...uint64) []reserves.Entry {
	out := make([]reserves.Entry, len(bals))
	for i, b := range bals {
		out[i] = reserves.Entry{Account: addr(i), Balance: b}
	}
	return out
}

func TestBuilderMatchesLevels(t *testing.T) {
	for n := 0; n <= 40; n++ {
		var es []reserves.Entry
		for i := range n {
			es = append(es, reserves.Entry{Account: addr(i), Balance: uint64(i + 1)})
		}
		tr, err := reserves.Build(es)
		must(t, err)
		var b reserves.Builder
		for _, e := range es {
			must(t, b.Add(e.Account, e.Balance))
		}
		root, err := b.Root()
		must(t, err)
		if root != tr.Root() {
			t.Fatalf("%d leaves: streaming root %X/%d, level root %X/%d", n, root.Hash, root.Sum, tr.Root().Hash, tr.Root().Sum)
		}
		if want := uint64(n * (n + 1) / 2); root.Sum != want {
			t.Fatalf("%d leaves: sum %d, want %d", n, root.Sum, want)
		}
		for _, e := range es {
			got, idx, path, err := tr.Prove(e.Account)
			must(t, err)
			if got != e {
				t.Fatalf("proved %+v for %+v", got, e)
			}
			must(t, reserves.VerifyPath(e.Account, e.Balance, idx, uint64(n), path, root.Hash, root.Sum))
		}
	}
}

func TestHashesPinned(t *testing.T) {
	// The definitions in doc.go, pinned to values computed independently
	// (Python's hashlib SM3, from OpenSSL), so that a verifier written from
	// the documentation agrees with this code.
	l := reserves.Leaf(addr(0), 5)
	r := reserves.Leaf(addr(1), 7)
	p, err := reserves.Parent(l, r)
	must(t, err)
	for _, c := range []struct {
		name string
		got  [32]byte
		want string
	}{
		{"leaf", l.Hash, "7dec2615b5a78fd192f57996ea9103bf58bb4857d22059613f6b67dcdfeca586"},
		{"node", p.Hash, "e7c291701a40f10d3e0e6b9374913912131c6ce8f767d5954db16a10316fc30f"},
		{"empty tree", reserves.EmptyRoot().Hash, "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b"},
	} {
		if got := fmt.Sprintf("%x", c.got); got != c.want {
			t.Errorf("%s hash %s, want %s", c.name, got, c.want)
		}
	}
	if p.Sum != 12 || reserves.EmptyRoot().Sum != 0 {
		t.Fatalf("sums %d, %d", p.Sum, reserves.EmptyRoot().Sum)
	}
}

func TestBuilderRefuses(t *testing.T) {
	for _, c := range []struct {
		name string
		es   []reserves.Entry
		want error
	}{
		{"zero balance", entries(1, 0, 3), reserves.ErrBadLeaf},
		{"accounts out of order", []reserves.Entry{{Account: addr(2), Balance: 1}, {Account: addr(1), Balance: 1}}, reserves.ErrBadLeaf},
		{"duplicate account", []reserves.Entry{{Account: addr(1), Balance: 1}, {Account: addr(1), Balance: 1}}, reserves.ErrBadLeaf},
		{"sum overflows", entries(math.MaxUint64, 1), reserves.ErrSumOverflow},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := reserves.Build(c.es); !errors.Is(err, c.want) {
				t.Fatalf("Build: %v, want %v", err, c.want)
			}
		})
	}
}

func TestVerifyPathRefusesTampering(t *testing.T) {
	es := entries(10, 20, 30, 40, 50, 60, 70) // 7 leaves: leaf 6 is promoted once
	tr, err := reserves.Build(es)
	must(t, err)
	root := tr.Root()
	for _, leaf := range []int{0, 3, 6} {
		e, idx, path, err := tr.Prove(es[leaf].Account)
		must(t, err)
		clone := func() []reserves.Step { return append([]reserves.Step(nil), path...) }
		for _, c := range []struct {
			name    string
			balance uint64
			index   uint64
			count   uint64
			path    func() []reserves.Step
			root    [32]byte
			total   uint64
			want    error
		}{
			{name: "honest", want: nil},
			{name: "leaf balance raised", balance: e.Balance + 1, want: reserves.ErrRootMismatch},
			{name: "leaf balance zero", balance: 0, want: reserves.ErrBadLeaf},
			{name: "sibling sum lowered", path: func() []reserves.Step { p := clone(); p[0].Sum--; return p }, want: reserves.ErrRootMismatch},
			{name: "sibling sum wraps around (a negative balance)", path: func() []reserves.Step { p := clone(); p[0].Sum = math.MaxUint64; return p }, want: reserves.ErrSumOverflow},
			{name: "sibling hash changed", path: func() []reserves.Step { p := clone(); p[0].Hash[0] ^= 1; return p }, want: reserves.ErrRootMismatch},
			{name: "sibling side flipped", path: func() []reserves.Step { p := clone(); p[0].Left = !p[0].Left; return p }, want: reserves.ErrPathShape},
			{name: "step dropped", path: func() []reserves.Step { return clone()[1:] }, want: reserves.ErrPathShape},
			{name: "step added", path: func() []reserves.Step { return append(clone(), reserves.Step{Node: root}) }, want: reserves.ErrPathShape},
			{name: "index out of range", index: 7, want: reserves.ErrPathShape},
			{name: "leaf count changed", count: 2, want: reserves.ErrPathShape},
			{name: "root changed", root: [32]byte{1}, want: reserves.ErrRootMismatch},
			{name: "total changed", total: root.Sum + 1, want: reserves.ErrTotalMismatch},
		} {
			t.Run(fmt.Sprintf("leaf %d %s", leaf, c.name), func(t *testing.T) {
				bal, i, n, p, r, tot := e.Balance, idx, tr.Len(), path, root.Hash, root.Sum
				if c.balance != 0 || c.name == "leaf balance zero" {
					bal = c.balance
				}
				if c.index != 0 {
					i = c.index
				}
				if c.count != 0 {
					n = c.count
				}
				if c.path != nil {
					p = c.path()
				}
				if c.root != ([32]byte{}) {
					r = c.root
				}
				if c.total != 0 {
					tot = c.total
				}
				err := reserves.VerifyPath(e.Account, bal, i, n, p, r, tot)
				if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
					t.Fatalf("VerifyPath: %v, want %v", err, c.want)
				}
			})
		}
	}
}

func TestProveUnknownAccount(t *testing.T) {
	tr, err := reserves.Build(entries(1, 2))
	must(t, err)
	if _, _, _, err := tr.Prove(addr(9)); !errors.Is(err, reserves.ErrNoLeaf) {
		t.Fatalf("Prove: %v, want ErrNoLeaf", err)
	}
}
