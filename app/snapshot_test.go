package app

import (
	"bytes"
	"context"
	"encoding/binary"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/wire"
)

// snapshotHarness is a chain whose node keeps snapshots, with small chunks
// so that a snapshot has several.
func snapshotHarness(t *testing.T) *harness {
	t.Helper()
	src := newHarness(t)
	ss, err := ledger.OpenSnapshots(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return src.twin(Options{Snapshots: ss, Snapshot: SnapshotPolicy{ChunkSize: 1 << 10}})
}

// joiner is a fresh node of h's chain: an empty store, no InitChain, as
// CometBFT starts an app it will state-sync. With snaps, it keeps
// snapshots there and receives chunks as files; else in memory.
func (h *harness) joiner(snaps ...*ledger.Snapshots) *harness {
	h.t.Helper()
	store, err := ledger.Open(h.t.TempDir(), ledger.Options{})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { _ = store.Close() })
	j := *h
	j.store = store
	var opts Options
	if len(snaps) > 0 {
		opts.Snapshots = snaps[0]
	}
	if j.app, err = New(store, opts); err != nil {
		h.t.Fatal(err)
	}
	return &j
}

// stateSync runs CometBFT's side of state sync from src to dst through the
// four ABCI methods, trusting appHash; it returns the last results.
func stateSync(t *testing.T, src, dst *App, appHash []byte, corrupt func(i uint32, c []byte) []byte) (abci.ResponseOfferSnapshot_Result, []*abci.ResponseApplySnapshotChunk) {
	t.Helper()
	ctx := context.Background()
	list, err := src.ListSnapshots(ctx, &abci.RequestListSnapshots{})
	if err != nil || len(list.Snapshots) == 0 {
		t.Fatalf("list snapshots: %v %v", list, err)
	}
	s := list.Snapshots[0]
	offer, err := dst.OfferSnapshot(ctx, &abci.RequestOfferSnapshot{Snapshot: s, AppHash: appHash})
	if err != nil {
		t.Fatal(err)
	}
	if offer.Result != abci.ResponseOfferSnapshot_ACCEPT {
		return offer.Result, nil
	}
	var results []*abci.ResponseApplySnapshotChunk
	for i := uint32(0); i < s.Chunks; i++ {
		c, err := src.LoadSnapshotChunk(ctx, &abci.RequestLoadSnapshotChunk{Height: s.Height, Format: s.Format, Chunk: i})
		if err != nil || len(c.Chunk) == 0 {
			t.Fatalf("load chunk %d: %v", i, err)
		}
		chunk := c.Chunk
		if corrupt != nil {
			chunk = corrupt(i, bytes.Clone(chunk))
		}
		r, err := dst.ApplySnapshotChunk(ctx, &abci.RequestApplySnapshotChunk{Index: i, Chunk: chunk, Sender: "peer1"})
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, r)
		if r.Result != abci.ResponseApplySnapshotChunk_ACCEPT {
			break
		}
	}
	return offer.Result, results
}

