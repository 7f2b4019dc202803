package ledger

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"testing"
)

// buildSnapshotStore commits heights 1..6 over several ledgers (one created
// late, one left empty) with deletes, and aside records that name their
// height, then returns the store and its commit of height 4.
func buildSnapshotStore(t *testing.T) (*Store, CommitInfo) {
	t.Helper()
	s := openDir(t, t.TempDir())
	t.Cleanup(func() { _ = s.Close() })
	must(t, s.CreateLedger("payments"))
	must(t, s.CreateLedger("_system"))
	var at4 CommitInfo
	for h := int64(1); h <= 6; h++ {
		if h == 2 {
			must(t, s.CreateLedger("assets"))
			must(t, s.CreateLedger("empty"))
		}
		for i := 0; i < 300; i++ {
			must(t, s.Set("payments", fmt.Appendf(nil, "acct/%04d", i), fmt.Appendf(nil, "%d@%d", i, h)))
		}
		if h >= 2 {
			must(t, s.Set("assets", fmt.Appendf(nil, "asset/%d", h), []byte{}))
			must(t, s.Delete("payments", fmt.Appendf(nil, "acct/%04d", h)))
		}
		must(t, s.Set("_system", []byte("meta/block_time"), binary.BigEndian.AppendUint64(nil, uint64(h))))
		must(t, s.WriteAside([]AsidePair{{Key: fmt.Appendf(nil, "tx/id%d", h), Value: binary.BigEndian.AppendUint64(nil, uint64(h))}}))
		ci := mustCommit(t, s)
		if h == 4 {
			at4 = ci
		}
	}
	return s, at4
}

// keepUpTo keeps the aside records of heights ≤ h, as the app does.
func keepUpTo(h uint64) func(k, v []byte) bool {
	return func(_, v []byte) bool { return len(v) == 8 && binary.BigEndian.Uint64(v) <= h }
}

type memSnapshot struct {
	info   SnapshotInfo
	chunks [][]byte
}

func takeSnapshot(t *testing.T, s *Store, height int64, chunkSize int) memSnapshot {
	t.Helper()
	var m memSnapshot
	info, err := s.Snapshot(height, func(i int, c []byte) error {
		if i != len(m.chunks) {
			return fmt.Errorf("chunk %d out of order", i)
		}
		m.chunks = append(m.chunks, slices.Clone(c))
		return nil
	}, SnapshotOptions{ChunkSize: chunkSize, KeepAside: keepUpTo(uint64(height))})
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	m.info = info
	return m
}

func (m memSnapshot) source(i int) ([]byte, error) {
	if i >= len(m.chunks) {
		return nil, errors.New("no such chunk")
	}
	return m.chunks[i], nil
}

