package bench

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jinlian-ledger/jinlian/internal/diskuse"
	"github.com/jinlian-ledger/jinlian/wire"
)

// History is what the history phase committed before the measured load.
type History struct {
	Transfers int64   `json:"transfers"`
	Seconds   float64 `json:"seconds"`
	// Lost counts the transfers CheckTx accepted that no block included
	// by the end of the phase (the mempools empty); LostIDs names a few.
	Lost    int64    `json:"lost,omitempty"`
	LostIDs []string `json:"lost_ids,omitempty"`
	// Steps are the phase's progress, one per historyStep transfers.
	Steps []HistoryStep `json:"steps"`
}

// HistoryStep is the state of the network when Committed history
// transfers were committed: TPS is the rate of the step that ended there.
type HistoryStep struct {
	Committed int64   `json:"committed"`
	TPS       float64 `json:"committed_tps"`
	RSSBytes  int64   `json:"node_rss_bytes"`
	AnonBytes int64   `json:"node_anon_rss_bytes"`
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
	// historyStall: a phase that commits nothing for this long while
	// its transfers wait in the mempools stops with an error.
	historyStall = 2 * time.Minute
	// historyQuiet: once everything is offered, a phase ends when nothing
	// was committed for this long and the mempools are empty.
	historyQuiet = 10 * time.Second
)

// inFlight is the history's transfers offered and not yet seen in a
// block, by hash: the follower takes out what it finds.
type inFlight struct {
	mu        sync.Mutex
	txs       map[[32]byte][]byte
	committed atomic.Int64
}

func (f *inFlight) add(tx []byte) {
	f.mu.Lock()
	f.txs[sha256.Sum256(tx)] = tx
	f.mu.Unlock()
}

// take removes the block's transfers that are in flight and counts them.
func (f *inFlight) take(block [][]byte) int {
	n := 0
	f.mu.Lock()
	for _, tx := range block {
		k := sha256.Sum256(tx)
		if _, ok := f.txs[k]; ok {
			delete(f.txs, k)
			n++
		}
	}
	f.mu.Unlock()
	f.committed.Add(int64(n))
	return n
}

// lost returns how many are still in flight and the ids of up to three.
func (f *inFlight) lost() (int64, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for _, raw := range f.txs {
		if len(ids) == 3 {
			break
		}
		if tx, err := wire.DecodeTx(raw); err == nil {
			ids = append(ids, tx.ID)
		}
	}
	slices.Sort(ids)
	return int64(len(f.txs)), ids
}

