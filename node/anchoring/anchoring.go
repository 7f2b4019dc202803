package anchoring

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	coretypes "github.com/cometbft/cometbft/rpc/core/types"
	"github.com/cometbft/cometbft/types"
	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/checkpoint"
	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/consensus/prover"
	"github.com/jinlian-ledger/jinlian/consensus/prover/relay"
	"github.com/jinlian-ledger/jinlian/nodecfg"
)

// Source is the node a prover reads checkpoints from: CometBFT's RPC
// client, over HTTP (rpc/client/http) or in process (rpc/client/local).
type Source interface {
	ABCIQuery(ctx context.Context, path string, data cmtbytes.HexBytes) (*coretypes.ResultABCIQuery, error)
}

// QueryCheckpoint asks the node for checkpoint epoch (app.QueryCheckpoint).
func QueryCheckpoint(ctx context.Context, src Source, epoch uint64) (app.CheckpointResponse, error) {
	var r app.CheckpointResponse
	res, err := src.ABCIQuery(ctx, app.QueryCheckpoint, []byte(strconv.FormatUint(epoch, 10)))
	if err != nil {
		return r, fmt.Errorf("query checkpoint %d: %w", epoch, err)
	}
	if res.Response.Code != 0 {
		return r, fmt.Errorf("query checkpoint %d: %s", epoch, res.Response.Log)
	}
	if err := json.Unmarshal(res.Response.Value, &r); err != nil {
		return r, fmt.Errorf("query checkpoint %d: %w", epoch, err)
	}
	return r, nil
}

// ErrCheckpointsOff: the chain's genesis does not enable checkpoints.
var ErrCheckpointsOff = errors.New("this chain's genesis does not enable checkpoints (params.checkpoint_interval)")

