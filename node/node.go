package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/p2p"
	rpcclient "github.com/cometbft/cometbft/rpc/client"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/checkpoint"
	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/nodecfg"
	"github.com/jinlian-ledger/jinlian/proof"
	"github.com/jinlian-ledger/jinlian/regulator"
	"github.com/jinlian-ledger/jinlian/wire"
)

// SM2KeyFile holds a node's SM2 key (encrypted), which signs the app hash
// of every height through vote extensions (and, on an observer, the
// regulator's audit chain).
func SM2KeyFile(home string) string { return filepath.Join(home, "config", "node_sm2_key.json") }

// EnsureSM2Key creates the node's SM2 key if absent and returns its public half.
func EnsureSM2Key(home, moniker string, passphrase []byte) (*gmcrypto.PublicKey, error) {
	p := SM2KeyFile(home)
	if info, err := gmcrypto.ReadKeyInfo(p); err == nil {
		return gmcrypto.ParsePublicKeyPEM([]byte(info.PublicKey))
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	k, err := gmcrypto.GenerateKey()
	if err != nil {
		return nil, err
	}
	if err := gmcrypto.SaveKey(p, gmcrypto.KeyInfo{Name: moniker + "-node"}, k, passphrase); err != nil {
		return nil, err
	}
	return k.Public(), nil
}

// LedgerDir is where a node keeps its Badger database, inside its home.
func LedgerDir(home string) string { return filepath.Join(home, "data", "jinlian.badger") }

// SnapshotDir is where a node keeps the state snapshots it serves to nodes
// joining by state sync.
func SnapshotDir(home string) string { return filepath.Join(home, "data", "snapshots") }

// Options are what Start takes besides the node's configuration: the
// dependencies a caller injects.
type Options struct {
	// Passphrase answers a prompt for a key's passphrase (the node's SM2
	// key, the regulator key); nil: keys that need one cannot be opened.
	Passphrase func(prompt string) ([]byte, error)
	// CometLogger receives CometBFT's logs (nil: errors only, on stderr);
	// Logger the node's own (nil: discarded).
	CometLogger log.Logger
	Logger      *slog.Logger
	// SigCache is a verified-signature cache shared by the nodes of one
	// process (nil: the app's own). Only a localnet shares one.
	SigCache *app.SigCache
	// Regulator adjusts an observer's regulator service; the zero value
	// takes everything from the configuration.
	Regulator RegulatorOptions
	// StartAnchoring, when set, starts the checkpoint prover and relayer
	// that checkpoint.prover turns on in this process (a development
	// build, with package node/anchoring) instead of supervising a
	// jinlian-anchor process.
	StartAnchoring func(ctx context.Context, n *Node) (Anchorer, error)
}

// Node is a running jinlian node, composed by Start from its
// configuration: the ledger store, the app over it, the CometBFT node
// driving the app, and, as configured, the client API, the regulator
// service of an observer and the checkpoint prover and relayer.
type Node struct {
	*consensus.Node
	App    *app.App
	Store  *ledger.Store
	Config *nodecfg.Config
	// API is the client-facing HTTP API, nil when api.listen is empty.
	API *api.Server
	// Regulator is an observer's regulator service, nil on a validator.
	Regulator *regulator.Service
	// Anchoring is the checkpoint prover and relayer, nil unless
	// checkpoint.prover starts them.
	Anchoring Anchorer

	mu sync.Mutex // guards Node for evict, which may run before consensus.StartNode returns
}

// evict disconnects a peer whose registration was removed; its redials are
// then refused by the peer filter.
func (n *Node) evict(nodeID string) {
	n.mu.Lock()
	cn := n.Node
	n.mu.Unlock()
	if cn == nil {
		return
	}
	sw := cn.CometNode().Switch()
	if p := sw.Peers().Get(p2p.ID(strings.ToLower(nodeID))); p != nil {
		sw.StopPeerForError(p, "node registration removed by governance")
	}
}

// Start composes and starts the node of cfg: it opens the ledger, builds
// the app (with the node's SM2 key and checkpoint key when it is a
// validator that has them), starts CometBFT with the peer filter on, then
// the API (api.listen), the regulator service (node.mode = observer) and
// the checkpoint prover (checkpoint.prover, or opts.Anchoring). ctx bounds
// only the start. A validator home without an SM2 key runs without
// extending votes (it weakens the QC). On error, what was started is
// stopped.
func Start(ctx context.Context, cfg *nodecfg.Config, opts Options) (*Node, error) {
	if _, err := os.Stat(consensus.ConfigFile(cfg.Home)); err != nil {
		return nil, fmt.Errorf("home %s: %w (run jinlian init first)", cfg.Home, consensus.ErrNotInitialized)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	pass := opts.Passphrase
	if pass == nil {
		pass = func(prompt string) ([]byte, error) { return nil, errors.New("no passphrase source") }
	}
	var nodeKey *gmcrypto.PrivateKey
	var pw []byte
	keyFile := SM2KeyFile(cfg.Home)
	if _, err := os.Stat(keyFile); err == nil && cfg.Node.Mode == nodecfg.ModeValidator {
		if pw, err = pass("Passphrase for node key " + keyFile + ": "); err != nil {
			return nil, fmt.Errorf("node key %s: %w", keyFile, err)
		}
		if _, nodeKey, err = gmcrypto.LoadKey(keyFile, pw); err != nil {
			return nil, fmt.Errorf("node key %s: %w", keyFile, err)
		}
	}
	appOpts := app.Options{Logger: logger, NodeKey: nodeKey, LeanIndex: cfg.LeanIndex(), SigCache: opts.SigCache,
		MaxProposalTxs: cfg.Node.MaxProposalTxs,
		Pruning: app.Pruning{
			KeepRecent: int64(cfg.Pruning.KeepRecent), Interval: int64(cfg.Pruning.Interval),
			RetainBlocks: int64(cfg.Pruning.RetainBlocks), SpentIDs: cfg.Pruning.SpentIDs,
		}}
	if nodeKey != nil {
		// A validator with a checkpoint key signs checkpoints too. The key
		// file is encrypted under the node key's passphrase.
		cpFile := checkpoint.KeyFile(cfg.Home)
		if cs, err := newCheckpointSigner(cpFile, pw); err == nil {
			appOpts.SignCheckpoint = cs.sign
			if plain, _ := checkpoint.IsPlainKeyFile(cpFile); plain {
				logger.Warn("checkpoint key file is not encrypted; encrypt it with: jinlian checkpoint encrypt-key --home "+cfg.Home, "file", cpFile)
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("checkpoint key: %w", err)
		}
	}
	if cfg.Node.Mode == nodecfg.ModeObserver {
		// The regulator indexes every block from height 1, which a node
		// restored from a snapshot does not have.
		if cc, err := consensus.LoadConfig(cfg.Home); err == nil && cc.StateSync.Enable && !ledgerExists(cfg.Home) {
			return nil, fmt.Errorf("home %s: an observer keeps every block for its regulator and cannot join by state sync: set [statesync] enable = false in %s and let it block-sync", cfg.Home, consensus.ConfigFile(cfg.Home))
		}
	}
	// Badger writes through memory-mapped files: on a full disk that is a
	// crash, not an error. Refuse to start before it.
	minFree := uint64(cfg.Node.MinFreeDiskMB) << 20
	if err := consensus.CheckDisk(cfg.Home, minFree); err != nil {
		return nil, err
	}
	store, err := ledger.Open(LedgerDir(cfg.Home), ledgerOptions(cfg))
	if err != nil {
		return nil, fmt.Errorf("open ledger of %s: %w", cfg.Home, err)
	}
	switch r := store.FlatRebuilt(); {
	case r.Repaired:
		logger.Info("ledger: flat index of the latest state repaired (the keys of a commit a crash interrupted)",
			"height", r.Height, "keys", r.Keys, "took", r.Took.Round(time.Millisecond).String())
	case r.Keys > 0:
		logger.Info("ledger: flat index of the latest state rebuilt from the trees (first start after the upgrade, or after it was turned off)",
			"height", r.Height, "keys", r.Keys, "took", r.Took.Round(time.Millisecond).String())
	}
	n := &Node{Store: store, Config: cfg}
	appOpts.OnNodeRemoved = n.evict
	// Every node can restore a snapshot; it takes them when configured to.
	if appOpts.Snapshots, err = ledger.OpenSnapshots(SnapshotDir(cfg.Home)); err != nil {
		return nil, errors.Join(err, store.Close())
	}
	appOpts.Snapshot = app.SnapshotPolicy{Interval: int64(cfg.Statesync.SnapshotInterval), KeepRecent: cfg.Statesync.SnapshotKeepRecent}
	if n.App, err = app.New(store, appOpts); err != nil {
		return nil, errors.Join(err, store.Close())
	}
	// The peer filter asks the app's node registry on every dial and accept.
	cn, err := consensus.StartNode(cfg.Home, n.App, consensus.NodeOptions{
		Logger: opts.CometLogger, FilterPeers: true, IndexRepairFrom: int64(cfg.Events.ReindexFrom), OpsLogger: logger,
		MovementIndex: cfg.Recon.MovementIndex && cfg.API.Listen != "",
		MinFreeDisk:   minFree, BlockSyncGap: int64(cfg.Node.BlockSyncGap),
		NoTxIndex: cfg.NoTxIndex(),
	})
	if err != nil {
		return nil, errors.Join(err, store.Close())
	}
	if p := cn.Config().P2P; p.ExternalAddress == "" && p.PersistentPeers != "" {
		logger.Warn("p2p: listening on every interface with no external_address: peers learn no address to dial this node back; set [p2p] external_address in config.toml", "laddr", p.ListenAddress)
	}
	if cfg.NoTxIndex() && cn.Config().TxIndex.Indexer == "null" {
		logger.Info("tx index: none (ADR 0028, 0029): CometBFT's indexers are null, tx_search answers that indexing is disabled, jinlian query tx reads the block the app names, the API (if served) answers statements and memo searches from its movement index; a data/tx_index.db from an earlier start is unused", "events.index", cfg.Events.Index)
	}
	if r := cn.IndexRepair; len(r.Heights) > 0 {
		logger.Warn("tx index: re-indexed heights missing after an unclean stop", "count", len(r.Heights), "first", r.Heights[0], "last", r.Heights[len(r.Heights)-1], "checked_from", r.From, "checked_to", r.To)
	}
	n.mu.Lock()
	n.Node = cn
	n.mu.Unlock()
	if cfg.API.Listen != "" {
		ao := api.OptionsFromConfig(cfg)
		ao.RPC, ao.Status, ao.Health, ao.Version, ao.Logger = cn.RPCAddr(), cn.Client(), cn.Health, app.Version, logger
		ao.Registry = chainRegistry{store: store}
		ao.Statements = cn.Statements()
		ao.Events = cn.Blocks()
		notYet := func(err error) error {
			if errors.Is(err, wire.ErrNoQCYet) {
				return fmt.Errorf("%w: %w", api.ErrNotYet, err)
			}
			return err
		}
		ao.QC = func(ctx context.Context, h int64) (any, error) {
			qc, err := proof.FetchQC(ctx, cn.Client(), nil, h)
			return qc, notYet(err)
		}
		ao.TxProof = func(ctx context.Context, h, from int64, id string) (any, error) {
			b, err := proof.NodeSource(cn.Client(), nil, from).Tx(ctx, h, id)
			return b, notYet(err)
		}
		ao.Anchoring = anchoringStatus(cn.CometNode().GenesisDoc().ChainID, cn.Client(), cfg)
		ao.TxHeight = func(ctx context.Context, id string) (int64, error) {
			res, err := cn.Client().ABCIQuery(ctx, app.QueryTx, []byte(id))
			if err != nil {
				return 0, err
			}
			if res.Response.Code != 0 {
				// The app's spent-id index has no such id (or pruned it).
				return 0, fmt.Errorf("%w: %s", api.ErrNotFound, res.Response.Log)
			}
			var loc app.TxLocation
			if err := json.Unmarshal(res.Response.Value, &loc); err != nil {
				return 0, fmt.Errorf("tx %s: %w", id, err)
			}
			return loc.Height, nil
		}
		if n.API, err = api.Start(ao); err != nil {
			return nil, errors.Join(err, n.Stop())
		}
	}
	if cfg.Node.Mode == nodecfg.ModeObserver {
		if n.Regulator, err = startRegulator(n, opts.Regulator, pass, logger); err != nil {
			return nil, errors.Join(err, n.Stop())
		}
	}
	if cfg.Checkpoint.Prover {
		if opts.StartAnchoring != nil {
			n.Anchoring, err = opts.StartAnchoring(ctx, n)
		} else {
			n.Anchoring, err = startAnchorProcess(ctx, n, logger)
		}
		if err != nil {
			n.Anchoring = nil
			return nil, errors.Join(fmt.Errorf("checkpoint prover: %w", err), n.Stop())
		}
	}
	return n, nil
}

// anchorReadTimeout bounds one read of the anchor contract for
// GET /v1/anchoring.
const anchorReadTimeout = 10 * time.Second

// anchoringStatus reads, for GET /v1/anchoring, the latest checkpoint the
// CheckpointAnchor contract holds (proof.LatestAnchored: plain JSON-RPC,
// the reader of jinlian verify proof --eth-rpc) and compares its app hash
// with the one in the header of the block after its height. The contract
// and endpoint are looked up at each request (cfg.Anchor), since the
// prover of a localnet records them in anchor.json after the API starts.
//
// A status read less than anchorStatusTTL ago is served again, and one
// read at a time goes out: every client's overview asks for it, and an
// epoch lasts a checkpoint interval, so clients cannot make the node
// hammer the Ethereum endpoint.
func anchoringStatus(chainID string, headers rpcclient.SignClient, cfg *nodecfg.Config) api.AnchoringSource {
	var (
		mu   sync.Mutex
		at   time.Time
		last *api.AnchoringStatus
	)
	read := anchoringRead(chainID, headers, cfg)
	return func(ctx context.Context) (*api.AnchoringStatus, error) {
		mu.Lock()
		defer mu.Unlock()
		if last != nil && time.Since(at) < anchorStatusTTL {
			return last, nil
		}
		st, err := read(ctx)
		if err != nil {
			return nil, err
		}
		last, at = st, time.Now()
		return st, nil
	}
}

// anchorStatusTTL is how long a read anchoring status is served again.
const anchorStatusTTL = 5 * time.Second

// anchoringRead reads the anchoring status once.
func anchoringRead(chainID string, headers rpcclient.SignClient, cfg *nodecfg.Config) api.AnchoringSource {
	hc := &http.Client{Timeout: anchorReadTimeout}
	return func(ctx context.Context) (*api.AnchoringStatus, error) {
		rpc, contract := cfg.Anchor()
		if rpc == "" || contract == "" {
			return nil, api.ErrNoAnchor
		}
		rep, err := proof.LatestAnchored(ctx, proof.Anchor{RPC: rpc, Address: contract, Client: hc}, chainID)
		if err != nil {
			return nil, fmt.Errorf("anchor %s at %s: %w", contract, rpc, err)
		}
		st := &api.AnchoringStatus{Contract: rep.Contract, RPC: rpc, Epoch: rep.Epoch, Height: rep.Height, AppHash: rep.AppHash,
			CheckpointHash: rep.Checkpoint, EthTx: rep.EthTx, EthBlock: rep.EthBlock}
		next := int64(rep.Height) + 1
		c, err := headers.Commit(ctx, &next)
		if err != nil {
			return nil, fmt.Errorf("header of block %d: %w", next, err)
		}
		st.ChainAppHash = c.Header.AppHash.String()
		st.Match = strings.EqualFold(st.ChainAppHash, st.AppHash)
		return st, nil
	}
}

// startAnchorProcess runs and supervises `jinlian-anchor run` for n: it
// reads n's checkpoints over n's RPC and proves them into n's home, with
// [checkpoint] of n's configuration as resolved here (flags, environment,
// file).
func startAnchorProcess(ctx context.Context, n *Node, logger *slog.Logger) (Anchorer, error) {
	c := n.Config.Checkpoint
	args := []string{"run", "--home", n.Config.Home, "--node", n.RPCAddr()}
	for _, f := range []struct{ flag, v string }{
		{"--eth-rpc", c.EthRPC}, {"--eth-key", n.Config.HomePath(c.EthKey)}, {"--anchor", c.Anchor}, {"--keys", n.Config.HomePath(c.Keys)},
	} {
		if f.v != "" {
			args = append(args, f.flag, f.v)
		}
	}
	p, err := StartAnchorProcess(ctx, AnchorProcessOptions{Args: args, Restart: true, Logger: logger})
	if errors.Is(err, ErrNoAnchorCommand) {
		err = fmt.Errorf("checkpoint.prover is on and %w; or run the prover yourself with %s run --home %s and turn checkpoint.prover off", err, AnchorCommand, n.Config.Home)
	}
	if err != nil {
		return nil, err // not a nil *AnchorProcess in an Anchorer
	}
	return p, nil
}

// Stop stops, in this order, the prover, the regulator service, the API
// and CometBFT, then closes the ledger. It is safe to call more than once.
func (n *Node) Stop() error {
	var errs []error
	if n.Anchoring != nil {
		n.Anchoring.Stop()
	}
	if n.Regulator != nil {
		errs = append(errs, n.Regulator.Stop())
		n.Regulator = nil
	}
	if n.API != nil {
		errs = append(errs, n.API.Stop())
		n.API = nil
	}
	if n.Node != nil {
		errs = append(errs, n.Node.Stop())
	}
	if n.App != nil {
		n.App.WaitSnapshot() // it reads the store
	}
	if n.Store != nil {
		errs = append(errs, n.Store.Close())
		n.Store = nil
	}
	return errors.Join(errs...)
}

// StopAll stops nodes in reverse order.
func StopAll(nodes []*Node) error {
	var errs []error
	for i := len(nodes) - 1; i >= 0; i-- {
		errs = append(errs, nodes[i].Stop())
	}
	return errors.Join(errs...)
}

// ledgerOptions are the ledger store's options of cfg's [ledger] table.
func ledgerOptions(cfg *nodecfg.Config) ledger.Options {
	inner := cfg.Ledger.InnerCacheMB << 20
	if inner == 0 {
		inner = -1 // off
	}
	return ledger.Options{IAVLCacheSize: cfg.Ledger.CacheSize, NodeCacheBytes: inner,
		BlockCacheBytes: int64(cfg.Ledger.BlockCacheMB) << 20, LevelZeroTables: cfg.Ledger.LevelZeroTables,
		ValueThreshold: cfg.Ledger.ValueThreshold, NoFlatIndex: !cfg.Ledger.FlatIndex}
}

// ledgerExists reports whether the home already has a ledger database.
func ledgerExists(home string) bool {
	_, err := os.Stat(LedgerDir(home))
	return err == nil
}
