package ledger

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/emmansun/gmsm/sm3"
)

// Snapshots keeps a node's snapshots as files, one directory per snapshot:
//
//	<dir>/<height>-<format>/metadata   the metadata (SnapshotInfo.Metadata)
//	<dir>/<height>-<format>/<index>    the chunks
//
// A snapshot is written into a temporary directory and renamed into place
// once complete, so List never sees half a snapshot. The files are
// node-local: they are not state, and a node may delete them at any time.
type Snapshots struct {
	dir string
}

// ErrSnapshotNotFound: no snapshot (or chunk) of that height and format here.
var ErrSnapshotNotFound = errors.New("snapshot not found")

// OpenSnapshots opens (creating if needed) the snapshot directory.
func OpenSnapshots(dir string) (*Snapshots, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("snapshot dir: %w", err)
	}
	return &Snapshots{dir: dir}, nil
}

// Dir is the directory the snapshots live in.
func (ss *Snapshots) Dir() string { return ss.dir }

func (ss *Snapshots) path(height int64, format uint32) string {
	return filepath.Join(ss.dir, fmt.Sprintf("%d-%d", height, format))
}

// Create writes a snapshot of store at the committed height and returns
// its description. An existing snapshot of that height is kept as it is.
func (ss *Snapshots) Create(store *Store, height int64, opts SnapshotOptions) (SnapshotInfo, error) {
	final := ss.path(height, SnapshotFormat)
	if _, err := os.Stat(final); err == nil {
		return ss.Get(height, SnapshotFormat)
	}
	tmp, err := os.MkdirTemp(ss.dir, fmt.Sprintf(".%d-*", height))
	if err != nil {
		return SnapshotInfo{}, fmt.Errorf("snapshot of height %d: %w", height, err)
	}
	defer os.RemoveAll(tmp)
	info, err := store.Snapshot(height, func(i int, chunk []byte) error {
		return os.WriteFile(filepath.Join(tmp, strconv.Itoa(i)), chunk, 0o640)
	}, opts)
	if err != nil {
		return SnapshotInfo{}, err
	}
	if err := os.WriteFile(filepath.Join(tmp, "metadata"), info.Metadata, 0o640); err != nil {
		return SnapshotInfo{}, fmt.Errorf("snapshot of height %d: %w", height, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return SnapshotInfo{}, fmt.Errorf("snapshot of height %d: %w", height, err)
	}
	return info, nil
}

// Get returns the description of one stored snapshot.
func (ss *Snapshots) Get(height int64, format uint32) (SnapshotInfo, error) {
	meta, err := os.ReadFile(filepath.Join(ss.path(height, format), "metadata"))
	if errors.Is(err, os.ErrNotExist) {
		return SnapshotInfo{}, fmt.Errorf("%w: height %d format %d", ErrSnapshotNotFound, height, format)
	}
	if err != nil {
		return SnapshotInfo{}, err
	}
	info, err := decodeStoredSnapshot(height, format, meta)
	if err != nil {
		return SnapshotInfo{}, fmt.Errorf("snapshot in %s: %w", ss.path(height, format), err)
	}
	return info, nil
}

// List returns the stored snapshots, newest first. Directories that are
// not snapshots of a known format are skipped.
func (ss *Snapshots) List() ([]SnapshotInfo, error) {
	entries, err := os.ReadDir(ss.dir)
	if err != nil {
		return nil, fmt.Errorf("list snapshots: %w", err)
	}
	var out []SnapshotInfo
	for _, e := range entries {
		h, f, ok := parseSnapshotDir(e.Name())
		if !ok || !e.IsDir() || f != SnapshotFormat {
			continue
		}
		info, err := ss.Get(h, f)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b SnapshotInfo) int { return int(b.Height - a.Height) })
	return out, nil
}

// LoadChunk returns one chunk of a stored snapshot.
func (ss *Snapshots) LoadChunk(height int64, format uint32, index uint32) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(ss.path(height, format), strconv.FormatUint(uint64(index), 10)))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: chunk %d of height %d format %d", ErrSnapshotNotFound, index, height, format)
	}
	return b, err
}

// Prune deletes all but the keep most recent snapshots.
func (ss *Snapshots) Prune(keep int) error {
	list, err := ss.List()
	if err != nil {
		return err
	}
	for i := keep; i < len(list); i++ {
		if err := os.RemoveAll(ss.path(list[i].Height, list[i].Format)); err != nil {
			return fmt.Errorf("prune snapshot of height %d: %w", list[i].Height, err)
		}
	}
	return nil
}

func parseSnapshotDir(name string) (int64, uint32, bool) {
	hs, fs, ok := strings.Cut(name, "-")
	if !ok {
		return 0, 0, false
	}
	h, err1 := strconv.ParseInt(hs, 10, 64)
	f, err2 := strconv.ParseUint(fs, 10, 32)
	return h, uint32(f), err1 == nil && err2 == nil && h > 0
}

func decodeStoredSnapshot(height int64, format uint32, meta []byte) (SnapshotInfo, error) {
	appHash, chunks, err := parseSnapshotMetadata(meta)
	if err != nil {
		return SnapshotInfo{}, err
	}
	sum := sm3.Sum(meta)
	return SnapshotInfo{Height: height, Format: format, AppHash: appHash, Chunks: chunks, Metadata: meta, Hash: sum[:]}, nil
}

// Incoming holds the chunks of a snapshot being received, as files in a
// temporary directory beside the snapshots, so that a large state need not
// fit in memory.
type Incoming struct {
	dir string
}

const incomingPrefix = ".incoming-"

// Incoming starts receiving a snapshot, removing what an earlier one left.
func (ss *Snapshots) Incoming() (*Incoming, error) {
	old, _ := filepath.Glob(filepath.Join(ss.dir, incomingPrefix+"*"))
	for _, d := range old {
		_ = os.RemoveAll(d)
	}
	dir, err := os.MkdirTemp(ss.dir, incomingPrefix)
	if err != nil {
		return nil, fmt.Errorf("receive snapshot: %w", err)
	}
	return &Incoming{dir: dir}, nil
}

// Put stores chunk index.
func (in *Incoming) Put(index int, chunk []byte) error {
	return os.WriteFile(filepath.Join(in.dir, strconv.Itoa(index)), chunk, 0o640)
}

// Get returns chunk index, which Put stored.
func (in *Incoming) Get(index int) ([]byte, error) {
	return os.ReadFile(filepath.Join(in.dir, strconv.Itoa(index)))
}

// Close removes the received chunks.
func (in *Incoming) Close() error { return os.RemoveAll(in.dir) }