// A node joins by a snapshot: it reports the snapshot's height and app
// hash, knows the chain's id, parameters and block time, refuses a replay
// of a transaction spent before the snapshot as the source does, and
// executes the next blocks to the same app hash.
func TestStateSyncJoin(t *testing.T) {
	src := snapshotHarness(t)
	spent := src.tx(src.alice, "bankB", "payments", transfer("CNY", src.bob, 7))
	src.block(spent)
	src.block(src.tx(src.issuer, "bankA", "payments", issue("CNY", src.bob, 3)))
	src.block()
	snaps, err := ledger.OpenSnapshots(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	j := joinBySnapshot(t, src, 3, snaps)
	if left, _ := filepath.Glob(filepath.Join(snaps.Dir(), ".incoming-*")); len(left) != 0 {
		t.Fatalf("received chunks left behind: %v", left)
	}
	if j.app.ChainID() != testChain || !reflect.DeepEqual(j.app.Params(), src.app.Params()) || !j.app.blockTime.Equal(src.app.blockTime) {
		t.Fatalf("restored app: chain %q params %+v time %v", j.app.ChainID(), j.app.Params(), j.app.blockTime)
	}
	if got, want := j.balance(j.bob), src.balance(src.bob); got != want || got != 10 {
		t.Fatalf("bob has %d on the joiner, %d on the source", got, want)
	}
	// The completeness commitments travel in the snapshot: a joiner
	// answers the proofs of movements before it joined.
	if got, want := j.commitment(j.bob, 0), src.commitment(src.bob, 0); got != want || got.Count != 2 {
		t.Fatalf("bob's commitment on the joiner %+v, on the source %+v", got, want)
	}
	// A replay of the transaction spent at height 1, through CheckTx and
	// in a block, is refused by both nodes alike.
	ct, _ := j.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: spent})
	if ct.Code == 0 {
		t.Fatal("joiner's CheckTx accepted a replay of a transaction spent before the snapshot")
	}
	next := src.tx(src.alice, "bankB", "payments", transfer("CNY", src.bob, 1))
	rs, rj := src.block(spent, next), j.block(spent, next)
	for i := range rs {
		if rs[i].Code != rj[i].Code || rs[i].Log != rj[i].Log {
			t.Fatalf("tx %d: source %d %q, joiner %d %q", i, rs[i].Code, rs[i].Log, rj[i].Code, rj[i].Log)
		}
	}
	if rs[0].Code == 0 || rs[1].Code != 0 {
		t.Fatalf("replay code %d, new transfer code %d", rs[0].Code, rs[1].Code)
	}
	if a, b := src.store.LastCommit().AppHash, j.store.LastCommit().AppHash; !bytes.Equal(a, b) {
		t.Fatalf("height 4: source %X, joiner %X", a, b)
	}
}

// joinBySnapshot takes src's snapshot of its latest height h (several
// chunks) and state-syncs a fresh joiner from it, trusting src's app
// hash; the joiner must accept every chunk and report height h and that
// hash. With snaps, the joiner receives chunks as files there.
func joinBySnapshot(t *testing.T, src *harness, h int64, snaps ...*ledger.Snapshots) *harness {
	t.Helper()
	info, err := src.app.TakeSnapshot(h)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Chunks) < 2 {
		t.Fatalf("want several chunks, got %d", len(info.Chunks))
	}
	trusted := src.store.LastCommit().AppHash
	j := src.joiner(snaps...)
	offer, results := stateSync(t, src.app, j.app, trusted, nil)
	if offer != abci.ResponseOfferSnapshot_ACCEPT || results[len(results)-1].Result != abci.ResponseApplySnapshotChunk_ACCEPT {
		t.Fatalf("state sync: offer %v, last chunk %v", offer, results[len(results)-1])
	}
	in, _ := j.app.Info(context.Background(), &abci.RequestInfo{})
	if in.LastBlockHeight != h || !bytes.Equal(in.LastBlockAppHash, trusted) {
		t.Fatalf("Info after restore: height %d app hash %X, want %d %X", in.LastBlockHeight, in.LastBlockAppHash, h, trusted)
	}
	return j
}