// history commits n transfers (load.transfer from index len(load.txs) on, so
// none equals a load transaction) before the measured load: signed chunk
// by chunk, offered with broadcast_tx_sync round-robin, and at most
// three-quarters of a mempool ahead of the commits, so that the nodes
// refuse none for a full mempool. It prints a line every step. The phase
// ends when every transfer was committed, or, everything offered, when
// nothing was committed for historyQuiet and the mempools are empty: the
// transfers CheckTx accepted and no block included are then Lost.
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
	// Three-quarters of one mempool, whatever the nodes: the mempools
	// gossip, so each holds what every node was sent.
	window = window * 3 / 4

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	flight := &inFlight{txs: map[[32]byte][]byte{}}
	var followErr error
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		followErr = followCommits(ctx, hc, rpcs[0], start+1, flight)
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
		s.RSSBytes, _, s.AnonBytes, _ = processRSS(pid)
		if d, err := diskuse.Of(dir); err == nil {
			s.DiskBytes = d / int64(o.Validators)
		}
		h.Steps = append(h.Steps, s)
		fmt.Fprintf(log, "bench history: %d transfers committed in %s; the last %d at %.0f tx/s; node RSS %.2f GB (%.2f GB anonymous), disk %.2f GB per node\n",
			c, now.Sub(t0).Round(time.Second), c-stepFrom, s.TPS, float64(s.RSSBytes)/1e9, float64(s.AnonBytes)/1e9, float64(s.DiskBytes)/1e9)
		stepStart, stepFrom = now, c
	}

	jobs := make(chan [][]byte, 2*o.Workers)
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
	// of them are ahead of the commits. progress reports the steps
	// passed, and stops the phase when nothing was committed for
	// historyStall while transfers were in flight.
	var handed int64
	var stallErr error
	seen, seenAt := int64(0), time.Now()
	progress := func() {
		c := flight.committed.Load()
		for ; c >= stepFrom+step; c = flight.committed.Load() {
			report(stepFrom + step)
		}
		switch {
		case c != seen:
			seen, seenAt = c, time.Now()
		case handed > c && time.Since(seenAt) > historyStall && stallErr == nil:
			stallErr = fmt.Errorf("nothing committed for %s with %d transfers in flight", historyStall, handed-c)
			cancel()
		}
	}
	wait := func(k int64) {
		for progress(); handed+k-flight.committed.Load() > window && ctx.Err() == nil; progress() {
			time.Sleep(5 * time.Millisecond)
		}
	}
	for next := int64(0); next < n && ctx.Err() == nil; {
		txs := make([][]byte, min(int64(historyChunk), n-next))
		now := time.Now()
		if err := parallel(len(txs), func(i int) (err error) {
			txs[i], err = load.transfer(len(load.txs)+int(next)+i, now)
			return err
		}); err != nil {
			cancel()
			return nil, err
		}
		next += int64(len(txs))
		for lo := 0; lo < len(txs) && ctx.Err() == nil; lo += o.Batch {
			batch := txs[lo:min(lo+o.Batch, len(txs))]
			wait(int64(len(batch)))
			for _, tx := range batch {
				flight.add(tx)
			}
			select {
			case jobs <- batch:
				handed += int64(len(batch))
			case <-ctx.Done():
			}
		}
	}
	close(jobs)
	wg.Wait()
	for ctx.Err() == nil && flight.committed.Load() < n {
		time.Sleep(20 * time.Millisecond)
		progress()
		if time.Since(seenAt) > historyQuiet && mempoolsEmpty(ctx, hc, rpcs) {
			break
		}
	}
	cancel()
	<-followed
	if err := errors.Join(stallErr, sendErr, followErr); err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	c := flight.committed.Load()
	if c > stepFrom {
		report(c)
	}
	if h.Lost, h.LostIDs = flight.lost(); h.Lost > 0 {
		fmt.Fprintf(log, "bench history: %d of the %d transfers CheckTx accepted were in no block with the mempools empty (%s, ...)\n", h.Lost, n, strings.Join(h.LostIDs, ", "))
	} else if c < n {
		return nil, fmt.Errorf("history: %d of %d transfers committed", c, n)
	}
	h.Seconds = time.Since(t0).Seconds()
	return h, nil
}

// mempoolsEmpty reports whether every node's mempool is empty.
func mempoolsEmpty(ctx context.Context, hc *http.Client, rpcs []string) bool {
	for _, rpc := range rpcs {
		var r struct {
			Result struct {
				Total string `json:"total"`
			} `json:"result"`
		}
		if err := getJSON(ctx, hc, rpc+"/num_unconfirmed_txs", &r); err != nil || r.Result.Total != "0" {
			return false
		}
	}
	return true
}

// offerHistory offers one batch with broadcast_tx_sync and offers again,
// after a pause, what a full mempool refused.
func offerHistory(ctx context.Context, hc *http.Client, rpc string, batch [][]byte) error {
	for len(batch) > 0 {
		full, err := broadcastSync(ctx, hc, rpc, batch)
		if err != nil || len(full) == 0 {
			return err
		}
		again := make([][]byte, len(full))
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

// followCommits takes the history's transfers out of flight as node rpc's
// blocks from height h on include them, until ctx ends, and reads every
// historySample-th block's results: a failed transaction there is an
// error. A block counts once the next one is stored: a node stores a
// block before its mempool lets go of the block's transactions, and a
// count ahead of the mempool lets the window overfill it (CometBFT then
// drops what CheckTx accepted as the mempool filled).
func followCommits(ctx context.Context, hc *http.Client, rpc string, h int64, flight *inFlight) error {
	var prev [][]byte
	for ctx.Err() == nil {
		var b rpcBlock
		if err := getJSON(ctx, hc, fmt.Sprintf("%s/block?height=%d", rpc, h), &b); err != nil || b.Error != nil {
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
			continue
		}
		if flight.take(prev) > 0 && (h-1)%historySample == 0 {
			res, err := blockResults(ctx, hc, rpc, h-1)
			if err != nil && ctx.Err() == nil {
				return err
			}
			for i, r := range res {
				if r.Code != 0 {
					return fmt.Errorf("history transfer %d of block %d failed: code %d: %s", i, h-1, r.Code, r.Log)
				}
			}
		}
		prev = b.Result.Block.Data.Txs
		h++
	}
	return nil
}
