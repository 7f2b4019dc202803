package ledger

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cosmos/iavl"
	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// Errors a caller must tell apart. Call sites wrap them with the ledger name.
var (
	// ErrUnknownLedger: the named sub-ledger does not exist in this view.
	ErrUnknownLedger = errors.New("unknown ledger")
	// ErrLedgerExists: CreateLedger was called for a name already in use.
	ErrLedgerExists = errors.New("ledger already exists")
	// ErrInvalidLedgerName: names are 1..64 characters of [A-Za-z0-9_.-].
	ErrInvalidLedgerName = errors.New("invalid ledger name")
	// ErrEmptyKey: keys must be non-empty.
	ErrEmptyKey = errors.New("empty key")
	// ErrNilValue: values must be non-nil (empty values are allowed).
	ErrNilValue = errors.New("nil value")
	// ErrClosed: the Store was closed.
	ErrClosed = errors.New("ledger store closed")
)

// ErrHeightNotAvailable is returned by View for a height that was never
// committed (or was pruned).
type ErrHeightNotAvailable struct {
	Height int64
	Latest int64
}

func (e ErrHeightNotAvailable) Error() string {
	return fmt.Sprintf("height %d not available (latest committed height %d)", e.Height, e.Latest)
}

const (
	defaultIAVLCacheSize = 100_000
	// defaultNodeCacheBytes bounds each tree's cache of inner nodes
	// (nodecache.go).
	defaultNodeCacheBytes = 1 << 30
	// latestCacheSize bounds each generation of the latest-value cache.
	latestCacheSize  = 200_000
	maxLedgerNameLen = 64
	// iterateBatch is how many pairs Store.Iterate reads under the lock
	// before releasing it to call fn.
	iterateBatch = 256
)

// Key layout of the Badger database:
//
//	t/<ledger>/<iavl key>      nodes and metadata of one ledger's IAVL tree
//	m/c/<height, 8 bytes BE>   commit-info record of a height
//	m/latest                   height of the last commit record (8 bytes BE)
//	m/flat                     height the flat index describes (flat.go)
//	f/<ledger>/<key>           the flat index: key's value at that height
//	a/<key>                    the aside index (aside.go), outside the trees
//
// Ledger names never contain '/', so no tree prefix is a prefix of another.
var (
	treeKeyPrefix   = []byte("t/")
	commitKeyPrefix = []byte("m/c/")
	latestKey       = []byte("m/latest")
)

func treePrefix(name string) []byte {
	p := make([]byte, 0, len(treeKeyPrefix)+len(name)+1)
	p = append(p, treeKeyPrefix...)
	p = append(p, name...)
	return append(p, '/')
}

func commitKey(height int64) []byte {
	return binary.BigEndian.AppendUint64(slices.Clone(commitKeyPrefix), uint64(height))
}

// Options configure Open.
type Options struct {
	// IAVLCacheSize is the node cache per tree (default 100_000 when 0).
	IAVLCacheSize int
	// NodeCacheBytes bounds each tree's cache of encoded inner nodes
	// below IAVL's (nodecache.go; default 1 GiB when 0, off when
	// negative).
	NodeCacheBytes int
	// LatestCacheSize bounds each of the two generations of the cache of
	// latest committed values (default 200_000 entries when 0).
	LatestCacheSize int
	// BlockCacheBytes is Badger's cache of decompressed, checksum-checked
	// table blocks (default 16 MiB when 0, which keeps the many stores of
	// tests small; a node's default is nodecfg's ledger.block_cache_mb).
	// A read that misses it decompresses and checks a block again.
	BlockCacheBytes int64
	// LevelZeroTables is how many tables Badger's level 0 holds before
	// they are compacted into level 1 (Badger's 5 when 0; nodecfg's
	// ledger.level_zero_tables). More merge more writes into each rewrite
	// of level 1, which a large state's random keys span (ADR 0030).
	LevelZeroTables int
	// ValueThreshold: when above 0, a value of at least this many bytes
	// is kept in Badger's value log, and the LSM tree holds a pointer to
	// it; 64 puts the trees' nodes there and keeps the flat index's
	// balance records in the LSM tree, which compaction then rewrites at
	// a fraction of the bytes (ADR 0031). 0 keeps every value in the LSM
	// tree (Badger's 1 MiB threshold). The value log's collection
	// reclaims what pruning and overwrites leave in the log (valuelog.go).
	ValueThreshold int
	// valueLogFileBytes and memTableBytes size Badger's value-log files
	// and memtables (64 and 16 MiB when 0; tests make them small to see
	// compaction and the value log's collection work).
	valueLogFileBytes, memTableBytes int64
	// InMemory opens Badger in memory (tests only).
	InMemory bool
	// NoFlatIndex turns the flat index of the latest values off (flat.go):
	// reads of the latest state walk the trees, and Open removes an index
	// left by an earlier run.
	NoFlatIndex bool
}