// The adversary's side: a snapshot whose app hash is not the trusted one,
// of another format, a corrupted chunk, chunks without an offer, and an
// offer to a node that already has state.
func TestStateSyncRefusesBadSnapshots(t *testing.T) {
	src := snapshotHarness(t)
	src.block(src.tx(src.alice, "bankB", "payments", transfer("CNY", src.bob, 7)))
	src.block()
	if _, err := src.app.TakeSnapshot(2); err != nil {
		t.Fatal(err)
	}
	trusted := src.store.LastCommit().AppHash
	ctx := context.Background()

	t.Run("app hash other than the light client's", func(t *testing.T) {
		j := src.joiner()
		wrong := bytes.Clone(trusted)
		wrong[0] ^= 1
		if offer, _ := stateSync(t, src.app, j.app, wrong, nil); offer != abci.ResponseOfferSnapshot_REJECT {
			t.Fatalf("offer %v", offer)
		}
	})
	t.Run("unknown format", func(t *testing.T) {
		j := src.joiner()
		list, _ := src.app.ListSnapshots(ctx, &abci.RequestListSnapshots{})
		s := *list.Snapshots[0]
		s.Format = 99
		r, _ := j.app.OfferSnapshot(ctx, &abci.RequestOfferSnapshot{Snapshot: &s, AppHash: trusted})
		if r.Result != abci.ResponseOfferSnapshot_REJECT_FORMAT {
			t.Fatalf("offer %v", r.Result)
		}
	})
	t.Run("metadata not matching its hash", func(t *testing.T) {
		j := src.joiner()
		list, _ := src.app.ListSnapshots(ctx, &abci.RequestListSnapshots{})
		s := *list.Snapshots[0]
		s.Hash = bytes.Clone(s.Hash)
		s.Hash[3] ^= 1
		r, _ := j.app.OfferSnapshot(ctx, &abci.RequestOfferSnapshot{Snapshot: &s, AppHash: trusted})
		if r.Result != abci.ResponseOfferSnapshot_REJECT {
			t.Fatalf("offer %v", r.Result)
		}
	})
	t.Run("corrupted chunk is fetched again from another peer", func(t *testing.T) {
		j := src.joiner()
		_, results := stateSync(t, src.app, j.app, trusted, func(i uint32, c []byte) []byte {
			if i == 1 {
				c[len(c)/2] ^= 1
			}
			return c
		})
		r := results[len(results)-1]
		if r.Result != abci.ResponseApplySnapshotChunk_RETRY || len(r.RefetchChunks) != 1 || r.RefetchChunks[0] != 1 || r.RejectSenders[0] != "peer1" {
			t.Fatalf("corrupted chunk: %+v", r)
		}
		if j.store.LastHeight() != 0 {
			t.Fatal("a corrupted chunk changed the store")
		}
		// The good chunk then completes the restore.
		good, _ := src.app.LoadSnapshotChunk(ctx, &abci.RequestLoadSnapshotChunk{Height: 2, Format: ledger.SnapshotFormat, Chunk: 1})
		r, _ = j.app.ApplySnapshotChunk(ctx, &abci.RequestApplySnapshotChunk{Index: 1, Chunk: good.Chunk, Sender: "peer2"})
		if r.Result != abci.ResponseApplySnapshotChunk_ACCEPT {
			t.Fatalf("good chunk after a bad one: %v", r.Result)
		}
	})
	t.Run("chunk without an offer", func(t *testing.T) {
		j := src.joiner()
		r, _ := j.app.ApplySnapshotChunk(ctx, &abci.RequestApplySnapshotChunk{Index: 0, Chunk: []byte("x")})
		if r.Result != abci.ResponseApplySnapshotChunk_ABORT {
			t.Fatalf("chunk without offer: %v", r.Result)
		}
	})
	t.Run("offer to a node with state", func(t *testing.T) {
		if offer, _ := stateSync(t, src.app, src.app, trusted, nil); offer != abci.ResponseOfferSnapshot_ABORT {
			t.Fatalf("offer %v", offer)
		}
	})
	t.Run("unknown chunk is not served", func(t *testing.T) {
		c, err := src.app.LoadSnapshotChunk(ctx, &abci.RequestLoadSnapshotChunk{Height: 2, Format: ledger.SnapshotFormat, Chunk: 9999})
		if err != nil || len(c.Chunk) != 0 {
			t.Fatalf("unknown chunk: %d bytes, %v", len(c.Chunk), err)
		}
	})
}

