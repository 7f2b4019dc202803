package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/types"
	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/checkpoint"
	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/consensus/prover"
	"github.com/jinlian-ledger/jinlian/consensus/prover/relay"
	"github.com/jinlian-ledger/jinlian/ledger"
)

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
	return def, vals, out, true, nil
}

// AnchoringOptions configure StartAnchoring.
type AnchoringOptions struct {
	// Chain is the Ethereum endpoint (an ethclient.Client, or a
	// development chain's client); the relayer signs with Auth.
	Chain relay.Backend
	Auth  *bind.TransactOpts
	// Anchor is the CheckpointAnchor on Chain. With Deploy, StartAnchoring
	// deploys a new one instead, trusting the chain's epoch-0 checkpoint
	// (a development chain: the localnet's).
	Anchor common.Address
	Deploy bool
	// ChainURL is recorded in anchor.json for the CLI.
	ChainURL string
	// Mine, if set, seals a block after each transaction (a simulated
	// chain; real chains mine on their own).
	Mine func()
	// KeysDir holds the proving keys (default: the INSECURE development
	// keys' cache, made on first use).
	KeysDir string
	Logger  *slog.Logger
	// close, if set, is called by Anchoring.Stop (a chain client the
	// anchoring opened itself).
	close func()
}

// Anchoring is a node's prover worker and relayer.
type Anchoring struct {
	Relayer *relay.Relayer
	Store   *prover.Store
	Prover  *prover.EdDSAGroth16
	cancel  context.CancelFunc
	close   func()
	wg      sync.WaitGroup
	once    sync.Once
}

// AnchorInfo is written to <home>/data/checkpoints/anchor.json for the CLI.
type AnchorInfo struct {
	Contract string `json:"contract"`
	RPC      string `json:"rpc,omitempty"`
}

// AnchorInfoFile is where StartAnchoring records the anchor.
func AnchorInfoFile(home string) string {
	return filepath.Join(prover.StoreDir(home), "anchor.json")
}

