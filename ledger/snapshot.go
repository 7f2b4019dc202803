package ledger

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/cosmos/iavl"
	"github.com/dgraph-io/badger/v4"
	"github.com/emmansun/gmsm/sm3"
)

// SnapshotFormat is the version of the snapshot encoding this package
// writes and restores. A snapshot of another format is refused.
const SnapshotFormat uint32 = 1

// DefaultChunkSize is the size of a snapshot chunk (the last is shorter).
// CometBFT fetches chunks one message each; its p2p limit is 16 MiB.
const DefaultChunkSize = 8 << 20

// Errors a caller of Restore must tell apart.
var (
	// ErrSnapshotFormat: the snapshot is of a format this version does not read.
	ErrSnapshotFormat = errors.New("unknown snapshot format")
	// ErrSnapshotMalformed: the snapshot's bytes do not decode.
	ErrSnapshotMalformed = errors.New("malformed snapshot")
	// ErrChunkHash: a chunk's SM3 hash is not the one the metadata lists.
	ErrChunkHash = errors.New("snapshot chunk hash mismatch")
	// ErrSnapshotAppHash: the restored state does not hash to the app hash
	// the snapshot claims, or to the one the caller trusts.
	ErrSnapshotAppHash = errors.New("snapshot app hash mismatch")
	// ErrStoreNotEmpty: Restore needs a store that never committed.
	ErrStoreNotEmpty = errors.New("store is not empty")
)

// SnapshotInfo describes one snapshot. Metadata is what CometBFT carries
// to a joining node (Snapshot.Metadata); Hash, SM3 of Metadata, names the
// snapshot among peers (Snapshot.Hash).
type SnapshotInfo struct {
	Height   int64
	Format   uint32
	AppHash  []byte
	Chunks   [][]byte // SM3 hash of each chunk, in order
	Metadata []byte
	Hash     []byte
}

const snapshotMetadataVersion = 1

// encodeSnapshotMetadata writes
//
//	version byte (1) ‖ uvarint(len app hash) ‖ app hash ‖ uvarint(n) ‖ n × 32-byte chunk hash
func encodeSnapshotMetadata(appHash []byte, chunks [][]byte) []byte {
	out := []byte{snapshotMetadataVersion}
	out = binary.AppendUvarint(out, uint64(len(appHash)))
	out = append(out, appHash...)
	out = binary.AppendUvarint(out, uint64(len(chunks)))
	for _, c := range chunks {
		out = append(out, c...)
	}
	return out
}

// DecodeSnapshotInfo checks a snapshot's description as a peer offers it
// and returns it with the app hash and chunk hashes of its metadata.
func DecodeSnapshotInfo(height int64, format uint32, chunks uint32, hash, metadata []byte) (SnapshotInfo, error) {
	if format != SnapshotFormat {
		return SnapshotInfo{}, fmt.Errorf("%w %d (this node reads format %d)", ErrSnapshotFormat, format, SnapshotFormat)
	}
	if height <= 0 {
		return SnapshotInfo{}, fmt.Errorf("%w: height %d", ErrSnapshotMalformed, height)
	}
	sum := sm3.Sum(metadata)
	if !bytes.Equal(sum[:], hash) {
		return SnapshotInfo{}, fmt.Errorf("%w: hash %X is not SM3 of its metadata", ErrSnapshotMalformed, hash)
	}
	appHash, hashes, err := parseSnapshotMetadata(metadata)
	if err != nil {
		return SnapshotInfo{}, err
	}
	if uint64(len(hashes)) != uint64(chunks) {
		return SnapshotInfo{}, fmt.Errorf("%w: metadata lists %d chunk hashes, %d chunks offered", ErrSnapshotMalformed, len(hashes), chunks)
	}
	return SnapshotInfo{Height: height, Format: format, AppHash: appHash, Chunks: hashes, Metadata: slices.Clone(metadata), Hash: sum[:]}, nil
}

