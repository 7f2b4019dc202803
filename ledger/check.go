package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/cosmos/iavl"
	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/y"
)

// ErrDataDamaged reports ledger data that can no longer be trusted: a table
// whose checksum does not match, a damaged or inconsistent MANIFEST, a table
// file that is missing, or a tree that does not hash to its commit record.
// The node must not run on it; Err is the underlying finding.
type ErrDataDamaged struct {
	Path string
	Err  error
}

func (e ErrDataDamaged) Error() string {
	return fmt.Sprintf("ledger data in %s is damaged: %v; stop the node, then restore the data directory from a backup "+
		"or wipe the node's data and sync it again from peers (docs/operations.md, \"Disk damage\")", e.Path, e.Err)
}

func (e ErrDataDamaged) Unwrap() error { return e.Err }

// errRootMismatch: a tree read back does not hash to its recorded root.
var errRootMismatch = errors.New("root hash does not match the commit record")

// damageMarkers are the messages by which Badger and IAVL report damaged
// files; Badger does not export sentinel errors for most of them. A value
// of the value log that cannot be read has no message: Badger answers it
// empty, and valueOf reports it, wrapping y.ErrChecksumMismatch.
var damageMarkers = []string{
	"manifest",                      // bad magic, checksum mismatch, invalid changes, missing
	"file does not exist for table", // a table listed in the MANIFEST is gone
	"failed to initialize table",    // a table whose index cannot be read
	"opening table",
	"value missing for key", // IAVL: a node the tree points to is not in the database
}

// isDamage reports whether err says the data on disk is damaged, as opposed
// to a lock held, a permission or a full disk.
func isDamage(err error) bool {
	if err == nil || errors.Is(err, os.ErrPermission) || isLocked(err) {
		return false
	}
	if errors.Is(err, y.ErrChecksumMismatch) || errors.Is(err, errRootMismatch) || errors.Is(err, errMalformedCommitInfo) {
		return true
	}
	msg := strings.ToLower(err.Error())
	for _, m := range damageMarkers {
		if strings.Contains(msg, m) {
			return true
		}
	}
	return false
}

// isLocked reports whether Badger refused to open because another process
// (a running node) holds the directory.
func isLocked(err error) bool {
	return err != nil && strings.Contains(err.Error(), "Another process is using this Badger database")
}

// damaged wraps err in ErrDataDamaged when it says the data is damaged.
func damaged(dir string, err error) error {
	var d ErrDataDamaged
	if isDamage(err) && !errors.As(err, &d) {
		return ErrDataDamaged{Path: dir, Err: err}
	}
	return err
}

// LedgerCheck is the finding for one sub-ledger.
type LedgerCheck struct {
	Name string
	// Root is the root in the commit record.
	Root []byte
	// Keys is the number of keys read.
	Keys int
	// Problem is empty when the tree read back whole and hashes to Root.
	Problem string
}

// CheckReport is the result of Check.
type CheckReport struct {
	Height int64
	// AppHash is recomputed from the recorded roots; compare it with the
	// app hash of the block at Height (jinlian status, a peer).
	AppHash []byte
	// Tables is empty when every Badger table passed its checksums, and
	// every value in the value log its own.
	Tables  string
	Ledgers []LedgerCheck
	// Flat is what the flat index of the latest state holds (ADR 0019):
	// "ok" when it is the trees' keys and values at Height, "none" when
	// it describes no height (the node rebuilds it at its next start),
	// else the first difference found (FlatDiffers).
	Flat        string
	FlatKeys    int
	FlatDiffers bool
}

// OK reports whether nothing was found.
func (r *CheckReport) OK() bool {
	if r.Tables != "" || r.FlatDiffers {
		return false
	}
	for _, l := range r.Ledgers {
		if l.Problem != "" {
			return false
		}
	}
	return true
}

// Err returns nil when the report is OK, else an ErrDataDamaged that
// summarises it.
func (r *CheckReport) Err(dir string) error {
	if r.OK() {
		return nil
	}
	var probs []string
	if r.Tables != "" {
		probs = append(probs, "tables: "+r.Tables)
	}
	for _, l := range r.Ledgers {
		if l.Problem != "" {
			probs = append(probs, "ledger "+l.Name+": "+l.Problem)
		}
	}
	if r.FlatDiffers {
		probs = append(probs, "flat index: "+r.Flat+" (start the node once with ledger.flat_index = false, which removes it, then with it on again, which rebuilds it from the trees)")
	}
	return ErrDataDamaged{Path: dir, Err: errors.New(strings.Join(probs, "; "))}
}

// Check verifies the last committed height: every Badger table against its
// checksums and every value in the value log against its own, then every
// ledger's tree, read key by key and rehashed from its nodes, against the
// root in the commit record. It reads the whole state, so it takes as long
// as a full scan; findings go in the report, the error is for a check that
// could not run.
func (s *Store) Check() (*CheckReport, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed.Load() {
		return nil, ErrClosed
	}
	return s.check(s.last)
}

