package heavytest

import (
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// The lock excludes a second holder (flock locks belong to an open file,
// so a second open in this process stands for another test binary) until
// the first lets go.
func TestLockExcludes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no flock")
	}
	path := filepath.Join(t.TempDir(), "lock")
	unlock, err := lock(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	if _, err := lock(path, 300*time.Millisecond); err == nil {
		t.Fatal("a second holder took the lock")
	} else if waited := time.Since(t0); waited < 300*time.Millisecond {
		t.Fatalf("gave up after %s, want 300ms", waited)
	}
	unlock()
	unlock2, err := lock(path, time.Second)
	if err != nil {
		t.Fatalf("after the first let go: %v", err)
	}
	unlock2()
}

func TestContextEndsBeforeTheBinary(t *testing.T) {
	ctx := Context(t, time.Hour)
	d, ok := ctx.Deadline()
	if !ok {
		t.Fatal("no deadline")
	}
	if bin, ok := t.Deadline(); ok && !d.Before(bin) {
		t.Fatalf("context ends at %s, the binary at %s", d, bin)
	}
	if ctx := Context(t, time.Second); time.Until(mustDeadline(t, ctx)) > time.Second {
		t.Fatal("a short deadline was lengthened")
	}
}

func mustDeadline(t *testing.T, ctx interface{ Deadline() (time.Time, bool) }) time.Time {
	d, ok := ctx.Deadline()
	if !ok {
		t.Fatal("no deadline")
	}
	return d
}