func TestSnapshotRoundTrip(t *testing.T) {
	src, at4 := buildSnapshotStore(t)
	snap := takeSnapshot(t, src, 4, 1000)
	if len(snap.chunks) < 3 {
		t.Fatalf("want several chunks of 1000 bytes, got %d", len(snap.chunks))
	}
	// The description travels as CometBFT carries it.
	info, err := DecodeSnapshotInfo(snap.info.Height, snap.info.Format, uint32(len(snap.chunks)), snap.info.Hash, snap.info.Metadata)
	must(t, err)
	if !bytes.Equal(info.AppHash, at4.AppHash) {
		t.Fatalf("snapshot app hash %X, commit of height 4 %X", info.AppHash, at4.AppHash)
	}
	again := takeSnapshot(t, src, 4, 1000)
	if !bytes.Equal(again.info.Hash, snap.info.Hash) {
		t.Fatal("two snapshots of one height differ")
	}

	dir := t.TempDir()
	dst := openDir(t, dir)
	must(t, dst.Restore(info, snap.source, at4.AppHash))
	got := dst.LastCommit()
	if got.Height != 4 || !bytes.Equal(got.AppHash, at4.AppHash) {
		t.Fatalf("restored height %d app hash %X, want 4 %X", got.Height, got.AppHash, at4.AppHash)
	}
	want, err := src.View(4)
	must(t, err)
	if !slices.Equal(dst.Ledgers(), want.Ledgers()) {
		t.Fatalf("restored ledgers %v, want %v", dst.Ledgers(), want.Ledgers())
	}
	for _, l := range want.Ledgers() {
		if a, b := fmt.Sprint(dump(t, dst, l)), fmt.Sprint(dump(t, want, l)); a != b {
			t.Fatalf("ledger %s differs after restore", l)
		}
	}
	for h, present := range map[int64]bool{1: true, 4: true, 5: false, 6: false} {
		v, err := dst.GetAside(fmt.Appendf(nil, "tx/id%d", h))
		must(t, err)
		if (v != nil) != present {
			t.Errorf("aside record of height %d: present %v, want %v", h, v != nil, present)
		}
	}
	// The restored store goes on committing, and survives a reopen.
	must(t, dst.Set("payments", []byte("acct/new"), []byte("1")))
	ci := mustCommit(t, dst)
	must(t, dst.Close())
	re := openDir(t, dir)
	defer re.Close()
	if re.LastCommit().Height != 5 || !bytes.Equal(re.LastCommit().AppHash, ci.AppHash) {
		t.Fatalf("reopened at %d %X, want 5 %X", re.LastCommit().Height, re.LastCommit().AppHash, ci.AppHash)
	}
	// The same block on the source gives the same app hash only if the
	// source's state at 4 is what was restored: replay block 5 there.
	check := openDir(t, t.TempDir())
	defer check.Close()
	must(t, check.Restore(info, snap.source, nil))
	if _, err := check.View(3); err == nil {
		t.Error("a restored store serves a height before its snapshot")
	}
}

func TestSnapshotLatestHeightAndEmptyLedger(t *testing.T) {
	src, _ := buildSnapshotStore(t)
	snap := takeSnapshot(t, src, 0, DefaultChunkSize)
	if snap.info.Height != 6 || len(snap.chunks) != 1 {
		t.Fatalf("snapshot of the latest height: height %d, %d chunks", snap.info.Height, len(snap.chunks))
	}
	dst := openMem(t)
	must(t, dst.Restore(snap.info, snap.source, src.LastCommit().AppHash))
	if !bytes.Equal(dst.LastCommit().AppHash, src.LastCommit().AppHash) {
		t.Fatal("app hash differs")
	}
}

func TestRestoreRefusesBadInput(t *testing.T) {
	src, at4 := buildSnapshotStore(t)
	snap := takeSnapshot(t, src, 4, 1000)
	other := takeSnapshot(t, src, 5, 1000)
	flip := func(i, at int) ChunkSource {
		return func(j int) ([]byte, error) {
			c := slices.Clone(snap.chunks[j])
			if j == i {
				c[at%len(c)] ^= 1
			}
			return c, nil
		}
	}
	// A corrupted chunk whose hash in the metadata was forged to match.
	forged := snap.info
	forged.Chunks = slices.Clone(snap.info.Chunks)
	bad := slices.Clone(snap.chunks[1])
	bad[500] ^= 0x40
	forged.Chunks[1] = sm3Sum(bad)
	forgedSrc := func(j int) ([]byte, error) {
		if j == 1 {
			return bad, nil
		}
		return snap.chunks[j], nil
	}
	wrongFormat := snap.info
	wrongFormat.Format = 2
	mixed := snap.info
	mixed.Chunks = other.info.Chunks
	for _, tc := range []struct {
		name    string
		info    SnapshotInfo
		src     ChunkSource
		trusted []byte
		want    error
	}{
		{"corrupted chunk is refused by its hash", snap.info, flip(1, 17), at4.AppHash, ErrChunkHash},
		{"last chunk corrupted", snap.info, flip(len(snap.chunks)-1, 3), at4.AppHash, ErrChunkHash},
		{"wrong trusted app hash", snap.info, snap.source, sm3Sum([]byte("other")), ErrSnapshotAppHash},
		{"chunks of another snapshot", mixed, other.source, nil, ErrSnapshotMalformed},
		{"unknown format", wrongFormat, snap.source, nil, ErrSnapshotFormat},
		{"forged chunk hash with changed content", forged, forgedSrc, nil, nil},
		{"missing chunk", snap.info, func(j int) ([]byte, error) {
			if j == 2 {
				return nil, errors.New("peer gone")
			}
			return snap.chunks[j], nil
		}, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			dst := openDir(t, dir)
			err := dst.Restore(tc.info, tc.src, tc.trusted)
			if err == nil {
				t.Fatal("restore accepted bad input")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			t.Log(err)
			if h := dst.LastHeight(); h != 0 || len(dst.Ledgers()) != 0 {
				t.Fatalf("store changed: height %d ledgers %v", h, dst.Ledgers())
			}
			empty, err := dst.isEmptyDB()
			must(t, err)
			if !empty {
				t.Fatal("refused restore left records in the database")
			}
			// The store is still usable: a good snapshot restores.
			must(t, dst.Restore(snap.info, snap.source, at4.AppHash))
			must(t, dst.Close())
		})
	}
}

