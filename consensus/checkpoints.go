package consensus

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/consensus/checkpoint"
	"github.com/jinlian-ledger/jinlian/consensus/checkpoint/relay"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
)

// Checkpointer hands the app consensus/checkpoint's scheme
// (app.Checkpointer), so that the app does not import this layer.
type Checkpointer struct{}

var _ app.Checkpointer = Checkpointer{}

func toCheckpoint(c app.Checkpoint) checkpoint.Checkpoint {
	return checkpoint.Checkpoint{
		ChainID: c.ChainID, Epoch: c.Epoch, Height: c.Height, AppHash: c.AppHash, PrevHash: c.PrevHash,
		ValidatorSet: c.ValidatorSet, NextValidatorSet: c.NextValidatorSet,
	}
}

func toValidators(vals []app.CheckpointValidator) []checkpoint.Validator {
	out := make([]checkpoint.Validator, len(vals))
	for i, v := range vals {
		out[i] = checkpoint.Validator{Key: v.Key, Power: v.Power}
	}
	return out
}

// CommitValidators implements app.Checkpointer.
func (Checkpointer) CommitValidators(vals []app.CheckpointValidator, slots int) ([32]byte, error) {
	return checkpoint.CommitValidators(toValidators(vals), slots)
}

// Hash implements app.Checkpointer.
func (Checkpointer) Hash(c app.Checkpoint) [32]byte { return toCheckpoint(c).Hash() }

// Digest implements app.Checkpointer.
func (Checkpointer) Digest(c app.Checkpoint) [32]byte { return toCheckpoint(c).Digest() }

// VerifySignature implements app.Checkpointer.
func (Checkpointer) VerifySignature(key []byte, digest [32]byte, sig []byte) error {
	return checkpoint.VerifySignature(key, digest, sig)
}

// VerifyRegistration implements app.Checkpointer.
func (Checkpointer) VerifyRegistration(r app.CheckpointRegistration, chainID string, node *gmcrypto.PublicKey) error {
	reg := checkpoint.Registration{ChainID: chainID, Validator: r.Validator}
	var err error
	for _, f := range []struct {
		dst *checkpoint.HexBytes
		src string
	}{{&reg.CheckpointKey, r.CheckpointKey}, {&reg.Possession, r.Possession}, {&reg.SM2Signature, r.SM2Signature}} {
		if *f.dst, err = hex.DecodeString(f.src); err != nil {
			return fmt.Errorf("%w: not hex", checkpoint.ErrBadRegistration)
		}
	}
	return reg.Verify(chainID, node)
}

// AppRegistration converts a registration to the genesis form.
func AppRegistration(r checkpoint.Registration) app.CheckpointRegistration {
	return app.CheckpointRegistration{
		Validator: r.Validator, CheckpointKey: hex.EncodeToString(r.CheckpointKey),
		Possession: hex.EncodeToString(r.Possession), SM2Signature: hex.EncodeToString(r.SM2Signature),
	}
}

// stateCollector reads checkpoints and their signatures from a node's
// committed state for the prover worker.
type stateCollector struct{ store *ledger.Store }

func (c stateCollector) Collected(epoch uint64) (checkpoint.Checkpoint, []checkpoint.Validator, [][]byte, bool, error) {
	v, err := c.store.View(0)
	if err != nil {
		return checkpoint.Checkpoint{}, nil, nil, false, err
	}
	def, ok, err := app.LoadCheckpoint(v, epoch)
	if err != nil || !ok {
		return checkpoint.Checkpoint{}, nil, nil, false, err
	}
	sigs, ok, err := app.CheckpointSignatures(v, def)
	if err != nil || !ok {
		return checkpoint.Checkpoint{}, nil, nil, false, err
	}
	// Signed by the set the previous checkpoint handed over to, not by
	// today's registry (which may have changed since).
	vals, err := app.CheckpointSigners(v, epoch)
	if err != nil {
		return checkpoint.Checkpoint{}, nil, nil, false, err
	}
	out := make([][]byte, len(vals))
	for i, val := range vals {
		out[i] = sigs[strings.ToUpper(val.Address)]
	}
	return toCheckpoint(def), toValidators(vals), out, true, nil
}

// AnchoringOptions configure StartAnchoring.
type AnchoringOptions struct {
	// RPC, if set (loopback host:port), serves the simulated chain's
	// JSON-RPC so that `jinlian checkpoint status --eth-rpc` can reach it.
	RPC string
	// KeysDir holds the proving keys (default: the INSECURE development
	// keys' cache, made on first use).
	KeysDir string
	// BlockTime is the simulated chain's block period (1 s).
	BlockTime time.Duration
	Logger    *slog.Logger
}