func parseSnapshotMetadata(b []byte) (appHash []byte, chunks [][]byte, err error) {
	if len(b) == 0 || b[0] != snapshotMetadataVersion {
		return nil, nil, fmt.Errorf("%w: unknown metadata version", ErrSnapshotMalformed)
	}
	b = b[1:]
	l, n := binary.Uvarint(b)
	if n <= 0 || l != sm3.Size || uint64(len(b)-n) < l {
		return nil, nil, fmt.Errorf("%w: bad app hash in metadata", ErrSnapshotMalformed)
	}
	b = b[n:]
	appHash = slices.Clone(b[:l])
	b = b[l:]
	count, n := binary.Uvarint(b)
	if n <= 0 || count == 0 || count > uint64(len(b)) || uint64(len(b)-n) != count*sm3.Size {
		return nil, nil, fmt.Errorf("%w: bad chunk hashes in metadata", ErrSnapshotMalformed)
	}
	b = b[n:]
	for i := uint64(0); i < count; i++ {
		chunks = append(chunks, slices.Clone(b[i*sm3.Size:(i+1)*sm3.Size]))
	}
	return appHash, chunks, nil
}

// The snapshot stream is a sequence of records, cut into chunks at fixed
// byte offsets. Every record starts with a tag byte:
//
//	'H' magic ‖ uvarint(format) ‖ uvarint(height) ‖ bytes(commit record)
//	'L' bytes(ledger name)                 then that ledger's nodes
//	'N' int8 subtree height ‖ uvarint(version) ‖ bytes(key) ‖ value   one IAVL export node
//	'E'                                    end of the ledger's nodes
//	'A' bytes(key) ‖ bytes(value)          one aside record
//	'Z'                                    end of the snapshot
//
// bytes(x) is uvarint(len x) ‖ x; value is 0 (inner node) or 1 ‖ bytes(v).
// Ledgers come in name order, nodes in IAVL's export order (post-order),
// aside records in key order: the same state gives the same bytes.
const (
	recHeader  = 'H'
	recLedger  = 'L'
	recNode    = 'N'
	recEnd     = 'E'
	recAside   = 'A'
	recTrailer = 'Z'
)

var snapshotMagic = []byte("jinlian-snapshot")

// maxSnapshotField bounds one key, value or record field on decoding, so
// that a corrupted length cannot make Restore allocate without bound.
const maxSnapshotField = 64 << 20

// ChunkSink receives the chunks of a snapshot being written, in order.
type ChunkSink func(index int, chunk []byte) error

// chunker cuts the stream into chunks of size bytes and hashes each.
type chunker struct {
	size   int
	buf    []byte
	hashes [][]byte
	sink   ChunkSink
}