// LedgerRoot is the IAVL root hash of one ledger at a height.
type LedgerRoot struct {
	Name string
	Root []byte
}

// CommitInfo describes one committed height.
type CommitInfo struct {
	Height int64
	// AppHash is the SM3 root over Roots (see AppHash). At height 0 it is the
	// hash of the empty set.
	AppHash []byte
	// Roots are sorted by Name.
	Roots []LedgerRoot
}

func (ci CommitInfo) clone() CommitInfo {
	out := CommitInfo{Height: ci.Height, AppHash: slices.Clone(ci.AppHash)}
	if ci.Roots != nil {
		out.Roots = make([]LedgerRoot, len(ci.Roots))
		for i, r := range ci.Roots {
			out.Roots[i] = LedgerRoot{Name: r.Name, Root: slices.Clone(r.Root)}
		}
	}
	return out
}

// Store is the multi-ledger store: one IAVL tree per ledger, all in one
// Badger database. Its KV methods read and write the working trees.
type Store struct {
	mu    sync.RWMutex
	db    *badger.DB
	dir   string
	opts  Options
	cache int
	nodes *nodeCaches
	last  CommitInfo
	trees map[string]*iavl.MutableTree // working set, committed and new
	// readers serve Views. They are separate trees over the same keys, so
	// Views never share node objects with the working trees (IAVL's
	// copy-on-write touches the nodes it copies from).
	readers map[string]*iavl.MutableTree
	names   []string // sorted keys of trees
	// lastHeight is s.last.Height and ledgers the keys of s.trees, for
	// readers that must not wait on s.mu while a block's writes are
	// applied (CheckTx asks both for every transaction).
	lastHeight atomic.Int64
	ledgers    atomic.Pointer[map[string]struct{}]
	broken     error // set when a Commit failed half way
	// restoredAt: the height of the snapshot this store was restored from
	// and has not committed past (0: none); Discard may drop it.
	restoredAt int64
	// pending holds the working set's writes since the last Commit
	// (latestKeyOf → value, nil = deleted); latest the committed values
	// read so far. Together they answer most reads without a tree walk.
	pending map[string][]byte
	latest  *latestCache
	// ops are the writes since the last Commit that the working trees
	// have not taken yet, in order; opAt the index in ops of a key's set
	// that a later set of it may update in place (treeops.go).
	ops   []treeOp
	opAt  map[string]int
	opsIn map[string]int // ledger → its writes in ops
	// flatHeight is the height the flat index describes, -1 while it is
	// off or being rewritten (flat.go).
	flatHeight atomic.Int64
	// flatRebuilt is FlatRebuilt's answer (set by load, under s.mu or
	// before the store is shared).
	flatRebuilt FlatRebuild
	closed      atomic.Bool
	// gc runs the value log's collection (valuelog.go).
	gc valueLogGC

	// bulk is set while BulkLoad runs; bulkBuf holds its records not yet
	// written to Badger; bulkLedgers are the ledgers holding bulk records
	// until the first Commit saves them, bulkRoots their memoised working
	// roots (bulk.go).
	bulk        bool
	bulkBuf     map[string][]byte
	bulkLedgers map[string]bool
	bulkRoots   map[string][]byte

	// testHookCommit, when set, runs in Commit after each tree's
	// SaveVersion (point "tree <name>") and after the flat index was
	// written (point "flat index"); an error aborts the Commit there, as a
	// crash would.
	testHookCommit func(point string) error
	// testHookFlatRead, when set, runs in flatGet between its first check
	// of the index's height and its Badger get.
	testHookFlatRead func()
}

