package consensus

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/cometbft/cometbft/types"
)

// MaxClockSkew is how far this machine's clock may be from the chain's
// time (the validators' median vote time in each block header) before the
// node reports it. CometBFT refuses a proposal whose time is more than
// consensus.block_time_tolerance ahead of the receiver's clock, so a
// validator whose clock is far behind stops at a block "too far in the
// future", and one far ahead proposes blocks its peers refuse.
const MaxClockSkew = 30 * time.Second

// ErrClockSkew is wrapped by Health when this machine's clock is off.
var ErrClockSkew = errors.New("clock skew")

// clockWatch estimates this machine's clock error from the commits it sees
// arrive: a commit observed within moments carries the network's time (its
// precommits' median timestamp), so (that time − local time at
// observation) is the skew, minus the observation delay (at most one
// supervisor interval, which the threshold allows for).
type clockWatch struct {
	mu       sync.Mutex
	height   int64         // the height last observed
	skew     time.Duration // block time − local clock, at the last fresh observation
	reported bool          // a skew is logged, not yet its end
}

// observe records the latest block if it is new since the last call and
// fresh, and logs the start and end of a skew.
func (w *clockWatch) observe(height int64, blockTime, now time.Time, catchingUp bool, logger *slog.Logger) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if height <= w.height {
		return
	}
	first := w.height == 0
	w.height = height
	if catchingUp || first {
		return // old blocks say nothing about the clock; the first one may be old too
	}
	w.skew = blockTime.Sub(now)
	switch off := w.off(); {
	case off != nil && !w.reported:
		w.reported = true
		logger.Error("clock: "+off.Error(), "height", height)
	case off == nil && w.reported:
		w.reported = false
		logger.Info("clock: this machine's clock agrees with the chain's time again", "height", height, "skew", w.skew.Round(time.Second).String())
	}
}

// off is the skew as an error, nil when within MaxClockSkew. Called with mu held.
func (w *clockWatch) off() error {
	return skewError(w.skew)
}

func (w *clockWatch) err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.off()
}

// skewError describes a skew of block time − local time, nil when small.
func skewError(skew time.Duration) error {
	switch {
	case skew > MaxClockSkew:
		return fmt.Errorf("%w: this machine's clock is about %s behind the chain's time: synchronise it (NTP, docs/operations.md); a validator this far behind halts at a block \"too far in the future\"",
			ErrClockSkew, skew.Round(time.Second))
	case skew < -MaxClockSkew-DefaultSuperviseInterval:
		return fmt.Errorf("%w: this machine's clock is about %s ahead of the chain's time: synchronise it (NTP, docs/operations.md); a validator this far ahead proposes blocks its peers refuse",
			ErrClockSkew, (-skew).Round(time.Second))
	}
	return nil
}

// checkClockAtStart compares the clock with the last committed block: a
// committed block can never be from the future, so a block time ahead of
// the clock proves the clock behind. (A clock ahead cannot be told from a
// stopped chain until new blocks arrive: the running check finds it.)
func checkClockAtStart(lastBlockTime, now time.Time) error {
	if lastBlockTime.IsZero() {
		return nil
	}
	if skew := lastBlockTime.Sub(now); skew > MaxClockSkew {
		return skewError(skew)
	}
	return nil
}

// observeClock feeds the latest commit to the clock watch. The chain's
// time at a commit is the median time of its precommits (the votes that
// committed the latest block, as this node saw them), not the header's
// time, which is the previous commit's and lags by a whole block interval
// (minutes on an idle chain without empty blocks).
func (n *Node) observeClock(logger *slog.Logger) {
	bs := n.node.BlockStore()
	h := bs.Height()
	c := bs.LoadSeenCommit(h)
	if c == nil {
		return
	}
	var times []time.Time
	for _, s := range c.Signatures {
		if s.BlockIDFlag == types.BlockIDFlagCommit {
			times = append(times, s.Timestamp)
		}
	}
	if len(times) == 0 {
		return
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	r := n.node.ConsensusReactor()
	n.clock.observe(h, times[len(times)/2], time.Now(), r == nil || r.WaitSync(), logger)
}
