package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/contracts/custody"
	"github.com/jinlian-ledger/jinlian/contracts/payments"
	"github.com/jinlian-ledger/jinlian/contracts/pvp"
	"github.com/jinlian-ledger/jinlian/contracts/receivables"
	"github.com/jinlian-ledger/jinlian/contracts/reserves"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/errs"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// Version is reported in Info.
const Version = "0.1.0"

// AppVersion is the state-machine protocol version.
const AppVersion uint64 = 1

// App is the jinlian ABCI application.
type App struct {
	abci.BaseApplication

	// largeGenesis: InitChain is applying, or applied and not yet
	// committed, at least largeGenesis identities and balances
	// (holdLargeGenesis).
	largeGenesis bool

	store    *ledger.Store
	payments payments.Keeper
	custody  custody.Keeper
	pvp      pvp.Keeper
	recv     receivables.Keeper
	reserves reserves.Keeper
	// leaves are the reserves' balances kept beside the state.
	leaves   reservesLeaves
	logger   *slog.Logger
	sigs     *SigCache
	nodeKey  *gmcrypto.PrivateKey // signs vote extensions; nil on non-validators
	cpSigner func([]byte, [32]byte) ([]byte, error)
	certs    *permission.CertVerifier

	// Effects of the block being finalized that leave the state machine:
	// validator updates for CometBFT, and nodes to disconnect after Commit.
	valUpdates    []abci.ValidatorUpdate
	evicted       []string
	onNodeRemoved func(nodeID string)
	// checking is true in checker, the copy of the App that CheckTx runs on;
	// rechecking is set there for the duration of a recheck.
	checking   bool
	rechecking bool
	leanIndex  bool
	pruning    Pruning
	// maxProposalTxs is Options.MaxProposalTxs (0: no cap).
	maxProposalTxs int
	// In checker only: skipSanctions is set while CheckTx judges a
	// transaction that hit the sanctions list as if it had not, and
	// sanctionsAttempt holds that hit for CheckTx's log (ADR 0007 §4).
	skipSanctions    bool
	sanctionsAttempt string

	chainID   string
	params    Params
	blockTime time.Time // time of the last committed block (genesis time before any)

	// replay answers most replay checks from memory; blockIDs and checkIDs
	// are the ids spent by the block being finalized and by the check state.
	replay   *replaySet
	blockIDs map[string]spend
	checkIDs map[string]spend
	// spentSorted: blockIDs' keys in order, from FinalizeBlock to Commit.
	spentSorted []string

	// checkState is a cache over the last committed view, reset on Commit;
	// CheckTx executes into it so that a mempool's dependent transactions
	// are judged against each other.
	checkState *ledger.Cache
	// checker is a copy of the App as of the last Commit (its parameters,
	// block time and check state) that CheckTx runs on, so that CheckTx may
	// run while FinalizeBlock changes the App: the node serialises CheckTx
	// with Commit only (see consensus.clientCreator).
	// It is swapped atomically: CometBFT's /check_tx RPC calls CheckTx
	// without the mempool lock, so it may overlap a Commit.
	checker *atomic.Pointer[App]

	// State sync (snapshot.go): the node's snapshot files, what it takes,
	// whether a snapshot is being written, and the one being restored.
	snapshots      *ledger.Snapshots
	snapshotPolicy SnapshotPolicy
	snapshotting   *atomic.Bool
	snapshotDone   *sync.WaitGroup
	restoring      *restore
}