// Snapshots are taken every Interval heights after Commit, and only the
// KeepRecent newest are kept.
func TestSnapshotInterval(t *testing.T) {
	h := newHarness(t)
	ss, err := ledger.OpenSnapshots(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h = h.twin(Options{Snapshots: ss, Snapshot: SnapshotPolicy{Interval: 2, KeepRecent: 2}})
	for range 7 {
		h.block()
		h.app.WaitSnapshot() // the goroutine of this height
	}
	list, err := ss.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Height != 6 || list[1].Height != 4 {
		t.Fatalf("snapshots %v", list)
	}
}

// TestStateSyncChecksSpentIDs plays a peer that serves a snapshot with a
// doctored spent-id index (which lies beside the trees, outside the app
// hash): an id left out (a replay the joiner would then execute), a stamp
// moved, an id added to a block that spent it not. The joiner checks the
// index against the spent-id commitments its state carries, refuses the
// snapshot and is left empty, ready for another peer's. A record of a block
// that has no commitment (a fresh transaction's id, planted to make the
// joiner refuse it) is dropped.
func TestStateSyncChecksSpentIDs(t *testing.T) {
	setRecord := func(h *harness, id string, height int64, stamp time.Time) {
		v := binary.BigEndian.AppendUint64(nil, uint64(height))
		v = binary.BigEndian.AppendUint64(v, uint64(stamp.UnixNano()))
		if err := h.store.WriteAside([]ledger.AsidePair{{Key: txKey(id), Value: v}}); err != nil {
			t.Fatal(err)
		}
	}
	type source struct {
		*harness
		spent, fresh *wire.Tx
		rawSpent     []byte
		rawFresh     []byte
	}
	newSource := func(t *testing.T) source {
		src := snapshotHarness(t)
		raw := src.tx(src.alice, "bankB", "payments", transfer("CNY", src.bob, 7))
		src.block(raw, src.tx(src.issuer, "bankA", "payments", issue("CNY", src.bob, 3)))
		src.block()
		fresh := src.tx(src.alice, "bankB", "payments", transfer("CNY", src.bob, 1))
		s := source{harness: src, rawSpent: raw, rawFresh: fresh}
		s.spent, _ = wire.DecodeTx(raw)
		s.fresh, _ = wire.DecodeTx(fresh)
		return s
	}
	sync := func(t *testing.T, src source) (*harness, abci.ResponseApplySnapshotChunk_Result) {
		if _, err := src.app.TakeSnapshot(2); err != nil {
			t.Fatal(err)
		}
		j := src.joiner()
		offer, results := stateSync(t, src.app, j.app, src.store.LastCommit().AppHash, nil)
		if offer != abci.ResponseOfferSnapshot_ACCEPT {
			t.Fatalf("offer %v", offer)
		}
		return j, results[len(results)-1].Result
	}
	for _, tc := range []struct {
		name   string
		doctor func(src source)
	}{
		{"an id left out", func(src source) {
			if err := src.store.DeleteAside([][]byte{txKey(src.spent.ID)}); err != nil {
				t.Fatal(err)
			}
		}},
		{"a stamp moved", func(src source) { setRecord(src.harness, src.spent.ID, 1, src.spent.Timestamp.Add(-time.Hour)) }},
		{"an id added to a block that spent ids", func(src source) { setRecord(src.harness, src.fresh.ID, 1, src.fresh.Timestamp) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := newSource(t)
			tc.doctor(src)
			j, last := sync(t, src)
			if last != abci.ResponseApplySnapshotChunk_REJECT_SNAPSHOT {
				t.Fatalf("doctored snapshot: %v, want REJECT_SNAPSHOT", last)
			}
			if j.store.LastHeight() != 0 {
				t.Fatalf("refused snapshot left the joiner at height %d", j.store.LastHeight())
			}
			// An honest peer's snapshot then restores on the same joiner.
			honest := newSource(t)
			if _, err := honest.app.TakeSnapshot(2); err != nil {
				t.Fatal(err)
			}
			offer, results := stateSync(t, honest.app, j.app, honest.store.LastCommit().AppHash, nil)
			if offer != abci.ResponseOfferSnapshot_ACCEPT || results[len(results)-1].Result != abci.ResponseApplySnapshotChunk_ACCEPT {
				t.Fatalf("honest snapshot after a refused one: offer %v, last chunk %v", offer, results[len(results)-1].Result)
			}
		})
	}
	t.Run("a record of a block without commitment is dropped", func(t *testing.T) {
		src := newSource(t)
		setRecord(src.harness, src.fresh.ID, 2, src.fresh.Timestamp) // block 2 spent nothing
		j, last := sync(t, src)
		if last != abci.ResponseApplySnapshotChunk_ACCEPT {
			t.Fatalf("snapshot refused: %v", last)
		}
		if h, _ := spentAt(j.store, src.fresh.ID, 2, anyStamp); h != 0 {
			t.Fatalf("planted record kept (height %d)", h)
		}
		if h, _ := spentAt(j.store, src.spent.ID, 2, anyStamp); h != 1 {
			t.Fatalf("verified record of height 1: %d", h)
		}
		if r := j.block(src.rawFresh); r[0].Code != 0 {
			t.Fatalf("the joiner refused a fresh transaction: %s", r[0].Log)
		}
		if r := j.block(src.rawSpent); r[0].Code != ErrReplay.Code() {
			t.Fatalf("the joiner let a replay through: %+v", r[0])
		}
	})
}