var _ KV = (*Store)(nil)

// Open opens (creating if needed) the store in dir and loads every ledger at
// the last committed height. Trees that were saved past that height by a
// Commit that did not finish are rolled back to it, and ledgers created by
// such a Commit are removed.
func Open(dir string, opts Options) (*Store, error) {
	if !opts.InMemory {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("create ledger dir: %w", err)
		}
	}
	db, err := badger.Open(badgerOptions(dir, opts))
	if err != nil {
		return nil, damaged(dir, fmt.Errorf("open badger in %q: %w", dir, err))
	}
	s := &Store{db: db, dir: dir, opts: opts, cache: opts.IAVLCacheSize, trees: map[string]*iavl.MutableTree{}, readers: map[string]*iavl.MutableTree{},
		pending: map[string][]byte{}, opAt: map[string]int{}, opsIn: map[string]int{}}
	if s.cache <= 0 {
		s.cache = defaultIAVLCacheSize
	}
	s.nodes = &nodeCaches{bytes: opts.NodeCacheBytes}
	if s.nodes.bytes == 0 {
		s.nodes.bytes = defaultNodeCacheBytes
	}
	if err := s.load(); err != nil {
		_ = db.Close()
		return nil, damaged(dir, err)
	}
	s.startValueLogGC()
	return s, nil
}

// badgerOptions keeps memory modest (tests open many stores). Writes are not
// synced one by one; Commit syncs the database after its commit record, which
// makes every write of the block durable. Every table block is checked
// against its checksum when read from disk (cached blocks are not re-read),
// and so is every value read from the value log: without it a flipped bit
// is served as data. Level 0 is compacted into level 1 when it holds
// opts.LevelZeroTables tables (Badger's 5 when 0; writes stall at three
// times as many, as Badger's 15; ADR 0030). Values of opts.ValueThreshold
// bytes or more go to the value log (ADR 0031).
func badgerOptions(dir string, opts Options) badger.Options {
	blockCache := opts.BlockCacheBytes
	if blockCache <= 0 {
		blockCache = 16 << 20
	}
	vlogFile, memTable := cmp.Or(opts.valueLogFileBytes, 64<<20), cmp.Or(opts.memTableBytes, 16<<20)
	o := badger.DefaultOptions(dir).
		WithLogger(nil).
		WithSyncWrites(false).
		WithMemTableSize(memTable).
		WithNumMemtables(2).
		WithBlockCacheSize(blockCache).
		WithValueLogFileSize(vlogFile).
		WithNumCompactors(2).
		WithChecksumVerificationMode(options.OnBlockRead).
		WithVerifyValueChecksum(true)
	if opts.ValueThreshold > 0 && !opts.InMemory { // in memory, Badger refuses values above it
		o = o.WithValueThreshold(int64(opts.ValueThreshold))
	}
	if l0 := opts.LevelZeroTables; l0 > 0 {
		o = o.WithNumLevelZeroTables(l0).WithNumLevelZeroTablesStall(3 * l0)
	}
	if opts.InMemory {
		o = o.WithDir("").WithValueDir("").WithInMemory(true)
	}
	return o
}

func (s *Store) load() error {
	height, err := s.readLatestHeight()
	if err != nil {
		return err
	}
	s.last = CommitInfo{AppHash: AppHash(nil)}
	if height > 0 {
		if s.last, err = s.readCommitInfo(height); err != nil {
			return err
		}
	}
	committed := make(map[string]bool, len(s.last.Roots))
	for _, r := range s.last.Roots {
		committed[r.Name] = true
	}
	onDisk, err := s.treeNamesOnDisk()
	if err != nil {
		return err
	}
	// Before the trees are rolled back to the committed height: what a
	// crashed Commit changed, to repair the flat index with.
	flatChanged, err := s.unfinishedFlatWrite(height, onDisk)
	if err != nil {
		return fmt.Errorf("flat index: %w", err)
	}
	for _, name := range onDisk {
		if !committed[name] {
			if err := s.dropTree(name); err != nil {
				return fmt.Errorf("remove uncommitted ledger %s: %w", name, err)
			}
		}
	}
	for _, r := range s.last.Roots {
		tree, err := s.loadTree(r.Name, height)
		if err != nil {
			return err
		}
		if got := tree.Hash(); !bytes.Equal(got, r.Root) {
			return fmt.Errorf("ledger %s at height %d: %w: root %X, commit record says %X", r.Name, height, errRootMismatch, got, r.Root)
		}
		s.trees[r.Name] = tree
		s.readers[r.Name] = s.newTree(r.Name)
		s.names = append(s.names, r.Name)
	}
	s.latest = newLatestCache(height, s.latestSize())
	s.published()
	if err := s.loadFlat(flatChanged); err != nil {
		return err
	}
	return s.db.Sync()
}