// Options configure New.
type Options struct {
	Logger *slog.Logger
	// NodeKey is the validator's SM2 node key; it signs the app hash of
	// every height in ExtendVote. Nil means the node extends no vote.
	NodeKey *gmcrypto.PrivateKey
	// OnNodeRemoved is called, outside the ABCI lock and after Commit, for
	// every node whose registration the block removed, so the embedding node
	// can disconnect it at once.
	OnNodeRemoved func(nodeID string)
	// SigCache, when set, is shared with other apps in this process (see
	// SigCache); nil gives the app a cache of its own.
	SigCache *SigCache
	// noReservesCache (tests): reserves heights iterate every balance.
	noReservesCache bool
	// LeanIndex limits the indexed event attributes of transactions to the
	// tx id, sender and recipient (see leanIndex); nodes answering queries
	// by ledger, organisation, type, asset or amount keep it false.
	LeanIndex bool
	// SignCheckpoint signs a checkpoint digest with the checkpoint key
	// whose public encoding is registered (the one the chain registered for
	// this validator in the checkpoint's signing set); ErrNoCheckpointKey
	// when the node does not hold it. Nil means the node signs no
	// checkpoints.
	SignCheckpoint func(registered []byte, digest [32]byte) ([]byte, error)
	// Pruning bounds the node's disk (nodecfg [pruning]); the zero value
	// keeps everything. It changes only what this node stores, never the
	// state or the app hash.
	Pruning Pruning
	// Snapshots, when set, serves the snapshots kept there to joining
	// nodes (CometBFT state sync) and receives the chunks of one being
	// restored; Snapshot.Interval > 0 also takes them.
	Snapshots *ledger.Snapshots
	Snapshot  SnapshotPolicy
	// MaxProposalTxs caps the mempool transactions this node puts in a
	// block it proposes (the QC transaction is not counted); 0 leaves only
	// the consensus parameter block.max_bytes. Every validator verifies
	// the signatures it has not seen, executes and commits the block while
	// its mempool admits load on the same cores, so a proposal of
	// everything a full mempool holds can stall a loaded chain for the
	// rest of a run (docs/performance.md). It is the
	// proposer's own choice: ProcessProposal accepts a block of any size
	// that block.max_bytes allows, so nodes may set it differently.
	MaxProposalTxs int
}

// Pruning is what a node deletes of its history.
type Pruning struct {
	// KeepRecent state versions are kept (0: all); pruning runs every
	// Interval blocks.
	KeepRecent, Interval int64
	// RetainBlocks recent blocks are kept by CometBFT (0: all), through
	// ResponseCommit.RetainHeight.
	RetainBlocks int64
	// SpentIDs deletes the spent-id records of blocks older than
	// SpentIDRetention, which no replay window governance may set reaches.
	SpentIDs bool
}

// New returns an app over an opened store, restoring chain id, parameters
// and block time from the last commit.
func New(store *ledger.Store, opts Options) (*App, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a := &App{
		store:          store,
		checker:        new(atomic.Pointer[App]),
		payments:       payments.NewKeeper(authorizer{}),
		logger:         logger,
		sigs:           opts.SigCache,
		nodeKey:        opts.NodeKey,
		onNodeRemoved:  opts.OnNodeRemoved,
		certs:          permission.NewCertVerifier(100_000),
		params:         DefaultParams(),
		cpSigner:       opts.SignCheckpoint,
		leanIndex:      opts.LeanIndex,
		pruning:        opts.Pruning,
		maxProposalTxs: max(opts.MaxProposalTxs, 0),
		snapshotPolicy: opts.Snapshot,
		snapshotting:   new(atomic.Bool),
		snapshotDone:   new(sync.WaitGroup),
	}
	a.custody = custody.NewKeeper(a.payments, authorizer{})
	a.pvp = pvp.NewKeeper(a.payments, authorizer{})
	a.recv = receivables.NewKeeper(a.payments, authorizer{})
	a.reserves = reserves.NewKeeper(reservesBank{a.payments})
	a.leaves.off = opts.noReservesCache
	if a.sigs == nil {
		a.sigs = NewSigCache(200_000, 1)
	}
	a.snapshots = opts.Snapshots
	if err := a.loadState(); err != nil {
		return nil, err
	}
	return a, nil
}

// loadState restores chain id, parameters and block time from the last
// commit, and starts the replay set and the check state over: when the app
// is created, and after a snapshot was restored under it.
func (a *App) loadState() error {
	a.leaves.reset() // a restored state is not the one the leaves followed
	if a.store.LastHeight() > 0 {
		v, err := a.store.View(0)
		if err != nil {
			return err
		}
		if a.chainID, err = loadString(v, keyChainID); err != nil {
			return err
		}
		if a.params, err = loadParams(v); err != nil {
			return err
		}
		if a.blockTime, err = loadBlockTime(v); err != nil {
			return err
		}
		if err := checkUpgradeBinary(v, a.store.LastHeight()); err != nil {
			return err
		}
		if err := checkAppliedCarried(v); err != nil {
			return err
		}
	}
	latest, err := latestSpentStamp(a.store)
	if err != nil {
		return err
	}
	if latest.IsZero() && a.store.LastHeight() > 0 {
		// An index from before the latest stamp was recorded: any
		// transaction was stamped within the widest window of its block.
		latest = a.blockTime.Add(time.Duration(ParamBounds.TxTimeWindowSeconds[1]) * time.Second)
	}
	if a.replay, err = loadReplaySet(a.store, a.store.LastHeight(), latest, replaySetMax); err != nil {
		return err
	}
	if a.store.LastHeight() > 0 {
		// ids 0 after a restart under load: the journal was dropped (a
		// state-synced or rolled-back store), and replay checks read the
		// spent-id index for a window.
		a.logger.Info("replay set loaded", "ids", a.replay.size, "blocks", len(a.replay.blocks))
	}
	a.blockIDs = map[string]spend{}
	return a.resetCheckState()
}