func (c *chunker) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		room := c.size - len(c.buf)
		take := min(room, len(p))
		c.buf = append(c.buf, p[:take]...)
		p = p[take:]
		if len(c.buf) == c.size {
			if err := c.flush(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

func (c *chunker) flush() error {
	if len(c.buf) == 0 {
		return nil
	}
	sum := sm3.Sum(c.buf)
	if err := c.sink(len(c.hashes), c.buf); err != nil {
		return err
	}
	c.hashes = append(c.hashes, sum[:])
	c.buf = make([]byte, 0, c.size)
	return nil
}

// SnapshotOptions configure Snapshot.
type SnapshotOptions struct {
	// ChunkSize in bytes (DefaultChunkSize when 0).
	ChunkSize int
	// KeepAside decides which aside records go into the snapshot (all when
	// nil). The aside index is not versioned: a snapshot taken after later
	// commits must leave out the records of heights past its own.
	KeepAside func(key, value []byte) bool
}

// Snapshot writes a snapshot of every tree at the committed height, the
// aside records, and the height's commit record, handing each chunk to
// sink. It reads only committed versions, so it may run in a goroutine
// while blocks commit.
func (s *Store) Snapshot(height int64, sink ChunkSink, opts SnapshotOptions) (SnapshotInfo, error) {
	if opts.ChunkSize <= 0 {
		opts.ChunkSize = DefaultChunkSize
	}
	v, err := s.View(height)
	if err != nil {
		return SnapshotInfo{}, fmt.Errorf("snapshot of height %d: %w", height, err)
	}
	height = v.Height()
	ci, err := s.readCommitInfo(height)
	if err != nil {
		return SnapshotInfo{}, fmt.Errorf("snapshot of height %d: %w", height, err)
	}
	c := &chunker{size: opts.ChunkSize, sink: sink}
	w := bufio.NewWriterSize(c, 64<<10)
	e := encoder{w: w}
	e.tag(recHeader)
	e.raw(snapshotMagic)
	e.uvarint(uint64(SnapshotFormat))
	e.uvarint(uint64(height))
	e.bytes(encodeCommitInfo(ci))
	for _, name := range v.Ledgers() {
		if err := exportLedger(&e, name, v.trees[name]); err != nil {
			return SnapshotInfo{}, fmt.Errorf("snapshot of height %d: ledger %s: %w", height, name, err)
		}
	}
	err = s.ScanAside(nil, []byte{0xff}, func(key, value []byte) bool {
		if opts.KeepAside != nil && !opts.KeepAside(key, value) {
			return true
		}
		e.tag(recAside)
		e.bytes(key)
		e.bytes(value)
		return e.err == nil
	})
	if err != nil {
		return SnapshotInfo{}, fmt.Errorf("snapshot of height %d: aside index: %w", height, err)
	}
	e.tag(recTrailer)
	if e.err == nil {
		e.err = w.Flush()
	}
	if e.err == nil {
		e.err = c.flush()
	}
	if e.err != nil {
		return SnapshotInfo{}, fmt.Errorf("snapshot of height %d: %w", height, e.err)
	}
	meta := encodeSnapshotMetadata(ci.AppHash, c.hashes)
	sum := sm3.Sum(meta)
	return SnapshotInfo{Height: height, Format: SnapshotFormat, AppHash: slices.Clone(ci.AppHash), Chunks: c.hashes, Metadata: meta, Hash: sum[:]}, nil
}

func exportLedger(e *encoder, name string, tree *iavl.ImmutableTree) error {
	e.tag(recLedger)
	e.bytes([]byte(name))
	if tree.Size() > 0 {
		exp, err := tree.Export()
		if err != nil {
			return err
		}
		defer exp.Close()
		var leaves int64
		for {
			n, err := exp.Next()
			if errors.Is(err, iavl.ErrorExportDone) {
				break
			}
			if err != nil {
				return err
			}
			if n.Height == 0 {
				leaves++
			}
			e.tag(recNode)
			e.raw([]byte{byte(n.Height)})
			e.uvarint(uint64(n.Version))
			e.bytes(n.Key)
			if n.Value == nil {
				e.raw([]byte{0})
			} else {
				e.raw([]byte{1})
				e.bytes(n.Value)
			}
			if e.err != nil {
				return e.err
			}
		}
		// IAVL's exporter ends early, without an error, when it cannot
		// read a node: count the leaves to notice.
		if leaves != tree.Size() {
			return fmt.Errorf("export ended after %d of %d keys", leaves, tree.Size())
		}
	}
	e.tag(recEnd)
	return e.err
}

type encoder struct {
	w   *bufio.Writer
	err error
	buf [binary.MaxVarintLen64]byte
}

func (e *encoder) raw(b []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}

func (e *encoder) tag(t byte) { e.raw([]byte{t}) }

func (e *encoder) uvarint(v uint64) {
	n := binary.PutUvarint(e.buf[:], v)
	e.raw(e.buf[:n])
}

func (e *encoder) bytes(b []byte) {
	e.uvarint(uint64(len(b)))
	e.raw(b)
}

// ChunkSource returns chunk index of a snapshot being restored.
type ChunkSource func(index int) ([]byte, error)

// chunkReader reads the stream back from its chunks, checking each
// chunk's hash before any of its bytes are used.
type chunkReader struct {
	info SnapshotInfo
	src  ChunkSource
	next int
	cur  []byte
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		if r.next == len(r.info.Chunks) {
			return 0, io.EOF
		}
		chunk, err := r.src(r.next)
		if err != nil {
			return 0, fmt.Errorf("chunk %d: %w", r.next, err)
		}
		if sum := sm3.Sum(chunk); !bytes.Equal(sum[:], r.info.Chunks[r.next]) {
			return 0, fmt.Errorf("%w: chunk %d hashes to %X, metadata says %X", ErrChunkHash, r.next, sum[:], r.info.Chunks[r.next])
		}
		r.cur = chunk
		r.next++
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

type decoder struct {
	r *bufio.Reader
}

func (d decoder) byte() (byte, error) {
	b, err := d.r.ReadByte()
	return b, eofMalformed(err)
}

func (d decoder) uvarint() (uint64, error) {
	v, err := binary.ReadUvarint(d.r)
	return v, eofMalformed(err)
}

func (d decoder) bytes() ([]byte, error) {
	l, err := d.uvarint()
	if err != nil {
		return nil, err
	}
	if l > maxSnapshotField {
		return nil, fmt.Errorf("%w: field of %d bytes", ErrSnapshotMalformed, l)
	}
	b := make([]byte, l)
	_, err = io.ReadFull(d.r, b)
	return b, eofMalformed(err)
}

func eofMalformed(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: stream ends early", ErrSnapshotMalformed)
	}
	return err
}

// Restore imports a snapshot into a store that never committed, then
// checks that the imported trees hash to the app hash the snapshot claims
// and to trusted (when not nil; the hash a light client verified). On any
// error, the store is left empty as it was.
func (s *Store) Restore(info SnapshotInfo, src ChunkSource, trusted []byte) (err error) {
	if info.Format != SnapshotFormat {
		return fmt.Errorf("restore: %w %d", ErrSnapshotFormat, info.Format)
	}
	if trusted != nil && !bytes.Equal(trusted, info.AppHash) {
		return fmt.Errorf("restore: %w: snapshot of height %d claims %X, trusted app hash is %X", ErrSnapshotAppHash, info.Height, info.AppHash, trusted)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	if s.last.Height != 0 || len(s.names) != 0 {
		return fmt.Errorf("restore: %w (height %d, %d ledgers)", ErrStoreNotEmpty, s.last.Height, len(s.names))
	}
	if empty, err := s.isEmptyDB(); err != nil {
		return fmt.Errorf("restore: %w", err)
	} else if !empty {
		return fmt.Errorf("restore: %w (the database holds records)", ErrStoreNotEmpty)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.dropAll())
		}
	}()
	ci, err := s.importSnapshot(info, src, trusted)
	if err != nil {
		return fmt.Errorf("restore snapshot of height %d: %w", info.Height, err)
	}
	// The flat index is built from the imported trees by load.
	if err := s.writeCommitRecord(ci, false); err != nil {
		return fmt.Errorf("restore snapshot of height %d: %w", info.Height, err)
	}
	s.resetEmpty()
	if err := s.load(); err != nil {
		return fmt.Errorf("restore snapshot of height %d: reload: %w", info.Height, err)
	}
	s.restoredAt = info.Height
	return nil
}

// Discard removes every record of a store just restored from a snapshot
// that the app refuses after its own checks (the snapshot's records beside
// the trees), leaving it empty for another snapshot. It refuses a store
// that committed a block since.
func (s *Store) Discard() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	if s.restoredAt == 0 || s.last.Height != s.restoredAt {
		return fmt.Errorf("discard: the store was not just restored from a snapshot (height %d)", s.last.Height)
	}
	return s.dropAll()
}

