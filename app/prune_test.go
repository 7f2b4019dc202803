package app

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/wire"
)

// A pruning node and an archive node run the same blocks: same results and
// app hash at every height, although the pruning one deletes old state
// versions and the spent-id records of blocks older than
// SpentIDRetention and lets CometBFT drop old blocks. A replay of a
// transaction whose record the pruning node deleted is refused on both,
// alike, by the replay window.
func TestPruningNodeAgreesWithArchive(t *testing.T) {
	archive := newHarness(t)
	pruning := archive.twin(Options{Pruning: Pruning{KeepRecent: 10, Interval: 5, RetainBlocks: 20, SpentIDs: true}})
	both := func(txs ...[]byte) {
		t.Helper()
		ra, rp := archive.block(txs...), pruning.block(txs...)
		for i := range ra {
			if ra[i].Code != rp[i].Code || ra[i].Log != rp[i].Log {
				t.Fatalf("height %d tx %d: archive %d %q, pruning %d %q", archive.height, i, ra[i].Code, ra[i].Log, rp[i].Code, rp[i].Log)
			}
		}
		if a, p := archive.store.LastCommit().AppHash, pruning.store.LastCommit().AppHash; !bytes.Equal(a, p) {
			t.Fatalf("height %d: app hash %X (archive) vs %X (pruning)", archive.height, a, p)
		}
	}
	nonce := bytes.Repeat([]byte{7}, 24)
	old, _, err := wire.BuildTxWithNonce(wire.Signer{Key: archive.alice, MSPID: "bankB"}, testChain, "payments", archive.now,
		transfer("CNY", archive.bob, 1), nonce)
	if err != nil {
		t.Fatal(err)
	}
	d, err := wire.DecodeTx(old)
	if err != nil {
		t.Fatal(err)
	}
	both(old) // 1
	for range 29 {
		both()
	}
	if archive.retainHeight != 0 || pruning.retainHeight != 30-20+1 {
		t.Fatalf("retain height %d (archive), %d (pruning): want 0 and 11", archive.retainHeight, pruning.retainHeight)
	}
	var na ledger.ErrHeightNotAvailable
	if _, err := pruning.store.View(20); !errors.As(err, &na) {
		t.Fatalf("pruning node View(20) at height 30: %v, want not available", err)
	}
	if _, err := pruning.store.View(21); err != nil { // the last 10 heights stay
		t.Fatalf("pruning node View(21): %v", err)
	}
	if _, err := archive.store.View(1); err != nil {
		t.Fatalf("archive View(1): %v", err)
	}
	if v, _ := pruning.store.View(0); v != nil {
		if b, _ := v.Get(permission.SystemLedger, spentCommitKey(1)); b == nil {
			t.Fatal("no spent-id commitment of height 1")
		}
	}
	// Days pass: the record of the first transaction is older than the
	// retention at the next pruning.
	archive.now = archive.now.Add(SpentIDRetention)
	pruning.now = archive.now
	for range 5 {
		both()
	}
	if h, _ := spentAt(pruning.store, d.ID, pruning.height, anyStamp); h != 0 {
		t.Fatalf("pruning node still holds the spent record of %s (height %d)", d.ID, h)
	}
	if h, _ := spentAt(archive.store, d.ID, archive.height, anyStamp); h != 1 {
		t.Fatalf("archive spent record of %s: height %d, want 1", d.ID, h)
	}
	// Both deleted the spent-id commitment of height 1 from state, which
	// is in the app hash: it can decide nothing any more.
	for _, n := range []*harness{archive, pruning} {
		v, _ := n.store.View(0)
		if b, err := v.Get(permission.SystemLedger, spentCommitKey(1)); err != nil || b != nil {
			t.Fatalf("spent-id commitment of height 1 kept after the retention (%v)", err)
		}
	}
	if r := archive.block(old); r[0].Code == 0 {
		t.Fatal("a replay days later executed")
	}
	pruning.block(old) // refused alike: its timestamp is far outside the window
	both(old)
	// The signer reuses the old nonce in a fresh envelope: its id is the
	// old one's, which the archive node still holds and the pruning node
	// deleted. Both judge it alike (the record's stamp is long past the
	// window), so neither the results nor the app hash part.
	reused, id, err := wire.BuildTxWithNonce(wire.Signer{Key: archive.alice, MSPID: "bankB"}, testChain, "payments", archive.now.Add(2*time.Second),
		transfer("CNY", archive.bob, 1), nonce)
	if err != nil || id != d.ID {
		t.Fatalf("reused nonce: id %s, want %s (%v)", id, d.ID, err)
	}
	both(reused)
	if r := pruning.block(reused); r[0].Code != ErrReplay.Code() {
		t.Fatalf("the reused nonce's second envelope replayed: %+v", r[0])
	}
}

// While a snapshot is being written (it reads a committed version),
// pruning waits for the next interval.
func TestPruningWaitsForSnapshot(t *testing.T) {
	h := newHarness(t).twin(Options{Pruning: Pruning{KeepRecent: 10, Interval: 5}})
	for range 14 {
		h.block()
	}
	h.app.snapshotting.Store(true)
	h.block() // 15: an interval, while a snapshot is written
	if _, err := h.store.View(3); err != nil {
		t.Fatalf("pruned while a snapshot was being written: %v", err)
	}
	h.app.snapshotting.Store(false)
	for range 5 {
		h.block() // 20: the next interval prunes up to 10
	}
	var na ledger.ErrHeightNotAvailable
	if _, err := h.store.View(10); !errors.As(err, &na) {
		t.Fatalf("View(10) after the next interval: %v, want not available", err)
	}
}