// replaySetMax bounds the ids the replay set holds (28 bytes each,
// BenchmarkReplaySet: about 110 MB full): the ids of the blocks whose stamps
// are within tx_time_window_seconds, up to 6,600 tx/s sustained with the
// default window of 600 s (a validator's maximum on the 2-core machine of
// docs/performance.md is about 7,000). Past that the set lets the oldest
// blocks go and sends misses to the spent-id index on disk (a Badger
// lookup, 5-6 % of a node's CPU under load) until the load drops for a
// window.
const replaySetMax = 4_000_000

// Store exposes the ledger store to in-process readers (API, observers).
func (a *App) Store() *ledger.Store { return a.store }

// Params are the chain's parameters (defaults before InitChain).
func (a *App) Params() Params { return a.params }

// ChainID is the chain the app was initialised for ("" before InitChain).
func (a *App) ChainID() string { return a.chainID }

func (a *App) resetCheckState() error {
	a.checkIDs = map[string]spend{}
	if a.store.LastHeight() == 0 {
		// Before the first commit the genesis lives only in the working set.
		a.checkState = ledger.NewCache(a.store)
	} else {
		v, err := a.store.View(0)
		if err != nil {
			return err
		}
		a.checkState = ledger.NewCache(ledger.NewReadCache(v.ReadOnly()))
	}
	c := *a
	c.checking, c.payments = true, a.payments.Quiet()
	c.custody = custody.NewKeeper(c.payments, authorizer{}).Quiet()
	c.pvp = pvp.NewKeeper(c.payments, authorizer{}).Quiet()
	c.recv = receivables.NewKeeper(c.payments, authorizer{}).Quiet()
	a.checker.Store(&c)
	return nil
}

// Info reports the last committed height and app hash so that CometBFT's
// handshake replays the blocks the app has not committed.
func (a *App) Info(context.Context, *abci.RequestInfo) (*abci.ResponseInfo, error) {
	ci := a.store.LastCommit()
	resp := &abci.ResponseInfo{
		Data:            "jinlian",
		Version:         Version,
		AppVersion:      AppVersion,
		LastBlockHeight: ci.Height,
	}
	if ci.Height > 0 {
		resp.LastBlockAppHash = ci.AppHash
	}
	return resp, nil
}

// InitChain writes the genesis app_state into the working set; it is
// persisted with block 1, so a crash before that replays InitChain.
func (a *App) InitChain(_ context.Context, req *abci.RequestInitChain) (*abci.ResponseInitChain, error) {
	resp, err := a.initChain(req)
	if err != nil {
		a.releaseLargeGenesis()
	}
	return resp, err
}

