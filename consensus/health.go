package consensus

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/cometbft/cometbft/libs/log"
)

// consensusFailureMsg is what CometBFT's consensus state machine logs when
// it recovers a panic (consensus/state.go receiveRoutine). It then stops
// its receive routine for good but leaves the service marked running: the
// process, RPC and mempool stay up at a frozen height.
const consensusFailureMsg = "CONSENSUS FAILURE!!!"

// ErrConsensusHalted is wrapped by every HaltError.
var ErrConsensusHalted = errors.New("consensus halted")

// HaltError says that a node's consensus state machine has stopped while
// the node runs: why, and what the operator should do.
type HaltError struct {
	Height int64  // the last committed height
	Cause  string // CometBFT's CONSENSUS FAILURE error, if it logged one
	Fix    string
	// Behind: the node fell behind its peers (ErrFallenBehind); its
	// consensus did not fail, and a restart catches up by block sync.
	Behind bool
}

func (e *HaltError) Error() string {
	cause := e.Cause
	if cause == "" {
		cause = "the consensus state machine stopped"
	}
	return fmt.Sprintf("consensus halted after height %d: %s; %s", e.Height, cause, e.Fix)
}

func (e *HaltError) Unwrap() []error {
	if e.Behind {
		return []error{ErrConsensusHalted, ErrFallenBehind}
	}
	return []error{ErrConsensusHalted}
}

// haltFix names what to do for the causes seen in the fault campaign.
func haltFix(cause, home string) string {
	switch {
	case strings.Contains(cause, "no space left on device"):
		return fmt.Sprintf("the disk of %s is full: free space and start the node again (nothing committed is lost; it catches up from its peers)", home)
	case strings.Contains(cause, "too far in the future"):
		return "this machine's clock is behind the other validators' by more than consensus.block_time_tolerance: synchronise it (NTP, docs/operations.md) and start the node again"
	case strings.Contains(cause, "wrong Block.Header.AppHash"), strings.Contains(cause, "AppHash"):
		return "this node's state differs from the network's: stop it, keep its data directory for investigation, and restore it from a backup or state sync"
	default:
		return "see the CONSENSUS FAILURE line in the log; start the node again, and if it halts again keep its data directory for investigation"
	}
}

// haltWatch turns the end of CometBFT's consensus receive routine, while
// the node is not stopping, into a HaltError.
type haltWatch struct {
	mu       sync.Mutex
	cause    string // the last CONSENSUS FAILURE error logged
	watching bool
	err      *HaltError
	halted   chan struct{}
}

func newHaltWatch() *haltWatch { return &haltWatch{halted: make(chan struct{})} }

func (w *haltWatch) recordFailure(cause string) {
	w.mu.Lock()
	w.cause = cause
	w.mu.Unlock()
}

// watch starts waiting on the consensus state once its receive routine
// runs: after block sync has switched to consensus, and only while the
// service is running, so that Wait returns when the node stops (no
// goroutine outlives a node stopped during block sync).
func (w *haltWatch) watch(n *Node) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.watching {
		return
	}
	r, st := n.node.ConsensusReactor(), n.consensusState
	if r == nil || st == nil || r.WaitSync() || !st.IsRunning() {
		return
	}
	w.watching = true
	go func() {
		st.Wait()
		if n.state.Load() != nodeRunning {
			return // a Stop
		}
		w.mu.Lock()
		cause := w.cause
		w.mu.Unlock()
		w.fire(&HaltError{Height: n.node.BlockStore().Height(), Cause: cause, Fix: haltFix(cause, n.home)})
	}()
}

// fire records why the node halted and closes halted, once: the first
// cause wins.
func (w *haltWatch) fire(e *HaltError) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return
	}
	w.err = e
	close(w.halted)
}

func (w *haltWatch) haltErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		return nil
	}
	return w.err
}

// failureLogger passes everything on and records CometBFT's CONSENSUS
// FAILURE error for the HaltError.
type failureLogger struct {
	log.Logger
	w *haltWatch
}

func (l failureLogger) Error(msg string, keyvals ...any) {
	if msg == consensusFailureMsg {
		for i := 0; i+1 < len(keyvals); i += 2 {
			if keyvals[i] == "err" {
				l.w.recordFailure(fmt.Sprint(keyvals[i+1]))
			}
		}
	}
	l.Logger.Error(msg, keyvals...)
}

func (l failureLogger) With(keyvals ...any) log.Logger {
	return failureLogger{Logger: l.Logger.With(keyvals...), w: l.w}
}

// Halted is closed when the node's consensus has stopped while the node
// runs (HaltErr says why). `jinlian start` then exits.
func (n *Node) Halted() <-chan struct{} { return n.halt.halted }

// HaltErr is a *HaltError once consensus has halted, else nil.
func (n *Node) HaltErr() error { return n.halt.haltErr() }

// DefaultMaxBlockAge is the block age past which Health calls a node that
// is not catching up stalled, unless the config implies longer gaps.
const DefaultMaxBlockAge = time.Minute

// MaxBlockAge is how old the latest block may get before Health reports
// the node stalled: DefaultMaxBlockAge, or 10 × the time a round takes
// when that is longer. Zero (no limit) when the node makes no empty
// blocks, since an idle chain then legitimately has old blocks.
func (n *Node) MaxBlockAge() time.Duration {
	c := n.config.Consensus
	if !c.CreateEmptyBlocks {
		return 0
	}
	return max(DefaultMaxBlockAge, 10*(c.TimeoutPropose+c.TimeoutCommit+c.CreateEmptyBlocksInterval))
}

// ErrStalled is wrapped by Health when the latest block is too old.
var ErrStalled = errors.New("no new block")

// Health is nil for a node whose consensus runs and whose latest block is
// recent (or that is still catching up); else it says what is wrong: a
// HaltError, or ErrStalled with the block's height and age (the network
// lost its quorum, or this node is cut off from it).
func (n *Node) Health() error {
	if err := n.HaltErr(); err != nil {
		return err
	}
	if err := n.clock.err(); err != nil {
		return err
	}
	maxAge := n.MaxBlockAge()
	if maxAge == 0 || n.node.ConsensusReactor() == nil || n.node.ConsensusReactor().WaitSync() {
		return nil // no limit, or catching up
	}
	h := n.node.BlockStore().Height()
	meta := n.node.BlockStore().LoadBlockMeta(h)
	if meta == nil {
		return nil // no block yet
	}
	if age := time.Since(meta.Header.Time); age > maxAge {
		return fmt.Errorf("%w for %s (latest height %d at %s, limit %s): the network may have lost its quorum or this node is cut off from its peers",
			ErrStalled, age.Round(time.Second), h, meta.Header.Time.UTC().Format(time.RFC3339), maxAge)
	}
	return nil
}
