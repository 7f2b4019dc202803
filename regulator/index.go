package regulator

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
)

// Key layout of the index database. pos is height(8) ‖ tx index(4) ‖
// movement(2), big-endian, so that keys sort in block (and so time) order.
const (
	keyLast      = "m/last"     // last indexed height
	keyChain     = "m/chain"    // chain id
	keyGenesis   = "m/genesis"  // genesis state indexed
	keyAlertSeq  = "m/alertseq" // last alert seq
	keyAlertAcct = "m/alertacc" // set once aa/ holds every alert (those of an index older than aa/ included)
	keyRedo      = "m/redo"     // a block being written in chunks: height(8) ‖ redo pieces(4)
	prefixRedo   = "rd/"        // rd/<piece(4)> → the write set of the block in keyRedo, encoded
	prefixTx     = "tx/"        // tx/<id> → Tx
	prefixMove   = "mv/"        // mv/<pos> → Entry
	prefixAcct   = "ia/"        // ia/<account>/<pos> → Entry
	prefixLedger = "il/"        // il/<ledger>/<pos> → pos
	prefixAsset  = "is/"        // is/<asset>/<pos> → pos
	prefixTime   = "it/"        // it/<unix nanos><pos> → pos
	prefixAmount = "iv/"        // iv/<asset>/<amount><pos> → pos
	prefixHist   = "h/"         // h/<account>/<pos><n> → HistoryEntry
	prefixBal    = "bal/"       // bal/<ledger>/<asset>/<account> → uint64
	prefixOrg    = "org/"       // org/<address> → org id
	prefixSanc   = "sanc/"      // sanc/<address> → SanctionChange
	prefixThr    = "thr/"       // thr/<asset> → on-chain large-amount threshold (JSON number)
	prefixXB     = "xb/"        // xb/<day>/<from org>/<to org>/<asset> → uint64
	prefixXBTx   = "xt/"        // xt/<day>/<from org>/<to org>/<asset>/<pos> → tx id of a transfer counted in xb/
	prefixRule   = "rs/"        // rs/<rule>/<subject> → unix nanos of the last alert
	prefixAlert  = "al/"        // al/<seq> → Alert (deterministic part)
	prefixAlertI = "ai/"        // ai/<id> → seq
	prefixAlertA = "aa/"        // aa/<account>/<seq(8)> → nothing: the alerts whose subject names the account
	prefixBlockT = "bt/"        // bt/<height(8)> → block time, unix nanos (the SQL sink's block times)
	// In the operator store (and, before it existed, in the index).
	prefixAck   = "ack/" // ack/<alert id>/<alert fingerprint> → Ack
	prefixAudit = "au/"  // au/<seq> → AuditEntry
)

// ErrNotNext is returned by ApplyBlock for a block that is not the one
// after the last indexed height; a block is never indexed twice.
type ErrNotNext struct {
	Height, Last int64
}

func (e ErrNotNext) Error() string {
	return fmt.Sprintf("block %d is not the next block to index (last indexed height %d)", e.Height, e.Last)
}

// Index is the observer's two Badger databases: the index proper (every
// key a pure function of the chain, rebuilt by deleting its directory) and
// the operator store beside it (acknowledgements and the signed audit
// chain), which a rebuild leaves alone.
type Index struct {
	db *badger.DB // deterministic index
	op *badger.DB // operator store: ack/, au/

	writeMu   sync.Mutex // one block (or genesis) at a time
	auditMu   sync.Mutex
	auditKey  *gmcrypto.PrivateKey
	auditSeq  uint64
	auditHead string // hash of entry auditSeq (AuditGenesis before the first)

	// recent caches, for ApplyBlock only (under writeMu), the committed
	// entries of accounts the rules read (recent.go).
	recent recentCache

	// Tests only: smaller chunks than Badger's limits, and a crash at a
	// stage of a chunked commit (commit.go).
	chunkOps   int
	chunkBytes int64
	fail       func(stage string, n int) error
}

// IndexOptions are the optional parts of OpenIndexWith.
type IndexOptions struct {
	// OperatorDir holds acknowledgements and the audit log ("" with an
	// index dir: OperatorDir(dir); with an in-memory index: in memory).
	OperatorDir string
	// AuditKey signs every audit entry (nil: a fresh key for this process
	// only, which is fine for tests and nothing else).
	AuditKey *gmcrypto.PrivateKey
	// RecentCacheBytes bounds the memory of the rules' cache of recent
	// entries (0: DefaultRecentCacheBytes; recent.go).
	RecentCacheBytes int
	// Memtable is the size of each of the index's memtables (0:
	// DefaultIndexMemtable).
	Memtable int
}

// DefaultIndexMemtable is the index's memtable size. A transaction holds
// up to 15 % of it (9.6 MB, about 100,000 writes, at 64 MiB); a block
// whose writes do not fit is written in chunks behind a redo log
// (commit.go), which costs more. Badger keeps the buffers of up to eight
// table builders for reuse while it writes, each grown to the largest
// table it built, the memtable's flush: at 64 MiB they held about 2 GB in
// BenchmarkHotAccounts, at 32 MiB about 1 GB, the index a fifth slower
// (docs/performance.md).
const DefaultIndexMemtable = 64 << 20

// OperatorDir is where the operator store of the index in dir lives: a
// sibling directory, so that deleting the index to rebuild it keeps the
// audit log and the acknowledgements.
func OperatorDir(indexDir string) string {
	if indexDir == "" {
		return ""
	}
	d := filepath.Clean(indexDir)
	return strings.TrimSuffix(d, ".badger") + "_operator.badger"
}

// OpenIndex opens (creating) the index in dir and its operator store in
// OperatorDir(dir); dir == "" keeps both in memory.
func OpenIndex(dir string) (*Index, error) { return OpenIndexWith(dir, IndexOptions{}) }

func openBadger(dir, what string, memtable int) (*badger.DB, error) {
	o := badger.DefaultOptions(dir).
		WithLogger(nil).
		WithSyncWrites(true).
		WithMemTableSize(int64(cmp.Or(memtable, DefaultIndexMemtable))).
		WithNumMemtables(2).
		WithBlockCacheSize(16 << 20).
		WithValueLogFileSize(64 << 20).
		WithNumCompactors(2)
	if dir == "" {
		o = o.WithDir("").WithValueDir("").WithInMemory(true)
	}
	db, err := badger.Open(o)
	if err != nil {
		return nil, fmt.Errorf("open regulator %s %s: %w", what, dir, err)
	}
	return db, nil
}

