package app

import (
	"bytes"
	"context"
	"path/filepath"
	"reflect"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/ledger"
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
	info, err := src.app.TakeSnapshot(3)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Chunks) < 2 {
		t.Fatalf("want several chunks, got %d", len(info.Chunks))
	}
	trusted := src.store.LastCommit().AppHash
	snaps, err := ledger.OpenSnapshots(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	j := src.joiner(snaps)
	offer, results := stateSync(t, src.app, j.app, trusted, nil)
	if offer != abci.ResponseOfferSnapshot_ACCEPT || results[len(results)-1].Result != abci.ResponseApplySnapshotChunk_ACCEPT {
		t.Fatalf("state sync: offer %v, last chunk %v", offer, results[len(results)-1])
	}
	if left, _ := filepath.Glob(filepath.Join(snaps.Dir(), ".incoming-*")); len(left) != 0 {
		t.Fatalf("received chunks left behind: %v", left)
	}
	in, _ := j.app.Info(context.Background(), &abci.RequestInfo{})
	if in.LastBlockHeight != 3 || !bytes.Equal(in.LastBlockAppHash, trusted) {
		t.Fatalf("Info after restore: height %d app hash %X, want 3 %X", in.LastBlockHeight, in.LastBlockAppHash, trusted)
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
