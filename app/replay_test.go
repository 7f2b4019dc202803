package app

import (
	"encoding/hex"
	"fmt"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
)

func testID(i int) string {
	h := gmcrypto.SM3([]byte(fmt.Sprint(i)))
	return hex.EncodeToString(h[:])
}

func TestReplaySet(t *testing.T) {
	const w = 10 * time.Second
	t0 := time.Unix(1_800_000_000, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

	t.Run("fresh chain is complete at once", func(t *testing.T) {
		r := newReplaySet(t0, true, 100)
		if !r.neverCommitted(testID(1), t0, w) {
			t.Fatal("miss on a fresh chain not authoritative")
		}
		r.commit(at(1), []string{testID(1)}, w)
		if r.neverCommitted(testID(1), at(1), w) {
			t.Fatal("committed id reported never committed")
		}
		if !r.neverCommitted(testID(2), at(1), w) {
			t.Fatal("other id not reported never committed")
		}
	})
	t.Run("after a restart it defers to the state for 2 windows", func(t *testing.T) {
		r := newReplaySet(t0, false, 100)
		for s := 1; s <= 20; s++ {
			r.commit(at(s), nil, w)
			if r.neverCommitted(testID(9), at(s), w) {
				t.Fatalf("authoritative %d s after restart, window %s", s, w)
			}
		}
		r.commit(at(21), nil, w)
		if !r.neverCommitted(testID(9), at(21), w) {
			t.Fatal("not authoritative after 2 windows")
		}
	})
	t.Run("blocks older than 2 windows are evicted", func(t *testing.T) {
		r := newReplaySet(t0, true, 100)
		r.commit(at(1), []string{testID(1), testID(2)}, w)
		r.commit(at(21), []string{testID(3)}, w)
		if r.neverCommitted(testID(1), at(21), w) || r.size != 3 {
			t.Fatalf("evicted at exactly 2 windows (size %d)", r.size)
		}
		r.commit(at(22), nil, w)
		if !r.neverCommitted(testID(1), at(22), w) || r.neverCommitted(testID(3), at(22), w) || r.size != 1 {
			t.Fatalf("eviction wrong: size %d", r.size)
		}
	})
	t.Run("the cap evicts early and defers to the state", func(t *testing.T) {
		r := newReplaySet(t0, true, 2)
		r.commit(at(1), []string{testID(1), testID(2)}, w)
		r.commit(at(2), []string{testID(3)}, w)
		if r.size != 1 || len(r.blocks) != 1 {
			t.Fatalf("size %d blocks %d after the cap", r.size, len(r.blocks))
		}
		if r.neverCommitted(testID(1), at(2), w) || r.neverCommitted(testID(7), at(2), w) {
			t.Fatal("authoritative although a block within the window was evicted")
		}
		r.commit(at(22), nil, w)
		if !r.neverCommitted(testID(7), at(22), w) {
			t.Fatal("not authoritative 2 windows after the early eviction")
		}
	})
	t.Run("a grown window defers to the state", func(t *testing.T) {
		r := newReplaySet(t0, true, 100)
		r.commit(at(1), []string{testID(1)}, w)
		r.commit(at(30), nil, w) // block 1 evicted
		if r.neverCommitted(testID(1), at(30), 2*w) {
			t.Fatal("authoritative under a grown window before it was committed")
		}
		r.commit(at(31), nil, 2*w)
		if r.neverCommitted(testID(1), at(31), 2*w) {
			t.Fatal("authoritative right after the window grew")
		}
		r.commit(at(72), nil, 2*w)
		if !r.neverCommitted(testID(1), at(72), 2*w) {
			t.Fatal("not authoritative 2 grown windows later")
		}
	})
}

// Soundness against a model: whenever the set says "never spent", no block
// committed that id within 2 windows of the last block time, whatever the
// sequence of blocks, window changes, caps and restarts.
func TestReplaySetNeverLies(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		type block struct {
			at  time.Time
			ids []string
		}
		var chain []block
		now := time.Unix(1_800_000_000, 0)
		window := time.Duration(rapid.IntRange(1, 5).Draw(t, "window")) * time.Second
		capIDs := rapid.IntRange(1, 8).Draw(t, "cap")
		r := newReplaySet(now, true, capIDs)
		for step := range rapid.IntRange(1, 60).Draw(t, "steps") {
			switch rapid.IntRange(0, 9).Draw(t, "action") {
			case 0: // restart: the set starts over from the last block time
				r = newReplaySet(now, false, capIDs)
			case 1: // governance changes the window
				window = time.Duration(rapid.IntRange(1, 5).Draw(t, "newWindow")) * time.Second
			default: // a block
				now = now.Add(time.Duration(rapid.IntRange(0, 3000).Draw(t, "gapMs")) * time.Millisecond)
				var ids []string
				for range rapid.IntRange(0, 3).Draw(t, "n") {
					ids = append(ids, testID(rapid.IntRange(0, 20).Draw(t, "id")))
				}
				r.commit(now, ids, window)
				chain = append(chain, block{now, ids})
			}
			id := testID(rapid.IntRange(0, 20).Draw(t, "query"))
			if !r.neverCommitted(id, now, window) {
				continue
			}
			for _, b := range chain {
				if slices.Contains(b.ids, id) && now.Sub(b.at) <= 2*window {
					t.Fatalf("step %d: %s reported never spent, but a block %s before the last one (window %s) spent it", step, id[:8], now.Sub(b.at), window)
				}
			}
		}
	})
}