func (s *Store) check(last CommitInfo) (*CheckReport, error) {
	r := &CheckReport{Height: last.Height, AppHash: AppHash(last.Roots)}
	if err := errors.Join(verifyTables(s.db), verifyValueLog(s.db)); err != nil {
		r.Tables = err.Error()
	}
	for _, root := range last.Roots {
		lc := LedgerCheck{Name: root.Name, Root: root.Root}
		keys, err := s.checkTree(root.Name, last.Height, root.Root)
		lc.Keys = keys
		if err != nil {
			lc.Problem = err.Error()
		}
		r.Ledgers = append(r.Ledgers, lc)
	}
	if err := s.checkFlat(r, last); err != nil {
		return nil, err
	}
	return r, nil
}

// checkFlat compares the flat index with the trees at last's height, key
// by key in order, when its marker says it describes that height.
func (s *Store) checkFlat(r *CheckReport, last CommitInfo) error {
	marker, err := s.readFlatMarker()
	if err != nil {
		return err
	}
	if marker == 0 || marker != last.Height {
		r.Flat = "none"
		return nil
	}
	differs := func(format string, a ...any) error {
		if !r.FlatDiffers {
			r.Flat, r.FlatDiffers = fmt.Sprintf(format, a...), true
		}
		return errFlatDiffers
	}
	want := 0 // the trees' keys the index should hold
	for _, root := range last.Roots {
		tree := s.newTree(root.Name)
		imm, err := tree.GetImmutable(last.Height)
		if err != nil {
			tree.Close()
			continue // the tree's own check reports it
		}
		err = s.db.View(func(txn *badger.Txn) error {
			prefix := flatKey(root.Name, nil)
			opts := badger.DefaultIteratorOptions
			opts.Prefix = prefix
			it := txn.NewIterator(opts)
			defer it.Close()
			it.Seek(prefix)
			var ferr error
			_, err := imm.Iterate(func(k, v []byte) bool {
				if len(k) > flatMaxKeyLen {
					return false
				}
				want++
				if !it.ValidForPrefix(prefix) {
					ferr = differs("ledger %s: key %x is not in it", root.Name, k)
					return true
				}
				fk := it.Item().Key()[len(prefix):]
				if c := bytes.Compare(fk, k); c != 0 {
					if c < 0 {
						ferr = differs("ledger %s: it holds key %x, which the tree does not", root.Name, fk)
					} else {
						ferr = differs("ledger %s: key %x is not in it", root.Name, k)
					}
					return true
				}
				fv, err := valueOf(it.Item())
				if err != nil {
					ferr = err
					return true
				}
				if !bytes.Equal(fv, v) {
					ferr = differs("ledger %s: key %x holds %x, the tree %x", root.Name, k, fv, v)
					return true
				}
				it.Next()
				return false
			})
			if ferr != nil {
				return ferr
			}
			if err == nil && it.ValidForPrefix(prefix) {
				err = differs("ledger %s: it holds key %x, which the tree does not", root.Name, it.Item().Key()[len(prefix):])
			}
			return err
		})
		tree.Close()
		if errors.Is(err, errFlatDiffers) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("flat index, ledger %s: %w", root.Name, err)
		}
	}
	// Records of a ledger the commit record does not name.
	total := 0
	err = s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix, opts.PrefetchValues = flatKeyPrefix, false
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Seek(flatKeyPrefix); it.ValidForPrefix(flatKeyPrefix); it.Next() {
			total++
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.FlatKeys = total
	if total != want {
		_ = differs("%d records, the trees have %d keys: records of a sub-ledger the commit record does not name", total, want)
		return nil
	}
	r.Flat = "ok"
	return nil
}

// errFlatDiffers stops checkFlat's walk at the first difference.
var errFlatDiffers = errors.New("flat index differs from the trees")

// checkTree loads one ledger at height in a tree of its own, exports every
// node (so Badger reads, and checksums, every block the tree uses) and
// recomputes every node hash from keys and values up to the root.
func (s *Store) checkTree(name string, height int64, want []byte) (int, error) {
	tree := s.newTree(name)
	defer tree.Close()
	imm, err := tree.GetImmutable(height)
	if err != nil {
		return 0, fmt.Errorf("load version %d: %w", height, err)
	}
	if got := imm.Hash(); !bytes.Equal(got, want) {
		return 0, fmt.Errorf("%w: stored root %X, record %X", errRootMismatch, got, want)
	}
	if imm.Size() == 0 {
		return 0, nil
	}
	got, keys, err := rehash(imm)
	if err != nil {
		return keys, fmt.Errorf("rehash: %w", err)
	}
	if int64(keys) != imm.Size() {
		return keys, fmt.Errorf("%w: read %d keys, tree says %d", errRootMismatch, keys, imm.Size())
	}
	if !bytes.Equal(got, want) {
		return keys, fmt.Errorf("%w: nodes hash to %X, record %X", errRootMismatch, got, want)
	}
	return keys, nil
}