// OpenIndexWith opens the index in dir with o.
func OpenIndexWith(dir string, o IndexOptions) (*Index, error) {
	if o.RecentCacheBytes < 0 {
		return nil, fmt.Errorf("regulator index: a recent-entries cache of %d bytes", o.RecentCacheBytes)
	}
	if o.Memtable != 0 && o.Memtable < 1<<20 {
		return nil, fmt.Errorf("regulator index: a memtable of %d bytes, want 1 MiB at least", o.Memtable)
	}
	if o.OperatorDir == "" {
		o.OperatorDir = OperatorDir(dir)
	}
	if (dir == "") != (o.OperatorDir == "") {
		return nil, errors.New("regulator index: the index and its operator store are both on disk or both in memory")
	}
	if o.AuditKey == nil {
		k, err := gmcrypto.GenerateKey()
		if err != nil {
			return nil, err
		}
		o.AuditKey = k
	}
	db, err := openBadger(dir, "index", o.Memtable)
	if err != nil {
		return nil, err
	}
	op, err := openBadger(o.OperatorDir, "operator store", 0)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	ix := &Index{db: db, op: op, auditKey: o.AuditKey, auditHead: AuditGenesis, recent: recentCache{max: o.RecentCacheBytes}}
	err = op.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixAudit), Reverse: true})
		defer it.Close()
		it.Seek(append([]byte(prefixAudit), 0xff))
		if !it.Valid() {
			return nil
		}
		var e AuditEntry
		if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &e) }); err != nil {
			return fmt.Errorf("last audit entry: %w", err)
		}
		ix.auditSeq, ix.auditHead = e.Seq, e.Hash
		return nil
	})
	if err == nil {
		err = ix.migrateOperatorData()
	}
	if err == nil {
		err = ix.recoverRedo() // a block a crash left half-written
	}
	if err == nil {
		err = ix.indexAlertsByAccount()
	}
	if err != nil {
		_ = ix.Close()
		return nil, err
	}
	return ix, nil
}

// indexAlertsByAccount indexes by account (aa/) the alerts of an index
// written before that index existed, once.
func (ix *Index) indexAlertsByAccount() error {
	var done bool
	if err := ix.db.View(func(txn *badger.Txn) (err error) {
		_, done, err = getU64(txn, []byte(keyAlertAcct))
		return err
	}); err != nil || done {
		return err
	}
	wb := ix.db.NewWriteBatch()
	defer wb.Cancel()
	err := ix.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixAlert), PrefetchValues: true, PrefetchSize: 100})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var h alertHead
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &h) }); err != nil {
				return fmt.Errorf("index alerts by account: alert %x: %w", it.Item().Key(), err)
			}
			for _, k := range alertAccountKeys(h.Subject, h.Seq) {
				if err := wb.Set(k, nil); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err == nil {
		err = wb.Set([]byte(keyAlertAcct), u64(1))
	}
	if err == nil {
		err = wb.Flush()
	}
	if err != nil {
		return fmt.Errorf("index alerts by account: %w", err)
	}
	return nil
}

// migrateOperatorData moves acknowledgements and audit entries that an
// older version kept in the index itself into the operator store (chained
// and signed now), so that a rebuild no longer loses them.
func (ix *Index) migrateOperatorData() error {
	var acks, audits [][2][]byte
	err := ix.db.View(func(txn *badger.Txn) error {
		for _, p := range []string{prefixAck, prefixAudit} {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(p)})
			for it.Rewind(); it.Valid(); it.Next() {
				v, err := it.Item().ValueCopy(nil)
				if err != nil {
					it.Close()
					return err
				}
				kv := [2][]byte{it.Item().KeyCopy(nil), v}
				if p == prefixAck {
					acks = append(acks, kv)
				} else {
					audits = append(audits, kv)
				}
			}
			it.Close()
		}
		return nil
	})
	if err != nil || len(acks)+len(audits) == 0 {
		return err
	}
	for _, kv := range acks {
		id := string(kv[0][len(prefixAck):])
		var a Alert
		err := ix.db.View(func(txn *badger.Txn) error {
			seq, ok, err := getU64(txn, cat(prefixAlertI, id))
			if err != nil || !ok {
				return err
			}
			_, err = getJSON(txn, cat(prefixAlert, u64(seq)), &a)
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate acknowledgement of %s: %w", id, err)
		}
		if a.ID == "" {
			continue // an acknowledgement of an alert the index no longer has
		}
		if err := ix.op.Update(func(txn *badger.Txn) error { return txn.Set(ackKey(&a), kv[1]) }); err != nil {
			return err
		}
	}
	for _, kv := range audits {
		var e AuditEntry
		if err := json.Unmarshal(kv[1], &e); err != nil {
			return fmt.Errorf("migrate audit entry %x: %w", kv[0], err)
		}
		if _, err := ix.AppendAudit(e); err != nil {
			return err
		}
	}
	return ix.db.Update(func(txn *badger.Txn) error {
		for _, kv := range append(acks, audits...) {
			if err := txn.Delete(kv[0]); err != nil {
				return err
			}
		}
		return nil
	})
}

// AuditPublicKey is the key that signs this index's audit entries.
func (ix *Index) AuditPublicKey() *gmcrypto.PublicKey { return ix.auditKey.Public() }

// Close closes both databases.
func (ix *Index) Close() error { return errors.Join(ix.db.Close(), ix.op.Close()) }

func posKey(height int64, index, event int) []byte {
	b := make([]byte, 14)
	binary.BigEndian.PutUint64(b, uint64(height))
	binary.BigEndian.PutUint32(b[8:], uint32(index))
	binary.BigEndian.PutUint16(b[12:], uint16(event))
	return b
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func cat(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch v := p.(type) {
		case string:
			b = append(b, v...)
		case []byte:
			b = append(b, v...)
		default:
			panic(fmt.Sprintf("key part %T", p))
		}
	}
	return b
}

func getU64(txn *badger.Txn, key []byte) (uint64, bool, error) {
	it, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	v, err := it.ValueCopy(nil)
	if err != nil || len(v) != 8 {
		return 0, false, fmt.Errorf("index key %q: corrupt value (%d bytes): %v", key, len(v), err)
	}
	return binary.BigEndian.Uint64(v), true, nil
}

func getJSON(txn *badger.Txn, key []byte, out any) (bool, error) {
	it, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, it.Value(func(v []byte) error { return json.Unmarshal(v, out) })
}

// LastHeight is the last indexed height (0 before block 1).
func (ix *Index) LastHeight() (int64, error) {
	var h uint64
	err := ix.db.View(func(txn *badger.Txn) error {
		var err error
		h, _, err = getU64(txn, []byte(keyLast))
		return err
	})
	return int64(h), err
}