// Anchoring is a node's prover worker and relayer, anchoring to an
// in-process simulated Ethereum chain: the localnet's default.
type Anchoring struct {
	Sim     *relay.Simulated
	Relayer *relay.Relayer
	Store   *checkpoint.Store
	Prover  *checkpoint.EdDSAGroth16
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// AnchorInfo is written to <home>/data/checkpoints/anchor.json for the CLI.
type AnchorInfo struct {
	Contract string `json:"contract"`
	RPC      string `json:"rpc,omitempty"`
}

// AnchorInfoFile is where StartAnchoring records the anchor.
func AnchorInfoFile(home string) string {
	return filepath.Join(checkpoint.StoreDir(home), "anchor.json")
}

// StartAnchoring starts, on node n, a simulated Ethereum chain with the
// anchor deployed (trusting the chain's epoch-0 checkpoint), and a prover
// worker that proves every checkpoint whose signatures are in the state
// and relays it. The chain must enable checkpoints in its genesis.
func StartAnchoring(n *JinlianNode, opts AnchoringOptions) (*Anchoring, error) {
	p := n.App.Params()
	if p.CheckpointInterval <= 0 {
		return nil, errors.New("this chain's genesis does not enable checkpoints (params.checkpoint_interval)")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.BlockTime <= 0 {
		opts.BlockTime = time.Second
	}
	keys := opts.KeysDir
	if keys == "" {
		keys = checkpoint.DevKeysDir()
	}
	prover, err := checkpoint.NewEdDSAGroth16(p.CheckpointSlots)
	if err != nil {
		return nil, err
	}
	info, err := prover.Setup(keys, opts.KeysDir == "")
	if err != nil {
		return nil, fmt.Errorf("checkpoint keys: %w", err)
	}
	if info.Insecure {
		opts.Logger.Warn("checkpoint proofs use the INSECURE development setup", "circuit", info.CircuitID)
	}
	store, err := checkpoint.OpenStore(checkpoint.StoreDir(n.Config.Home))
	if err != nil {
		return nil, err
	}
	// Epoch 0 is persisted with block 1.
	var g0 app.Checkpoint
	for {
		v, err := n.Store.View(0)
		if err == nil {
			var ok bool
			if g0, ok, err = app.LoadCheckpoint(v, 0); err == nil && ok {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	sim, err := relay.NewSimulatedWith(relay.LiveRules(), opts.RPC)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	an := &Anchoring{Sim: sim, Store: store, Prover: prover, cancel: cancel}
	fail := func(err error) (*Anchoring, error) { an.Stop(); return nil, err }
	addr, err := relay.Deploy(ctx, sim.Client(), sim.Auth, toCheckpoint(g0), sim.Mine)
	if err != nil {
		return fail(err)
	}
	if an.Relayer, err = relay.New(sim.Client(), addr, sim.Auth, relay.Config{Mine: sim.Mine, Logger: opts.Logger}); err != nil {
		return fail(err)
	}
	b, _ := json.MarshalIndent(AnchorInfo{Contract: addr.Hex(), RPC: rpcURL(opts.RPC)}, "", "  ")
	if err := os.WriteFile(AnchorInfoFile(n.Config.Home), append(b, '\n'), 0o644); err != nil {
		return fail(err)
	}
	opts.Logger.Info("checkpoint anchor deployed on the simulated Ethereum chain", "contract", addr.Hex(), "rpc", rpcURL(opts.RPC))
	w := &checkpoint.Worker{
		Prover: prover, Store: store, Collector: stateCollector{n.Store}, Logger: opts.Logger, Poll: time.Second,
		Relay: func(ctx context.Context) error { _, err := an.Relayer.SyncStore(ctx, store); return err },
	}
	an.wg.Add(2)
	go func() { defer an.wg.Done(); _ = w.Run(ctx) }()
	go func() { // the simulated chain mines on its own, like a real one
		defer an.wg.Done()
		t := time.NewTicker(opts.BlockTime)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				sim.Commit()
			}
		}
	}()
	return an, nil
}

func rpcURL(addr string) string {
	if addr == "" {
		return ""
	}
	return "http://" + addr
}

// Address is the anchor contract's address.
func (an *Anchoring) Address() common.Address { return an.Relayer.Address() }

// Stop stops the worker and the simulated chain.
func (an *Anchoring) Stop() {
	an.cancel()
	an.wg.Wait()
	an.Sim.Close()
}