func TestRestoreRefusesNonEmptyStore(t *testing.T) {
	src, at4 := buildSnapshotStore(t)
	snap := takeSnapshot(t, src, 4, 1000)
	if err := src.Restore(snap.info, snap.source, at4.AppHash); !errors.Is(err, ErrStoreNotEmpty) {
		t.Fatalf("restore into a used store: %v", err)
	}
	dst := openMem(t)
	must(t, dst.WriteAside([]AsidePair{{Key: []byte("x"), Value: []byte("y")}}))
	if err := dst.Restore(snap.info, snap.source, at4.AppHash); !errors.Is(err, ErrStoreNotEmpty) {
		t.Fatalf("restore into a store with aside records: %v", err)
	}
	if v, _ := dst.GetAside([]byte("x")); string(v) != "y" {
		t.Fatal("refused restore removed existing records")
	}
}

func TestSnapshotInfoRefusesBadMetadata(t *testing.T) {
	src, _ := buildSnapshotStore(t)
	snap := takeSnapshot(t, src, 4, 1000)
	i := snap.info
	n := uint32(len(i.Chunks))
	for _, tc := range []struct {
		name     string
		height   int64
		format   uint32
		chunks   uint32
		hash     []byte
		metadata []byte
	}{
		{"format", i.Height, 9, n, i.Hash, i.Metadata},
		{"height", 0, i.Format, n, i.Hash, i.Metadata},
		{"hash not of metadata", i.Height, i.Format, n, sm3Sum(nil), i.Metadata},
		{"chunk count", i.Height, i.Format, n + 1, i.Hash, i.Metadata},
		{"truncated metadata", i.Height, i.Format, n, sm3Sum(i.Metadata[:40]), i.Metadata[:40]},
		{"empty metadata", i.Height, i.Format, n, sm3Sum(nil), nil},
	} {
		if _, err := DecodeSnapshotInfo(tc.height, tc.format, tc.chunks, tc.hash, tc.metadata); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

func TestSnapshotFiles(t *testing.T) {
	src, at4 := buildSnapshotStore(t)
	ss, err := OpenSnapshots(t.TempDir())
	must(t, err)
	for _, h := range []int64{2, 4, 6} {
		if _, err := ss.Create(src, h, SnapshotOptions{ChunkSize: 2000, KeepAside: keepUpTo(uint64(h))}); err != nil {
			t.Fatal(err)
		}
	}
	must(t, ss.Prune(2))
	list, err := ss.List()
	must(t, err)
	if len(list) != 2 || list[0].Height != 6 || list[1].Height != 4 {
		t.Fatalf("listed %v", list)
	}
	info := list[1]
	if !bytes.Equal(info.AppHash, at4.AppHash) {
		t.Fatal("stored snapshot has the wrong app hash")
	}
	dst := openMem(t)
	must(t, dst.Restore(info, func(i int) ([]byte, error) { return ss.LoadChunk(info.Height, info.Format, uint32(i)) }, at4.AppHash))
	if _, err := ss.LoadChunk(4, SnapshotFormat, 999); !errors.Is(err, ErrSnapshotNotFound) {
		t.Fatalf("missing chunk: %v", err)
	}
	if _, err := ss.Get(2, SnapshotFormat); !errors.Is(err, ErrSnapshotNotFound) {
		t.Fatalf("pruned snapshot: %v", err)
	}
}

func sm3Sum(b []byte) []byte { return sm3Of(b) }

// FuzzRestore feeds arbitrary bytes as a one-chunk snapshot whose hashes
// match (so the decoder, not the hash check, meets them): Restore must
// refuse or restore, never panic, and leave an empty store on refusal.
func FuzzRestore(f *testing.F) {
	s := openMem(f)
	must(f, s.CreateLedger("a"))
	must(f, s.Set("a", []byte("k"), []byte("v")))
	mustCommit(f, s)
	info, err := s.Snapshot(1, func(_ int, c []byte) error { f.Add(slices.Clone(c)); return nil }, SnapshotOptions{})
	must(f, err)
	f.Fuzz(func(t *testing.T, chunk []byte) {
		if len(chunk) == 0 {
			return
		}
		meta := encodeSnapshotMetadata(info.AppHash, [][]byte{sm3Sum(chunk)})
		in, err := DecodeSnapshotInfo(1, SnapshotFormat, 1, sm3Sum(meta), meta)
		must(t, err)
		dst := openMem(t)
		if err := dst.Restore(in, func(int) ([]byte, error) { return chunk, nil }, nil); err != nil {
			if dst.LastHeight() != 0 {
				t.Fatal("refused restore changed the store")
			}
		}
	})
}

// BenchmarkSnapshotRestore takes a snapshot of a ledger of n accounts and
// restores it into an empty store; it reports the snapshot's size.
func BenchmarkSnapshotRestore(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			s := openDir(b, b.TempDir())
			defer s.Close()
			must(b, s.CreateLedger("payments"))
			for i := range n {
				must(b, s.Set("payments", fmt.Appendf(nil, "bal/%040x", i*7919), binary.BigEndian.AppendUint64(nil, uint64(i))))
			}
			ci := mustCommit(b, s)
			b.ResetTimer()
			var size int
			for range b.N {
				var chunks [][]byte
				info, err := s.Snapshot(ci.Height, func(_ int, c []byte) error { chunks = append(chunks, slices.Clone(c)); return nil }, SnapshotOptions{})
				must(b, err)
				size = 0
				for _, c := range chunks {
					size += len(c)
				}
				dst := openDir(b, b.TempDir())
				must(b, dst.Restore(info, func(i int) ([]byte, error) { return chunks[i], nil }, ci.AppHash))
				must(b, dst.Close())
			}
			b.ReportMetric(float64(size)/1e6, "MB")
		})
	}
}

// FuzzDecodeSnapshotInfo: the description a peer offers never panics the
// decoder, and what it accepts is consistent.
func FuzzDecodeSnapshotInfo(f *testing.F) {
	f.Add(encodeSnapshotMetadata(sm3Sum(nil), [][]byte{sm3Sum([]byte("a")), sm3Sum([]byte("b"))}), uint32(2))
	f.Add([]byte{1, 32}, uint32(1))
	f.Fuzz(func(t *testing.T, meta []byte, chunks uint32) {
		info, err := DecodeSnapshotInfo(7, SnapshotFormat, chunks, sm3Sum(meta), meta)
		if err != nil {
			return
		}
		if uint32(len(info.Chunks)) != chunks || len(info.AppHash) != 32 || !bytes.Equal(encodeSnapshotMetadata(info.AppHash, info.Chunks), meta) {
			t.Fatalf("accepted inconsistent metadata %X", meta)
		}
	})
}