// ChainID is the chain the index belongs to ("" before genesis).
func (ix *Index) ChainID() (string, error) {
	var id string
	err := ix.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get([]byte(keyChain))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		v, err := it.ValueCopy(nil)
		id = string(v)
		return err
	})
	return id, err
}

// Genesis is the part of a chain's genesis the index starts from.
type Genesis struct {
	ChainID    string
	Time       time.Time
	Identities []IdentityOrg
	Sanctions  []SanctionChange
	Balances   []GenesisBalance
}

// GenesisBalance is an opening balance.
type GenesisBalance struct {
	Ledger, Asset, Account string
	Amount                 uint64
}

// InitGenesis records the chain id, organisations, sanctions list and
// opening balances. It is a no-op once done, and refuses another chain.
func (ix *Index) InitGenesis(g Genesis) error {
	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	return ix.db.Update(func(txn *badger.Txn) error {
		if it, err := txn.Get([]byte(keyChain)); err == nil {
			v, _ := it.ValueCopy(nil)
			if string(v) != g.ChainID {
				return fmt.Errorf("regulator index holds chain %q, the node runs %q: use another index directory", v, g.ChainID)
			}
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		if _, err := txn.Get([]byte(keyGenesis)); err == nil {
			return nil
		}
		set := func(k, v []byte) error { return txn.Set(k, v) }
		if err := set([]byte(keyChain), []byte(g.ChainID)); err != nil {
			return err
		}
		for _, id := range g.Identities {
			if err := set(cat(prefixOrg, id.Address), []byte(id.Org)); err != nil {
				return err
			}
		}
		n := 0
		for _, s := range g.Sanctions {
			b, _ := json.Marshal(s)
			if err := set(cat(prefixSanc, s.Account), b); err != nil {
				return err
			}
			h := HistoryEntry{Account: s.Account, Key: "sanctions", Time: g.Time, TxID: "genesis", Kind: "sanction", Value: s.Entry}
			hb, _ := json.Marshal(h)
			if err := set(cat(prefixHist, s.Account, "/", posKey(0, 0, n)), hb); err != nil {
				return err
			}
			n++
		}
		bals := map[string]uint64{}
		for _, b := range g.Balances {
			k := string(cat(prefixBal, b.Ledger, "/", b.Asset, "/", b.Account))
			bals[k] += b.Amount
			h := HistoryEntry{Account: b.Account, Key: b.Ledger + "/" + b.Asset, Time: g.Time, TxID: "genesis", Kind: "genesis",
				Delta: "+" + strconv.FormatUint(b.Amount, 10), Value: strconv.FormatUint(bals[k], 10)}
			hb, _ := json.Marshal(h)
			if err := set(cat(prefixHist, b.Account, "/", posKey(0, 0, n)), hb); err != nil {
				return err
			}
			n++
		}
		for _, b := range g.Balances {
			k := cat(prefixBal, b.Ledger, "/", b.Asset, "/", b.Account)
			if err := set(k, u64(bals[string(k)])); err != nil {
				return err
			}
		}
		return set([]byte(keyGenesis), []byte{1})
	})
}

// blockWriter applies one block: reads come from the committed snapshot
// plus what this block wrote so far (overlays), writes go to the block's
// write set, which commitBlock stores with the new last height.
type blockWriter struct {
	snap *badger.Txn
	w    writeSet
	b    *Block

	orgs     map[string]string
	sanc     map[string]*SanctionChange // nil value: removed in this block
	thr      map[string]uint64          // 0: cleared in this block
	xb       map[string]uint64
	xbTx     map[string][]string // this block's xt/ entries per day/pair/asset prefix
	rule     map[string]time.Time
	acct     map[string][]Entry // this block's entries per account
	recent   *recentCache       // the index's, read-only until commit
	loaded   map[string]*recentEntries
	folds    map[foldKey]*windowFold
	histN    map[string]int // history entries per account per tx position
	alerts   []Alert
	alertSeq uint64
}

func (bw *blockWriter) set(k, v []byte) error {
	if v == nil {
		v = []byte{} // nil marks a delete in the write set
	}
	bw.w[string(k)] = v
	return nil
}

func (bw *blockWriter) delete(k []byte) error {
	bw.w[string(k)] = nil
	return nil
}

func (bw *blockWriter) setBalance(ledger, asset, acct string, v uint64) error {
	return bw.set(cat(prefixBal, ledger, "/", asset, "/", acct), u64(v))
}

// OrgOf is the organisation of an address: from the genesis identities,
// registered identities and the org of every sender seen so far.
func (bw *blockWriter) OrgOf(addr string) (string, error) {
	if o, ok := bw.orgs[addr]; ok {
		return o, nil
	}
	it, err := bw.snap.Get(cat(prefixOrg, addr))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	v, err := it.ValueCopy(nil)
	return string(v), err
}

func (bw *blockWriter) setOrg(addr, org string) error {
	if cur, err := bw.OrgOf(addr); err != nil || cur == org {
		return err
	}
	bw.orgs[addr] = org
	return bw.set(cat(prefixOrg, addr), []byte(org))
}

// Sanctioned returns the sanctions-list entry of an account, if listed.
func (bw *blockWriter) Sanctioned(addr string) (*SanctionChange, error) {
	if s, ok := bw.sanc[addr]; ok {
		return s, nil
	}
	var s SanctionChange
	ok, err := getJSON(bw.snap, cat(prefixSanc, addr), &s)
	if err != nil || !ok {
		return nil, err
	}
	return &s, nil
}

// Threshold returns the on-chain large-amount threshold of asset.
func (bw *blockWriter) Threshold(asset string) (uint64, bool, error) {
	if t, ok := bw.thr[asset]; ok {
		return t, t > 0, nil
	}
	var t uint64
	ok, err := getJSON(bw.snap, cat(prefixThr, asset), &t)
	return t, ok && err == nil, err
}

// Window is an account's movements with time ≥ some start, oldest first:
// its committed ones (shared with the index's cache of recent entries),
// then this block's so far. Reading one copies nothing: a busy account's
// window is read at every one of its movements, and a copy of it at each
// cost time and garbage in proportion to its activity
// (BenchmarkHotAccounts). It is read, never modified.
type Window struct{ committed, block []Entry }

// Len is the number of entries.
func (w Window) Len() int { return len(w.committed) + len(w.block) }

// From yields the entries from the i-th on, in order.
func (w Window) From(i int) iter.Seq[*Entry] {
	return func(yield func(*Entry) bool) {
		for j := i; j < len(w.committed); j++ {
			if !yield(&w.committed[j]) {
				return
			}
		}
		for j := max(i-len(w.committed), 0); j < len(w.block); j++ {
			if !yield(&w.block[j]) {
				return
			}
		}
	}
}

// last is the window's last entry, nil if it is empty.
func (w Window) last() *Entry {
	switch {
	case len(w.block) > 0:
		return &w.block[len(w.block)-1]
	case len(w.committed) > 0:
		return &w.committed[len(w.committed)-1]
	}
	return nil
}

// Entries copies the window into one slice (for an alert).
func (w Window) Entries() []Entry { return slices.Concat(w.committed, w.block) }

// AccountEntries returns the movements of an account (either side) with
// time ≥ since, oldest first, including this block's so far. The
// committed part comes from the cache of recent entries, else from what
// this block already read of the account, else from the index (then
// kept for the rest of the block and the cache); it is shared, not
// copied, and found by a binary search.
func (bw *blockWriter) AccountEntries(addr string, since time.Time) (Window, error) {
	old, ok := bw.recent.since(addr, since)
	if l := bw.loaded[addr]; !ok && l != nil && !since.Before(l.from) {
		old, ok = l.since(since), true
	}
	if !ok {
		out, err := bw.scanAccount(addr, since)
		if err != nil {
			return Window{}, err
		}
		bw.loaded[addr] = &recentEntries{from: since, entries: out}
		old = slices.Clip(out)
	}
	// A block's entries all have its time.
	block := bw.acct[addr]
	i := sort.Search(len(block), func(i int) bool { return !block[i].Time.Before(since) })
	return Window{committed: old, block: slices.Clip(block[i:])}, nil
}

func (bw *blockWriter) fold(k foldKey, es Window) *windowFold {
	f := bw.folds[k]
	if f == nil {
		if f = resume(bw.recent.carried(k), k, bw.b.Time, es); f == nil {
			f = &windowFold{}
		}
		bw.folds[k] = f
	}
	return f
}

// scanAccount reads the committed entries of an account with time ≥
// since from the index, oldest first.
func (bw *blockWriter) scanAccount(addr string, since time.Time) ([]Entry, error) {
	var out []Entry
	prefix := cat(prefixAcct, addr, "/")
	it := bw.snap.NewIterator(badger.IteratorOptions{Prefix: prefix, Reverse: true, PrefetchValues: true, PrefetchSize: 64})
	defer it.Close()
	for it.Seek(append(bytes.Clone(prefix), 0xff)); it.Valid(); it.Next() {
		var e Entry
		if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &e) }); err != nil {
			return nil, err
		}
		if e.Time.Before(since) {
			break
		}
		out = append(out, e)
	}
	slices.Reverse(out)
	return out, nil
}