func (a *App) initChain(req *abci.RequestInitChain) (*abci.ResponseInitChain, error) {
	g, err := ParseGenesis(req.AppStateBytes)
	if err != nil {
		return nil, err
	}
	if g.entries() >= largeGenesis && !a.largeGenesis {
		a.largeGenesis = true
		holdLargeGenesis()
	}
	if err := g.apply(a.store, a.payments); err != nil {
		a.store.Rollback()
		return nil, err
	}
	if err := registerGenesisValidators(a.store, g.Validators, req.Validators); err != nil {
		a.store.Rollback()
		return nil, err
	}
	if err := a.store.Set(permission.SystemLedger, keyChainID, []byte(req.ChainId)); err != nil {
		return nil, err
	}
	if err := a.initCheckpoints(a.store, req.ChainId, g); err != nil {
		a.store.Rollback()
		return nil, err
	}
	if err := setBlockTime(a.store, req.Time); err != nil {
		return nil, err
	}
	if err := startTxResults(a.store); err != nil {
		return nil, err
	}
	if certRefsRelease {
		if err := permission.EnableCertRefs(a.store); err != nil {
			return nil, err
		}
	}
	a.chainID, a.params, a.blockTime = req.ChainId, g.Params, req.Time
	switch {
	case !a.store.BulkLoaded():
		a.leaves.startAtGenesis()
	case g.Params.reservesInterval() > 0:
		if err := a.leaves.startAfterBulkLoad(a.store, a.payments, userLedgers(a.store)); err != nil {
			a.store.Rollback()
			return nil, err
		}
	default: // no reserves heights: nothing to keep
		a.leaves.reset()
	}
	if err := a.resetCheckState(); err != nil {
		return nil, err
	}
	hash, err := a.workingHash(req.InitialHeight)
	if err != nil {
		return nil, err
	}
	a.logger.Info("genesis applied", "chain", req.ChainId, "ledgers", len(g.Ledgers), "organisations", len(g.Organisations))
	return &abci.ResponseInitChain{AppHash: hash}, nil
}

// workingHash is the app hash of the working state at height, or why the
// store cannot give one (its trees could not take the block's writes: a
// read of the database failed). The store then refuses to commit, and the
// node stops here rather than report a hash it cannot save.
func (a *App) workingHash(height int64) ([]byte, error) {
	if hash := a.store.WorkingHash(); hash != nil {
		return hash, nil
	}
	return nil, fmt.Errorf("height %d: the ledger cannot hash its working state: %w", height, a.store.Err())
}

// decodeVerified returns the decoded tx with a verified signature, from the
// cache when this node has seen these bytes before.
// k is txKeyOf(raw), which callers that need it again compute once.
func (a *App) decodeVerified(raw []byte, k [32]byte) (*wire.Tx, error) {
	if tx := a.sigs.get(k); tx != nil {
		return tx, nil
	}
	tx, err := wire.DecodeTx(raw)
	if err != nil {
		return nil, err
	}
	if err := tx.VerifySignature(); err != nil {
		return nil, err
	}
	a.sigs.put(k, tx)
	return tx, nil
}

// Preverify decodes tx and verifies its signature into the signature
// cache, without touching state, so it may run on any goroutine; the node
// calls it before CheckTx takes the ABCI lock (consensus.Preverifier).
// Failures are left for CheckTx to report.
func (a *App) Preverify(raw []byte) {
	if !wire.IsQCTx(raw) {
		_, _ = a.decodeVerified(raw, txKeyOf(raw))
	}
}

