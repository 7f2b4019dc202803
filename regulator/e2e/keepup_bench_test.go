//go:build unix

package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	cmtlog "github.com/cometbft/cometbft/libs/log"

	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/node"
	"github.com/jinlian-ledger/jinlian/node/localnet"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/regulator"
	"github.com/jinlian-ledger/jinlian/wire"
)

// keepUpRules make one transfer in a hundred an alert (large_amount at
// 1,000 CNY, sent every hundredth transfer), so that alert latency is
// measured all through the load; the other rules run with the defaults'
// shapes.
const keepUpRules = `
[large_amount]
[large_amount.thresholds]
CNY = 1000
[structuring]
window = "1h"
count = 3
margin = 0.1
[velocity]
window = "10m"
max_count = 1000000
[fast_in_fast_out]
window = "30m"
percent = 80
[fast_in_fast_out.min_amount]
CNY = 50000000
[cross_border]
[cross_border.default_limit]
CNY = 100000000000
`

// BenchmarkObserverKeepsUp runs four validators in one process under a
// steady load of transfers, with and without a regulator observer, and
// measures what issue 15 asks of the observer: its index lag behind the
// validators (in blocks, sampled every 50 ms), the delay from a block's
// commit (first seen on validator 0) to each of its alerts arriving over
// the regulator API's server-sent events, and the CPU it adds per
// transaction (the process's CPU per committed transfer with the observer
// minus without; all nodes share the process). Not a timed test:
//
//	go test ./regulator/e2e -run '^$' -bench ObserverKeepsUp -benchtime 1x -timeout 20m
//	JINLIAN_KEEPUP_RATE=1500 JINLIAN_KEEPUP_SECONDS=30 go test ./regulator/e2e -run '^$' -bench ObserverKeepsUp -benchtime 1x
//
// docs/performance.md, "The regulator observer", has the figures.
func BenchmarkObserverKeepsUp(b *testing.B) {
	rate := envInt("JINLIAN_KEEPUP_RATE", 1000)
	secs := envInt("JINLIAN_KEEPUP_SECONDS", 20)
	var without float64
	for _, observers := range []int{0, 1} {
		name := "validators"
		if observers > 0 {
			name = "validators+observer"
		}
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				r := runKeepUp(b, observers, rate, secs)
				b.ReportMetric(r.committedPerSec, "tx/s")
				b.ReportMetric(r.cpuPerTx, "cpu-µs/tx")
				if observers == 0 {
					without = r.cpuPerTx
					continue
				}
				b.ReportMetric(r.lagMax, "lag-max-blocks")
				b.ReportMetric(r.lagP99, "lag-p99-blocks")
				b.ReportMetric(float64(r.alerts), "alerts")
				b.ReportMetric(float64(r.alertP50.Milliseconds()), "alert-p50-ms")
				b.ReportMetric(float64(r.alertP99.Milliseconds()), "alert-p99-ms")
				if without > 0 {
					b.ReportMetric(r.cpuPerTx-without, "observer-cpu-µs/tx")
				}
			}
		})
	}
}

