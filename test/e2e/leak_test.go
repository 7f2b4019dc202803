package e2e

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// knownStrays are goroutines that CometBFT v0.38.26 leaves behind a stopped
// node. None holds a database, port or lock, so none hinders a restart.
var knownStrays = []string{
	// The consensus WAL's Group.Close closes the head file but never calls
	// AutoFile.Close, so each node start leaks its SIGHUP handler and its
	// close ticker goroutine (two per start, for the life of the process).
	"libs/autofile.OpenAutoFile.func1",
	"libs/autofile.(*AutoFile).closeFileRoutine",
	// These sleep out a backoff, then see their service stopped and return.
	"p2p.(*Switch).reconnectToPeer",
	"consensus.(*Reactor).queryMaj23Routine",
}

// strayGoroutines lists the stacks of goroutines running code from any
// module (jinlian, CometBFT, Badger, IAVL...) other than knownStrays and the
// calling goroutine.
func strayGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	// The first stack is the calling goroutine's.
	for _, g := range strings.Split(string(buf), "\n\n")[1:] {
		if !strings.Contains(g, "github.com/") && !strings.Contains(g, "google.golang.org/") {
			continue
		}
		known := false
		for _, k := range knownStrays {
			known = known || strings.Contains(g, k)
		}
		if !known {
			out = append(out, g)
		}
	}
	return out
}

// checkNoStrayGoroutines fails the test if goroutines other than the known
// CometBFT strays outlive a stopped localnet for more than a few seconds.
func checkNoStrayGoroutines(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		stray := strayGoroutines()
		if len(stray) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines outlive the stopped nodes; the first:\n%s", len(stray), stray[0])
		}
		time.Sleep(100 * time.Millisecond)
	}
}
