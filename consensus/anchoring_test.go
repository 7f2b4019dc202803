package consensus

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/cometbft/cometbft/libs/log"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/consensus/checkpoint"
)

// A four-validator localnet signs checkpoints in its vote extensions,
// collects the signatures into its state, and node0 proves and anchors two
// epochs on the simulated Ethereum chain; what is anchored matches the
// chain's own checkpoints.
func TestLocalnetAnchorsCheckpoints(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a localnet and proves checkpoints")
	}
	base, err := FreeBasePort(4)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := PrepareLocalnet(LocalnetOptions{
		Home: t.TempDir(), Validators: 4, BasePort: base,
		TimeoutCommit: testTimeoutCommit, CheckpointInterval: 4,
	})
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	nodes, err := ln.Start(log.NewNopLogger(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = StopAll(nodes) })
	an, err := StartAnchoring(nodes[0], AnchoringOptions{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(an.Stop)

	ctx := context.Background()
	deadline := time.Now().Add(4 * time.Minute)
	for {
		st, err := an.Relayer.Status(ctx)
		if err == nil && st.Epoch >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("anchor status %+v %v after 4 minutes", st, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	v, err := nodes[1].Store.View(0) // another node's state
	if err != nil {
		t.Fatal(err)
	}
	for e := uint64(1); e <= 2; e++ {
		rec, ok, err := an.Store.Load(e)
		if err != nil || !ok {
			t.Fatalf("record of epoch %d: %v", e, err)
		}
		if err := an.Prover.Verify(rec.Checkpoint, checkpoint.Proof(rec.Proof)); err != nil {
			t.Fatalf("epoch %d: %v", e, err)
		}
		def, ok, err := app.LoadCheckpoint(v, e)
		if err != nil || !ok || toCheckpoint(def) != rec.Checkpoint {
			t.Fatalf("epoch %d: node1 defines %+v, node0 proved %+v (%v)", e, def, rec.Checkpoint, err)
		}
		if rec.Checkpoint.Height != 4*e || rec.Signers*3 <= rec.Validators*2 {
			t.Fatalf("epoch %d: height %d, %d of %d signers", e, rec.Checkpoint.Height, rec.Signers, rec.Validators)
		}
		appHash, h, err := an.Relayer.Anchored(ctx, e)
		if err != nil || h != rec.Hash || appHash != rec.Checkpoint.AppHash {
			t.Fatalf("epoch %d anchored as %s/%s, proved %s/%s (%v)", e, h, appHash, rec.Hash, rec.Checkpoint.AppHash, err)
		}
		if rec.Anchor == nil && e == 1 {
			t.Logf("epoch 1 anchored before its record was updated")
		}
	}
	rec2, _, _ := an.Store.Load(2)
	rec1, _, _ := an.Store.Load(1)
	if err := rec2.Checkpoint.Follows(rec1.Checkpoint); err != nil {
		t.Fatal(err)
	}
}