type keepUp struct {
	committedPerSec, cpuPerTx float64
	lagMax, lagP99            float64
	alerts                    int
	alertP50, alertP99        time.Duration
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func runKeepUp(b *testing.B, observers, rate, secs int) keepUp {
	b.StopTimer()
	const senders = 40
	keys := make([]*gmcrypto.PrivateKey, senders)
	addrs := make([]string, senders)
	for i := range keys {
		k, err := gmcrypto.GenerateKey()
		if err != nil {
			b.Fatal(err)
		}
		keys[i], addrs[i] = k, k.Public().Address().String()
	}
	base, err := consensus.FreeBasePort(4 + observers)
	if err != nil {
		b.Fatal(err)
	}
	ln, err := localnet.Prepare(localnet.Options{Home: filepath.Join(b.TempDir(), "ln"), Validators: 4, Observers: observers,
		BasePort: base, TimeoutCommit: 500 * time.Millisecond, CheckpointInterval: -1, ExtraFundedAccounts: addrs})
	if err != nil {
		b.Fatal(err)
	}
	if observers > 0 {
		if err := os.WriteFile(node.RegulatorRulesFile(ln.Network.Nodes[4].Home), []byte(keepUpRules), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	nodes, err := ln.Start(context.Background(), cmtlog.NewNopLogger(), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = node.StopAll(nodes) }()
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs)*time.Second+5*time.Minute)
	defer cancel()
	if err := consensus.WaitForHeight(ctx, nodes[0].Client(), 2); err != nil {
		b.Fatal(err)
	}

	// The load, signed before it starts: every hundredth transfer large.
	n := rate * secs
	txs := make([][]byte, n)
	to := keys[0].Public().Address()
	for i := range txs {
		amount := uint64(1)
		if i%100 == 99 {
			amount = 1000
		}
		m := &txpb.Message{Body: &txpb.Message_Transfer{Transfer: &txpb.Transfer{Asset: "CNY", To: to.Bytes(), Amount: amount}}}
		k := keys[1+i%(senders-1)]
		raw, _, err := wire.BuildTx(wire.Signer{Key: k, MSPID: localnet.BenchOrg}, ln.Network.ChainID, "payments", time.Now(), m)
		if err != nil {
			b.Fatal(err)
		}
		txs[i] = raw
	}

	// Commits as validator 0 sees them, the observer's lag, its alerts.
	var (
		mu       sync.Mutex
		seen     = map[int64]time.Time{}
		lags     []float64
		delays   []time.Duration
		alertsAt []time.Time
		alertH   []int64
	)
	wctx, stopWatch := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		next := 0
		for wctx.Err() == nil {
			<-tick.C
			st, err := nodes[0].Client().Status(wctx)
			if err != nil {
				continue
			}
			h := st.SyncInfo.LatestBlockHeight
			now := time.Now()
			mu.Lock()
			if _, ok := seen[h]; !ok {
				seen[h] = now
			}
			mu.Unlock()
			if observers == 0 {
				continue
			}
			if next++; next%3 != 0 {
				continue // lag every 60 ms
			}
			ih, err := nodes[4].Regulator.Index().LastHeight()
			if err == nil {
				mu.Lock()
				lags = append(lags, float64(max(h-ih, 0)))
				mu.Unlock()
			}
		}
	}()
	if observers > 0 {
		_, regKey, err := gmcrypto.LoadKey(filepath.Join(localnet.KeysDir(ln.Home), "regulator.json"), []byte(localnet.Passphrase))
		if err != nil {
			b.Fatal(err)
		}
		cl := regulator.NewClient(nodes[4].Regulator.URL(), regKey)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = cl.Stream(wctx, 0, func(e regulator.StreamEvent) error {
				if e.Kind == "alert" {
					mu.Lock()
					alertsAt, alertH = append(alertsAt, time.Now()), append(alertH, e.Alert.Height)
					mu.Unlock()
				}
				return nil
			})
		}()
	}

	cpu0 := processCPU()
	h0, _ := nodes[0].Client().Status(ctx)
	start := time.Now()
	b.StartTimer()
	tick := time.NewTicker(10 * time.Millisecond)
	perTick := max(rate/100, 1)
	for i := 0; i < n; i += perTick {
		<-tick.C
		for j := i; j < min(i+perTick, n); j++ {
			_, _ = nodes[j%4].Client().BroadcastTxAsync(ctx, txs[j])
		}
	}
	tick.Stop()
	// Until every transfer is committed (or 60 s more), and the observer
	// has indexed the last block.
	var last int64
	committed := 0
	deadline := time.Now().Add(60 * time.Second)
	for h := h0.SyncInfo.LatestBlockHeight + 1; time.Now().Before(deadline) && committed < n; {
		st, err := nodes[0].Client().Status(ctx)
		if err != nil || st.SyncInfo.LatestBlockHeight < h {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		blk, err := nodes[0].Client().Block(ctx, &h)
		if err != nil {
			b.Fatal(err)
		}
		for _, raw := range blk.Block.Txs {
			if _, err := wire.DecodeTx(raw); err == nil {
				committed++ // a transfer, not a transaction the app made (a QC)
			}
		}
		last = h
		h++
	}
	elapsed := time.Since(start)
	if observers > 0 {
		if err := nodes[4].Regulator.WaitForHeight(ctx, last); err != nil {
			b.Fatal(err)
		}
		time.Sleep(time.Second) // the last alerts on the stream
	}
	b.StopTimer()
	cpu := processCPU() - cpu0
	stopWatch()
	wg.Wait()

	r := keepUp{committedPerSec: float64(committed) / elapsed.Seconds(), cpuPerTx: float64(cpu.Microseconds()) / float64(max(committed, 1))}
	if observers > 0 {
		slices.Sort(lags)
		if len(lags) > 0 {
			r.lagMax, r.lagP99 = lags[len(lags)-1], lags[len(lags)*99/100]
		}
		for i, at := range alertsAt {
			if c, ok := seen[alertH[i]]; ok && alertH[i] > h0.SyncInfo.LatestBlockHeight {
				delays = append(delays, at.Sub(c))
			}
		}
		slices.Sort(delays)
		r.alerts = len(delays)
		if len(delays) == 0 {
			b.Fatal("no alert arrived")
		}
		r.alertP50, r.alertP99 = delays[len(delays)/2], delays[len(delays)*99/100]
	}
	b.Logf("%d observer(s): %d of %d transfers committed in %s (%.0f tx/s), cpu %.0f µs/tx; lag max %.0f p99 %.0f blocks; %d alerts, delay p50 %s p99 %s",
		observers, committed, n, elapsed.Round(time.Millisecond), r.committedPerSec, r.cpuPerTx, r.lagMax, r.lagP99, r.alerts, r.alertP50, r.alertP99)
	if committed < n {
		b.Logf("warning: %d transfers not committed", n-committed)
	}
	return r
}

// processCPU is the process's user and system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(fmt.Sprintf("getrusage: %v", err))
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
