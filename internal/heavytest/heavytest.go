// Package heavytest is for the heavy end-to-end tests of jinlian: those
// that run multi-node localnets, prove checkpoints with gnark or anchor
// them. Begin skips such a test under -short (the race tier of .ci/run)
// and otherwise makes it wait for a lock that every test binary on the
// machine shares, so that `go test ./...`, which runs several packages at
// once, runs one heavy test at a time: each then has the cores its
// deadlines assume. Context gives a test a deadline that ends before the
// test binary's own (-timeout), so that a slow machine fails the test with
// its own message instead of a panic.
//
// It imports nothing of jinlian and is imported by tests only.
package heavytest

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// LockFile is the machine-wide lock: one file in the temporary directory,
// so that clones and worktrees of the repository share it.
func LockFile() string { return filepath.Join(os.TempDir(), "jinlian-heavy-e2e.lock") }

var (
	// mu serialises the heavy tests of one test binary (t.Parallel).
	mu sync.Mutex
	// lastRelease is when this process last gave the lock up.
	lastRelease time.Time
)

// fairPause is how long a process waits before taking the lock again
// right after releasing it, so that a test binary polling for it gets its
// turn: without it the package whose tests run back to back would keep
// the lock and starve the others past their -timeout.
const fairPause = time.Second

// pollEvery is how often a waiting test tries the lock.
const pollEvery = 100 * time.Millisecond

// Begin marks t as a heavy end-to-end test; what says what it runs. With
// -short it skips t ("what: e2e, skipped with -short"). Otherwise it waits
// for the machine-wide lock and holds it until t and its subtests end.
// It waits at most half the time left before the test binary's deadline
// (and at most 20 minutes): after that it runs t without the lock, saying
// so, rather than let the binary time out. Call it once, at the top of a
// test, never in a subtest of a test that called it.
func Begin(t testing.TB, what string) {
	t.Helper()
	if testing.Short() {
		t.Skip(what + ": e2e, skipped with -short")
	}
	if os.Getenv(LongEnv) == "only" {
		t.Skip(what + ": not a long e2e test, skipped with " + LongEnv + "=only")
	}
	begin(t)
}

// begin waits for the lock and holds it until t ends.
func begin(t testing.TB) {
	t.Helper()
	mu.Lock()
	if since := time.Since(lastRelease); since < fairPause {
		time.Sleep(fairPause - since)
	}
	maxWait := 20 * time.Minute
	if d, ok := deadline(t); ok {
		maxWait = min(maxWait, time.Until(d)/2)
	}
	start := time.Now()
	unlock, err := lock(LockFile(), maxWait)
	waited := time.Since(start).Round(time.Second)
	switch {
	case err != nil:
		t.Logf("running without the heavy-test lock %s (after %s): %v", LockFile(), waited, err)
	case waited >= time.Second:
		t.Logf("waited %s for the heavy-test lock (another heavy e2e test was running)", waited)
	}
	held := time.Now()
	t.Cleanup(func() {
		if unlock != nil {
			unlock()
			// Which heavy tests make up the full tier's time (go test -v).
			t.Logf("held the heavy-test lock %s", time.Since(held).Round(100*time.Millisecond))
		}
		lastRelease = time.Now()
		mu.Unlock()
	})
}

// LongEnv selects the long end-to-end tests (Long): unset, they skip and
// `go test ./...` stays within 15 minutes on 2 cores; "1" runs them with
// the rest; "only" runs them and skips every other heavy test (.ci/run's
// long tier, which comes after the full one).
const LongEnv = "JINLIAN_E2E_LONG"

// Long is Begin for a heavy test of minutes (a consortium's life, a fault
// campaign: one process per node, two builds of the binary): it runs only
// with LongEnv set, saying how otherwise.
func Long(t testing.TB, what string) {
	t.Helper()
	if testing.Short() {
		t.Skip(what + ": e2e, skipped with -short")
	}
	if v := os.Getenv(LongEnv); v != "1" && v != "only" {
		t.Skip(what + ": a long e2e test, run with " + LongEnv + "=1 (README, \"Continuous integration\")")
	}
	begin(t)
}

// Context is a context for t that ends after d, or 30 seconds before the
// test binary's deadline if that comes first; it is cancelled when t ends.
func Context(t testing.TB, d time.Duration) context.Context {
	t.Helper()
	end := time.Now().Add(d)
	if bin, ok := deadline(t); ok && bin.Add(-30*time.Second).Before(end) {
		end = bin.Add(-30 * time.Second)
	}
	ctx, cancel := context.WithDeadline(context.Background(), end)
	t.Cleanup(cancel)
	return ctx
}

// deadline is the test binary's deadline, when t can tell it.
func deadline(t testing.TB) (time.Time, bool) {
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		return d.Deadline()
	}
	return time.Time{}, false
}
