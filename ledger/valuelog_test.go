package ledger

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestValueThreshold: Options.ValueThreshold reaches Badger (Badger's
// 1 MiB when 0), and values read from the value log are checked against
// their checksums.
func TestValueThreshold(t *testing.T) {
	for _, c := range []struct {
		set  int
		want int64
	}{{0, 1 << 20}, {64, 64}, {200, 200}} {
		s, err := Open(t.TempDir(), Options{ValueThreshold: c.set})
		must(t, err)
		o := s.db.Opts()
		must(t, s.Close())
		if o.ValueThreshold != c.want || !o.VerifyValueChecksum {
			t.Errorf("ValueThreshold %d: Badger's %d (value checksums %v); want %d, checked", c.set, o.ValueThreshold, o.VerifyValueChecksum, c.want)
		}
	}
}

// valueLogBytes is the size of dir's value-log files (the store closed:
// Badger cuts the last file to what it holds).
func valueLogBytes(t *testing.T, dir string) int64 {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.vlog"))
	must(t, err)
	var n int64
	for _, f := range files {
		fi, err := os.Stat(f)
		must(t, err)
		n += fi.Size()
	}
	return n
}

// TestTreeNodesGoToTheValueLog: with a threshold of 64 bytes a tree's
// nodes are written to the value log, and read back from it, through the
// trees, after a restart; without one they stay in the LSM tree.
func TestTreeNodesGoToTheValueLog(t *testing.T) {
	const keys = 2000
	for _, c := range []struct {
		threshold int
		inLog     bool
	}{{64, true}, {0, false}} {
		t.Run(fmt.Sprint(c.threshold), func(t *testing.T) {
			dir := t.TempDir()
			s, err := Open(dir, Options{ValueThreshold: c.threshold})
			must(t, err)
			must(t, s.CreateLedger("pay"))
			// Keys and values the size of a balance's (26 and 56 bytes): its
			// leaf and the inner nodes above it encode to more than 64.
			for i := 0; i < keys; i++ {
				must(t, s.Set("pay", balanceLikeKey(i), balanceLikeValue(i)))
			}
			mustCommit(t, s)
			must(t, s.Close())
			n := valueLogBytes(t, dir)
			if got := n >= keys*64; got != c.inLog {
				t.Fatalf("threshold %d: %d bytes in the value log for %d keys", c.threshold, n, keys)
			}
			s, err = Open(dir, Options{ValueThreshold: c.threshold, NoFlatIndex: true, IAVLCacheSize: 10, NodeCacheBytes: -1})
			must(t, err)
			defer s.Close()
			v, err := s.View(1)
			must(t, err)
			seen := 0
			must(t, v.Iterate("pay", nil, nil, func(k, val []byte) bool {
				if string(val) != string(balanceLikeValue(keyIndex(k))) {
					t.Fatalf("%s = %q", k, val)
				}
				seen++
				return true
			}))
			if seen != keys {
				t.Fatalf("read %d keys back, want %d", seen, keys)
			}
		})
	}
}

func balanceLikeKey(i int) []byte   { return fmt.Appendf(nil, "b/\x03CNY%020d", i) }
func balanceLikeValue(i int) []byte { return fmt.Appendf(nil, "%056d", i) }

func keyIndex(k []byte) int {
	var i int
	if _, err := fmt.Sscanf(string(k[6:]), "%d", &i); err != nil {
		panic(err)
	}
	return i
}

// TestValueLogCollectedAfterPruning: what pruning deletes from the value
// log is reclaimed by the collection (small value-log files, so that a few
// megabytes fill several), and every value of the kept height reads back
// the same afterwards, through the trees.
func TestValueLogCollectedAfterPruning(t *testing.T) {
	dir := t.TempDir()
	opts := Options{ValueThreshold: 64, valueLogFileBytes: 1 << 20, memTableBytes: 256 << 10, NoFlatIndex: true, IAVLCacheSize: 10, NodeCacheBytes: -1}
	s, err := Open(dir, opts)
	must(t, err)
	must(t, s.CreateLedger("pay"))
	const keys, heights = 300, 30
	pad := strings.Repeat("x", 900)
	for h := 1; h <= heights; h++ {
		for i := 0; i < keys; i++ {
			must(t, s.Set("pay", []byte(fmt.Sprintf("k%04d", i)), []byte(fmt.Sprintf("%d-%d-%s", h, i, pad))))
		}
		mustCommit(t, s)
	}
	if _, err := s.PruneTo(heights - 1); err != nil {
		t.Fatal(err)
	}
	must(t, s.Close())
	before := valueLogBytes(t, dir)

	// Compaction tells Badger what is garbage; then the collection runs.
	s, err = Open(dir, opts)
	must(t, err)
	must(t, s.db.Flatten(1))
	if n, err := s.collectValueLog(); n == 0 {
		t.Fatalf("no value-log file rewritten (%v)", err)
	}
	must(t, s.Close())
	after := valueLogBytes(t, dir)
	t.Logf("value log: %d bytes before the collection, %d after", before, after)
	if after > before/2 {
		t.Fatalf("value log %d bytes before the collection, %d after: want less than half", before, after)
	}

	s, err = Open(dir, opts)
	must(t, err)
	defer s.Close()
	v, err := s.View(heights)
	must(t, err)
	seen := 0
	must(t, v.Iterate("pay", nil, nil, func(k, val []byte) bool {
		var i int
		if _, err := fmt.Sscanf(string(k), "k%04d", &i); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("%d-%d-%s", heights, i, pad); string(val) != want {
			t.Fatalf("%s after the collection: %.20q…, want %.20q…", k, val, want)
		}
		seen++
		return true
	}))
	if seen != keys {
		t.Fatalf("read %d keys back, want %d", seen, keys)
	}
	if _, err := s.View(1); !errors.As(err, new(ErrHeightNotAvailable)) {
		t.Fatalf("pruned height 1: %v", err)
	}
}

// TestFlippedValueLogBytesDetected flips a byte of the value log, where
// the trees' nodes are, and requires the check and every read to report
// damage or the right value, never a wrong or a missing one (Badger answers
// a value-log entry that fails its checksum with an empty value).
func TestFlippedValueLogBytesDetected(t *testing.T) {
	for _, where := range []float64{0.25, 0.5, 0.75} {
		t.Run(fmt.Sprint(where), func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{ValueThreshold: 64, IAVLCacheSize: 10, NodeCacheBytes: -1, NoFlatIndex: true}
			writeCheckStoreWith(t, dir, opts)
			files, err := filepath.Glob(filepath.Join(dir, "*.vlog"))
			must(t, err)
			flipped := 0
			for _, f := range files {
				if fi, err := os.Stat(f); err == nil && fi.Size() >= 4096 {
					flipByte(t, f, where)
					flipped++
				}
			}
			if flipped == 0 {
				t.Fatalf("no value-log file with data in %s", dir)
			}
			requireDamageReported(t, dir, opts, "value log")
		})
	}
}

// checkStoreValue is writeCheckStore's value of key number i of ledger
// name written at h (0, 1, 2: heights 1, 2, 3).
func checkStoreValue(name string, h, i int) string {
	return fmt.Sprintf("%s-value-%d-%d-%s", name, h, i, strings.Repeat("x", 40))
}

// checkStoreKeys is how many keys writeCheckStore writes to each ledger;
// checkStoreKey is the i-th, keyNumber its number.
const checkStoreKeys = 3000

func checkStoreKey(i int) string { return fmt.Sprintf("key-%05d", i) }

func keyNumber(t *testing.T, k []byte) int {
	t.Helper()
	var i int
	if _, err := fmt.Sscanf(string(k), "key-%05d", &i); err != nil {
		t.Fatal(err)
	}
	return i
}
