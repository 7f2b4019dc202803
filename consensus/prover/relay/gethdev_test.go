//go:build gethdev

package relay

// Runs the relayer against a real `geth --dev` process:
//
//	go install github.com/ethereum/go-ethereum/cmd/geth@v1.17.8
//	go test -tags gethdev -run GethDev ./consensus/prover/relay
//
// GETH names the binary (default: geth on PATH). geth --dev enables the
// same unscheduled forks as the simulated backend's dev configuration, so
// its gas figures are not mainnet's (see devchain.LiveRules).

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/jinlian-ledger/jinlian/consensus/prover"
	"github.com/jinlian-ledger/jinlian/consensus/prover/checkpointtest"
)

// startGethDev runs geth --dev for the test (skipped without geth). extra
// are further geth flags.
func startGethDev(t testing.TB, extra ...string) *GethDev {
	t.Helper()
	bin := os.Getenv("GETH")
	if bin == "" {
		bin = "geth"
	}
	if _, err := exec.LookPath(bin); err != nil {
		t.Skipf("%s not found: go install github.com/ethereum/go-ethereum/cmd/geth@v1.17.8", bin)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	g, err := StartGethDev(ctx, GethDevOptions{Bin: bin, DataDir: t.TempDir(), Log: os.Stderr, Args: extra})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	return g
}

func TestGethDev(t *testing.T) {
	geth := startGethDev(t)
	client, auth := geth.Client, geth.Auth
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	p := dev(t)
	keys, vals := checkpointtest.Validators(t, 1, 10, 10, 10, 10)
	g := checkpointtest.Genesis(t, "jinlian-gethdev", vals, prover.DevSlots)
	addr, err := Deploy(ctx, client, auth, g, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(client, addr, auth, Config{Backoff: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	prev := g
	for e := uint64(1); e <= 2; e++ {
		cp := checkpointtest.Next(prev, e*20, "gethdev")
		res, err := r.Submit(ctx, cp, prove(t, p, keys, vals, cp, 0, 1, 2))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("geth --dev: epoch %d anchored in block %d, %d gas", e, res.Block, res.GasUsed)
		prev = cp
	}
	st, err := r.Status(ctx)
	if err != nil || st.Epoch != 2 || st.CheckpointHash != prev.Hash() {
		t.Fatalf("status %+v %v", st, err)
	}
}
