package consensus

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cfg "github.com/cometbft/cometbft/config"
	cs "github.com/cometbft/cometbft/consensus"
	"github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/libs/service"
	"github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/rpc/client/local"
	rpccore "github.com/cometbft/cometbft/rpc/core"
)

// dbCloseGrace is how long Stop lets stray reactor and RPC goroutines finish
// before closing the real databases. Reads that come later still find a
// guarded (empty) store, so this only trades shutdown time for fewer
// "database closed" log lines.
const dbCloseGrace = 250 * time.Millisecond

// NodeOptions tune StartNode.
type NodeOptions struct {
	// Logger receives CometBFT's logs; nil means errors only, on os.Stderr.
	Logger log.Logger
	// FilterPeers, when true, turns on base.filter_peers (ABCI queries
	// /p2p/filter/addr/<ip:port> and /p2p/filter/id/<id> decide admission)
	// whatever config.toml says; false leaves config.toml's value.
	FilterPeers bool
	// CometOptions are passed through to node.NewNode (custom reactors etc.).
	CometOptions []node.Option
	// SuperviseInterval is how often the node's supervisor looks at
	// consensus and redials lost persistent peers (0: DefaultSuperviseInterval).
	SuperviseInterval time.Duration
	// RedialPeers (id@host:port) are the peers the supervisor keeps
	// connected; nil: p2p.persistent_peers.
	RedialPeers []string
	// MovementIndex keeps the movement index (movementindex.go):
	// statements then read an organisation's day from it rather than
	// from the tx index.
	MovementIndex bool
	// OpsLogger receives the supervisor's messages (a persistent peer
	// lost, back); nil discards them.
	OpsLogger *slog.Logger
	// IndexRepairFrom is the first height whose tx index StartNode checks
	// and repairs (0: the last IndexRepairWindow heights).
	IndexRepairFrom int64
	// MinFreeDisk (bytes) is the free space below which the supervisor
	// stops the node with a HaltError that names the disk (0: never). The
	// caller checks it before it opens its own databases (CheckDisk), as
	// node.Start does before the ledger.
	MinFreeDisk uint64
	// BlockSyncGap, when above 0, is how many heights behind its peers
	// the node may fall while following consensus before the supervisor
	// stops it with a HaltError wrapping ErrFallenBehind, for the caller
	// to start it again into block sync (nodecfg's node.block_sync_gap).
	BlockSyncGap int64
	// NoTxIndex runs CometBFT's tx and block indexers null where
	// config.toml names kv (the default "jinlian init" writes): the node
	// keeps no tx index (nodecfg events.index = none, or auto on a
	// validator without the API; ADR 0028). A psql sink is kept.
	NoTxIndex bool
}

// Node is a running in-process CometBFT node.
type Node struct {
	home   string
	config *cfg.Config
	node   *node.Node
	client *local.Local
	dbs    *dbSet

	// keyRetired retires the p2p key CometBFT's transport holds: set at
	// Stop, so the stopped switch's leftover dials complete no handshake.
	keyRetired *atomic.Bool
	state      *atomic.Int32 // nodeRunning..nodeStopped, for quietLogger
	halt       *haltWatch
	clock      clockWatch
	// minFreeDisk is NodeOptions.MinFreeDisk.
	minFreeDisk uint64
	behind      behindWatch
	// consensusState is CometBFT's consensus state machine (nil if the
	// node was built without one).
	consensusState *cs.State
	// env is what CometBFT's RPC reads (block store, indexers, state
	// store); Statements reads the same.
	env *rpccore.Environment
	// movements is the movement index, nil unless NodeOptions.MovementIndex.
	movements  *movementIndex
	quit       chan struct{} // closed by Stop: ends the supervisor
	supervisor sync.WaitGroup
	stopOnce   sync.Once
	stopErr    error

	// IndexRepair says which heights StartNode found missing from the tx
	// index and indexed again.
	IndexRepair IndexRepair
}