// AddOrgFlow adds m's amount to the day's total from one org to another,
// records m as one of the transfers that make it up, and returns the new
// total.
func (bw *blockWriter) AddOrgFlow(day, from, to string, m Entry) (uint64, error) {
	k := string(cat(prefixXB, day, "/", from, "/", to, "/", m.Asset))
	cur, ok := bw.xb[k]
	if !ok {
		var err error
		if cur, _, err = getU64(bw.snap, []byte(k)); err != nil {
			return 0, err
		}
	}
	cur = satAdd(cur, m.Amount)
	bw.xb[k] = cur
	tk := string(cat(prefixXBTx, day, "/", from, "/", to, "/", m.Asset, "/"))
	bw.xbTx[tk] = append(bw.xbTx[tk], m.TxID)
	if err := bw.set(cat(tk, posKey(m.Height, m.Index, m.Event)), []byte(m.TxID)); err != nil {
		return 0, err
	}
	return cur, bw.set([]byte(k), u64(cur))
}

// OrgFlowTxIDs lists the transactions of the day's transfers from one org
// to another in asset, in block order, at most limit of them (distinct),
// and how many there are in all.
func (bw *blockWriter) OrgFlowTxIDs(day, from, to, asset string, limit int) ([]string, int, error) {
	prefix := cat(prefixXBTx, day, "/", from, "/", to, "/", asset, "/")
	var out []string
	n := 0
	add := func(id string) {
		if len(out) > 0 && out[len(out)-1] == id {
			return // movements of one transaction are adjacent
		}
		n++
		if len(out) < limit {
			out = append(out, id)
		}
	}
	it := bw.snap.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 64})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		v, err := it.Item().ValueCopy(nil)
		if err != nil {
			return nil, 0, err
		}
		add(string(v))
	}
	for _, id := range bw.xbTx[string(prefix)] {
		add(id)
	}
	return out, n, nil
}

// LastAlert is when rule last alerted on subject.
func (bw *blockWriter) LastAlert(rule, subject string) (time.Time, bool, error) {
	k := string(cat(prefixRule, rule, "/", subject))
	if t, ok := bw.rule[k]; ok {
		return t, true, nil
	}
	v, ok, err := getU64(bw.snap, []byte(k))
	if err != nil || !ok {
		return time.Time{}, false, err
	}
	return time.Unix(0, int64(v)).UTC(), true, nil
}

