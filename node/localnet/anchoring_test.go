package localnet_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/node"
	"github.com/jinlian-ledger/jinlian/node/anchoring"
	"github.com/jinlian-ledger/jinlian/node/localnet"

	"github.com/cometbft/cometbft/libs/log"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/consensus/prover"
	"github.com/jinlian-ledger/jinlian/consensus/prover/relay/devchain"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/heavytest"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// A localnet signs checkpoints in its vote extensions, collects the
// signatures into its state, and node0 proves and anchors two epochs on the
// in-process development Ethereum chain; what is anchored matches the chain's own
// checkpoints, as node1 defines them. Two validators are the fewest that
// show it (the circuit has checkpoint.DevSlots slots whatever the count).
func TestLocalnetAnchorsCheckpoints(t *testing.T) {
	_, nodes, an := startAnchoredLocalnet(t, 2, 4)

	ctx := heavytest.Context(t, 8*time.Minute)
	for {
		st, err := an.Relayer.Status(ctx)
		if err == nil && st.Epoch >= 2 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("anchor status %+v %v, waiting for epoch 2", st, err)
		}
		time.Sleep(200 * time.Millisecond)
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
		if err := an.Prover.Verify(rec.Checkpoint, prover.Proof(rec.Proof)); err != nil {
			t.Fatalf("epoch %d: %v", e, err)
		}
		def, ok, err := app.LoadCheckpoint(v, e)
		if err != nil || !ok || def != rec.Checkpoint {
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

// A set-validator proposal that removes a validator of a four-validator
// localnet makes its block a checkpoint that hands the anchor over to the
// three others; the next checkpoint, signed by those three, is proved and
// anchored too.
func TestLocalnetAnchorsValidatorSetChange(t *testing.T) {
	ln, nodes, an := startAnchoredLocalnet(t, 4, 6)
	ctx := heavytest.Context(t, 8*time.Minute)
	if err := consensus.WaitForHeight(ctx, nodes[0].Client(), 2); err != nil {
		t.Fatal(err)
	}
	signers := map[string]wire.Signer{}
	for _, id := range ln.Identities {
		info, key, err := gmcrypto.LoadKey(id.KeyFile, []byte(localnet.Passphrase))
		if err != nil {
			t.Fatal(err)
		}
		signers[id.Org] = wire.Signer{Key: key, MSPID: id.Org, CertPEM: []byte(info.Certificate)}
	}
	send := func(org string, m *txpb.Message) int64 {
		t.Helper()
		raw, _, err := wire.BuildTx(signers[org], ln.Network.ChainID, permission.SystemLedger, time.Now(), m)
		if err != nil {
			t.Fatal(err)
		}
		res, err := nodes[0].Client().BroadcastTxCommit(ctx, raw)
		if err != nil || res.CheckTx.Code != 0 || res.TxResult.Code != 0 {
			t.Fatalf("%s: %v %s %s", org, err, res.CheckTx.Log, res.TxResult.Log)
		}
		return res.Height
	}
	remove := &txpb.SetValidator{PubKeyEd25519: ln.Network.Nodes[3].PubKey.Bytes(), Power: 0}
	send("bankA", &txpb.Message{Body: &txpb.Message_Propose{Propose: &txpb.Propose{Action: &txpb.Propose_SetValidator{SetValidator: remove}}}})
	send("bankB", &txpb.Message{Body: &txpb.Message_Vote{Vote: &txpb.Vote{ProposalId: 1, Yes: true}}})
	change := send("bankC", &txpb.Message{Body: &txpb.Message_Vote{Vote: &txpb.Vote{ProposalId: 1, Yes: true}}}) // passes here
	if err := consensus.WaitForHeight(ctx, nodes[0].Client(), change+2); err != nil {
		t.Fatal(err)
	}
	v, err := nodes[1].Store.View(0)
	if err != nil {
		t.Fatal(err)
	}
	epoch, ok, err := app.CheckpointEpochAt(v, uint64(change))
	if err != nil || !ok {
		t.Fatalf("the change at height %d defined no checkpoint: %v", change, err)
	}
	for {
		st, err := an.Relayer.Status(ctx)
		if err == nil && st.Epoch >= epoch+1 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("anchor at %+v, waiting for epoch %d: %v", st, epoch+1, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	handOver, _, _ := an.Store.Load(epoch)
	next, _, _ := an.Store.Load(epoch + 1)
	if handOver.Checkpoint.Height != uint64(change) || handOver.Checkpoint.NextValidatorSet == handOver.Checkpoint.ValidatorSet {
		t.Fatalf("hand-over checkpoint %+v", handOver.Checkpoint)
	}
	if handOver.Validators != 4 || next.Validators != 3 || next.Signers != 3 || next.Checkpoint.ValidatorSet != handOver.Checkpoint.NextValidatorSet {
		t.Fatalf("epoch %d: %d signers of %d; epoch %d: %d of %d, set %s (handed over %s)", epoch, handOver.Signers, handOver.Validators,
			epoch+1, next.Signers, next.Validators, next.Checkpoint.ValidatorSet, handOver.Checkpoint.NextValidatorSet)
	}
}

// startAnchoredLocalnet runs a localnet of validators validators with
// checkpoints every interval blocks, node0 proving and anchoring them on
// the in-process development chain; everything stops with the test. It holds the heavy
// e2e lock (internal/heavytest) for the whole test.
func startAnchoredLocalnet(t *testing.T, validators int, interval int64) (*localnet.Net, []*node.Node, *anchoring.Anchoring) {
	t.Helper()
	heavytest.Begin(t, "runs a localnet and proves checkpoints")
	base, err := consensus.FreeBasePort(validators)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := localnet.Prepare(localnet.Options{
		Home: t.TempDir(), Validators: validators, BasePort: base,
		TimeoutCommit: 100 * time.Millisecond, CheckpointInterval: interval,
	})
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	nodes, err := ln.Start(context.Background(), log.NewNopLogger(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = node.StopAll(nodes) })
	sim, err := devchain.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	sim.MineEvery(time.Second)
	an, err := anchoring.Start(context.Background(), anchoring.Options{Node: nodes[0].Client(), Home: nodes[0].Home(), Chain: sim.Client(), Auth: sim.Auth, Deploy: true, Mine: sim.Mine, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(an.Stop)
	return ln, nodes, an
}
