package bench

import (
	"math"
	"slices"
	"sort"
	"time"
)

// blockSample is one committed block as the load generator saw it.
type blockSample struct {
	Height  int64
	Seen    time.Time // when the generator first found the block committed
	LoadTxs int       // load transactions in the block that succeeded
}

// throughput counts committed load transactions per second over the window
// from the first to the last block that holds load transactions. The first
// block's transactions accumulated before the window opened, so they are
// left out of the count; with fewer than two such blocks there is no window
// and the rate is 0.
func throughput(blocks []blockSample) (txs int, window time.Duration, perSecond float64) {
	first, last := -1, -1
	for i, b := range blocks {
		if b.LoadTxs == 0 {
			continue
		}
		if first < 0 {
			first = i
		}
		last = i
	}
	if first < 0 || first == last {
		return 0, 0, 0
	}
	for _, b := range blocks[first+1 : last+1] {
		txs += b.LoadTxs
	}
	window = blocks[last].Seen.Sub(blocks[first].Seen)
	if window <= 0 {
		return txs, window, 0
	}
	return txs, window, float64(txs) / window.Seconds()
}

// sustained counts every committed load transaction per second from the
// load's start to the later of the last block holding load and the end of
// the offering (loadEnd): what a client offering the load from start saw get
// through, including the wait for the first block, and a chain that halts
// while load is still offered does not shorten its own span. throughput's
// window opens only at the first block with load and closes at the last, so
// it flatters a stalled run. With no load committed the rate is 0.
func sustained(blocks []blockSample, start, loadEnd time.Time) (txs int, span time.Duration, perSecond float64) {
	last := loadEnd
	for _, b := range blocks {
		if b.LoadTxs > 0 {
			txs += b.LoadTxs
			if b.Seen.After(last) {
				last = b.Seen
			}
		}
	}
	if txs == 0 {
		return 0, 0, 0
	}
	span = last.Sub(start)
	if span <= 0 {
		return txs, span, 0
	}
	return txs, span, float64(txs) / span.Seconds()
}

// longestStall is the longest time, from the load's start, during which no
// block holding load was committed: the gaps between start and each such
// block, and from the last one to the end of the offering (loadEnd) when
// that is later. The drain after the load is left out: a few transactions
// that never commit would make its end a stall of --drain.
func longestStall(blocks []blockSample, start, loadEnd time.Time) time.Duration {
	var longest time.Duration
	prev := start
	for _, b := range blocks {
		if b.LoadTxs == 0 || b.Seen.Before(start) {
			continue
		}
		longest = max(longest, b.Seen.Sub(prev))
		prev = b.Seen
	}
	return max(longest, loadEnd.Sub(prev))
}

// percentile returns the nearest-rank p-th percentile (0 < p ≤ 100) of
// sorted, which must be in ascending order; 0 when sorted is empty.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// latencyStats sorts latencies in place and returns p50, p99 and the maximum.
func latencyStats(latencies []time.Duration) (p50, p99, maxLat time.Duration) {
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	if len(latencies) == 0 {
		return 0, 0, 0
	}
	return percentile(latencies, 50), percentile(latencies, 99), latencies[len(latencies)-1]
}

// median returns the median of xs (the mean of the middle two for an even
// count); 0 when xs is empty. xs is not modified.
func median(xs []float64) float64 {
	n := len(xs)
	if n == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// medianResult summarises rounds of one app: every figure is the median of
// that figure over the rounds (so the row need not be any one round's).
func medianResult(rounds []*Result) *Result {
	pick := func(f func(*Result) float64) float64 {
		xs := make([]float64, len(rounds))
		for i, r := range rounds {
			xs[i] = f(r)
		}
		return median(xs)
	}
	r0 := rounds[0]
	m := &Result{
		App: r0.App, Validators: r0.Validators, TimeoutCommit: r0.TimeoutCommit, TxBytes: r0.TxBytes, TargetRate: r0.TargetRate, TxIndex: r0.TxIndex,
		OfferedRate:      pick(func(r *Result) float64 { return r.OfferedRate }),
		TPS:              pick(func(r *Result) float64 { return r.TPS }),
		WindowTPS:        pick(func(r *Result) float64 { return r.WindowTPS }),
		FromStartSeconds: pick(func(r *Result) float64 { return r.FromStartSeconds }),
		MaxStallMs:       pick(func(r *Result) float64 { return r.MaxStallMs }),
		LateHeights:      int(pick(func(r *Result) float64 { return float64(r.LateHeights) })),
		MaxRound:         int(pick(func(r *Result) float64 { return float64(r.MaxRound) })),
		P50ms:            pick(func(r *Result) float64 { return r.P50ms }),
		P99ms:            pick(func(r *Result) float64 { return r.P99ms }),
		MaxMs:            pick(func(r *Result) float64 { return r.MaxMs }),
		NodeCPUPerTxUs:   pick(func(r *Result) float64 { return r.NodeCPUPerTxUs }),
		NodeCPUSeconds:   pick(func(r *Result) float64 { return r.NodeCPUSeconds }),
		BenchCPUSeconds:  pick(func(r *Result) float64 { return r.BenchCPUSeconds }),
		LoadSeconds:      pick(func(r *Result) float64 { return r.LoadSeconds }),
		WindowSeconds:    pick(func(r *Result) float64 { return r.WindowSeconds }),
		Sent:             int(pick(func(r *Result) float64 { return float64(r.Sent) })),
		Rejected:         int(pick(func(r *Result) float64 { return float64(r.Rejected) })),
		Included:         int(pick(func(r *Result) float64 { return float64(r.Included) })),
		Failed:           int(pick(func(r *Result) float64 { return float64(r.Failed) })),
		Pending:          int(pick(func(r *Result) float64 { return float64(r.Pending) })),
		Committed:        int(pick(func(r *Result) float64 { return float64(r.Committed) })),
		Blocks:           int(pick(func(r *Result) float64 { return float64(r.Blocks) })),
		MaxBlockTxs:      int(pick(func(r *Result) float64 { return float64(r.MaxBlockTxs) })),
		WarmupSeconds:    r0.WarmupSeconds,
		LedgerEnv:        r0.LedgerEnv,
		Certs:            r0.Certs,
		CertRefs:         r0.CertRefs,
		Runs:             rounds,
	}
	// The CPU parts, where every round has them: each part's median.
	if slices.ContainsFunc(rounds, func(r *Result) bool { return len(r.CPUParts) != len(r0.CPUParts) }) {
		return m
	}
	for i := range r0.CPUParts {
		m.CPUParts = append(m.CPUParts, CPUPart{
			Part:  r0.CPUParts[i].Part,
			Share: pick(func(r *Result) float64 { return r.CPUParts[i].Share }),
			Us:    pick(func(r *Result) float64 { return r.CPUParts[i].Us }),
		})
	}
	return m
}