// latestSize is the bound of each generation of the latest-value cache.
func (s *Store) latestSize() int {
	if s.opts.LatestCacheSize > 0 {
		return s.opts.LatestCacheSize
	}
	return latestCacheSize
}

// newTree opens a tree over the ledger's prefix. IAVL's fast-node index is
// skipped: it only describes the latest version, goes stale in the separate
// reader trees that serve Views, and would need a rebuild after every crash
// recovery. Reads walk the tree instead (O(log n) cached node lookups).
func (s *Store) newTree(name string) *iavl.MutableTree {
	return iavl.NewMutableTree(newPrefixDB(s.db, treePrefix(name), s.nodes.of(name)), s.cache, true,
		iavl.NewNopLogger(), iavl.SyncOption(false))
}

func (s *Store) loadTree(name string, height int64) (*iavl.MutableTree, error) {
	tree := s.newTree(name)
	latest, err := tree.GetLatestVersion()
	if err != nil {
		return nil, fmt.Errorf("ledger %s: latest version: %w", name, err)
	}
	switch {
	case latest > height:
		if err := tree.LoadVersionForOverwriting(height); err != nil {
			return nil, fmt.Errorf("ledger %s: roll back from version %d to %d: %w", name, latest, height, err)
		}
	case latest == height:
		if _, err := tree.LoadVersion(height); err != nil {
			return nil, fmt.Errorf("ledger %s: load version %d: %w", name, height, err)
		}
	default:
		return nil, fmt.Errorf("ledger %s: tree is at version %d, behind committed height %d", name, latest, height)
	}
	return tree, nil
}

// treeNamesOnDisk lists the ledgers that have any key under t/, seeking past
// each ledger's keys instead of reading them.
func (s *Store) treeNamesOnDisk() ([]string, error) {
	var names []string
	err := s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		opts.Prefix = treeKeyPrefix
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Seek(treeKeyPrefix); it.ValidForPrefix(treeKeyPrefix); {
			rest := it.Item().Key()[len(treeKeyPrefix):]
			i := bytes.IndexByte(rest, '/')
			if i < 0 {
				return fmt.Errorf("malformed tree key %q", it.Item().Key())
			}
			name := string(rest[:i])
			names = append(names, name)
			it.Seek(PrefixEnd(treePrefix(name)))
		}
		return nil
	})
	return names, err
}

func (s *Store) dropTree(name string) error {
	p := newPrefixDB(s.db, treePrefix(name), s.nodes.of(name))
	it, err := p.Iterator(nil, nil)
	if err != nil {
		return err
	}
	defer it.Close()
	b := p.NewBatch()
	defer b.Close()
	for ; it.Valid(); it.Next() {
		if err := b.Delete(it.Key()); err != nil {
			return err
		}
	}
	return b.Write()
}

func (s *Store) readLatestHeight() (int64, error) {
	height, err := s.readHeightRecord(latestKey, "latest-height record")
	if err != nil {
		return 0, fmt.Errorf("read latest height: %w", err)
	}
	return height, nil
}

// readHeightRecord reads a record that holds a height (8 bytes BE), 0 when
// it is absent; what names it in errors.
func (s *Store) readHeightRecord(key []byte, what string) (int64, error) {
	var height int64
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		v, err := valueOf(item)
		if err != nil {
			return err
		}
		if len(v) != 8 {
			return fmt.Errorf("malformed %s (%d bytes)", what, len(v))
		}
		height = int64(binary.BigEndian.Uint64(v))
		return nil
	})
	return height, err
}

