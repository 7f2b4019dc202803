package main

import (
	"math"
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