// StartNode loads the home's config.toml, keys and genesis, creates a
// CometBFT node with a local ABCI client for app and starts it.
func StartNode(home string, app abci.Application, opts NodeOptions) (*Node, error) {
	if app == nil {
		return nil, errors.New("start node: nil application")
	}
	conf, err := LoadConfig(home)
	if err != nil {
		return nil, fmt.Errorf("start node: %w", err)
	}
	if opts.FilterPeers {
		conf.FilterPeers = true
	}
	if opts.NoTxIndex && conf.TxIndex.Indexer == "kv" {
		conf.TxIndex.Indexer = "null"
	}
	if conf.P2P.ExternalAddress == "" {
		conf.P2P.ExternalAddress = externalAddress(conf.P2P.ListenAddress)
	}
	conf.RPC.MaxOpenConnections = rpcConnLimit(conf.RPC.MaxOpenConnections, openFileLimit())
	nodeKey, keyRetired, err := loadRetiringNodeKey(conf.NodeKeyFile())
	if err != nil {
		return nil, fmt.Errorf("start node: load node key: %w", err)
	}
	pv, err := loadPrivValidator(conf)
	if err != nil {
		return nil, fmt.Errorf("start node: %w", err)
	}
	state := new(atomic.Int32)
	logger := opts.Logger
	if logger == nil {
		logger = newQuietLogger(state)
	}
	halt := newHaltWatch()
	logger = failureLogger{Logger: logger, w: halt}

	dbs := newDBSet(openDB)
	cn, err := node.NewNode(conf, pv, nodeKey,
		clientCreator(app),
		node.DefaultGenesisDocProviderFunc(conf),
		dbs.provide,
		metricsProvider(conf.Instrumentation),
		logger,
		opts.CometOptions...,
	)
	if err != nil {
		// NewNode may have started the ABCI connections, event bus and
		// indexer before failing; it gives no handle to stop them.
		return nil, errors.Join(fmt.Errorf("start node: create: %w", err), dbs.closeAll())
	}
	if err := cn.Start(); err != nil {
		// Start failed, so Stop would refuse (ErrNotStarted): undo by hand
		// whatever OnStart and NewNode had started.
		state.Store(nodeStopping)
		keyRetired.Store(true)
		cn.OnStop()
		_ = cn.ProxyApp().Stop()
		state.Store(nodeStopped)
		return nil, errors.Join(fmt.Errorf("start node: %w", err), dbs.closeAll())
	}
	n := &Node{
		home:   home,
		config: conf,
		node:   cn,
		client: local.New(cn),
		dbs:    dbs,

		keyRetired: keyRetired,
		state:      state,
		halt:       halt,

		minFreeDisk: opts.MinFreeDisk,
		behind:      behindWatch{gap: opts.BlockSyncGap},
		quit:        make(chan struct{}),
	}
	env, err := cn.ConfigureRPC()
	if err != nil {
		return nil, errors.Join(fmt.Errorf("start node: %w", err), n.Stop())
	}
	n.consensusState, _ = env.ConsensusState.(*cs.State)
	n.env = env
	if n.IndexRepair, err = repairIndex(env, opts.IndexRepairFrom); err != nil {
		return nil, errors.Join(fmt.Errorf("start node: %w", err), n.Stop())
	}
	ops := opts.OpsLogger
	if ops == nil {
		ops = slog.New(slog.DiscardHandler)
	}
	if opts.MovementIndex {
		db, err := dbs.provide(&cfg.DBContext{ID: "movements", Config: conf})
		if err == nil {
			n.movements, err = openMovementIndex(db, &blockSource{env: env}, ops)
		}
		if err != nil {
			return nil, errors.Join(fmt.Errorf("start node: %w", err), n.Stop())
		}
		n.supervisor.Add(1)
		go func() { defer n.supervisor.Done(); n.movements.follow(n.quit) }()
	}
	peers := opts.RedialPeers
	if peers == nil {
		peers = strings.Split(conf.P2P.PersistentPeers, ",")
	}
	if meta := cn.BlockStore().LoadBlockMeta(cn.BlockStore().Height()); meta != nil {
		if err := checkClockAtStart(meta.Header.Time, time.Now()); err != nil {
			ops.Error("clock at start: "+err.Error(), "height", meta.Header.Height, "block_time", meta.Header.Time.UTC().Format(time.RFC3339))
		}
	}
	n.supervisor.Add(1)
	go n.supervise(cmp.Or(opts.SuperviseInterval, DefaultSuperviseInterval), redialPeers(peers, nodeKey.ID()), ops)
	return n, nil
}

// Stop stops the node and closes its databases and ABCI connections. It is
// safe to call more than once; StartNode on the same home may follow.
func (n *Node) Stop() error {
	n.stopOnce.Do(func() {
		var errs []error
		n.state.Store(nodeStopping)
		close(n.quit)
		n.supervisor.Wait()
		n.keyRetired.Store(true)
		if err := n.node.Stop(); err != nil && !errors.Is(err, service.ErrAlreadyStopped) {
			errs = append(errs, fmt.Errorf("stop node: %w", err))
		}
		n.node.Wait()
		dropRPCConns(n.config.RPC.ListenAddress)
		// Node.OnStop leaves the ABCI connections running.
		if err := n.node.ProxyApp().Stop(); err != nil && !errors.Is(err, service.ErrAlreadyStopped) {
			errs = append(errs, fmt.Errorf("stop abci connections: %w", err))
		}
		time.Sleep(dbCloseGrace)
		if err := n.dbs.closeAll(); err != nil {
			errs = append(errs, fmt.Errorf("close databases: %w", err))
		}
		n.state.Store(nodeStopped)
		n.stopErr = errors.Join(errs...)
	})
	return n.stopErr
}

// Home is the node's home directory.
func (n *Node) Home() string { return n.home }

// Config is the configuration the node was started with.
func (n *Node) Config() *cfg.Config { return n.config }

// RPCAddr is the node's RPC listen address, e.g. tcp://127.0.0.1:26601.
func (n *Node) RPCAddr() string { return n.config.RPC.ListenAddress }

// NodeID is the node's p2p id.
func (n *Node) NodeID() string { return string(n.node.NodeInfo().ID()) }

// CometNode is the underlying CometBFT node (Switch, EventBus, BlockStore...).
func (n *Node) CometNode() *node.Node { return n.node }

// Client is an RPC client that calls the node in-process.
func (n *Node) Client() *local.Local { return n.client }
