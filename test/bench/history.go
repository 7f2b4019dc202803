package bench

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jinlian-ledger/jinlian/wire"
)

// History is what the history phase committed before the measured load.
type History struct {
	Transfers int64   `json:"transfers"`
	Seconds   float64 `json:"seconds"`
	// Steps are the phase's progress, one per historyStep transfers.
	Steps []HistoryStep `json:"steps"`
}

// HistoryStep is the state of the network when Committed history
// transfers were committed: TPS is the rate of the step that ended there.
type HistoryStep struct {
	Committed int64   `json:"committed"`
	TPS       float64 `json:"committed_tps"`
	RSSBytes  int64   `json:"node_rss_bytes"`
	DiskBytes int64   `json:"disk_bytes_per_node"`
}

const (
	// historyStep is how many committed history transfers a progress
	// line (a HistoryStep) covers, at most a tenth of the history.
	historyStep = 1_000_000
	// historyChunk transfers are signed at once, just before they are
	// sent (the tx time window refuses old signatures).
	historyChunk = 4096
	// historySample: every historySample-th block of the history has its
	// results read, and a failed transfer stops the phase.
	historySample = 50
)

// history commits n transfers (load.transfer from index o.Count on, so
// none equals a load transaction) before the measured load: signed chunk
// by chunk, offered with broadcast_tx_sync round-robin, and at most
// three-quarters of a mempool ahead of the commits, so that the nodes
// refuse none for a full mempool. It prints a line every step.
func history(ctx context.Context, log io.Writer, hc *http.Client, rpcs []string, o *Options, load *txLoad, pid int, dir string) (*History, error) {
	n := o.History
	if load.transfer == nil {
		return nil, errors.New("--history is built of transfers: it needs the transfer workload")
	}
	start, err := latestHeight(ctx, hc, rpcs[0])
	if err != nil {
		return nil, err
	}
	window := int64(o.MempoolSize)
	if window == 0 {
		window = 4000
	}
	window = window * 3 / 4 * int64(len(rpcs))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var committed atomic.Int64
	var followErr error
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		followErr = followCommits(ctx, hc, rpcs[0], start+1, &committed)
		if followErr != nil {
			cancel()
		}
	}()

	step := min(int64(historyStep), max(n/10, 1))
	h := &History{Transfers: n}
	t0 := time.Now()
	stepStart, stepFrom := t0, int64(0)
	report := func(c int64) {
		now := time.Now()
		s := HistoryStep{Committed: c, TPS: float64(c-stepFrom) / now.Sub(stepStart).Seconds()}
		s.RSSBytes, _, _ = processRSS(pid)
		if d, err := diskUsage(dir); err == nil {
			s.DiskBytes = d / int64(o.Validators)
		}
		h.Steps = append(h.Steps, s)
		fmt.Fprintf(log, "bench history: %d transfers committed in %s; the last %d at %.0f tx/s; node RSS %.2f GB, disk %.2f GB per node\n",
			c, now.Sub(t0).Round(time.Second), c-stepFrom, s.TPS, float64(s.RSSBytes)/1e9, float64(s.DiskBytes)/1e9)
		stepStart, stepFrom = now, c
	}

	jobs := make(chan []string, 2*o.Workers)
	var sendErr error
	var once sync.Once
	var wg sync.WaitGroup
	for w := 0; w < o.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range jobs {
				if err := offerHistory(ctx, hc, rpcs[w%len(rpcs)], batch); err != nil {
					once.Do(func() { sendErr = err; cancel() })
					return
				}
			}
		}()
	}
	// handed counts the transfers handed to the senders: at most window
	// of them are ahead of the commits.
	var handed int64
	progress := func() {
		for c := committed.Load(); c >= stepFrom+step; c = committed.Load() {
			report(stepFrom + step)
		}
	}
	wait := func(k int64) {
		for progress(); handed+k-committed.Load() > window && ctx.Err() == nil; progress() {
			time.Sleep(5 * time.Millisecond)
		}
	}
	for next := int64(0); next < n && ctx.Err() == nil; {
		txs := make([][]byte, min(int64(historyChunk), n-next))
		now := time.Now()
		if err := parallel(len(txs), func(i int) (err error) {
			txs[i], err = load.transfer(o.Count+int(next)+i, now)
			return err
		}); err != nil {
			cancel()
			return nil, err
		}
		next += int64(len(txs))
		for lo := 0; lo < len(txs) && ctx.Err() == nil; lo += o.Batch {
			batch := make([]string, 0, o.Batch)
			for _, tx := range txs[lo:min(lo+o.Batch, len(txs))] {
				batch = append(batch, base64.StdEncoding.EncodeToString(tx))
			}
			wait(int64(len(batch)))
			select {
			case jobs <- batch:
				handed += int64(len(batch))
			case <-ctx.Done():
			}
		}
	}
	close(jobs)
	wg.Wait()
	for err := error(nil); err == nil && sendErr == nil && committed.Load() < n; err = ctx.Err() {
		time.Sleep(20 * time.Millisecond)
		progress()
	}
	cancel()
	<-followed
	if sendErr != nil {
		return nil, fmt.Errorf("history: %w", sendErr)
	}
	if c := committed.Load(); c < n {
		return nil, fmt.Errorf("history: %d of %d transfers committed: %w", c, n, errors.Join(followErr, ctx.Err()))
	}
	if c := committed.Load(); c > stepFrom {
		report(c)
	}
	h.Seconds = time.Since(t0).Seconds()
	return h, nil
}