// dropAll closes the trees and deletes every record; on failure the store
// is broken (its directory must be deleted by hand).
func (s *Store) dropAll() error {
	for _, t := range s.trees {
		_ = t.Close()
	}
	for _, t := range s.readers {
		_ = t.Close()
	}
	s.resetEmpty()
	s.restoredAt = 0
	s.gc.mu.Lock() // the value log's collection reads the files DropAll deletes
	derr := s.db.DropAll()
	s.gc.mu.Unlock()
	if derr != nil {
		s.broken = fmt.Errorf("a restored snapshot was refused and its records could not be removed, delete %s: %w", s.dir, derr)
		return s.broken
	}
	return nil
}

// resetEmpty sets the Store's memory to that of an empty store.
func (s *Store) resetEmpty() {
	s.last = CommitInfo{AppHash: AppHash(nil)}
	s.trees, s.readers, s.names = map[string]*iavl.MutableTree{}, map[string]*iavl.MutableTree{}, nil
	s.pending = map[string][]byte{}
	s.dropOps()
	s.bulk, s.bulkBuf, s.bulkLedgers, s.bulkRoots = false, nil, nil, nil
	s.flatHeight.Store(-1) // load, or the next Commit, sets it
	s.latest = newLatestCache(0, s.latestSize())
	s.nodes.clear()
	s.published()
}