// waitCheckpoint0 asks the node for checkpoint 0 until it is committed
// (with block 1) or the chain turns out to have no checkpoints, while ctx
// allows. The node may not answer yet, or have no state yet: it retries.
func waitCheckpoint0(ctx context.Context, src Source) (app.CheckpointResponse, error) {
	for {
		r0, err := QueryCheckpoint(ctx, src, 0)
		if err == nil && (r0.Interval <= 0 || r0.Checkpoint != nil) {
			return r0, nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = errors.New("the chain has not made block 1")
			}
			return r0, fmt.Errorf("checkpoint 0 is not committed yet: %w (%w)", err, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// nodeCollector reads checkpoints and their signatures from a node's
// committed state, over its RPC, for the prover worker.
type nodeCollector struct{ src Source }

func (c nodeCollector) Collected(epoch uint64) (checkpoint.Checkpoint, []checkpoint.Validator, [][]byte, bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := QueryCheckpoint(ctx, c.src, epoch)
	if err != nil || r.Checkpoint == nil || !r.Signed {
		return checkpoint.Checkpoint{}, nil, nil, false, err
	}
	// Signed by the set the previous checkpoint handed over to, not by
	// today's registry (which may have changed since).
	return *r.Checkpoint, r.Signers, r.Signatures, true, nil
}

// Options configure Start.
type Options struct {
	// Node is the node whose checkpoints are proved; Home is where the
	// proofs are kept (<home>/data/checkpoints) and the anchor recorded
	// (anchor.json): the node's home, or a directory of the prover's own.
	Node Source
	Home string
	// Chain is the Ethereum endpoint (an ethclient.Client, or a
	// development chain's client); the relayer signs with Auth.
	Chain relay.Backend
	Auth  *bind.TransactOpts
	// Anchor is the CheckpointAnchor on Chain. With Deploy, Start deploys
	// a new one instead, trusting the chain's epoch-0 checkpoint (a
	// development chain: the localnet's).
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

// Anchoring is a running checkpoint prover worker and relayer.
type Anchoring struct {
	Relayer *relay.Relayer
	Store   *prover.Store
	Prover  *prover.EdDSAGroth16
	// Interval is the chain's checkpoint interval, in blocks.
	Interval int64
	cancel   context.CancelFunc
	close    func()
	wg       sync.WaitGroup
	once     sync.Once
}

// Start starts a prover worker that proves every checkpoint whose
// signatures are in the state of opts.Node and relays it to the anchor at
// opts.Anchor on opts.Chain, or, with opts.Deploy, to an anchor it deploys
// there. The chain must enable checkpoints in its genesis. ctx bounds only
// the start (the wait for checkpoint 0, which block 1 commits); the worker
// runs until Stop.
func Start(ctx context.Context, opts Options) (*Anchoring, error) {
	if opts.Node == nil || opts.Home == "" {
		return nil, errors.New("anchoring needs a node to read and a home for its proofs")
	}
	if opts.Chain == nil || opts.Auth == nil {
		return nil, errors.New("anchoring needs an Ethereum endpoint and a transactor (the --eth-key account)")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	r0, err := waitCheckpoint0(ctx, opts.Node)
	if err != nil {
		return nil, err
	}
	if r0.Interval <= 0 {
		return nil, ErrCheckpointsOff
	}
	g0 := *r0.Checkpoint
	keys := opts.KeysDir
	if keys == "" {
		keys = prover.DevKeysDir()
	}
	scheme, err := prover.NewEdDSAGroth16(r0.Slots)
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
	store, err := prover.OpenStore(prover.StoreDir(opts.Home))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	an := &Anchoring{Store: store, Prover: scheme, Interval: r0.Interval, cancel: cancel, close: opts.close}
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
	if err := nodecfg.WriteAnchorInfo(opts.Home, nodecfg.AnchorInfo{Contract: anchor.Hex(), RPC: opts.ChainURL}); err != nil {
		return fail(err)
	}
	w := &prover.Worker{
		Prover: scheme, Store: store, Collector: nodeCollector{opts.Node}, Logger: opts.Logger, Poll: time.Second,
		Relay: func(ctx context.Context) error { _, err := an.Relayer.SyncStore(ctx, store); return err },
	}
	an.wg.Add(1)
	go func() { defer an.wg.Done(); _ = w.Run(ctx) }()
	return an, nil
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
	return addr, g0, nodecfg.WriteAnchorInfo(home, nodecfg.AnchorInfo{Contract: addr.Hex(), RPC: rpcURL})
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

// StartFromConfig starts the prover and relayer that [checkpoint] of a
// node's configuration asks for (checkpoint.prover), proving the
// checkpoints of src into cfg's home and relaying them to the anchor that
// checkpoint.anchor names (or that anchor.json records) on the Ethereum
// chain at checkpoint.eth_rpc.
func StartFromConfig(ctx context.Context, cfg *nodecfg.Config, src Source, logger *slog.Logger) (*Anchoring, error) {
	c := cfg.Checkpoint
	anchor := c.Anchor
	if info, ok := nodecfg.ReadAnchorInfo(cfg.Home); anchor == "" && ok {
		anchor = info.Contract
	}
	if anchor == "" {
		return nil, fmt.Errorf("--anchor ADDR (checkpoint.anchor) names the CheckpointAnchor, and %s does not record one: deploy it with jinlian checkpoint deploy --home %s", nodecfg.AnchorInfoFile(cfg.Home), cfg.Home)
	}
	if !common.IsHexAddress(anchor) {
		return nil, fmt.Errorf("anchor %q is not an address", anchor)
	}
	if c.EthRPC == "" {
		return nil, errors.New("--eth-rpc URL (checkpoint.eth_rpc) names the Ethereum endpoint of the anchor")
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
	an, err := Start(ctx, Options{
		Node: src, Home: cfg.Home,
		Chain: cl, Auth: auth, Anchor: common.HexToAddress(anchor), ChainURL: c.EthRPC,
		KeysDir: cfg.HomePath(c.Keys), Logger: logger, close: cl.Close,
	})
	if err != nil {
		cl.Close()
		return nil, err
	}
	return an, nil
}

// DialAddr is the address a client on this host dials to reach a server
// listening at laddr (CometBFT's rpc.laddr): an unspecified host
// (0.0.0.0, ::) becomes the loopback.
func DialAddr(laddr string) string {
	for _, any := range []string{"://0.0.0.0:", "://[::]:", "://:"} {
		if i := strings.Index(laddr, any); i >= 0 {
			return laddr[:i] + "://127.0.0.1:" + laddr[i+len(any):]
		}
	}
	return laddr
}
