package ledger

import (
	"bytes"
	"errors"
	"maps"
	"os"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

type modelState map[string]map[string]string

func (m modelState) clone() modelState {
	out := make(modelState, len(m))
	for l, kv := range m {
		out[l] = maps.Clone(kv)
	}
	return out
}

func (m modelState) names() []string {
	return slices.Sorted(maps.Keys(m))
}

type storeMachine struct {
	dir       string
	opts      Options
	s         *Store
	working   modelState
	snapshots []modelState // index = height
	hashes    [][]byte     // app hash per height
}

var (
	propLedgers = []string{"_system", "assets", "payments", "z.fx-1"}
	propKeys    = []string{"a", "b", "c", "d", "e", "f", "g", "h"}
)

func (m *storeMachine) drawLedger(t *rapid.T) string {
	names := m.working.names()
	if len(names) == 0 {
		t.Skip("no ledgers yet")
	}
	return rapid.SampledFrom(names).Draw(t, "ledger")
}

func (m *storeMachine) set(t *rapid.T, kv KV, model modelState) {
	l := m.drawLedger(t)
	k := rapid.SampledFrom(propKeys).Draw(t, "key")
	v := rapid.StringMatching(`[a-z]{0,4}`).Draw(t, "value")
	if err := kv.Set(l, []byte(k), []byte(v)); err != nil {
		t.Fatalf("set: %v", err)
	}
	model[l][k] = v
}

func (m *storeMachine) del(t *rapid.T, kv KV, model modelState) {
	l := m.drawLedger(t)
	k := rapid.SampledFrom(propKeys).Draw(t, "key")
	if err := kv.Delete(l, []byte(k)); err != nil {
		t.Fatalf("delete: %v", err)
	}
	delete(model[l], k)
}

func (m *storeMachine) actions() map[string]func(*rapid.T) {
	return map[string]func(*rapid.T){
		"set":    func(t *rapid.T) { m.set(t, m.s, m.working) },
		"delete": func(t *rapid.T) { m.del(t, m.s, m.working) },
		"create": func(t *rapid.T) {
			name := rapid.SampledFrom(propLedgers).Draw(t, "name")
			err := m.s.CreateLedger(name)
			if _, exists := m.working[name]; exists {
				if !errors.Is(err, ErrLedgerExists) {
					t.Fatalf("create existing %s: err = %v", name, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("create %s: %v", name, err)
			}
			m.working[name] = map[string]string{}
		},
		"tx": func(t *rapid.T) {
			c := NewCache(m.s)
			model := m.working.clone()
			for range rapid.IntRange(1, 5).Draw(t, "writes") {
				if rapid.Bool().Draw(t, "isSet") {
					m.set(t, c, model)
				} else {
					m.del(t, c, model)
				}
			}
			for _, l := range model.names() {
				if got := dumpKV(t, c, l); !maps.Equal(got, model[l]) {
					t.Fatalf("cache view of %s = %v, model %v", l, got, model[l])
				}
			}
			if rapid.Bool().Draw(t, "commitTx") {
				if err := c.Write(); err != nil {
					t.Fatalf("cache write: %v", err)
				}
				m.working = model
			} else {
				c.Discard()
			}
		},
		"commit": func(t *rapid.T) {
			want := m.s.WorkingHash()
			ci, err := m.s.Commit()
			if err != nil {
				t.Fatalf("commit: %v", err)
			}
			if ci.Height != int64(len(m.snapshots)) || !bytes.Equal(ci.AppHash, want) {
				t.Fatalf("commit = height %d hash %X, want height %d hash %X", ci.Height, ci.AppHash, len(m.snapshots), want)
			}
			m.snapshots = append(m.snapshots, m.working.clone())
			m.hashes = append(m.hashes, ci.AppHash)
			m.checkViews(t)
			m.checkFlat(t)
		},
		// A Commit stopped at a drawn point, as kill -9 would stop it:
		// the reopened store is at the last commit.
		"crash": func(t *rapid.T) {
			if rapid.IntRange(0, 3).Draw(t, "crashDice") != 0 {
				t.Skip("a crash is rare: the reopen is slow")
			}
			points := len(m.working) // a tree save per ledger
			if !m.opts.NoFlatIndex {
				points++ // then the flat index
			}
			if points == 0 {
				t.Skip("no crash point")
			}
			stop := rapid.IntRange(1, points).Draw(t, "crashPoint")
			n := 0
			m.s.testHookCommit = func(string) error {
				if n++; n == stop {
					return errors.New("crash")
				}
				return nil
			}
			if _, err := m.s.Commit(); err == nil {
				t.Fatalf("commit did not stop at point %d of %d", stop, points)
			}
			m.reopen(t)
		},
		"rollback": func(t *rapid.T) {
			m.s.Rollback()
			m.working = m.snapshots[len(m.snapshots)-1].clone()
		},
		"reopen": func(t *rapid.T) {
			if rapid.IntRange(0, 3).Draw(t, "reopenDice") != 0 {
				t.Skip("reopen is rare: it is slow")
			}
			// Now and then with the flat index turned the other way.
			if rapid.IntRange(0, 3).Draw(t, "toggleFlatIndex") == 0 {
				m.opts.NoFlatIndex = !m.opts.NoFlatIndex
			}
			m.reopen(t)
		},
		"": func(t *rapid.T) { m.checkWorking(t) },
	}
}

func (m *storeMachine) reopen(t *rapid.T) {
	if err := m.s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	s, err := Open(m.dir, m.opts)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	m.s = s
	m.working = m.snapshots[len(m.snapshots)-1].clone()
	last := s.LastCommit()
	if last.Height != int64(len(m.snapshots)-1) || !bytes.Equal(last.AppHash, m.hashes[len(m.hashes)-1]) {
		t.Fatalf("LastCommit after reopen = %d %X", last.Height, last.AppHash)
	}
	m.checkViews(t)
	m.checkFlat(t)
}

// checkFlat compares the flat index with the model of the last commit,
// record by record, and its reads with the trees'.
func (m *storeMachine) checkFlat(t *rapid.T) {
	if err := flatMismatch(m.s); err != nil {
		t.Fatal(err)
	}
	if m.opts.NoFlatIndex {
		return
	}
	last := m.snapshots[len(m.snapshots)-1]
	recs, err := flatRecords(m.s)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range last.names() {
		if !maps.Equal(recs[l], last[l]) {
			t.Fatalf("flat index of %s = %v, model %v", l, recs[l], last[l])
		}
	}
	h := int64(len(m.snapshots) - 1)
	for _, l := range last.names() {
		for _, k := range propKeys {
			got, ok, err := m.s.flatGet(h, l, []byte(k))
			want, present := last[l][k]
			if err != nil || !ok || (got != nil) != present || string(got) != want {
				t.Fatalf("flatGet(%d) %s/%s = %q, %v, %v; model %q, %v", h, l, k, got, ok, err, want, present)
			}
		}
	}
}

func dumpKV(t *rapid.T, kv interface {
	Iterate(string, []byte, []byte, func(k, v []byte) bool) error
}, ledger string) map[string]string {
	out := map[string]string{}
	err := kv.Iterate(ledger, nil, nil, func(k, v []byte) bool {
		out[string(k)] = string(v)
		return true
	})
	if err != nil {
		t.Fatalf("iterate %s: %v", ledger, err)
	}
	return out
}

func (m *storeMachine) checkWorking(t *rapid.T) {
	if got, want := m.s.Ledgers(), m.working.names(); !slices.Equal(got, want) {
		t.Fatalf("Ledgers = %v, model %v", got, want)
	}
	for _, l := range m.working.names() {
		if got := dumpKV(t, m.s, l); !maps.Equal(got, m.working[l]) {
			t.Fatalf("working %s = %v, model %v", l, got, m.working[l])
		}
		for _, k := range propKeys {
			v, err := m.s.Get(l, []byte(k))
			want, ok := m.working[l][k]
			if err != nil || (v != nil) != ok || string(v) != want {
				t.Fatalf("Get %s/%s = %q, %v; model %q, %v", l, k, v, err, want, ok)
			}
		}
	}
}

func (m *storeMachine) checkViews(t *rapid.T) {
	for h := 1; h < len(m.snapshots); h++ {
		v, err := m.s.View(int64(h))
		if err != nil {
			t.Fatalf("View(%d): %v", h, err)
		}
		snap := m.snapshots[h]
		if got := v.Ledgers(); !slices.Equal(got, snap.names()) {
			t.Fatalf("View(%d).Ledgers = %v, model %v", h, got, snap.names())
		}
		for _, l := range propLedgers {
			if _, want := snap[l]; v.HasLedger(l) != want {
				t.Fatalf("View(%d).HasLedger(%s) = %v, model %v", h, l, !want, want)
			}
		}
		for _, l := range snap.names() {
			if got := dumpKV(t, v, l); !maps.Equal(got, snap[l]) {
				t.Fatalf("View(%d) %s = %v, model %v", h, l, got, snap[l])
			}
			for _, k := range propKeys {
				got, err := v.Get(l, []byte(k))
				want, ok := snap[l][k]
				if err != nil || (got != nil) != ok || string(got) != want {
					t.Fatalf("View(%d).Get %s/%s = %q, %v; model %q, %v", h, l, k, got, err, want, ok)
				}
			}
		}
	}
}

func TestStoreMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		dir, err := os.MkdirTemp("", "ledger-prop-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		// The inner-node cache off, rotating every few nodes, or holding
		// all; with IAVL's own cache of 1 node its reads go through it.
		opts := Options{IAVLCacheSize: rapid.SampledFrom([]int{1, 100}).Draw(t, "iavlCache"), LatestCacheSize: 5,
			NodeCacheBytes: rapid.SampledFrom([]int{-1, 400, 1 << 20}).Draw(t, "nodeCache"),
			NoFlatIndex:    rapid.Bool().Draw(t, "noFlatIndex")}
		s, err := Open(dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		m := &storeMachine{dir: dir, opts: opts, s: s, working: modelState{},
			snapshots: []modelState{{}}, hashes: [][]byte{AppHash(nil)}}
		defer func() { _ = m.s.Close() }()
		t.Repeat(m.actions())
	})
}