// subjectAccounts lists the accounts an alert's subject names, once each
// in the order named: the subjects are an account, account/asset,
// to:account/asset, org:org->account/asset and org->org/asset/day (no
// account), and an account is 40 hex digits.
func subjectAccounts(subject string) []string {
	var out []string
	for _, part := range strings.FieldsFunc(subject, func(r rune) bool { return r == '/' || r == ':' || r == '>' }) {
		a, err := gmcrypto.ParseAddress(strings.TrimSuffix(part, "-"))
		if err != nil {
			continue
		}
		if s := a.String(); !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// alertAccountKeys are the aa/ keys of alert seq with subject.
func alertAccountKeys(subject string, seq uint64) [][]byte {
	var out [][]byte
	for _, acct := range subjectAccounts(subject) {
		out = append(out, cat(prefixAlertA, acct, "/", u64(seq)))
	}
	return out
}

// Raise records an alert and the time rule last alerted on its subject.
// An alert happens at its block's time: that is the time the cooldown
// (LastAlert) counts from, so it is set before anything is stored.
func (bw *blockWriter) Raise(a Alert) error {
	a.Height, a.Time = bw.b.Height, bw.b.Time
	k := string(cat(prefixRule, a.Rule, "/", a.Subject))
	bw.rule[k] = a.Time
	if err := bw.set([]byte(k), u64(uint64(a.Time.UnixNano()))); err != nil {
		return err
	}
	bw.alertSeq++
	a.Seq = bw.alertSeq
	a.ID = fmt.Sprintf("%d-%d", bw.b.Height, len(bw.alerts)+1)
	a.Status, a.Ack = "", nil
	b, _ := json.Marshal(a)
	if err := bw.set(cat(prefixAlert, u64(a.Seq)), b); err != nil {
		return err
	}
	if err := bw.set(cat(prefixAlertI, a.ID), u64(a.Seq)); err != nil {
		return err
	}
	for _, k := range alertAccountKeys(a.Subject, a.Seq) {
		if err := bw.set(k, nil); err != nil {
			return err
		}
	}
	a.Status = StatusOpen
	bw.alerts = append(bw.alerts, a)
	return nil
}

func satAdd(a, b uint64) uint64 {
	if a > ^uint64(0)-b {
		return ^uint64(0)
	}
	return a + b
}

// Rules evaluates a block as it is indexed. The index calls it once per
// transaction, after the transaction's entries are visible, and once per
// sanctions-list change.
type Rules interface {
	OnTx(v RuleView, b *Block, tx *Tx, entries []Entry) error
	OnSanction(v RuleView, b *Block, tx *Tx, s SanctionChange) error
}

// RuleView is what rules may read and write while a block is indexed.
type RuleView interface {
	OrgOf(addr string) (string, error)
	Sanctioned(addr string) (*SanctionChange, error)
	// Threshold is the on-chain large-amount threshold of asset, if set.
	Threshold(asset string) (uint64, bool, error)
	// AccountEntries are addr's movements with time ≥ since, oldest
	// first, this block's so far included.
	AccountEntries(addr string, since time.Time) (Window, error)
	// fold is the block's running reading of window es by a rule: at
	// the first call of the block as the block before left it (moved to
	// k's window start, slide.go) or zero, then as the rule left it.
	fold(k foldKey, es Window) *windowFold
	// AddOrgFlow counts transfer m in the day's flow from one organisation
	// to another and returns the day's total.
	AddOrgFlow(day, from, to string, m Entry) (uint64, error)
	// OrgFlowTxIDs are the transactions AddOrgFlow counted in that flow.
	OrgFlowTxIDs(day, from, to, asset string, limit int) ([]string, int, error)
	LastAlert(rule, subject string) (time.Time, bool, error)
	Raise(a Alert) error
}

// ApplyBlock indexes b (which must be the block after LastHeight), runs
// rules over it and stores everything with the new last height (see
// commitBlock: one Badger transaction when the block's writes fit in one,
// else chunks behind a redo log). It returns the alerts raised.
func (ix *Index) ApplyBlock(b *Block, rules Rules) ([]Alert, error) {
	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	// A block whose chunked write failed half-way in this process is
	// finished first (on open, OpenIndexWith does the same after a crash).
	if err := ix.recoverRedo(); err != nil {
		return nil, err
	}
	snap := ix.db.NewTransaction(false)
	defer snap.Discard()
	last, _, err := getU64(snap, []byte(keyLast))
	if err != nil {
		return nil, err
	}
	if b.Height != int64(last)+1 {
		return nil, ErrNotNext{Height: b.Height, Last: int64(last)}
	}
	seq, _, err := getU64(snap, []byte(keyAlertSeq))
	if err != nil {
		return nil, err
	}
	bw := &blockWriter{snap: snap, w: writeSet{}, b: b, alertSeq: seq,
		orgs: map[string]string{}, sanc: map[string]*SanctionChange{}, thr: map[string]uint64{},
		xb: map[string]uint64{}, xbTx: map[string][]string{}, rule: map[string]time.Time{}, acct: map[string][]Entry{}, histN: map[string]int{},
		recent: &ix.recent, loaded: map[string]*recentEntries{}, folds: map[foldKey]*windowFold{}}
	for i := range b.Txs {
		if err := bw.applyTx(&b.Txs[i], rules); err != nil {
			return nil, fmt.Errorf("index block %d tx %d: %w", b.Height, i, err)
		}
	}
	if err := bw.set([]byte(keyAlertSeq), u64(bw.alertSeq)); err != nil {
		return nil, err
	}
	if err := bw.set(cat(prefixBlockT, u64(uint64(b.Height))), u64(uint64(b.Time.UnixNano()))); err != nil {
		return nil, err
	}
	if err := ix.commitBlock(b.Height, bw.w.ops()); err != nil {
		ix.recent.clear() // what is committed is not known here
		return nil, fmt.Errorf("index block %d: %w", b.Height, err)
	}
	ix.recent.committed(b.Time, bw.loaded, bw.acct, bw.folds)
	return bw.alerts, nil
}

func (bw *blockWriter) history(acct string, tx *Tx, h HistoryEntry) error {
	n := bw.histN[acct]
	bw.histN[acct] = n + 1
	h.Account, h.Height, h.Time, h.TxID = acct, bw.b.Height, bw.b.Time, tx.ID
	b, _ := json.Marshal(h)
	return bw.set(cat(prefixHist, acct, "/", posKey(bw.b.Height, tx.Index, n)), b)
}

func (bw *blockWriter) applyTx(tx *Tx, rules Rules) error {
	tx.Height, tx.Time = bw.b.Height, bw.b.Time
	rec, _ := json.Marshal(tx)
	if err := bw.set(cat(prefixTx, tx.ID), rec); err != nil {
		return err
	}
	if tx.OK() && tx.Sender != "" && tx.Org != "" {
		if err := bw.setOrg(tx.Sender, tx.Org); err != nil {
			return err
		}
	}
	for _, id := range tx.Identities {
		if err := bw.setOrg(id.Address, id.Org); err != nil {
			return err
		}
	}
	var entries []Entry
	for i, m := range tx.Movements {
		e := Entry{TxID: tx.ID, Height: bw.b.Height, Index: tx.Index, Event: i, Time: bw.b.Time,
			Kind: m.Kind, Ledger: m.Ledger, Asset: m.Asset, From: m.From, To: m.To, Amount: m.Amount,
			FromBalance: m.FromBalance, ToBalance: m.ToBalance, Refund: tx.Pvp != nil && tx.Pvp.Status == PvpRefunded}
		var err error
		if e.FromOrg, err = bw.OrgOf(m.From); err != nil {
			return err
		}
		if m.To != "" {
			if e.ToOrg, err = bw.OrgOf(m.To); err != nil {
				return err
			}
		}
		if err := bw.indexEntry(tx, e); err != nil {
			return err
		}
		entries = append(entries, e)
	}
	for _, t := range tx.Thresholds {
		bw.thr[t.Asset] = t.Amount
		if t.Amount == 0 {
			if err := bw.delete(cat(prefixThr, t.Asset)); err != nil {
				return err
			}
		} else if err := bw.set(cat(prefixThr, t.Asset), []byte(strconv.FormatUint(t.Amount, 10))); err != nil {
			return err
		}
	}
	for _, s := range tx.Sanctions {
		sc := s
		if s.Removed {
			bw.sanc[s.Account] = nil
			if err := bw.delete(cat(prefixSanc, s.Account)); err != nil {
				return err
			}
		} else {
			bw.sanc[s.Account] = &sc
			b, _ := json.Marshal(s)
			if err := bw.set(cat(prefixSanc, s.Account), b); err != nil {
				return err
			}
		}
		h := HistoryEntry{Key: "sanctions", Kind: "sanction", Value: s.Entry}
		if s.Removed {
			h.Kind, h.Value = "sanction_removed", ""
		}
		if err := bw.history(s.Account, tx, h); err != nil {
			return err
		}
	}
	if rules == nil {
		return nil
	}
	if err := rules.OnTx(bw, bw.b, tx, entries); err != nil {
		return err
	}
	for _, s := range tx.Sanctions {
		if err := rules.OnSanction(bw, bw.b, tx, s); err != nil {
			return err
		}
	}
	return nil
}

func (bw *blockWriter) indexEntry(tx *Tx, e Entry) error {
	pos := posKey(e.Height, e.Index, e.Event)
	eb, _ := json.Marshal(e)
	sets := [][2][]byte{
		{cat(prefixMove, pos), eb},
		{cat(prefixLedger, e.Ledger, "/", pos), pos},
		{cat(prefixAsset, e.Asset, "/", pos), pos},
		{cat(prefixTime, u64(uint64(e.Time.UnixNano())), pos), pos},
		{cat(prefixAmount, e.Asset, "/", u64(e.Amount), pos), pos},
		{cat(prefixAcct, e.From, "/", pos), eb},
	}
	if e.To != "" && e.To != e.From {
		sets = append(sets, [2][]byte{cat(prefixAcct, e.To, "/", pos), eb})
	}
	for _, s := range sets {
		if err := bw.set(s[0], s[1]); err != nil {
			return err
		}
	}
	bw.acct[e.From] = append(bw.acct[e.From], e)
	if e.To != "" && e.To != e.From {
		bw.acct[e.To] = append(bw.acct[e.To], e)
	}
	key := e.Ledger + "/" + e.Asset
	amt := strconv.FormatUint(e.Amount, 10)
	// Balances come from the event: the state machine's figures, not a
	// second copy of its arithmetic.
	set := func(acct, delta string, bal uint64) error {
		if err := bw.setBalance(e.Ledger, e.Asset, acct, bal); err != nil {
			return err
		}
		return bw.history(acct, tx, HistoryEntry{Key: key, Kind: e.Kind, Delta: delta + amt, Value: strconv.FormatUint(bal, 10)})
	}
	switch e.Kind {
	case KindIssue, KindRedemptionReturned:
		return set(e.To, "+", e.ToBalance)
	case KindBurn, KindRedeem:
		return set(e.From, "-", e.FromBalance)
	case KindTransfer:
		if e.From == e.To {
			return nil
		}
		if err := set(e.From, "-", e.FromBalance); err != nil {
			return err
		}
		return set(e.To, "+", e.ToBalance)
	}
	return nil
}

// Filter selects indexed movements. Zero fields do not filter.
type Filter struct {
	Account string
	Ledger  string
	Asset   string
	Kind    string
	Min     *uint64
	Max     *uint64
	From    time.Time // block time ≥ From
	To      time.Time // block time < To
	// ByAmount lists by amount (requires Asset) instead of by time.
	ByAmount bool
	Desc     bool
}

func (f *Filter) match(e *Entry) bool {
	switch {
	case f.Account != "" && e.From != f.Account && e.To != f.Account,
		f.Ledger != "" && e.Ledger != f.Ledger,
		f.Asset != "" && e.Asset != f.Asset,
		f.Kind != "" && e.Kind != f.Kind,
		f.Min != nil && e.Amount < *f.Min,
		f.Max != nil && e.Amount > *f.Max,
		!f.From.IsZero() && e.Time.Before(f.From),
		!f.To.IsZero() && !e.Time.Before(f.To):
		return false
	}
	return true
}

// errStopScan ends a scan early: nothing further can match.
var errStopScan = errors.New("stop scan")

// MaxPageSize bounds a page.
const MaxPageSize = 1000

// scanPage walks the keys under prefix from after cursor (or seek), in
// order, giving each to fn until limit items were taken. It returns the
// cursor of the next page ("" at the end).
func (ix *Index) scanPage(txn *badger.Txn, prefix, seekFrom []byte, cursor string, desc bool, limit int, fn func(k, v []byte) (bool, error)) (string, error) {
	if limit <= 0 || limit > MaxPageSize {
		limit = MaxPageSize
	}
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, Reverse: desc, PrefetchValues: true, PrefetchSize: 100})
	defer it.Close()
	start := seekFrom
	if start == nil {
		start = prefix
		if desc {
			start = append(bytes.Clone(prefix), 0xff, 0xff, 0xff, 0xff)
		}
	}
	skipFirst := false
	if cursor != "" {
		c, err := hex.DecodeString(cursor)
		if err != nil || !bytes.HasPrefix(c, prefix) {
			return "", fmt.Errorf("bad cursor %q", cursor)
		}
		start, skipFirst = c, true
	}
	taken := 0
	var lastKey []byte
	for it.Seek(start); it.Valid(); it.Next() {
		k := it.Item().KeyCopy(nil)
		if skipFirst && bytes.Equal(k, start) {
			continue
		}
		if taken == limit {
			return hex.EncodeToString(lastKey), nil
		}
		v, err := it.Item().ValueCopy(nil)
		if err != nil {
			return "", err
		}
		took, err := fn(k, v)
		if errors.Is(err, errStopScan) {
			return "", nil
		}
		if err != nil {
			return "", err
		}
		if took {
			taken++
			lastKey = k
		}
	}
	return "", nil
}