func (s *Store) readCommitInfo(height int64) (CommitInfo, error) {
	var ci CommitInfo
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(commitKey(height))
		if err != nil {
			return err
		}
		v, err := valueOf(item)
		if err == nil {
			ci, err = decodeCommitInfo(v)
		}
		return err
	})
	if err != nil {
		return CommitInfo{}, fmt.Errorf("read commit info of height %d: %w", height, err)
	}
	if ci.Height != height {
		return CommitInfo{}, fmt.Errorf("commit record under height %d says height %d", height, ci.Height)
	}
	return ci, nil
}

// Close closes every tree and the database. Views become unusable.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Swap(true) {
		return nil
	}
	s.flatHeight.Store(-1)
	s.dropOps()
	var errs []error
	for _, name := range s.names {
		errs = append(errs, s.trees[name].Close())
	}
	for _, r := range s.last.Roots {
		errs = append(errs, s.readers[r.Name].Close())
	}
	s.trees, s.readers, s.names = nil, nil, nil
	s.nodes.clear()
	s.stopValueLogGC()
	errs = append(errs, s.db.Close())
	return errors.Join(errs...)
}

// LastCommit returns the last committed height, app hash and roots.
func (s *Store) LastCommit() CommitInfo {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.last.clone()
}

// LastHeight returns the last committed height (LastCommit without the copy).
func (s *Store) LastHeight() int64 {
	return s.lastHeight.Load()
}

// published makes s.last.Height and the working set's ledger names
// visible to LastHeight and HasLedger. Under s.mu (write), after a change
// of either.
func (s *Store) published() {
	s.lastHeight.Store(s.last.Height)
	set := make(map[string]struct{}, len(s.trees))
	for name := range s.trees {
		set[name] = struct{}{}
	}
	s.ledgers.Store(&set)
}

// Ledgers returns the names of the working set, sorted; it includes ledgers
// created since the last Commit.
func (s *Store) Ledgers() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.names)
}

// HasLedger reports whether the working set has the named ledger.
func (s *Store) HasLedger(name string) bool {
	set := s.ledgers.Load()
	if set == nil || s.closed.Load() {
		return false
	}
	_, ok := (*set)[name]
	return ok
}

// ValidateLedgerName checks that name is 1..64 characters of [A-Za-z0-9_.-].
func ValidateLedgerName(name string) error {
	if len(name) == 0 || len(name) > maxLedgerNameLen {
		return fmt.Errorf("%w %q: length %d not in 1..%d", ErrInvalidLedgerName, name, len(name), maxLedgerNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
		if !ok {
			return fmt.Errorf("%w %q: character %q not in [A-Za-z0-9_.-]", ErrInvalidLedgerName, name, c)
		}
	}
	return nil
}

// CreateLedger adds an empty ledger to the working set. Its first IAVL
// version is the next height, so versions line up with heights.
func (s *Store) CreateLedger(name string) error {
	if err := ValidateLedgerName(name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	if _, ok := s.trees[name]; ok {
		return fmt.Errorf("create ledger %s: %w", name, ErrLedgerExists)
	}
	tree := s.newTree(name)
	tree.SetInitialVersion(uint64(s.last.Height + 1))
	s.trees[name] = tree
	i, _ := slices.BinarySearch(s.names, name)
	s.names = slices.Insert(s.names, i, name)
	s.published()
	return nil
}

// Err says why the store refuses writes and commits (closed, or a
// Commit or the log of a block's writes failed half way; see WorkingHash,
// which returns nil then); nil while it is usable.
func (s *Store) Err() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.usable()
}

func (s *Store) usable() error {
	if s.closed.Load() {
		return ErrClosed
	}
	return s.broken
}

// WorkingHash returns the app hash that Commit would produce now.
func (s *Store) WorkingHash() []byte {
	// Lock, not RLock: hashing memoises node hashes in the working tree.
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return nil
	}
	if s.applyOps() != nil {
		return nil // broken: Commit refuses too
	}
	roots := make([]LedgerRoot, len(s.names))
	for i, name := range s.names {
		if s.bulkLedgers[name] {
			r, err := s.bulkRoot(name)
			if err != nil {
				// A Badger read failed: no hash to give, and Commit must not
				// save a state whose hash was not reported.
				s.broken = fmt.Errorf("reopen the store: %w", err)
				return nil
			}
			roots[i] = LedgerRoot{Name: name, Root: r}
			continue
		}
		roots[i] = LedgerRoot{Name: name, Root: s.trees[name].WorkingHash()}
	}
	return AppHash(roots)
}