// rehash recomputes the root hash of imm from its exported nodes, which
// come in post-order (both subtrees, then their parent), the way IAVL
// hashes a node: SHA-256 over the varints of its height, size and
// version, then, for a leaf, its key and the SHA-256 of its value, for an
// inner node, its children's hashes. It keeps a stack of subtrees no
// deeper than the tree, not the tree: a state of ten million keys is
// checked in the memory of a few nodes (it was rebuilt in memory, some
// 9 GB). It returns the root and the number of leaves.
func rehash(imm *iavl.ImmutableTree) ([]byte, int, error) {
	exp, err := imm.Export()
	if err != nil {
		return nil, 0, err
	}
	defer exp.Close()
	type subtree struct {
		hash   [sha256.Size]byte
		size   int64
		height int8
	}
	var stack []subtree
	var buf []byte
	leaves := 0
	for {
		n, err := exp.Next()
		if errors.Is(err, iavl.ErrorExportDone) {
			break
		}
		if err != nil {
			return nil, leaves, err
		}
		buf = binary.AppendVarint(buf[:0], int64(n.Height))
		var t subtree
		if n.Height == 0 {
			t.size = 1
			leaves++
			buf = binary.AppendVarint(buf, 1)
			buf = binary.AppendVarint(buf, n.Version)
			buf = binary.AppendUvarint(buf, uint64(len(n.Key)))
			buf = append(buf, n.Key...)
			vh := sha256.Sum256(n.Value)
			buf = append(append(buf, sha256.Size), vh[:]...)
		} else {
			if len(stack) < 2 {
				return nil, leaves, fmt.Errorf("%w: an inner node of height %d without two subtrees before it", errRootMismatch, n.Height)
			}
			l, r := stack[len(stack)-2], stack[len(stack)-1]
			stack = stack[:len(stack)-2]
			if n.Height != max(l.height, r.height)+1 {
				return nil, leaves, fmt.Errorf("%w: an inner node of height %d over subtrees of heights %d and %d", errRootMismatch, n.Height, l.height, r.height)
			}
			t.size, t.height = l.size+r.size, n.Height
			buf = binary.AppendVarint(buf, t.size)
			buf = binary.AppendVarint(buf, n.Version)
			buf = append(append(buf, sha256.Size), l.hash[:]...)
			buf = append(append(buf, sha256.Size), r.hash[:]...)
		}
		t.hash = sha256.Sum256(buf)
		stack = append(stack, t)
	}
	if len(stack) != 1 {
		return nil, leaves, fmt.Errorf("%w: the export left %d subtrees, not one root", errRootMismatch, len(stack))
	}
	return stack[0].hash[:], leaves, nil
}

// verifyTables checks every block of every table against its checksum.
// Badger v4.9.6 dereferences a nil block when a block cannot be read at all
// (and, under OnBlockRead, on any mismatch), so a panic there is a finding.
func verifyTables(db *badger.DB) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: a table block could not be read (badger: %v)", y.ErrChecksumMismatch, p)
		}
	}()
	return db.VerifyChecksum()
}

// verifyValueLog reads every value the LSM tree points to in the value
// log, which checks it against its checksum (valueOf): the tree walk reads
// only the last height's nodes, and the table checksums cover only the
// pointers.
func verifyValueLog(db *badger.DB) error {
	return db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if _, err := valueOf(it.Item()); err != nil {
				return err
			}
		}
		return nil
	})
}

// CheckData opens the ledger in dir read-only and checks it (Store.Check).
// It refuses when another process, a running node, holds the directory, and
// it does not recover an unfinished commit: it checks the last one recorded.
func CheckData(dir string) (*CheckReport, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("ledger directory: %w", err)
	}
	// Without block verification on read, VerifyChecksum verifies each
	// block itself and names the table and block that fail; the tree walk
	// after it is covered by the rehash.
	db, err := badger.Open(badgerOptions(dir, Options{}).WithReadOnly(true).
		WithChecksumVerificationMode(options.NoVerification))
	if err != nil {
		if isLocked(err) {
			return nil, fmt.Errorf("ledger in %s is in use: stop the node first: %w", dir, err)
		}
		if errors.Is(err, badger.ErrTruncateNeeded) {
			return nil, fmt.Errorf("ledger in %s was not closed cleanly (a crash): start the node once so that it recovers, stop it, then check again: %w", dir, err)
		}
		return nil, damaged(dir, fmt.Errorf("open badger: %w", err))
	}
	defer db.Close()
	s := &Store{db: db, cache: defaultIAVLCacheSize}
	height, err := s.readLatestHeight()
	if err != nil {
		return nil, damaged(dir, err)
	}
	last := CommitInfo{AppHash: AppHash(nil)}
	if height > 0 {
		if last, err = s.readCommitInfo(height); err != nil {
			return nil, damaged(dir, err)
		}
	}
	return s.check(last)
}
