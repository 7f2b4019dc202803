package relay

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/jinlian-ledger/jinlian/checkpoint"
	"github.com/jinlian-ledger/jinlian/consensus/prover"
	"github.com/jinlian-ledger/jinlian/consensus/prover/checkpointtest"
	"github.com/jinlian-ledger/jinlian/consensus/prover/relay/devchain"
	"github.com/jinlian-ledger/jinlian/contracts/ethereum/bindings"
	"github.com/jinlian-ledger/jinlian/internal/heavytest"
)

var (
	devOnce   sync.Once
	devProver *prover.EdDSAGroth16
	devErr    error
)

// dev loads (or, the first time on a machine, makes: ~20 s) the INSECURE
// development keys that contracts/ethereum/Verifier.sol was exported from.
func dev(t testing.TB) *prover.EdDSAGroth16 {
	t.Helper()
	devOnce.Do(func() {
		devProver, devErr = prover.NewEdDSAGroth16(prover.DevSlots)
		if devErr == nil {
			_, devErr = devProver.Setup(prover.DevKeysDir(), true)
		}
	})
	if devErr != nil {
		t.Fatal(devErr)
	}
	return devProver
}

type chain struct {
	sim    *devchain.Chain
	r      *Relayer
	anchor *bindings.CheckpointAnchor
	p      *prover.EdDSAGroth16
}