// Commit saves every tree as version LastCommit().Height+1, then writes the
// commit record and syncs the database. If it fails after the first tree was
// saved, the Store refuses further writes; Open recovers the last commit.
func (s *Store) Commit() (CommitInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return CommitInfo{}, err
	}
	if err := s.applyOps(); err != nil {
		return CommitInfo{}, err
	}
	height := s.last.Height + 1
	roots := make([]LedgerRoot, 0, len(s.names))
	for _, name := range s.names {
		var hash []byte
		var version int64
		var err error
		if s.bulkLedgers[name] {
			hash, err = s.importBulk(name, height)
			version = height
		} else {
			hash, version, err = s.trees[name].SaveVersion()
		}
		if err == nil && version != height {
			err = fmt.Errorf("saved version %d, want height %d", version, height)
		}
		if err == nil && s.testHookCommit != nil {
			err = s.testHookCommit("tree " + name)
		}
		if err != nil {
			s.broken = fmt.Errorf("commit of height %d failed at ledger %s, reopen the store: %w", height, name, err)
			return CommitInfo{}, s.broken
		}
		roots = append(roots, LedgerRoot{Name: name, Root: slices.Clone(hash)})
	}
	flat := !s.opts.NoFlatIndex
	if flat {
		err := s.writeFlat(height, s.pending)
		if err == nil && s.testHookCommit != nil {
			err = s.testHookCommit("flat index")
		}
		if err != nil {
			s.broken = fmt.Errorf("write flat index of height %d, reopen the store: %w", height, err)
			return CommitInfo{}, s.broken
		}
	}
	ci := CommitInfo{Height: height, AppHash: AppHash(roots), Roots: roots}
	if err := s.writeCommitRecord(ci, flat); err != nil {
		s.broken = fmt.Errorf("write commit record of height %d, reopen the store: %w", height, err)
		return CommitInfo{}, s.broken
	}
	bulkCommit := len(s.bulkLedgers) > 0
	if bulkCommit {
		// The bulk records became the flat index; without one, they go
		// (a crash first leaves them to Open, which removes them too).
		s.bulkLedgers, s.bulkRoots = nil, nil
		if !flat {
			if err := s.clearFlat(); err != nil {
				s.broken = fmt.Errorf("remove the bulk records after height %d, reopen the store: %w", height, err)
				return CommitInfo{}, s.broken
			}
		}
	}
	for _, name := range s.names {
		if _, ok := s.readers[name]; !ok {
			s.readers[name] = s.newTree(name)
		}
	}
	s.last = ci
	s.published()
	if flat {
		s.flatHeight.Store(height)
	}
	if bulkCommit {
		// Reads before a key's bulk record was written cached it as
		// absent; the cache knows nothing of the bulk records.
		s.latest = newLatestCache(height, s.latestSize())
	} else {
		s.latest.advance(height, s.pending)
	}
	s.pending = map[string][]byte{}
	return ci.clone(), nil
}

// writeCommitRecord writes the commit record of ci and makes it the
// latest, with the flat index's marker when flat (the index holds the
// height's values), then syncs the database.
func (s *Store) writeCommitRecord(ci CommitInfo, flat bool) error {
	height := binary.BigEndian.AppendUint64(nil, uint64(ci.Height))
	err := s.db.Update(func(txn *badger.Txn) error {
		if err := txn.Set(commitKey(ci.Height), encodeCommitInfo(ci)); err != nil {
			return err
		}
		if flat {
			if err := txn.Set(flatMarkerKey, height); err != nil {
				return err
			}
			if err := txn.Delete(flatWritingKey); err != nil {
				return err
			}
		}
		return txn.Set(latestKey, height)
	})
	if err != nil {
		return err
	}
	return s.db.Sync()
}

