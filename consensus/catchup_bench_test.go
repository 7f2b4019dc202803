package consensus

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkConsensusCatchUp measures how fast a validator that was cut off
// while in consensus (not block sync, which it left long ago) catches up
// once the partition heals: the case of issue 18's 30-minute partition.
// CometBFT moves such a node one height per gossip exchange, and a peer
// with nothing new to send it sleeps peer_gossip_sleep_duration before
// looking again, so that setting bounds the rate. It reports blocks/min
// with CometBFT's default (100ms) and with jinlian's (DefaultConfig).
//
//	go test ./consensus -run '^$' -bench ConsensusCatchUp -benchtime 1x
func BenchmarkConsensusCatchUp(b *testing.B) {
	ours := DefaultConfig(b.TempDir(), "").Consensus.PeerGossipSleepDuration
	for _, sleep := range []time.Duration{100 * time.Millisecond, ours} {
		b.Run(fmt.Sprintf("gossip_sleep=%s", sleep), func(b *testing.B) {
			for range b.N {
				b.ReportMetric(catchUpRate(b, sleep, 300), "blocks/min")
			}
		})
		if ours == 100*time.Millisecond {
			return
		}
	}
}

// catchUpRate runs four validators at a 20ms timeout_commit, cuts one off
// until the other three are behind heights ahead, heals, and returns the
// cut-off node's catch-up rate in blocks per minute, counted from the
// moment it has a peer again.
func catchUpRate(b *testing.B, gossipSleep time.Duration, behind int64) float64 {
	p := startPartitionable(b, 20*time.Millisecond, gossipSleep, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	b.StopTimer()
	frozen := p.cutFor(ctx, behind)
	p.poll(ctx, "a peer", func() bool { return p.sw.Peers().Size() > 0 })
	b.StartTimer()
	start := time.Now()
	target := height(b, p.nodes[0])
	if err := WaitForHeight(ctx, p.cutOff.Client(), target); err != nil {
		b.Fatal(err)
	}
	took := time.Since(start)
	b.Logf("caught up %d heights in %s", target-frozen, took.Round(time.Millisecond))
	return float64(target-frozen) / took.Minutes()
}
