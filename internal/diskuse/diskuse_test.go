package diskuse

import (
	"os"
	"path/filepath"
	"testing"
)

// TestOfCountsFilesBelowDir: the files of dir and of its subdirectories
// count, at least their written bytes each; a sparse file counts for what
// it holds where the system reports allocated blocks.
func TestOfCountsFilesBelowDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o750); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 100_000)
	for i := range data {
		data[i] = byte(i)
	}
	for _, p := range []string{"a", "sub/b"} {
		if err := os.WriteFile(filepath.Join(dir, p), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	n, err := Of(dir)
	if err != nil {
		t.Fatal(err)
	}
	if n < 200_000 || n > 300_000 {
		t.Fatalf("two files of 100,000 bytes occupy %d bytes", n)
	}

	sparse, err := os.Create(filepath.Join(dir, "sparse"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sparse.Truncate(64 << 20); err != nil {
		t.Fatal(err)
	}
	sparse.Close()
	m, err := Of(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m-n >= 64<<20 {
		t.Skipf("this system reports a sparse file at its size (%d bytes more)", m-n)
	}
	if m-n > 1<<20 {
		t.Fatalf("an empty sparse file of 64 MiB occupies %d bytes", m-n)
	}
}

func TestOfMissingDir(t *testing.T) {
	if _, err := Of(filepath.Join(t.TempDir(), "absent")); err == nil {
		t.Fatal("an absent directory measured without error")
	}
}