// Rollback drops the uncommitted changes of every tree and the ledgers
// created since the last Commit.
func (s *Store) Rollback() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() || s.broken != nil {
		return
	}
	committed := make([]string, 0, len(s.last.Roots))
	for _, r := range s.last.Roots {
		committed = append(committed, r.Name)
	}
	for _, name := range s.names {
		tree := s.trees[name]
		if _, ok := slices.BinarySearch(committed, name); ok {
			tree.Rollback()
			continue
		}
		_ = tree.Close() // never saved: nothing on disk
		delete(s.trees, name)
	}
	s.names = committed
	s.published()
	s.pending = map[string][]byte{}
	s.dropOps()
	if err := s.dropBulk(); err != nil {
		s.broken = fmt.Errorf("drop the bulk records, reopen the store: %w", err)
	}
}

func (s *Store) tree(ledger string) (*iavl.MutableTree, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	t, ok := s.trees[ledger]
	if !ok {
		return nil, fmt.Errorf("%w %s", ErrUnknownLedger, ledger)
	}
	return t, nil
}

// Get returns the working value of key, or nil if absent.
func (s *Store) Get(ledger string, key []byte) ([]byte, error) {
	v, err := s.peek(ledger, key)
	return cloneValue(v), err
}

func (s *Store) peek(ledger string, key []byte) ([]byte, error) {
	if len(key) == 0 {
		return nil, fmt.Errorf("get from ledger %s: %w", ledger, ErrEmptyKey)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.get(ledger, key)
}

// get reads the working value of key under s.mu: this block's writes, then
// the committed values already read, then the flat index, then the tree.
// The result is shared.
func (s *Store) get(ledger string, key []byte) ([]byte, error) {
	t, err := s.tree(ledger)
	if err != nil {
		return nil, err
	}
	var buf [128]byte
	k := appendLatestKey(buf[:0], ledger, key)
	if v, ok := s.pending[string(k)]; ok {
		return v, nil
	}
	if s.bulkLedgers[ledger] {
		return s.getBulk(ledger, key)
	}
	if v, ok := s.latest.get(s.last.Height, k); ok {
		return v, nil
	}
	v, ok, err := s.flatGet(s.last.Height, ledger, key)
	if err != nil {
		return nil, err
	}
	if !ok {
		if v, err = t.Get(key); err != nil {
			return nil, damaged(s.dir, fmt.Errorf("get from ledger %s: %w", ledger, err))
		}
	}
	if !s.bulk {
		s.latest.fill(s.last.Height, string(k), v)
	}
	return v, nil
}

// Has reports whether key is set in the working tree.
func (s *Store) Has(ledger string, key []byte) (bool, error) {
	if len(key) == 0 {
		return false, fmt.Errorf("has in ledger %s: %w", ledger, ErrEmptyKey)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, err := s.get(ledger, key)
	return v != nil, err
}

// Set writes key=value to the working set (in memory until Commit; the
// tree takes it later, treeops.go).
func (s *Store) Set(ledger string, key, value []byte) error {
	return s.set(ledger, key, value, false)
}

func (s *Store) setOwned(ledger string, key, value []byte) error {
	return s.set(ledger, key, value, true)
}

// set is Set; owned says value is the Store's to keep (see owner).
func (s *Store) set(ledger string, key, value []byte, owned bool) error {
	if err := checkKV(ledger, key, value); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	if ok, err := s.setBulk(ledger, key, value); ok || err != nil {
		return err
	}
	if _, err := s.tree(ledger); err != nil {
		return err
	}
	if s.bulkLedgers != nil {
		delete(s.bulkRoots, ledger)
	}
	// IAVL keeps the slices it is given; copy so callers may reuse theirs.
	if !owned {
		value = append([]byte{}, value...)
	}
	lk := latestKeyOf(ledger, key)
	s.logWrite(ledger, slices.Clone(key), value, lk)
	s.pending[lk] = value
	return nil
}

// Delete removes key from the working tree; deleting an absent key is not an error.
func (s *Store) Delete(ledger string, key []byte) error {
	if len(key) == 0 {
		return fmt.Errorf("delete from ledger %s: %w", ledger, ErrEmptyKey)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	if _, err := s.tree(ledger); err != nil {
		return err
	}
	if s.bulkLedgers != nil {
		delete(s.bulkRoots, ledger)
	}
	lk := latestKeyOf(ledger, key)
	s.logWrite(ledger, slices.Clone(key), nil, lk)
	s.pending[lk] = nil
	return nil
}

// Write is a key the working set wrote since the last Commit and the
// value it holds now (nil: deleted). Value must not be modified.
type Write struct {
	Key, Value []byte
}

// Written returns, in key order, the keys of ledger under prefix that
// the working set wrote (set or deleted) since the last Commit, with
// their values: what a block changed there so far. Caches kept beside the
// state (the app's reserves leaves) follow the state with it instead of
// reading all of it again. O(writes since the last Commit).
func (s *Store) Written(ledger string, prefix []byte) []Write {
	p := latestKeyOf(ledger, prefix)
	s.mu.RLock()
	var out []Write
	for k, v := range s.pending {
		if strings.HasPrefix(k, p) {
			out = append(out, Write{Key: []byte(k[len(ledger)+1:]), Value: v})
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b Write) int { return bytes.Compare(a.Key, b.Key) })
	return out
}

// Iterate calls fn for the working keys in [start, end) in ascending order.
// The lock is not held while fn runs (pairs are read in small batches), so
// fn may call back into the Store, and writes it makes to keys not yet
// visited are seen.
func (s *Store) Iterate(ledger string, start, end []byte, fn func(key, value []byte) bool) error {
	start, end, empty := normaliseRange(start, end)
	if empty {
		s.mu.RLock()
		_, err := s.tree(ledger)
		s.mu.RUnlock()
		return err
	}
	cursor := start
	for {
		pairs, more, err := s.iterateBatch(ledger, cursor, end)
		if err != nil {
			return err
		}
		for _, p := range pairs {
			if !fn(p.key, p.value) {
				return nil
			}
		}
		if !more {
			return nil
		}
		cursor = append(slices.Clone(pairs[len(pairs)-1].key), 0)
	}
}

type kvPair struct{ key, value []byte }

func (s *Store) iterateBatch(ledger string, start, end []byte) ([]kvPair, bool, error) {
	s.mu.RLock()
	for s.opsFor(ledger) {
		// The tree takes its logged writes first (fn may have written).
		s.mu.RUnlock()
		s.mu.Lock()
		err := s.applyOpsOf(ledger)
		s.mu.Unlock()
		if err != nil {
			return nil, false, err
		}
		s.mu.RLock()
	}
	defer s.mu.RUnlock()
	t, err := s.tree(ledger)
	if err != nil {
		return nil, false, err
	}
	if s.bulkLedgers[ledger] {
		return s.iterateBulkBatch(ledger, start, end)
	}
	it, err := t.Iterator(start, end, true)
	if err != nil {
		return nil, false, fmt.Errorf("iterate ledger %s: %w", ledger, err)
	}
	defer it.Close()
	pairs := make([]kvPair, 0, 16)
	for ; it.Valid(); it.Next() {
		if len(pairs) == iterateBatch {
			return pairs, true, nil
		}
		pairs = append(pairs, kvPair{slices.Clone(it.Key()), cloneValue(it.Value())})
	}
	if err := it.Error(); err != nil {
		return nil, false, damaged(s.dir, fmt.Errorf("iterate ledger %s: %w", ledger, err))
	}
	return pairs, false, nil
}

// normaliseRange maps empty bounds to nil (unbounded) and reports whether
// the range is empty.
func normaliseRange(start, end []byte) ([]byte, []byte, bool) {
	if len(start) == 0 {
		start = nil
	}
	if len(end) == 0 {
		end = nil
	}
	return start, end, start != nil && end != nil && bytes.Compare(start, end) >= 0
}

func checkKV(ledger string, key, value []byte) error {
	if len(key) == 0 {
		return fmt.Errorf("set in ledger %s: %w", ledger, ErrEmptyKey)
	}
	if value == nil {
		return fmt.Errorf("set %X in ledger %s: %w", key, ledger, ErrNilValue)
	}
	return nil
}

func cloneValue(v []byte) []byte {
	if v == nil {
		return nil
	}
	return append([]byte{}, v...)
}