func (s *Store) isEmptyDB() (bool, error) {
	empty := true
	err := s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		it := txn.NewIterator(opts)
		defer it.Close()
		it.Rewind()
		empty = !it.Valid()
		return nil
	})
	return empty, err
}

func (s *Store) importSnapshot(info SnapshotInfo, src ChunkSource, trusted []byte) (CommitInfo, error) {
	d := decoder{r: bufio.NewReaderSize(&chunkReader{info: info, src: src}, 64<<10)}
	if tag, err := d.byte(); err != nil {
		return CommitInfo{}, err
	} else if tag != recHeader {
		return CommitInfo{}, fmt.Errorf("%w: no header", ErrSnapshotMalformed)
	}
	magic := make([]byte, len(snapshotMagic))
	if _, err := io.ReadFull(d.r, magic); err != nil || !bytes.Equal(magic, snapshotMagic) {
		return CommitInfo{}, fmt.Errorf("%w: not a jinlian snapshot", ErrSnapshotMalformed)
	}
	format, err := d.uvarint()
	if err != nil {
		return CommitInfo{}, err
	}
	if format != uint64(SnapshotFormat) {
		return CommitInfo{}, fmt.Errorf("%w %d in the stream", ErrSnapshotFormat, format)
	}
	height, err := d.uvarint()
	if err != nil {
		return CommitInfo{}, err
	}
	rec, err := d.bytes()
	if err != nil {
		return CommitInfo{}, err
	}
	ci, err := decodeCommitInfo(rec)
	if err != nil {
		return CommitInfo{}, fmt.Errorf("%w: %w", ErrSnapshotMalformed, err)
	}
	if height != uint64(info.Height) || ci.Height != info.Height {
		return CommitInfo{}, fmt.Errorf("%w: stream is of height %d (commit record %d), snapshot says %d", ErrSnapshotMalformed, height, ci.Height, info.Height)
	}
	if !bytes.Equal(ci.AppHash, info.AppHash) {
		return CommitInfo{}, fmt.Errorf("%w: commit record hashes to %X, metadata says %X", ErrSnapshotAppHash, ci.AppHash, info.AppHash)
	}
	for _, r := range ci.Roots {
		if err := ValidateLedgerName(r.Name); err != nil {
			return CommitInfo{}, fmt.Errorf("%w: %w", ErrSnapshotMalformed, err)
		}
	}
	next := 0 // index into ci.Roots of the next ledger expected
	aside := s.db.NewWriteBatch()
	defer aside.Cancel()
	for {
		tag, err := d.byte()
		if err != nil {
			return CommitInfo{}, err
		}
		switch tag {
		case recLedger:
			name, err := d.bytes()
			if err != nil {
				return CommitInfo{}, err
			}
			if next == len(ci.Roots) || string(name) != ci.Roots[next].Name {
				return CommitInfo{}, fmt.Errorf("%w: unexpected ledger %q", ErrSnapshotMalformed, name)
			}
			root, err := s.importLedger(d, string(name), ci.Height)
			if err != nil {
				return CommitInfo{}, fmt.Errorf("ledger %s: %w", name, err)
			}
			if !bytes.Equal(root, ci.Roots[next].Root) {
				return CommitInfo{}, fmt.Errorf("%w: ledger %s imports with root %X, commit record says %X", ErrSnapshotAppHash, name, root, ci.Roots[next].Root)
			}
			next++
		case recAside:
			if next != len(ci.Roots) {
				return CommitInfo{}, fmt.Errorf("%w: aside record before ledger %s", ErrSnapshotMalformed, ci.Roots[next].Name)
			}
			k, err := d.bytes()
			if err != nil {
				return CommitInfo{}, err
			}
			v, err := d.bytes()
			if err != nil {
				return CommitInfo{}, err
			}
			if len(k) == 0 {
				return CommitInfo{}, fmt.Errorf("%w: empty aside key", ErrSnapshotMalformed)
			}
			if err := aside.Set(asideKey(k), v); err != nil {
				return CommitInfo{}, err
			}
		case recTrailer:
			if next != len(ci.Roots) {
				return CommitInfo{}, fmt.Errorf("%w: ledger %s missing", ErrSnapshotMalformed, ci.Roots[next].Name)
			}
			if _, err := d.r.ReadByte(); !errors.Is(err, io.EOF) {
				if err == nil {
					return CommitInfo{}, fmt.Errorf("%w: bytes after the end", ErrSnapshotMalformed)
				}
				return CommitInfo{}, err
			}
			if got := AppHash(ci.Roots); trusted != nil && !bytes.Equal(got, trusted) {
				return CommitInfo{}, fmt.Errorf("%w: restored state hashes to %X, trusted app hash is %X", ErrSnapshotAppHash, got, trusted)
			}
			return ci, aside.Flush()
		default:
			return CommitInfo{}, fmt.Errorf("%w: unknown record %q", ErrSnapshotMalformed, tag)
		}
	}
}