// Txs lists indexed movements matching f, by time (or amount).
func (ix *Index) Txs(f Filter, cursor string, limit int) (Page[Entry], error) {
	page := Page[Entry]{Items: []Entry{}}
	err := ix.db.View(func(txn *badger.Txn) error {
		var prefix, seek []byte
		resolve := false
		switch {
		case f.Account != "":
			prefix = cat(prefixAcct, f.Account, "/")
		case f.ByAmount && f.Asset != "":
			prefix, resolve = cat(prefixAmount, f.Asset, "/"), true
			if f.Min != nil && !f.Desc {
				seek = cat(prefix, u64(*f.Min))
			}
			if f.Max != nil && f.Desc {
				seek = cat(prefix, u64(*f.Max), []byte{0xff})
			}
		case f.Ledger != "":
			prefix, resolve = cat(prefixLedger, f.Ledger, "/"), true
		case f.Asset != "":
			prefix, resolve = cat(prefixAsset, f.Asset, "/"), true
		case !f.From.IsZero() || !f.To.IsZero():
			prefix, resolve = []byte(prefixTime), true
			if !f.From.IsZero() && !f.Desc {
				seek = cat(prefix, u64(uint64(f.From.UnixNano())))
			}
			if !f.To.IsZero() && f.Desc {
				seek = cat(prefix, u64(uint64(f.To.UnixNano())))
			}
		default:
			prefix = []byte(prefixMove)
		}
		if f.ByAmount && f.Asset == "" {
			return fmt.Errorf("sorting by amount needs an asset")
		}
		next, err := ix.scanPage(txn, prefix, seek, cursor, f.Desc, limit, func(_, v []byte) (bool, error) {
			var e Entry
			if resolve {
				if _, err := getJSON(txn, cat(prefixMove, v), &e); err != nil {
					return false, err
				}
			} else if err := json.Unmarshal(v, &e); err != nil {
				return false, err
			}
			// Every index but the amount index is in block (so time) order:
			// stop at the first entry past the period.
			if !f.ByAmount && ((!f.Desc && !f.To.IsZero() && !e.Time.Before(f.To)) || (f.Desc && !f.From.IsZero() && e.Time.Before(f.From))) {
				return false, errStopScan
			}
			if !f.match(&e) {
				return false, nil
			}
			page.Items = append(page.Items, e)
			return true, nil
		})
		page.NextCursor = next
		return err
	})
	return page, err
}

