package bench

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The warm-up's transactions come first and are kept apart: the measured
// load's index (what the block watcher counts) holds none of them, and no
// transaction is in both.
func TestWarmupLoadIsApart(t *testing.T) {
	for _, app := range []string{"kvstore", "jinlian"} {
		t.Run(app, func(t *testing.T) {
			o := &Options{Count: 30, Accounts: 3}
			l, err := buildLoad(app, "", o, 12)
			if err != nil {
				t.Fatal(err)
			}
			if len(l.txs) != 42 {
				t.Fatalf("built %d transactions, want 12 + 30", len(l.txs))
			}
			all := append([][]byte(nil), l.txs...)
			warm, rest := l.split(12)
			if len(warm.txs) != 12 || len(rest.txs) != 30 {
				t.Fatalf("split into %d and %d, want 12 and 30", len(warm.txs), len(rest.txs))
			}
			if len(rest.accounts) != len(l.accounts) {
				t.Fatalf("the measured load lost the accounts the genesis funds")
			}
			for i, tx := range all {
				h := sha256.Sum256(tx)
				wi, inWarm := warm.index[h]
				ri, inRest := rest.index[h]
				switch {
				case i < 12 && (!inWarm || wi != i || inRest):
					t.Fatalf("warm-up tx %d: in warm-up %v at %d, in the measured load %v", i, inWarm, wi, inRest)
				case i >= 12 && (!inRest || ri != i-12 || inWarm):
					t.Fatalf("load tx %d: in the measured load %v at %d, in warm-up %v", i, inRest, ri, inWarm)
				}
			}
			if len(warm.b64) != 12 || len(rest.b64) != 30 {
				t.Fatalf("request bodies: %d and %d", len(warm.b64), len(rest.b64))
			}
		})
	}
}

func TestRunRefusesABadWarmup(t *testing.T) {
	base := Options{Apps: []string{"kvstore"}, Validators: 1, Rate: 1, Count: 1, Duration: time.Second, Batch: 1, Workers: 1, Accounts: 1, Repeat: 1}
	for name, c := range map[string]struct {
		warmup   time.Duration
		workload string
		want     string
	}{
		"negative":          {-time.Second, "", "--warmup must not be negative"},
		"contract workload": {time.Second, WorkloadCustodyApprove, "--warmup with --workload custody-approve"},
	} {
		t.Run(name, func(t *testing.T) {
			o := base
			o.Warmup = c.warmup
			if c.workload != "" {
				o.Workloads = []string{c.workload}
			}
			_, _, err := Run(context.Background(), io.Discard, "/nonexistent", t.TempDir(), &o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}

// waitMempools reads CometBFT's num_unconfirmed_txs (the answer's form as
// CometBFT v0.38 writes it: counts as strings) from every node until all
// are empty.
func TestWaitMempools(t *testing.T) {
	var calls atomic.Int64
	node := func(emptyAfter int64) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/num_unconfirmed_txs" {
				http.NotFound(w, r)
				return
			}
			n := 0
			if calls.Add(1) <= emptyAfter {
				n = 7
			}
			fmt.Fprintf(w, `{"jsonrpc":"2.0","id":-1,"result":{"n_txs":"%d","total":"%d","total_bytes":"3122","txs":null}}`, n, n)
		}))
	}
	a, b := node(3), node(3)
	defer a.Close()
	defer b.Close()
	left, err := waitMempools(context.Background(), http.DefaultClient, []string{a.URL, b.URL}, 10*time.Second)
	if err != nil || left != 0 {
		t.Fatalf("left %d, err %v; want empty mempools", left, err)
	}
	if calls.Load() < 4 {
		t.Fatalf("asked %d times: returned before the mempools emptied", calls.Load())
	}

	full := node(1 << 40)
	defer full.Close()
	left, err = waitMempools(context.Background(), http.DefaultClient, []string{full.URL}, 120*time.Millisecond)
	if err != nil || left != 7 {
		t.Fatalf("a mempool that never empties: left %d, err %v; want 7 after the limit", left, err)
	}

	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"result":{"n_txs":"many"}}`)
	}))
	defer bad.Close()
	if _, err := waitMempools(context.Background(), http.DefaultClient, []string{bad.URL}, time.Second); err == nil || !strings.Contains(err.Error(), `n_txs "many"`) {
		t.Fatalf("err = %v, want one naming the bad n_txs", err)
	}
}