// admit runs the state-dependent checks and executes tx into kv at the
// given block time and height. Checks that fail before authentication
// leave kv untouched; an authenticated tx spends its id even if its message
// then fails (the spent-id index lies beside the trees, outside the app
// hash), and a failed message leaves no other trace, not even its sender's
// public key.
func (a *App) admit(kv ledger.KV, tx *wire.Tx, at time.Time, height int64, txIndex uint32) ([]abci.Event, error) {
	if tx.ChainID != a.chainID {
		return nil, ErrWrongChainID.Wrapf("tx %s is for chain %q, this is %q", tx.ID, tx.ChainID, a.chainID)
	}
	window := time.Duration(a.params.TxTimeWindowSeconds) * time.Second
	if d := tx.Timestamp.Sub(at); d > window || d < -window {
		if d > window && a.checking {
			// CheckTx measures against this node's latest block: a fresh
			// transaction far ahead of it more likely means the node is
			// behind (catching up, cut off, halted) than the client's
			// clock is ahead. Say both, with the node's own numbers.
			return nil, ErrStaleTimestamp.Wrapf("tx %s stamped %s is %s ahead of this node's latest block (height %d, time %s), beyond the window ±%s: this node may be behind the network (catching up, cut off or halted: check jinlian status, or send to another node), or the client's clock is ahead",
				tx.ID, tx.Timestamp.UTC().Format(time.RFC3339), d.Round(time.Second), height-1, at.UTC().Format(time.RFC3339), window)
		}
		return nil, ErrStaleTimestamp.Wrapf("tx %s stamped %s, block time %s, window ±%s",
			tx.ID, tx.Timestamp.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339), window)
	}
	if !a.store.HasLedger(tx.Ledger) {
		return nil, ErrUnknownLedger.Wrapf("%q", tx.Ledger)
	}
	if err := a.authenticate(kv, tx, at); err != nil {
		return nil, err
	}
	if err := permission.CheckClaimedOrg(kv, tx.Sender, tx.MSPID); err != nil {
		return nil, err
	}
	spent := a.blockIDs
	if a.checking {
		spent = a.checkIDs
	}
	if h, err := a.committedAt(spent, tx.ID, at, window); err != nil {
		return nil, err
	} else if h > 0 {
		return nil, ErrReplay.Wrapf("tx %s was committed at height %d", tx.ID, h)
	}
	// An authenticated transaction's id is spent whether or not it executes,
	// so that its signed bytes can never be replayed later; its effects are
	// kept only if it executes. Commit records the block's spent ids.
	spent[tx.ID] = spend{height: height, stamp: tx.Timestamp}
	if a.rechecking {
		// After every block CometBFT rechecks every transaction left in
		// the mempool, on the consensus path. A recheck covers what a block
		// can change and is cheap to check (the timestamp window, replay,
		// the ledger, the sender's certificate and organisation) but does
		// not execute the message again: the block that includes it does.
		return nil, nil
	}
	exec := ledger.BorrowCache(kv)
	defer exec.Release()
	events, err := a.route(exec, tx, at, height)
	if err != nil && a.checking && errors.Is(err, permission.ErrSanctioned) {
		return nil, a.admitSanctionsAttempt(kv, tx, at, height, err)
	}
	if err == nil {
		// Only an executed transaction records its sender's key and
		// certificate: a refused one, from anyone holding a certificate of
		// any bank's CA, must leave nothing in state.
		err = permission.RecordPublicKey(exec, tx.Sender, tx.Creator)
	}
	if err == nil && tx.Cert != nil {
		err = permission.RecordCertificate(exec, tx.Cert)
	}
	if err == nil && !a.checking {
		// The block's execution (not CheckTx, whose state is thrown away
		// and whose keepers report no events) folds the movements its
		// events report into the accounts' completeness commitments.
		err = a.recordMovements(exec, tx, height, txIndex, events)
	}
	if err == nil {
		err = exec.Write()
	}
	if err != nil {
		return nil, err
	}
	if a.checking {
		return nil, nil // CheckTx reports no events
	}
	return append(events, wire.Event(&txpb.EventJinlianTx{
		Id: tx.ID, Ledger: tx.Ledger, Sender: tx.Sender.String(), Org: tx.MSPID, Type: tx.Spec.Name,
	})), nil
}

// admitSanctionsAttempt decides, in CheckTx, on a transaction the
// sanctions list refused (hit): it goes to the mempool, and so into a block
// that refuses it with the same error where every observer records the
// attempt, only if it would otherwise be valid; otherwise CheckTx refuses it
// with what else is wrong. Its effects stay in the check state, so that a
// sender cannot have more attempts waiting than its balance covers; the
// block refuses them all and changes nothing but the spent id (ADR 0007 §4).
func (a *App) admitSanctionsAttempt(kv ledger.KV, tx *wire.Tx, at time.Time, height int64, hit error) error {
	exec := ledger.BorrowCache(kv)
	defer exec.Release()
	a.skipSanctions = true
	_, err := a.route(exec, tx, at, height)
	a.skipSanctions = false
	if err != nil {
		return err
	}
	if err := exec.Write(); err != nil {
		return err
	}
	space, code, log := errs.ABCIInfo(hit)
	a.sanctionsAttempt = fmt.Sprintf("sanctions attempt: the block will refuse it (code %d, %s) and the regulators' observers will record it: %s", code, space, log)
	return nil
}

// checkSanctions refuses a message naming a listed account (but see
// admitSanctionsAttempt).
func (a *App) checkSanctions(kv ledger.KV, accounts ...string) error {
	if a.skipSanctions {
		return nil
	}
	return permission.CheckSanctions(kv, accounts...)
}

// committedAt returns the height at which tx id was spent by a
// transaction that still refuses it at block time now (the replay rule,
// state.go; 0 = none): by the block or check state being executed
// (spent), or by a committed block, looked up in the spent-id index only
// when the replay set cannot rule the id out.
func (a *App) committedAt(spent map[string]spend, id string, now time.Time, window time.Duration) (int64, error) {
	if sp, ok := spent[id]; ok {
		return sp.height, nil
	}
	if a.replay.neverCommitted(id, now, window) {
		return 0, nil
	}
	return spentAt(a.store, id, a.store.LastHeight(), now.Add(-window))
}