// Tx returns an indexed transaction by id.
func (ix *Index) Tx(id string) (*Tx, error) {
	var t Tx
	var ok bool
	err := ix.db.View(func(txn *badger.Txn) error {
		var err error
		ok, err = getJSON(txn, cat(prefixTx, strings.ToLower(id)), &t)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrNotFound{What: "transaction " + id}
	}
	return &t, nil
}

// ErrNotFound names what is missing.
type ErrNotFound struct{ What string }

func (e ErrNotFound) Error() string { return e.What + " not found in the regulator index" }

// History lists the changes of an account's keys, oldest first. key, if
// set, selects one key (<ledger>/<asset> or "sanctions").
func (ix *Index) History(account, key, cursor string, limit int, desc bool) (Page[HistoryEntry], error) {
	page := Page[HistoryEntry]{Items: []HistoryEntry{}}
	err := ix.db.View(func(txn *badger.Txn) error {
		next, err := ix.scanPage(txn, cat(prefixHist, account, "/"), nil, cursor, desc, limit, func(_, v []byte) (bool, error) {
			var h HistoryEntry
			if err := json.Unmarshal(v, &h); err != nil {
				return false, err
			}
			if key != "" && h.Key != key {
				return false, nil
			}
			page.Items = append(page.Items, h)
			return true, nil
		})
		page.NextCursor = next
		return err
	})
	return page, err
}

// Balance is the indexed balance of an account.
func (ix *Index) Balance(ledger, asset, account string) (uint64, error) {
	var v uint64
	err := ix.db.View(func(txn *badger.Txn) error {
		var err error
		v, _, err = getU64(txn, cat(prefixBal, ledger, "/", asset, "/", account))
		return err
	})
	return v, err
}

// AlertFilter selects alerts.
type AlertFilter struct {
	Rule     string
	Status   string
	Severity string
	Subject  string
	// Account, when set (an address in canonical form), keeps the alerts
	// whose subject names the account (subjectAccounts): read from the
	// alerts indexed by account, not filtered from every alert.
	Account  string
	AfterSeq uint64
	From, To time.Time
	Desc     bool
	// TxIDs, when above 0, lists at most that many of each alert's
	// transactions (the first), with TxIDsTotal set where it cut: a page
	// of a hundred alerts of a busy day's cross-border flows lists up to
	// a hundred thousand ids, which a screen of alerts does not show.
	TxIDs int
}

// ackKey binds an acknowledgement to the alert it was given for: after a
// rebuild under other rules the same id may name another alert, which
// stays open (the old acknowledgement stays in the store and in the audit log).
func ackKey(a *Alert) []byte {
	h := gmcrypto.NewSM3()
	for _, p := range append([]string{a.ID, a.Rule, strconv.FormatInt(a.Height, 10), a.Subject}, a.TxIDs...) {
		_ = binary.Write(h, binary.BigEndian, uint32(len(p)))
		h.Write([]byte(p))
	}
	return cat(prefixAck, a.ID, "/", hex.EncodeToString(h.Sum(nil)))
}

func (ix *Index) withAck(op *badger.Txn, a *Alert) error {
	var ack Ack
	ok, err := getJSON(op, ackKey(a), &ack)
	if err != nil {
		return err
	}
	a.Status, a.Ack = StatusOpen, nil
	if ok {
		a.Status, a.Ack = StatusAcknowledged, &ack
	}
	return nil
}

// alertHead is what AlertFilter reads of an alert, besides its status.
type alertHead struct {
	Seq                     uint64
	Rule, Severity, Subject string
	Time                    time.Time
}

// admits reports whether an alert with head h passes f (its status aside).
func (f AlertFilter) admits(h alertHead) bool {
	return (f.Rule == "" || h.Rule == f.Rule) &&
		(f.Severity == "" || h.Severity == f.Severity) &&
		(f.Subject == "" || strings.Contains(h.Subject, f.Subject)) &&
		h.Seq > f.AfterSeq &&
		(f.From.IsZero() || !h.Time.Before(f.From)) &&
		(f.To.IsZero() || h.Time.Before(f.To))
}

// Alerts lists alerts in raise order.
func (ix *Index) Alerts(f AlertFilter, cursor string, limit int) (Page[Alert], error) {
	page := Page[Alert]{Items: []Alert{}}
	op := ix.op.NewTransaction(false)
	defer op.Discard()
	err := ix.db.View(func(txn *badger.Txn) error {
		prefix := []byte(prefixAlert)
		if f.Account != "" {
			prefix = cat(prefixAlertA, f.Account, "/")
		}
		var seek []byte
		if f.AfterSeq > 0 && !f.Desc && cursor == "" {
			seek = cat(string(prefix), u64(f.AfterSeq+1))
		}
		// An alert may list a thousand transactions, and a filter that few
		// alerts match reads many alerts: with one, the fields it reads are
		// decoded first, the rest only for an alert it lets through.
		headFilter := f.Rule != "" || f.Severity != "" || f.Subject != "" || f.AfterSeq > 0 || !f.From.IsZero() || !f.To.IsZero()
		next, err := ix.scanPage(txn, prefix, seek, cursor, f.Desc, limit, func(k, v []byte) (bool, error) {
			if f.Account != "" {
				item, err := txn.Get(cat(prefixAlert, k[len(k)-8:]))
				if err != nil {
					return false, fmt.Errorf("alert %d of account %s: %w", binary.BigEndian.Uint64(k[len(k)-8:]), f.Account, err)
				}
				if v, err = item.ValueCopy(nil); err != nil {
					return false, err
				}
			}
			if headFilter {
				var h alertHead
				if err := json.Unmarshal(v, &h); err != nil {
					return false, err
				}
				if !f.admits(h) {
					return false, nil
				}
			}
			var a Alert
			if err := json.Unmarshal(v, &a); err != nil {
				return false, err
			}
			if err := ix.withAck(op, &a); err != nil {
				return false, err
			}
			if f.Status != "" && a.Status != f.Status {
				return false, nil
			}
			if f.TxIDs > 0 && len(a.TxIDs) > f.TxIDs {
				a.TxIDsTotal, a.TxIDs = len(a.TxIDs), a.TxIDs[:f.TxIDs:f.TxIDs]
			}
			page.Items = append(page.Items, a)
			return true, nil
		})
		page.NextCursor = next
		return err
	})
	return page, err
}

// AlertsCursor is the cursor of GET /v1/alerts (Index.Alerts) that
// continues after the alert of sequence number seq, in the order asked:
// older ones with order=desc, newer ones with order=asc. It is the
// next_cursor of a page that ends with that alert; a client that pages by
// sequence number both ways (the web console's older and newer links)
// builds it here instead of keeping every page's cursor.
func AlertsCursor(seq uint64) string { return hex.EncodeToString(cat(prefixAlert, u64(seq))) }

// Alert returns one alert by id.
func (ix *Index) Alert(id string) (*Alert, error) {
	var a Alert
	err := ix.db.View(func(txn *badger.Txn) error {
		seq, ok, err := getU64(txn, cat(prefixAlertI, id))
		if err != nil {
			return err
		}
		if !ok {
			return ErrNotFound{What: "alert " + id}
		}
		if _, err := getJSON(txn, cat(prefixAlert, u64(seq)), &a); err != nil {
			return err
		}
		return ix.op.View(func(op *badger.Txn) error { return ix.withAck(op, &a) })
	})
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// ErrAlreadyAcknowledged is returned when acknowledging twice.
var ErrAlreadyAcknowledged = errors.New("alert is already acknowledged")

// Acknowledge marks an alert acknowledged with a note.
func (ix *Index) Acknowledge(id, by, note string, at time.Time) (*Alert, error) {
	if strings.TrimSpace(note) == "" {
		return nil, errors.New("an acknowledgement needs a note")
	}
	a, err := ix.Alert(id)
	if err != nil {
		return nil, err
	}
	err = ix.op.Update(func(txn *badger.Txn) error {
		if _, err := txn.Get(ackKey(a)); err == nil {
			return fmt.Errorf("alert %s: %w", id, ErrAlreadyAcknowledged)
		}
		b, _ := json.Marshal(Ack{By: by, Note: note, At: at.UTC()})
		return txn.Set(ackKey(a), b)
	})
	if err != nil {
		return nil, err
	}
	return ix.Alert(id)
}

// AppendAudit appends an audit entry, chained to the last one and signed,
// and returns it with its seq and chain fields.
func (ix *Index) AppendAudit(e AuditEntry) (AuditEntry, error) {
	ix.auditMu.Lock()
	defer ix.auditMu.Unlock()
	e.Seq = ix.auditSeq + 1
	e.At = e.At.UTC()
	if err := sealAudit(&e, ix.auditHead, ix.auditKey); err != nil {
		return e, fmt.Errorf("seal audit entry %d: %w", e.Seq, err)
	}
	b, _ := json.Marshal(e)
	if err := ix.op.Update(func(txn *badger.Txn) error { return txn.Set(cat(prefixAudit, u64(e.Seq)), b) }); err != nil {
		return e, fmt.Errorf("append audit entry: %w", err)
	}
	ix.auditSeq, ix.auditHead = e.Seq, e.Hash
	return e, nil
}

// Audit lists the audit log, oldest first; who filters by caller.
func (ix *Index) Audit(who, cursor string, limit int, desc bool) (Page[AuditEntry], error) {
	page := Page[AuditEntry]{Items: []AuditEntry{}}
	err := ix.op.View(func(txn *badger.Txn) error {
		next, err := ix.scanPage(txn, []byte(prefixAudit), nil, cursor, desc, limit, func(_, v []byte) (bool, error) {
			var e AuditEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return false, err
			}
			if who != "" && e.Who != who {
				return false, nil
			}
			page.Items = append(page.Items, e)
			return true, nil
		})
		page.NextCursor = next
		return err
	})
	return page, err
}

// AuditLog returns the whole audit log, oldest first, as stored.
func (ix *Index) AuditLog() ([]AuditEntry, error) {
	var out []AuditEntry
	err := ix.op.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixAudit), PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var e AuditEntry
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &e) }); err != nil {
				return fmt.Errorf("audit key %x: %w", it.Item().Key(), err)
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// Dump returns every deterministic key and value (everything but
// acknowledgements and the audit log), in key order: two observers that
// indexed the same chain to the same height have equal dumps.
func (ix *Index) Dump() ([][2][]byte, error) {
	var out [][2][]byte
	err := ix.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.DefaultIteratorOptions)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().KeyCopy(nil)
			if bytes.HasPrefix(k, []byte(prefixAck)) || bytes.HasPrefix(k, []byte(prefixAudit)) {
				continue
			}
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			out = append(out, [2][]byte{k, v})
		}
		return nil
	})
	return out, err
}

// movementsBetween returns every movement with From ≤ time < To.
func (ix *Index) movementsBetween(from, to time.Time) ([]Entry, error) {
	var out []Entry
	err := ix.db.View(func(txn *badger.Txn) error {
		prefix := []byte(prefixTime)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Seek(cat(prefix, u64(uint64(from.UnixNano())))); it.Valid(); it.Next() {
			k := it.Item().Key()
			if t := int64(binary.BigEndian.Uint64(k[len(prefix):])); !to.IsZero() && t >= to.UnixNano() {
				break
			}
			pos, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			var e Entry
			if _, err := getJSON(txn, cat(prefixMove, pos), &e); err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].Height < out[j].Height })
	return out, err
}