func newChain(t testing.TB, genesis checkpoint.Checkpoint) *chain {
	t.Helper()
	p := dev(t)
	sim, err := devchain.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	ctx := context.Background()
	addr, err := Deploy(ctx, sim.Client(), sim.Auth, genesis, sim.Mine)
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(sim.Client(), addr, sim.Auth, Config{Mine: sim.Mine, Backoff: 10 * time.Millisecond, Attempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := bindings.NewCheckpointAnchor(addr, sim.Client())
	return &chain{sim: sim, r: r, anchor: a, p: p}
}

func prove(t testing.TB, p prover.Prover, keys []*checkpoint.CheckpointKey, vals []checkpoint.Validator, cp checkpoint.Checkpoint, signers ...int) prover.Proof {
	t.Helper()
	proof, err := p.Prove(cp, vals, checkpointtest.Sign(t, keys, cp, signers...))
	if err != nil {
		t.Fatal(err)
	}
	if len(proof) != prover.ProofSize {
		t.Fatalf("proof of %d bytes", len(proof))
	}
	return proof
}

// submitDirect bypasses the relayer's idempotence to see what the contract
// does: it sends the transaction with a fixed gas limit (no estimation),
// checks that it failed on chain, and returns the decoded revert of the
// same call.
func (c *chain) submitDirect(t testing.TB, cp checkpoint.Checkpoint, proof prover.Proof) string {
	t.Helper()
	auth := *c.sim.Auth
	auth.GasLimit = 1_000_000
	tx, err := c.anchor.SubmitCheckpoint(&auth, Binding(cp), proof)
	if err != nil {
		t.Fatal(err)
	}
	c.sim.Mine()
	rcpt, err := bind.WaitMined(context.Background(), c.sim.Client(), tx)
	if err != nil {
		t.Fatal(err)
	}
	if rcpt.Status == types.ReceiptStatusSuccessful {
		t.Fatalf("contract accepted checkpoint %d", cp.Epoch)
	}
	raw := &bindings.CheckpointAnchorRaw{Contract: c.anchor}
	var out []any
	err = raw.Call(&bind.CallOpts{From: auth.From}, &out, "submitCheckpoint", Binding(cp), []byte(proof))
	reason, ok := RevertReason(err)
	if !ok {
		t.Fatalf("call of a reverting submission: %v", err)
	}
	return reason
}

func TestAnchorOnSimulatedChain(t *testing.T) {
	heavytest.Begin(t, "proves checkpoints and anchors them on a simulated chain")
	ctx := context.Background()
	keys, vals := checkpointtest.Validators(t, 1, 10, 10, 10, 10)
	newKeys, newVals := checkpointtest.Validators(t, 2, 10, 10, 10, 10, 20)
	g := checkpointtest.Genesis(t, "jinlian-test", vals, prover.DevSlots)
	c := newChain(t, g)

	cp1 := checkpointtest.Next(g, 20, "state at 20")
	proof1 := prove(t, c.p, keys, vals, cp1, 0, 1, 3)

	t.Run("tampered app hash is refused", func(t *testing.T) {
		bad := cp1
		bad.AppHash[0] ^= 1
		_, err := c.r.Submit(ctx, bad, proof1)
		if !errors.Is(err, ErrReverted) || !bytes.Contains([]byte(err.Error()), []byte("ProofInvalid")) {
			t.Fatalf("tampered app hash: %v", err)
		}
	})
	t.Run("proof by the circuit's other public input is refused", func(t *testing.T) {
		bad := cp1
		bad.Height++
		if _, err := c.r.Submit(ctx, bad, proof1); !errors.Is(err, ErrReverted) {
			t.Fatalf("tampered height: %v", err)
		}
	})
	cp2 := checkpointtest.Next(cp1, 40, "state at 40")
	set2, err := checkpoint.CommitValidators(newVals, prover.DevSlots)
	if err != nil {
		t.Fatal(err)
	}
	cp2.NextValidatorSet = set2 // the set changes after 40
	proof2 := prove(t, c.p, keys, vals, cp2, 0, 1, 2, 3)

	t.Run("epoch out of order is refused", func(t *testing.T) {
		var gap ErrGap
		if _, err := c.r.Submit(ctx, cp2, proof2); !errors.As(err, &gap) || gap.Anchored != 0 {
			t.Fatalf("relayer submitted epoch 2 before 1: %v", err)
		}
		if reason := c.submitDirect(t, cp2, proof2); reason != "EpochOutOfOrder(1, 2)" {
			t.Fatalf("epoch 2 before 1: %s", reason)
		}
	})
	t.Run("valid proof is accepted", func(t *testing.T) {
		res, err := c.r.Submit(ctx, cp1, proof1)
		if err != nil {
			t.Fatal(err)
		}
		if res.Skipped || res.GasUsed == 0 {
			t.Fatalf("result %+v", res)
		}
		t.Logf("submitCheckpoint epoch 1: %d gas", res.GasUsed)
		st, err := c.r.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Epoch != 1 || st.Height != 20 || st.AppHash != cp1.AppHash || st.CheckpointHash != cp1.Hash() || st.ValidatorSet != g.ValidatorSet {
			t.Fatalf("status after epoch 1: %+v", st)
		}
	})
	t.Run("replayed proof is refused and the relayer skips it", func(t *testing.T) {
		if reason := c.submitDirect(t, cp1, proof1); reason != "EpochOutOfOrder(2, 1)" {
			t.Fatalf("replay: %s", reason)
		}
		res, err := c.r.Submit(ctx, cp1, proof1)
		if err != nil || !res.Skipped {
			t.Fatalf("relayer on an anchored epoch: %+v %v", res, err)
		}
		other := cp1
		other.AppHash[1] ^= 1
		if _, err := c.r.Submit(ctx, other, proof1); !errors.Is(err, ErrConflict) {
			t.Fatalf("another checkpoint for an anchored epoch: %v", err)
		}
	})
	t.Run("validator set hands over", func(t *testing.T) {
		res, err := c.r.Submit(ctx, cp2, proof2)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("submitCheckpoint epoch 2 (set change): %d gas", res.GasUsed)
		cp3 := checkpointtest.Next(cp2, 60, "state at 60")
		old := cp3
		old.ValidatorSet, old.NextValidatorSet = g.ValidatorSet, g.ValidatorSet
		oldProof := prove(t, c.p, keys, vals, old, 0, 1, 2, 3)
		if _, err := c.r.Submit(ctx, old, oldProof); !errors.Is(err, ErrReverted) || !bytes.Contains([]byte(err.Error()), []byte("ValidatorSetMismatch")) {
			t.Fatalf("old set signing after the hand-over: %v", err)
		}
		proof3 := prove(t, c.p, newKeys, newVals, cp3, 0, 1, 2, 4)
		if res, err = c.r.Submit(ctx, cp3, proof3); err != nil {
			t.Fatal(err)
		}
		t.Logf("submitCheckpoint epoch 3: %d gas", res.GasUsed)
		app, h, err := c.r.Anchored(ctx, 3)
		if err != nil || app != cp3.AppHash || h != cp3.Hash() {
			t.Fatalf("anchored epoch 3: %s %s %v", app, h, err)
		}
	})
}

// Sync submits what the source has, in order, and is idempotent.
func TestSync(t *testing.T) {
	heavytest.Begin(t, "proves checkpoints and anchors them on a simulated chain")
	ctx := context.Background()
	keys, vals := checkpointtest.Validators(t, 1, 10, 10, 10, 10)
	g := checkpointtest.Genesis(t, "jinlian-sync", vals, prover.DevSlots)
	c := newChain(t, g)
	src := mapSource{}
	prev := g
	for e := uint64(1); e <= 2; e++ {
		cp := checkpointtest.Next(prev, e*20, "sync")
		src[e] = proven{cp, prove(t, c.p, keys, vals, cp, 0, 1, 2)}
		prev = cp
	}
	res, err := c.r.Sync(ctx, src)
	if err != nil || len(res) != 2 || res[0].Epoch != 1 || res[1].Epoch != 2 {
		t.Fatalf("sync: %+v %v", res, err)
	}
	if res, err = c.r.Sync(ctx, src); err != nil || len(res) != 0 {
		t.Fatalf("second sync: %+v %v", res, err)
	}
}

// A dead endpoint is retried, then reported.
func TestSubmitRetriesThenFails(t *testing.T) {
	keys, vals := checkpointtest.Validators(t, 1, 10, 10, 10, 10)
	g := checkpointtest.Genesis(t, "jinlian-down", vals, prover.DevSlots)
	c := newChain(t, g)
	cp := checkpointtest.Next(g, 20, "x")
	_ = keys
	c.sim.Close()
	start := time.Now()
	_, err := c.r.Submit(context.Background(), cp, make(prover.Proof, prover.ProofSize))
	if err == nil || errors.Is(err, ErrReverted) {
		t.Fatalf("submit to a closed endpoint: %v", err)
	}
	if time.Since(start) < 10*time.Millisecond {
		t.Fatal("no backoff between attempts")
	}
}

type proven struct {
	cp    checkpoint.Checkpoint
	proof prover.Proof
}
type mapSource map[uint64]proven

func (m mapSource) ProvenCheckpoint(e uint64) (checkpoint.Checkpoint, prover.Proof, bool, error) {
	p, ok := m[e]
	return p.cp, p.proof, ok, nil
}

// contracts/ethereum/Verifier.sol is exported from the development keys;
// the keys are deterministic, so the file must be exactly what they give.
func TestCommittedVerifierMatchesDevKeys(t *testing.T) {
	p := dev(t)
	var b bytes.Buffer
	if err := prover.WriteVerifier(&b, p, p.Info()); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("..", "..", "..", "contracts", "ethereum", "Verifier.sol"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Fatal("contracts/ethereum/Verifier.sol differs from the verifier of the development keys: run contracts/ethereum/gen.sh")
	}
}