// importLedger imports one ledger's nodes, up to its end record, as version
// height, and returns the imported tree's root.
func (s *Store) importLedger(d decoder, name string, height int64) ([]byte, error) {
	tree := s.newTree(name)
	defer tree.Close()
	imp, err := tree.Import(height)
	if err != nil {
		return nil, err
	}
	defer imp.Close()
	for {
		tag, err := d.byte()
		if err != nil {
			return nil, err
		}
		if tag == recEnd {
			break
		}
		if tag != recNode {
			return nil, fmt.Errorf("%w: unexpected record %q among nodes", ErrSnapshotMalformed, tag)
		}
		h, err := d.byte()
		if err != nil {
			return nil, err
		}
		version, err := d.uvarint()
		if err != nil {
			return nil, err
		}
		if version == 0 || version > uint64(height) {
			return nil, fmt.Errorf("%w: node version %d at height %d", ErrSnapshotMalformed, version, height)
		}
		key, err := d.bytes()
		if err != nil {
			return nil, err
		}
		flag, err := d.byte()
		if err != nil {
			return nil, err
		}
		var value []byte
		switch flag {
		case 0:
		case 1:
			if value, err = d.bytes(); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("%w: bad value flag %d", ErrSnapshotMalformed, flag)
		}
		if err := imp.Add(&iavl.ExportNode{Key: key, Value: value, Version: int64(version), Height: int8(h)}); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSnapshotMalformed, err)
		}
	}
	if err := imp.Commit(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSnapshotMalformed, err)
	}
	return slices.Clone(tree.Hash()), nil
}
