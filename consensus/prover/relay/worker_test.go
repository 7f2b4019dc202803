package relay

import (
	"context"
	"testing"

	"github.com/jinlian-ledger/jinlian/checkpoint"
	"github.com/jinlian-ledger/jinlian/consensus/prover"
	"github.com/jinlian-ledger/jinlian/consensus/prover/checkpointtest"
)

// collected is a chain's collected signatures, for the worker.
type collected map[uint64]struct {
	cp   checkpoint.Checkpoint
	vals []checkpoint.Validator
	sigs [][]byte
}

func (c collected) Collected(e uint64) (checkpoint.Checkpoint, []checkpoint.Validator, [][]byte, bool, error) {
	x, ok := c[e]
	return x.cp, x.vals, x.sigs, ok, nil
}

// The worker proves what was collected, stores it, relays it; a restarted
// worker on the same store proves and sends nothing again.
func TestWorkerProvesStoresAndRelays(t *testing.T) {
	ctx := context.Background()
	keys, vals := checkpointtest.Validators(t, 1, 10, 10, 10, 10)
	g := checkpointtest.Genesis(t, "jinlian-worker", vals, prover.DevSlots)
	c := newChain(t, g)
	col := collected{}
	prev := g
	for e := uint64(1); e <= 2; e++ {
		cp := checkpointtest.Next(prev, e*20, "worker")
		col[e] = struct {
			cp   checkpoint.Checkpoint
			vals []checkpoint.Validator
			sigs [][]byte
		}{cp, vals, checkpointtest.Sign(t, keys, cp, 0, 2, 3)}
		prev = cp
	}
	store, err := prover.OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var sent []Result
	var relayedAfter []uint64 // the latest stored epoch at each relay
	newWorker := func() *prover.Worker {
		return &prover.Worker{Prover: c.p, Store: store, Collector: col, Relay: func(ctx context.Context) error {
			last, _, _ := store.Latest()
			relayedAfter = append(relayedAfter, last)
			res, err := c.r.SyncStore(ctx, store)
			sent = append(sent, res...)
			return err
		}}
	}
	proved, err := newWorker().Step(ctx)
	if err != nil || len(proved) != 2 {
		t.Fatalf("first step proved %v: %v", proved, err)
	}
	// It relays after each proof, not once at the end: a chain that defines
	// epochs faster than they are proved would otherwise never be relayed.
	if len(relayedAfter) != 2 || relayedAfter[0] != 1 || relayedAfter[1] != 2 {
		t.Fatalf("relayed with the latest stored epoch at %v, want [1 2]", relayedAfter)
	}
	if len(sent) != 2 || sent[0].Skipped || sent[1].Skipped {
		t.Fatalf("relayed %+v", sent)
	}
	rec, ok, err := store.Load(2)
	if err != nil || !ok || rec.Anchor == nil || rec.Anchor.GasUsed == 0 || rec.Hash != prev.Hash() || rec.Signers != 3 {
		t.Fatalf("record of epoch 2: %+v %v", rec, err)
	}
	if err := c.p.Verify(rec.Checkpoint, prover.Proof(rec.Proof)); err != nil {
		t.Fatalf("stored proof: %v", err)
	}
	sent = nil
	proved, err = newWorker().Step(ctx) // a restarted node
	if err != nil || len(proved) != 0 || len(sent) != 0 {
		t.Fatalf("restarted worker proved %v, relayed %+v: %v", proved, sent, err)
	}
	st, err := c.r.Status(ctx)
	if err != nil || st.Epoch != 2 {
		t.Fatalf("anchor status %+v %v", st, err)
	}
}