// authenticate ties the creator to its organisation: a certificate issued
// by the organisation's root CA in state (valid at the block time, of a
// signing role, not revoked), or a bare key where the organisation has no CA.
func (a *App) authenticate(kv ledger.KV, tx *wire.Tx, at time.Time) error {
	org, err := permission.GetOrganisation(kv, tx.MSPID)
	if err != nil {
		return fmt.Errorf("creator of tx %s: %w", tx.ID, err)
	}
	if tx.Cert != nil {
		return a.certs.Authenticate(kv, org, tx.Cert, at)
	}
	if tx.CertRef != nil || tx.CertRefErr != nil {
		return a.authenticateNamed(kv, org, tx, at)
	}
	if org.RootCA != "" {
		return permission.ErrCertificate.Wrapf("organisation %s requires certificate identities; tx %s carries a bare public key", org.ID, tx.ID)
	}
	return nil
}

func (a *App) mayTransact(kv ledger.KV, tx *wire.Tx, asset string, height int64) error {
	if err := permission.RequireMember(kv, tx.Sender, tx.Ledger); err != nil {
		return fmt.Errorf("%s: %w", tx.Spec.Name, err)
	}
	return permission.CheckHolds(kv, tx.Ledger, asset, tx.Sender.String(), height)
}

func (a *App) revoke(kv ledger.KV, tx *wire.Tx, m *txpb.RevokeCertificate) ([]abci.Event, error) {
	if err := permission.RequireRole(kv, tx.Sender, tx.MSPID, permission.RoleAdmin, ""); err != nil {
		return nil, fmt.Errorf("revoke certificate: %w", err)
	}
	r := permission.Revocation{Org: tx.MSPID, Serial: m.Serial, Reason: m.Reason, Height: a.store.LastHeight() + 1}
	// The revocation takes effect through state: every authentication
	// reads the revocation list; no cache is purged.
	if err := permission.Revoke(kv, r); err != nil {
		return nil, err
	}
	return []abci.Event{wire.Event(&txpb.EventRevokeCertificate{Org: tx.MSPID, Serial: m.Serial})}, nil
}

// CheckTx admits a transaction to the mempool.
func (a *App) CheckTx(_ context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	if wire.IsQCTx(req.Tx) {
		return &abci.ResponseCheckTx{Code: ErrBadQC.Code(), Codespace: codespace, Log: "quorum certificates are injected by proposers, not submitted"}, nil
	}
	c := a.checker.Load() // CheckTx calls are serialised, so c is this call's
	c.rechecking = req.Type == abci.CheckTxType_Recheck
	c.sanctionsAttempt = ""
	tx, err := c.decodeVerified(req.Tx, txKeyOf(req.Tx))
	if err == nil {
		_, err = c.admit(c.checkState, tx, c.blockTime, c.store.LastHeight()+1, 0)
	}
	if err != nil {
		space, code, log := errs.ABCIInfo(err)
		return &abci.ResponseCheckTx{Code: code, Codespace: space, Log: log}, nil
	}
	if c.sanctionsAttempt != "" {
		return &abci.ResponseCheckTx{Code: abci.CodeTypeOK, Log: c.sanctionsAttempt}, nil
	}
	return &abci.ResponseCheckTx{Code: abci.CodeTypeOK}, nil
}

// ProcessProposal rejects a block that carries a transaction that does not
// decode or whose signature does not verify. Transactions this node has not
// verified yet are checked in parallel. It never judges a block by its
// number of transactions: Options.MaxProposalTxs is only what this node
// proposes, and validators with different caps must accept each other's
// blocks.
func (a *App) ProcessProposal(_ context.Context, req *abci.RequestProcessProposal) (*abci.ResponseProcessProposal, error) {
	txs := req.Txs
	if len(txs) > 0 && wire.IsQCTx(txs[0]) {
		v, err := a.store.View(0)
		if err != nil {
			return nil, err
		}
		if _, err := a.checkQCTx(v, txs[0], 0, req.Height); err != nil {
			a.logger.Warn("rejecting proposal", "height", req.Height, "err", err)
			return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_REJECT}, nil
		}
		txs = txs[1:]
	}
	if err := a.verifyAll(txs); err != nil {
		a.logger.Warn("rejecting proposal", "height", req.Height, "err", err)
		return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_REJECT}, nil
	}
	return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_ACCEPT}, nil
}

