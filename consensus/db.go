package consensus

import (
	"errors"
	"fmt"
	"sync"
	"syscall"

	dbm "github.com/cometbft/cometbft-db"
	cfg "github.com/cometbft/cometbft/config"
	"github.com/syndtr/goleveldb/leveldb/opt"
)

// openDB opens one of CometBFT's stores (blockstore, state, tx_index,
// evidence, and the node's movement index): goleveldb, the default
// db_backend, with levelDBOptions; any other backend as CometBFT would.
func openDB(ctx *cfg.DBContext) (dbm.DB, error) {
	if dbm.BackendType(ctx.Config.DBBackend) != dbm.GoLevelDBBackend {
		return cfg.DefaultDBProvider(ctx)
	}
	return dbm.NewGoLevelDBWithOpts(ctx.ID, ctx.Config.DBDir(), levelDBOptions())
}

// levelDBOptions (ADR 0024): goleveldb's defaults but for the sizes that
// set how often its compaction rewrites the data. Its defaults (a 4 MiB
// memtable, 2 MiB tables, 10 MiB at level 1) were made for small
// databases; a validator's block store, state store and tx index grow by
// about 2 KB a transfer, and with those sizes their compaction took a
// quarter of the node's CPU after two million transfers. A 32 MiB
// memtable, 16 MiB tables and 160 MiB at level 1 (each level ten times the
// one above, as before) flush less often and keep a level fewer; snappy
// compression is kept (without it the disk grew by 40 % for no measured
// gain). The on-disk format is the same: stores written with the old
// sizes open unchanged, and their tables are rewritten as they compact.
func levelDBOptions() *opt.Options {
	return &opt.Options{
		WriteBuffer:         32 << 20,
		CompactionTableSize: 16 << 20,
		CompactionTotalSize: 160 << 20,
	}
}

// ErrHomeInUse is returned by StartNode when another node (in this process
// or another) holds the home's database locks.
var ErrHomeInUse = errors.New("home is in use by another node")

// errDBClosed is returned by writes to a DB that Node.Stop has closed.
var errDBClosed = errors.New("consensus: database closed by node stop")

// dbSet opens the node's databases and keeps the real handles, so that they
// are closed by Node.Stop and not by CometBFT: Node.OnStop forgets
// tx_index.db (whose goleveldb lock then blocks a restart in the same
// process) and reactor goroutines still read the block store after OnStop
// has closed it (panic "leveldb: closed").
type dbSet struct {
	open func(*cfg.DBContext) (dbm.DB, error)

	mu  sync.Mutex
	dbs []*guardedDB
}

func newDBSet(open cfg.DBProvider) *dbSet { return &dbSet{open: open} }

// provide is the cfg.DBProvider handed to node.NewNode.
func (s *dbSet) provide(ctx *cfg.DBContext) (dbm.DB, error) {
	db, err := s.open(ctx)
	if err != nil {
		if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK) {
			err = fmt.Errorf("%w (%s.db is locked): %w", ErrHomeInUse, ctx.ID, err)
		}
		return nil, fmt.Errorf("open %s.db in %s: %w", ctx.ID, ctx.Config.DBDir(), err)
	}
	g := &guardedDB{db: db}
	s.mu.Lock()
	s.dbs = append(s.dbs, g)
	s.mu.Unlock()
	return g, nil
}

// closeAll closes every real DB; later reads find nothing, later writes fail.
func (s *dbSet) closeAll() error {
	s.mu.Lock()
	dbs := s.dbs
	s.dbs = nil
	s.mu.Unlock()
	var errs []error
	for _, g := range dbs {
		errs = append(errs, g.closeReal())
	}
	return errors.Join(errs...)
}

// guardedDB ignores Close from CometBFT and, once closed for real, answers
// reads as an empty store instead of panicking inside a stopping reactor.
type guardedDB struct {
	mu     sync.RWMutex
	closed bool
	db     dbm.DB
}

var _ dbm.DB = (*guardedDB)(nil)

func (g *guardedDB) closeReal() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	g.closed = true
	return g.db.Close()
}

// Close is a no-op: the real DB is closed by Node.Stop.
func (g *guardedDB) Close() error { return nil }

func (g *guardedDB) Get(key []byte) ([]byte, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return nil, nil
	}
	return g.db.Get(key)
}

func (g *guardedDB) Has(key []byte) (bool, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return false, nil
	}
	return g.db.Has(key)
}

func (g *guardedDB) write(f func(dbm.DB) error) error {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return errDBClosed
	}
	return f(g.db)
}

func (g *guardedDB) Set(k, v []byte) error {
	return g.write(func(db dbm.DB) error { return db.Set(k, v) })
}

func (g *guardedDB) SetSync(k, v []byte) error {
	return g.write(func(db dbm.DB) error { return db.SetSync(k, v) })
}

func (g *guardedDB) Delete(k []byte) error {
	return g.write(func(db dbm.DB) error { return db.Delete(k) })
}

func (g *guardedDB) DeleteSync(k []byte) error {
	return g.write(func(db dbm.DB) error { return db.DeleteSync(k) })
}

func (g *guardedDB) Iterator(start, end []byte) (dbm.Iterator, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return nil, errDBClosed
	}
	return g.db.Iterator(start, end)
}

func (g *guardedDB) ReverseIterator(start, end []byte) (dbm.Iterator, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return nil, errDBClosed
	}
	return g.db.ReverseIterator(start, end)
}

func (g *guardedDB) NewBatch() dbm.Batch {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		// A batch of a closed goleveldb still buffers; its Write is what fails.
		return &guardedBatch{g: g, b: dbm.NewMemDB().NewBatch()}
	}
	return &guardedBatch{g: g, b: g.db.NewBatch()}
}

func (g *guardedDB) Print() error {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return errDBClosed
	}
	return g.db.Print()
}

func (g *guardedDB) Stats() map[string]string {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return map[string]string{}
	}
	return g.db.Stats()
}

func (g *guardedDB) Compact(start, end []byte) error {
	return g.write(func(db dbm.DB) error { return db.Compact(start, end) })
}

type guardedBatch struct {
	g *guardedDB
	b dbm.Batch
}

func (b *guardedBatch) Set(k, v []byte) error { return b.b.Set(k, v) }
func (b *guardedBatch) Delete(k []byte) error { return b.b.Delete(k) }
func (b *guardedBatch) Close() error          { return b.b.Close() }

func (b *guardedBatch) Write() error {
	return b.g.write(func(dbm.DB) error { return b.b.Write() })
}

func (b *guardedBatch) WriteSync() error {
	return b.g.write(func(dbm.DB) error { return b.b.WriteSync() })
}
