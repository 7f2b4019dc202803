package app

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"reflect"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
)

func testID(i int) string {
	h := gmcrypto.SM3([]byte(fmt.Sprint(i)))
	return hex.EncodeToString(h[:])
}

func TestReplaySet(t *testing.T) {
	const w = 10 * time.Second
	t0 := time.Unix(1_800_000_000, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	ids := func(n ...int) []string {
		var out []string
		for _, i := range n {
			out = append(out, testID(i))
		}
		return out
	}

	t.Run("fresh chain is complete at once", func(t *testing.T) {
		r := newReplaySet(time.Time{}, 100)
		if !r.neverCommitted(testID(1), t0, w) {
			t.Fatal("miss on a fresh chain not authoritative")
		}
		r.commit(at(1), newReplayBlock(0, ids(1), at(1)), w)
		if r.neverCommitted(testID(1), at(1), w) {
			t.Fatal("committed id reported never committed")
		}
		if !r.neverCommitted(testID(2), at(1), w) {
			t.Fatal("other id not reported never committed")
		}
	})
	t.Run("after a restart it defers to the state until the latest stamp is a window old", func(t *testing.T) {
		r := newReplaySet(at(5), 100) // a transaction stamped 5 s ahead of the last block
		for s := 1; s <= 15; s++ {
			r.commit(at(s), newReplayBlock(0, nil, time.Time{}), w)
			if r.neverCommitted(testID(9), at(s), w) {
				t.Fatalf("authoritative %d s after restart, window %s", s, w)
			}
		}
		r.commit(at(16), newReplayBlock(0, nil, time.Time{}), w)
		if !r.neverCommitted(testID(9), at(16), w) {
			t.Fatal("not authoritative once the latest stamp is older than the window")
		}
	})
	t.Run("blocks are evicted when their latest stamp is older than the window", func(t *testing.T) {
		r := newReplaySet(time.Time{}, 100)
		r.commit(at(1), newReplayBlock(0, ids(1, 2), at(1)), w)
		r.commit(at(11), newReplayBlock(0, ids(3), at(11)), w)
		if r.neverCommitted(testID(1), at(11), w) || r.size != 3 {
			t.Fatalf("evicted at exactly one window (size %d)", r.size)
		}
		r.commit(at(12), newReplayBlock(0, nil, time.Time{}), w)
		if !r.neverCommitted(testID(1), at(12), w) || r.neverCommitted(testID(3), at(12), w) || r.size != 1 {
			t.Fatalf("eviction wrong: size %d", r.size)
		}
	})
	t.Run("a transaction stamped ahead keeps its block", func(t *testing.T) {
		// Committed under a window of 60 s, stamped 50 s ahead; governance
		// then shrinks the window to 10 s. The same envelope passes the
		// timestamp check until 60 s, and must meet its record until then.
		r := newReplaySet(time.Time{}, 100)
		r.commit(at(1), newReplayBlock(0, ids(1), at(51)), 60*time.Second)
		r.commit(at(30), newReplayBlock(0, nil, time.Time{}), w)
		r.commit(at(60), newReplayBlock(0, nil, time.Time{}), w)
		if r.neverCommitted(testID(1), at(60), w) {
			t.Fatal("an id whose stamp is within the window was evicted when the window shrank")
		}
		r.commit(at(62), newReplayBlock(0, nil, time.Time{}), w)
		if !r.neverCommitted(testID(1), at(62), w) {
			t.Fatal("kept past its stamp's window")
		}
	})
	t.Run("the cap evicts early and defers to the state", func(t *testing.T) {
		r := newReplaySet(time.Time{}, 2)
		r.commit(at(1), newReplayBlock(0, ids(1, 2), at(1)), w)
		r.commit(at(2), newReplayBlock(0, ids(3), at(2)), w)
		if r.size != 1 || len(r.blocks) != 1 {
			t.Fatalf("size %d blocks %d after the cap", r.size, len(r.blocks))
		}
		if r.neverCommitted(testID(1), at(2), w) || r.neverCommitted(testID(7), at(2), w) {
			t.Fatal("authoritative although a block within the window was evicted")
		}
		r.commit(at(12), newReplayBlock(0, nil, time.Time{}), w)
		if !r.neverCommitted(testID(7), at(12), w) {
			t.Fatal("not authoritative a window after the early eviction")
		}
	})
	t.Run("a grown window defers to the state", func(t *testing.T) {
		r := newReplaySet(time.Time{}, 100)
		r.commit(at(1), newReplayBlock(0, ids(1), at(1)), w)
		r.commit(at(15), newReplayBlock(0, nil, time.Time{}), w) // block 1 evicted
		if r.neverCommitted(testID(1), at(15), 2*w) {
			t.Fatal("authoritative under a grown window before it was committed")
		}
		r.commit(at(16), newReplayBlock(0, nil, time.Time{}), 2*w)
		if r.neverCommitted(testID(1), at(16), 2*w) {
			t.Fatal("authoritative right after the window grew")
		}
		r.commit(at(37), newReplayBlock(0, nil, time.Time{}), 2*w)
		if !r.neverCommitted(testID(1), at(37), 2*w) {
			t.Fatal("not authoritative a grown window later")
		}
	})
}

// Soundness against a model of the replay rule: whenever the set says
// "never spent", no committed transaction with that id was stamped within
// the window before the block time, whatever the sequence of blocks,
// stamps, window changes, caps and restarts.
//
// The set's journal is written to a real store with every block, as
// Commit does, and a restart loads it (loadReplaySet), including after a
// crash between the journal's batch and the commit.
func TestReplaySetNeverLies(t *testing.T) {
	store, err := ledger.Open(t.TempDir(), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	rapid.Check(t, func(t *rapid.T) {
		clearReplayJournal(t, store)
		var last int64 // the height of the last block committed
		journal := func(r *replaySet, b replayBlock) {
			sets, deletes := r.journal(b)
			if err := store.UpdateAside(sets, deletes); err != nil {
				t.Fatal(err)
			}
		}
		restart := func(latest time.Time, capIDs int) *replaySet {
			r, err := loadReplaySet(store, last, latest, capIDs)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		type spent struct {
			id    string
			stamp time.Time
		}
		var chain []spent
		var latestEver time.Time
		now := time.Unix(1_800_000_000, 0)
		window := time.Duration(rapid.IntRange(1, 5).Draw(t, "window")) * time.Second
		capIDs := rapid.IntRange(1, 8).Draw(t, "cap")
		r := newReplaySet(time.Time{}, capIDs)
		for step := range rapid.IntRange(1, 60).Draw(t, "steps") {
			switch rapid.IntRange(0, 10).Draw(t, "action") {
			case 0: // restart: the set is loaded from its journal
				r = restart(latestEver, capIDs)
			case 10: // a crash after the journal of a block that never committed
				ids := []string{testID(rapid.IntRange(0, 20).Draw(t, "lostID"))}
				journal(r, newReplayBlock(last+1, ids, now))
				r = restart(latestEver, capIDs)
			case 1: // governance changes the window
				window = time.Duration(rapid.IntRange(1, 5).Draw(t, "newWindow")) * time.Second
			default: // a block
				now = now.Add(time.Duration(rapid.IntRange(0, 3000).Draw(t, "gapMs")) * time.Millisecond)
				var ids []string
				var latest time.Time
				for range rapid.IntRange(0, 3).Draw(t, "n") {
					id := testID(rapid.IntRange(0, 20).Draw(t, "id"))
					off := time.Duration(rapid.Int64Range(-int64(window), int64(window)).Draw(t, "stampOffset"))
					stamp := now.Add(off)
					ids = append(ids, id)
					chain = append(chain, spent{id, stamp})
					if stamp.After(latest) {
						latest = stamp
					}
				}
				if latest.After(latestEver) {
					latestEver = latest
				}
				b := newReplayBlock(last+1, ids, latest)
				journal(r, b)
				r.commit(now, b, window)
				last++
			}
			id := testID(rapid.IntRange(0, 20).Draw(t, "query"))
			if !r.neverCommitted(id, now, window) {
				continue
			}
			for _, sp := range chain {
				if sp.id == id && !sp.stamp.Before(now.Add(-window)) {
					t.Fatalf("step %d: %s reported never spent, but it was spent stamped %s before the block time (window %s)", step, id[:8], now.Sub(sp.stamp), window)
				}
			}
		}
	})
}

// clearReplayJournal deletes every record of the replay set's journal:
// without its state record, loading drops the rest.
func clearReplayJournal(t interface{ Fatal(...any) }, s *ledger.Store) {
	if err := s.DeleteAside([][]byte{keyReplayState}); err != nil {
		t.Fatal(err)
	}
	if _, err := loadReplaySet(s, 0, time.Time{}, 1); err != nil {
		t.Fatal(err)
	}
}

// replayJournalHeights lists the heights of the journal's block records.
func replayJournalHeights(t testing.TB, s *ledger.Store) []int64 {
	t.Helper()
	var hs []int64
	if err := s.ScanAside(replayBlockPrefix, ledger.PrefixEnd(replayBlockPrefix), func(k, _ []byte) bool {
		hs = append(hs, int64(binary.BigEndian.Uint64(k[len(replayBlockPrefix):])))
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return hs
}

// A restarted node's replay set is the one its last commit left, from the
// journal: it answers a new id from memory at once, where an empty set
// would send every check to the spent-id index for a window, and it still
// refuses a replay of a transaction spent before the restart. A journal
// that cannot be trusted (written for a height the store is not at) is
// dropped, and the set starts empty, deferring to the index.
func TestReplayJournal(t *testing.T) {
	h := newHarness(t)
	spent := h.tx(h.alice, "bankB", "payments", transfer("CNY", h.bob, 1))
	h.block(spent)
	h.block(h.tx(h.alice, "bankB", "payments", transfer("CNY", h.bob, 2)), h.tx(h.issuer, "bankA", "payments", issue("CNY", h.bob, 3)))
	h.block()
	window := time.Duration(h.app.Params().TxTimeWindowSeconds) * time.Second
	fresh := testID(-1)
	if h.app.replay.size != 3 || !h.app.replay.neverCommitted(fresh, h.now, window) {
		t.Fatalf("warm node: the set holds %d ids (want 3), a new id answered from memory: %v", h.app.replay.size, h.app.replay.neverCommitted(fresh, h.now, window))
	}
	if got := replayJournalHeights(t, h.store); !reflect.DeepEqual(got, []int64{1, 2}) {
		t.Fatalf("journal holds the blocks of heights %v, want [1 2]", got)
	}
	restart := func() {
		t.Helper()
		var err error
		if h.app, err = New(h.store, Options{}); err != nil {
			t.Fatal(err)
		}
	}
	restart()
	if h.app.replay.size != 3 || !h.app.replay.neverCommitted(fresh, h.now, window) {
		t.Fatalf("restarted node: the set holds %d ids (want 3), a new id answered from memory: %v", h.app.replay.size, h.app.replay.neverCommitted(fresh, h.now, window))
	}
	if r := h.block(spent); r[0].Code != ErrReplay.Code() {
		t.Fatalf("restarted node executed a replay: code %d %q", r[0].Code, r[0].Log)
	}

	// A crash between the journal's batch and the commit: the record of
	// the block that never committed is dropped at start.
	b := newReplayBlock(h.store.LastHeight()+1, []string{fresh}, h.now)
	sets, deletes := h.app.replay.journal(b)
	if err := h.store.UpdateAside(sets, deletes); err != nil {
		t.Fatal(err)
	}
	restart()
	if !h.app.replay.neverCommitted(fresh, h.now, window) {
		t.Fatal("after a crash: the id of a block that never committed is held")
	}
	if got := replayJournalHeights(t, h.store); !reflect.DeepEqual(got, []int64{1, 2}) {
		t.Fatalf("after a crash: journal holds the blocks of heights %v, want [1 2]", got)
	}

	// A journal of another height (a store rolled back past it) is not
	// the set of this commit: dropped, the set defers to the index.
	state, err := h.store.GetAside(keyReplayState)
	if err != nil || len(state) != 24 {
		t.Fatalf("journal state %x %v", state, err)
	}
	binary.BigEndian.PutUint64(state, uint64(h.store.LastHeight()+2))
	if err := h.store.WriteAside([]ledger.AsidePair{{Key: keyReplayState, Value: state}}); err != nil {
		t.Fatal(err)
	}
	restart()
	if h.app.replay.size != 0 || h.app.replay.neverCommitted(fresh, h.now, window) {
		t.Fatalf("untrusted journal: the set holds %d ids, answers a new id from memory: %v", h.app.replay.size, h.app.replay.neverCommitted(fresh, h.now, window))
	}
	if got := replayJournalHeights(t, h.store); len(got) != 0 {
		t.Fatalf("untrusted journal: block records %v left", got)
	}
	if r := h.block(spent); r[0].Code != ErrReplay.Code() {
		t.Fatalf("after an untrusted journal a replay executed: code %d %q", r[0].Code, r[0].Log)
	}
	h.block(h.tx(h.alice, "bankB", "payments", transfer("CNY", h.bob, 4)))
	before := h.app.replay.size
	restart()
	if h.app.replay.size != before || before == 0 {
		t.Fatalf("the journal did not resume after an untrusted one: %d ids held after a restart, %d before", h.app.replay.size, before)
	}
}

// The set lets blocks go once their stamps are out of the window, and
// their journal records go with them, so the journal stays as small as
// the set.
func TestReplayJournalFollowsEvictions(t *testing.T) {
	h := newHarness(t)
	h.block(h.tx(h.alice, "bankB", "payments", transfer("CNY", h.bob, 1)))
	window := time.Duration(h.app.Params().TxTimeWindowSeconds) * time.Second
	h.now = h.now.Add(2 * window)
	h.block() // lets block 1 go
	h.block() // deletes its record
	if h.app.replay.size != 0 {
		t.Fatalf("the set holds %d ids two windows later", h.app.replay.size)
	}
	if got := replayJournalHeights(t, h.store); len(got) != 0 {
		t.Fatalf("journal holds the blocks of heights %v two windows later", got)
	}
}

// A snapshot carries no replay journal (a joiner starts with an empty
// set, deferring to the index it verified), and a snapshot that brings one
// (a forged one: the app hash does not cover the aside index) leaves none
// behind: the restore drops it with the other records it rebuilds.
func TestReplayJournalNotRestored(t *testing.T) {
	src := snapshotHarness(t)
	src.block(src.tx(src.alice, "bankB", "payments", transfer("CNY", src.bob, 1)))
	src.block()
	if len(replayJournalHeights(t, src.store)) == 0 {
		t.Fatal("the source keeps no journal")
	}
	j := joinBySnapshot(t, src, 2)
	if got := replayJournalHeights(t, j.store); len(got) != 0 || j.app.replay.size != 0 {
		t.Fatalf("joiner: journal of heights %v, set of %d ids", got, j.app.replay.size)
	}
	// A restore checks the index, then loads the state (loadState).
	if err := verifySpentIndex(src.store, false); err != nil {
		t.Fatal(err)
	}
	if _, err := loadReplaySet(src.store, src.store.LastHeight(), time.Time{}, replaySetMax); err != nil {
		t.Fatal(err)
	}
	state, err := src.store.GetAside(keyReplayState)
	if got := replayJournalHeights(t, src.store); len(got) != 0 || state != nil || err != nil {
		t.Fatalf("after a restore's check: journal of heights %v, state %x (%v)", got, state, err)
	}
}

// TestReplayAfterTheWindowShrinks plays a signer who stamps a payment ahead
// of the block time within a wide window, then presents the same signed
// bytes again after governance narrowed the window, once the stamp is
// within the narrow window of the block time. The first payment's block is
// older than two narrow windows: a replay set that forgot it by block time
// alone would execute the payment twice on a warm node and refuse it on a
// restarted one. Warm and restarted nodes both refuse it.
func TestReplayAfterTheWindowShrinks(t *testing.T) {
	n := newGovNet(t, Params{TxTimeWindowSeconds: 3600})
	stamp := n.now.Add(50 * time.Minute)
	pay := n.txAt(n.member, "bankB", testChain, "payments", stamp, transfer("CNY", n.payee, 1))
	n.mustOK(n.block(pay))
	narrow := proposeMsg(&txpb.Propose{Action: &txpb.Propose_SetParams{SetParams: &txpb.SetParams{TxTimeWindowSeconds: 60}}})
	n.mustOK(n.block(n.sys(n.committee["bankA"], "bankA", narrow)))
	n.mustOK(n.block(n.sys(n.committee["bankB"], "bankB", voteMsg(1, true)), n.sys(n.committee["bankC"], "bankC", voteMsg(1, true))))
	if w := n.app.Params().TxTimeWindowSeconds; w != 60 {
		t.Fatalf("window %d s after the vote, want 60", w)
	}
	n.now = stamp.Add(-40 * time.Second)
	n.block() // the replay set sees a block long after the payment's
	if r := n.block(pay); r[0].Code != ErrReplay.Code() {
		t.Fatalf("warm node: the same payment again, stamped within the narrowed window: code %d %q, want a replay", r[0].Code, r[0].Log)
	}
	restarted, err := New(n.store, Options{})
	if err != nil {
		t.Fatal(err)
	}
	n.app = restarted
	if r := n.block(pay); r[0].Code != ErrReplay.Code() {
		t.Fatalf("restarted node: code %d %q, want a replay", r[0].Code, r[0].Log)
	}
	v, err := n.store.View(0)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := n.app.payments.Balance(v, "payments", "CNY", n.payee.Public().Address()); err != nil || b != 1 {
		t.Fatalf("payee holds %d (%v), want 1: the payment executed more than once", b, err)
	}
}

// BenchmarkReplaySet fills the set to its cap (replaySetMax ids, in blocks
// of 2,000 within the window) and reports its memory per id held and the
// time of a lookup of a new id, the common case of CheckTx, rechecks and
// deliveries (docs/performance.md, "The replay set").
func BenchmarkReplaySet(b *testing.B) {
	const perBlock = 2000
	t0 := time.Unix(1_800_000_000, 0)
	ids := make([]string, perBlock)
	before := liveHeap()
	r := newReplaySet(time.Time{}, replaySetMax)
	n := 0
	for block := 0; n+perBlock <= replaySetMax; block++ {
		for i := range ids {
			ids[i] = testID(n)
			n++
		}
		at := t0.Add(time.Duration(block) * time.Millisecond)
		r.commit(at, newReplayBlock(0, ids, at), 600*time.Second)
	}
	held := r.size
	bytes := float64(liveHeap()-before) / float64(held)
	fresh := make([]string, 4096)
	for i := range fresh {
		fresh[i] = testID(n + i)
	}
	now := t0.Add(time.Minute)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := fresh[i%len(fresh)]
		if !r.neverCommitted(id, now, 600*time.Second) && r.ids[idPrefix(id)] == 0 {
			b.Fatal("a new id not answered from the set")
		}
	}
	b.StopTimer()
	if held != n {
		b.Fatalf("the set holds %d of the %d ids committed within the window", held, n)
	}
	b.ReportMetric(bytes, "B/id")
	b.ReportMetric(float64(held), "ids")
}

// BenchmarkReplayJournalLoad measures what a restart pays to load a full
// set's journal (replaySetMax ids, in blocks of 2,000 within the window),
// and what a block's journal costs its Commit (writing it with the spent
// ids' batch, which the benchmark writes alone).
func BenchmarkReplayJournalLoad(b *testing.B) {
	const perBlock = 2000
	store, err := ledger.Open(b.TempDir(), ledger.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	t0 := time.Unix(1_800_000_000, 0)
	ids := make([]string, perBlock)
	r := newReplaySet(time.Time{}, replaySetMax)
	var last int64
	var journalTime time.Duration
	for n := 0; n+perBlock <= replaySetMax; last++ {
		for i := range ids {
			ids[i] = testID(n)
			n++
		}
		at := t0.Add(time.Duration(last) * time.Millisecond)
		blk := newReplayBlock(last+1, ids, at)
		start := time.Now()
		sets, deletes := r.journal(blk)
		if err := store.UpdateAside(sets, deletes); err != nil {
			b.Fatal(err)
		}
		journalTime += time.Since(start)
		r.commit(at, blk, 600*time.Second)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		loaded, err := loadReplaySet(store, last, time.Time{}, replaySetMax)
		if err != nil {
			b.Fatal(err)
		}
		if loaded.size != r.size || len(loaded.blocks) != len(r.blocks) {
			b.Fatalf("loaded %d ids in %d blocks, the set holds %d in %d", loaded.size, len(loaded.blocks), r.size, len(r.blocks))
		}
	}
	b.ReportMetric(float64(r.size), "ids")
	b.ReportMetric(float64(journalTime.Microseconds())/float64(last), "µs/block-journal")
}