func (a *App) verifyAll(txs [][]byte) error {
	var todo []int
	var keys [][32]byte
	for i, raw := range txs {
		if k := txKeyOf(raw); a.sigs.get(k) == nil {
			todo, keys = append(todo, i), append(keys, k)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	workers := min(runtime.GOMAXPROCS(0), len(todo))
	errsOut := make([]error, len(todo))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := w; j < len(todo); j += workers {
				_, errsOut[j] = a.decodeVerified(txs[todo[j]], keys[j])
			}
		}()
	}
	wg.Wait()
	for j, err := range errsOut {
		if err != nil {
			return fmt.Errorf("tx %d: %w", todo[j], err)
		}
	}
	return nil
}

// FinalizeBlock executes the block's transactions on the working trees, in
// memory; Commit persists them.
func (a *App) FinalizeBlock(_ context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	// Every write of the block goes through kv, so that state many
	// transactions read is looked up in IAVL once per block.
	kv := ledger.BorrowReadCache(a.store)
	defer kv.Release()
	// A binary that may not run this block (an upgrade it lacks, or one it
	// carries too early) stops the node here, naming the upgrade.
	if err := checkUpgradeBinary(kv, req.Height-1); err != nil {
		a.logger.Error(err.Error())
		return nil, err
	}
	upgradeEvents, err := applyUpgrade(kv, req.Height)
	if err != nil {
		a.logger.Error(err.Error())
		return nil, err
	}
	// Record the app hash of the previous height, which the QC of that
	// height (arriving two blocks later) must sign.
	if ci := a.store.LastCommit(); ci.Height >= 1 {
		if err := kv.Set(permission.SystemLedger, appHashKey(ci.Height), ci.AppHash); err != nil {
			return nil, err
		}
	}
	if err := pruneQCRecords(kv, req.Height); err != nil {
		return nil, err
	}
	a.valUpdates, a.evicted = nil, nil
	a.blockIDs = make(map[string]spend, len(req.Txs))
	events, err := a.expireProposals(kv, req.Height)
	if err != nil {
		return nil, err
	}
	events = append(upgradeEvents, events...)
	cpEvent, err := a.defineCheckpoint(kv)
	if err != nil {
		return nil, fmt.Errorf("define checkpoint: %w", err)
	}
	results := make([]*abci.ExecTxResult, len(req.Txs))
	for i, raw := range req.Txs {
		if wire.IsQCTx(raw) {
			results[i] = a.deliverQC(kv, raw, i, req.Height)
			continue
		}
		results[i] = a.deliver(kv, raw, req.Time, req.Height, uint32(i))
	}
	a.spentSorted = make([]string, 0, len(a.blockIDs))
	for id := range a.blockIDs {
		a.spentSorted = append(a.spentSorted, id)
	}
	slices.Sort(a.spentSorted)
	if err := commitSpent(kv, req.Height, req.Time, a.spentSorted, a.blockIDs); err != nil {
		return nil, fmt.Errorf("spent-id commitment: %w", err)
	}
	reserveEvents, err := a.commitReserves(kv, req.Height)
	if err != nil {
		return nil, fmt.Errorf("commit reserves: %w", err)
	}
	events = append(events, reserveEvents...)
	if err := setTxResults(kv, req.Height, req.Txs, results); err != nil {
		return nil, err
	}
	if err := setBlockTime(kv, req.Time); err != nil {
		return nil, err
	}
	a.blockTime = req.Time
	hash, err := a.workingHash(req.Height)
	if err != nil {
		return nil, err
	}
	resp := &abci.ResponseFinalizeBlock{TxResults: results, Events: events, ValidatorUpdates: mergeValidatorUpdates(a.valUpdates), AppHash: hash}
	if cpEvent != nil {
		resp.Events = append(resp.Events, *cpEvent)
	}
	return resp, nil
}

func (a *App) deliver(kv ledger.KV, raw []byte, at time.Time, height int64, txIndex uint32) *abci.ExecTxResult {
	k := txKeyOf(raw)
	tx, err := a.decodeVerified(raw, k)
	var events []abci.Event
	if err == nil {
		a.sigs.delivered(k)
		events, err = a.admit(kv, tx, at, height, txIndex)
	}
	if err != nil {
		return errResult(err)
	}
	if a.leanIndex {
		leanIndex(events)
	}
	return &abci.ExecTxResult{Code: abci.CodeTypeOK, Events: events}
}