// offerHistory offers one batch (base64) with broadcast_tx_sync and
// offers again, after a pause, what a full mempool refused.
func offerHistory(ctx context.Context, hc *http.Client, rpc string, batch []string) error {
	for len(batch) > 0 {
		full, err := broadcastSync(ctx, hc, rpc, batch)
		if err != nil {
			return err
		}
		if len(full) == 0 {
			return nil
		}
		again := make([]string, len(full))
		for i, at := range full {
			again[i] = batch[at]
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		batch = again
	}
	return nil
}

// followCommits adds to committed the transactions of every block of node
// rpc from height h on, until ctx ends, leaving out the QC transaction a
// proposer puts first, and reads every historySample-th block's results: a
// failed transaction there is an error.
func followCommits(ctx context.Context, hc *http.Client, rpc string, h int64, committed *atomic.Int64) error {
	for ctx.Err() == nil {
		var b rpcBlock
		if err := getJSON(ctx, hc, fmt.Sprintf("%s/block?height=%d", rpc, h), &b); err != nil || b.Error != nil {
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
			continue
		}
		n := 0
		for _, tx := range b.Result.Block.Data.Txs {
			if !wire.IsQCTx(tx) {
				n++
			}
		}
		committed.Add(int64(n))
		if h%historySample == 0 && n > 0 {
			if err := checkBlockResults(ctx, hc, rpc, h); err != nil {
				return err
			}
		}
		h++
	}
	return nil
}

// checkBlockResults returns an error naming the first failed transaction
// of block height.
func checkBlockResults(ctx context.Context, hc *http.Client, rpc string, height int64) error {
	var res struct {
		Result struct {
			TxsResults []struct {
				Code uint32 `json:"code"`
				Log  string `json:"log"`
			} `json:"txs_results"`
		} `json:"result"`
	}
	if err := getJSON(ctx, hc, fmt.Sprintf("%s/block_results?height=%d", rpc, height), &res); err != nil {
		return fmt.Errorf("block_results %d: %w", height, err)
	}
	for i, r := range res.Result.TxsResults {
		if r.Code != 0 {
			return fmt.Errorf("history transfer %d of block %d failed: code %d: %s", i, height, r.Code, r.Log)
		}
	}
	return nil
}