// StartAnchoring starts, on node n, a prover worker that proves every
// checkpoint whose signatures are in the state and relays it to the anchor
// at opts.Anchor on opts.Chain, or, with opts.Deploy, to an anchor it
// deploys there. The chain must enable checkpoints in its genesis. ctx
// bounds only the start (the wait for checkpoint 0, which block 1
// commits); the worker runs until Stop.
func StartAnchoring(ctx context.Context, n *Node, opts AnchoringOptions) (*Anchoring, error) {
	p := n.App.Params()
	if p.CheckpointInterval <= 0 {
		return nil, errors.New("this chain's genesis does not enable checkpoints (params.checkpoint_interval)")
	}
	if opts.Chain == nil || opts.Auth == nil {
		return nil, errors.New("anchoring needs an Ethereum endpoint and a transactor (the --eth-key account)")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	keys := opts.KeysDir
	if keys == "" {
		keys = prover.DevKeysDir()
	}
	scheme, err := prover.NewEdDSAGroth16(p.CheckpointSlots)
	if err != nil {
		return nil, err
	}
	info, err := scheme.Setup(keys, opts.KeysDir == "")
	if err != nil {
		return nil, fmt.Errorf("checkpoint keys: %w", err)
	}
	if info.Insecure {
		opts.Logger.Warn("checkpoint proofs use the INSECURE development setup", "circuit", info.CircuitID)
	}
	store, err := prover.OpenStore(prover.StoreDir(n.Config.Home))
	if err != nil {
		return nil, err
	}
	// Epoch 0 is persisted with block 1: wait for it while ctx allows.
	var g0 checkpoint.Checkpoint
	for {
		v, err := n.Store.View(0)
		if err == nil {
			var ok bool
			if g0, ok, err = app.LoadCheckpoint(v, 0); err == nil && ok {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("checkpoint 0 is not committed yet (the chain has not made block 1): %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	an := &Anchoring{Store: store, Prover: scheme, cancel: cancel, close: opts.close}
	fail := func(err error) (*Anchoring, error) { an.close = nil; an.Stop(); return nil, err } // the caller closes the chain
	anchor := opts.Anchor
	if opts.Deploy {
		if anchor, err = relay.Deploy(ctx, opts.Chain, opts.Auth, g0, opts.Mine); err != nil {
			return fail(fmt.Errorf("deploy the anchor: %w", err))
		}
		opts.Logger.Info("checkpoint anchor deployed", "contract", anchor.Hex(), "rpc", opts.ChainURL)
	}
	if an.Relayer, err = relay.New(opts.Chain, anchor, opts.Auth, relay.Config{Mine: opts.Mine, Logger: opts.Logger}); err != nil {
		return fail(err)
	}
	if !opts.Deploy {
		// An anchor deployed for another chain or genesis would refuse
		// every submission: say so at once.
		_, h0, err := an.Relayer.Anchored(ctx, 0)
		if err != nil {
			return fail(fmt.Errorf("anchor %s: %w", anchor.Hex(), err))
		}
		if want := checkpoint.Hash32(g0.Hash()); h0 != want {
			return fail(fmt.Errorf("anchor %s trusts checkpoint %s as epoch 0, this chain's is %s: it was deployed for another chain (jinlian checkpoint deploy)", anchor.Hex(), h0, want))
		}
		opts.Logger.Info("relaying checkpoints", "contract", anchor.Hex(), "rpc", opts.ChainURL)
	}
	info0 := AnchorInfo{Contract: anchor.Hex(), RPC: opts.ChainURL}
	if err := WriteAnchorInfo(n.Config.Home, info0); err != nil {
		return fail(err)
	}
	w := &prover.Worker{
		Prover: scheme, Store: store, Collector: stateCollector{n.Store}, Logger: opts.Logger, Poll: time.Second,
		Relay: func(ctx context.Context) error { _, err := an.Relayer.SyncStore(ctx, store); return err },
	}
	an.wg.Add(1)
	go func() { defer an.wg.Done(); _ = w.Run(ctx) }()
	return an, nil
}

// WriteAnchorInfo records the anchor in <home>/data/checkpoints/anchor.json.
func WriteAnchorInfo(home string, info AnchorInfo) error {
	if err := os.MkdirAll(prover.StoreDir(home), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(AnchorInfoFile(home), append(b, '\n'), 0o644)
}

// GenesisCheckpoint is epoch 0 of the chain whose genesis is in home,
// computed from the genesis alone (the node need not run).
func GenesisCheckpoint(home string) (checkpoint.Checkpoint, error) {
	c, err := consensus.LoadConfig(home)
	if err != nil {
		return checkpoint.Checkpoint{}, err
	}
	doc, err := types.GenesisDocFromFile(c.GenesisFile())
	if err != nil {
		return checkpoint.Checkpoint{}, fmt.Errorf("genesis of %s: %w", home, err)
	}
	vals := make([]abci.ValidatorUpdate, 0, len(doc.Validators))
	for _, v := range doc.Validators {
		vals = append(vals, types.TM2PB.NewValidatorUpdate(v.PubKey, v.Power))
	}
	g0, err := app.GenesisCheckpoint(doc.ChainID, doc.AppState, vals, doc.GenesisTime)
	if err != nil {
		return checkpoint.Checkpoint{}, fmt.Errorf("genesis of %s: %w", home, err)
	}
	return g0, nil
}

// DeployAnchor deploys a Verifier and a CheckpointAnchor trusting the
// epoch-0 checkpoint of the chain whose genesis is in home, and records
// the anchor in the home's anchor.json (with rpcURL).
func DeployAnchor(ctx context.Context, backend relay.Backend, auth *bind.TransactOpts, home, rpcURL string) (common.Address, checkpoint.Checkpoint, error) {
	g0, err := GenesisCheckpoint(home)
	if err != nil {
		return common.Address{}, g0, err
	}
	addr, err := relay.Deploy(ctx, backend, auth, g0, nil)
	if err != nil {
		return common.Address{}, g0, err
	}
	return addr, g0, WriteAnchorInfo(home, AnchorInfo{Contract: addr.Hex(), RPC: rpcURL})
}

// Address is the anchor contract's address.
func (an *Anchoring) Address() common.Address { return an.Relayer.Address() }

// Stop stops the worker. The chain is the caller's, unless the anchoring
// dialled it from the configuration. It is safe to call more than once.
func (an *Anchoring) Stop() {
	an.once.Do(func() {
		an.cancel()
		an.wg.Wait()
		if an.close != nil {
			an.close()
		}
	})
}

// ReadAnchorInfo reads the anchor.json that StartAnchoring or DeployAnchor
// wrote into home.
func ReadAnchorInfo(home string) (AnchorInfo, bool) {
	var info AnchorInfo
	b, err := os.ReadFile(AnchorInfoFile(home))
	return info, err == nil && json.Unmarshal(b, &info) == nil
}

// startConfiguredAnchoring starts the prover and relayer that [checkpoint]
// of n's configuration asks for (checkpoint.prover), against the anchor it
// names (or the one anchor.json records) on a real Ethereum chain.
func startConfiguredAnchoring(ctx context.Context, n *Node, logger *slog.Logger) (*Anchoring, error) {
	cfg := n.Config
	c := cfg.Checkpoint
	anchor := c.Anchor
	if info, ok := ReadAnchorInfo(cfg.Home); anchor == "" && ok {
		anchor = info.Contract
	}
	if anchor == "" {
		return nil, fmt.Errorf("--anchor ADDR (checkpoint.anchor) names the CheckpointAnchor, and %s does not record one: deploy it with jinlian checkpoint deploy --home %s", AnchorInfoFile(cfg.Home), cfg.Home)
	}
	if !common.IsHexAddress(anchor) {
		return nil, fmt.Errorf("anchor %q is not an address", anchor)
	}
	cl, err := ethclient.DialContext(ctx, c.EthRPC)
	if err != nil {
		return nil, fmt.Errorf("--eth-rpc %s: %w", c.EthRPC, err)
	}
	auth, err := relay.KeyedTransactor(ctx, cl, cfg.HomePath(c.EthKey))
	if err != nil {
		cl.Close()
		return nil, err
	}
	an, err := StartAnchoring(ctx, n, AnchoringOptions{
		Chain: cl, Auth: auth, Anchor: common.HexToAddress(anchor), ChainURL: c.EthRPC,
		KeysDir: cfg.HomePath(c.Keys), Logger: logger, close: cl.Close,
	})
	if err != nil {
		cl.Close()
		return nil, err
	}
	return an, nil
}