// leanIndex keeps the index flag only on the attributes that find a
// transaction by id, by account or by organisation: jinlian_tx id, sender
// and org (the sender's organisation), and the recipient and its
// organisation of payments (issue, transfer; burn has no recipient). A
// member's statement (package recon) finds its organisation's movements by
// jinlian_tx.org and <event>.to_org. Ledger, type, asset, amount and
// balances match most transactions and cost index space and time on every
// node; events are not part of consensus, so this is each node's choice
// (nodecfg events.index).
func leanIndex(events []abci.Event) {
	for i := range events {
		switch events[i].Type {
		case "jinlian_tx", "transfer", "issue", "burn":
		default:
			continue // rare events (governance, compliance, redemptions) stay fully indexed
		}
		for j := range events[i].Attributes {
			at := &events[i].Attributes[j]
			switch at.Key {
			case "id", "sender", "org", "to", "to_org":
			default:
				at.Index = false
			}
		}
	}
}

func errResult(err error) *abci.ExecTxResult {
	space, code, log := errs.ABCIInfo(err)
	return &abci.ExecTxResult{Code: code, Codespace: space, Log: log}
}

// Commit persists the working trees as one version and resets the check state.
func (a *App) Commit(context.Context, *abci.RequestCommit) (*abci.ResponseCommit, error) {
	ids := a.spentSorted // FinalizeBlock sorted the block's spent ids
	// The spent ids and the replay set's journal go to the aside index
	// before the commit record: a crash in between leaves records of a
	// height that never committed, which spentAt and loadReplaySet ignore
	// and the replayed block writes again.
	pairs, latest, err := spentRecords(a.store, a.blockIDs, ids, a.blockTime, a.pruning.SpentIDs)
	if err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	b := newReplayBlock(a.store.LastHeight()+1, ids, latest)
	sets, deletes := a.replay.journal(b)
	if err := a.store.UpdateAside(append(pairs, sets...), deletes); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	ci, err := a.store.Commit()
	if err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	a.replay.commit(a.blockTime, b, time.Duration(a.params.TxTimeWindowSeconds)*time.Second)
	a.blockIDs, a.spentSorted = map[string]spend{}, nil
	if err := a.resetCheckState(); err != nil {
		return nil, err
	}
	if a.onNodeRemoved != nil {
		for _, id := range a.evicted {
			go a.onNodeRemoved(id)
		}
	}
	a.evicted = nil
	a.maybeSnapshot(ci.Height)
	a.releaseLargeGenesis()
	a.logger.Debug("committed", "height", ci.Height, "app_hash", fmt.Sprintf("%X", ci.AppHash))
	return &abci.ResponseCommit{RetainHeight: a.prune(ci.Height)}, nil
}

// prune deletes, every Pruning.Interval blocks, the state versions and
// spent-id records the node no longer keeps, and returns the height below
// which CometBFT may delete blocks (0: keep them all). A failure is logged
// and retried at the next interval: it loses nothing.
func (a *App) prune(height int64) int64 {
	p := a.pruning
	if p.Interval > 0 && height%p.Interval == 0 && a.snapshotting.Load() {
		// A snapshot being written reads a committed version and the
		// spent-id records: prune at the next interval instead.
		a.logger.Info("pruning deferred: a snapshot is being written", "height", height)
	} else if p.Interval > 0 && height%p.Interval == 0 {
		if p.KeepRecent > 0 && height > p.KeepRecent {
			if first, err := a.store.PruneTo(height - p.KeepRecent); err != nil {
				a.logger.Warn("pruning state versions", "height", height, "err", err)
			} else {
				a.logger.Debug("pruned state versions", "first_available", first)
			}
		}
		if p.SpentIDs {
			if n, err := pruneSpent(a.store, a.blockTime.Add(-SpentIDRetention)); err != nil {
				a.logger.Warn("pruning spent ids", "height", height, "err", err)
			} else if n > 0 {
				a.logger.Debug("pruned spent ids", "count", n)
			}
		}
	}
	if p.RetainBlocks > 0 && height > p.RetainBlocks {
		return height - p.RetainBlocks + 1
	}
	return 0
}
