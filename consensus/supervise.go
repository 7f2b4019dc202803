package consensus

import (
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/cometbft/cometbft/p2p"
)

// DefaultSuperviseInterval is how often a node's supervisor runs: how soon
// a lost persistent peer is dialled again once it can be reached.
const DefaultSuperviseInterval = 5 * time.Second

// supervise runs until Stop. Each round it starts the halt watch once
// consensus runs, dials every persistent peer that is not connected, and
// watches whether the node has fallen behind its peers (watchBehind).
//
// CometBFT redials a lost persistent peer 20 times about 5 s apart, then
// after waits of 3^1 … 3^10 s, then never again; persistent_peers_max_dial_period
// caps those waits only in the PEX reactor, which a fixed consortium turns
// off (pex = false). A node cut off for more than a few minutes therefore
// stayed cut off for hours after the network healed (issue 18: 30 minutes
// after a 28-minute partition). The supervisor makes the redial period
// DefaultSuperviseInterval, whatever the partition's length.
func (n *Node) supervise(every time.Duration, peers []*p2p.NetAddress, logger *slog.Logger) {
	defer n.supervisor.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	r := &redialer{n: n, peers: peers, logger: logger, lost: map[p2p.ID]bool{}, dialing: map[p2p.ID]bool{}}
	for {
		n.halt.watch(n)
		n.observeClock(logger)
		select {
		case <-n.quit:
			r.wg.Wait()
			return
		case <-t.C:
		}
		n.watchDisk()
		// CometBFT dials the persistent peers itself at start; from the
		// first tick on, a peer still missing is redialled.
		r.round()
		n.watchBehind(logger)
	}
}

// watchDisk stops the node, as a halt, when its disk has less than
// minFreeDisk free: before the disk fills up, while a clean stop can still
// write the ledger's memtables out.
func (n *Node) watchDisk() {
	err := CheckDisk(n.home, n.minFreeDisk)
	if !errors.Is(err, ErrDiskLow) {
		return
	}
	n.halt.fire(&HaltError{Height: n.node.BlockStore().Height(), Cause: err.Error(),
		Fix: "the node stopped before its disk was full"})
}

// redialer keeps the persistent peers connected.
type redialer struct {
	n      *Node
	peers  []*p2p.NetAddress
	logger *slog.Logger
	wg     sync.WaitGroup

	mu      sync.Mutex
	lost    map[p2p.ID]bool // logged as lost, not yet as back
	dialing map[p2p.ID]bool // at most one dial per peer at a time
}

func (r *redialer) round() {
	sw := r.n.node.Switch()
	if sw == nil || !sw.IsRunning() {
		return
	}
	for _, a := range r.peers {
		connected := sw.Peers().Has(a.ID)
		r.mu.Lock()
		wasLost, busy := r.lost[a.ID], r.dialing[a.ID]
		switch {
		case connected && wasLost:
			delete(r.lost, a.ID)
			r.logger.Info("p2p: persistent peer connected again", "peer", a.String())
		case !connected && !wasLost:
			r.lost[a.ID] = true
			r.logger.Warn("p2p: persistent peer not connected; dialing it until it is", "peer", a.String())
		}
		if connected || busy {
			r.mu.Unlock()
			continue
		}
		r.dialing[a.ID] = true
		r.mu.Unlock()
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			// Failures are the normal state of a cut-off peer and were
			// logged once above; the next round tries again.
			_ = sw.DialPeerWithAddress(a)
			r.mu.Lock()
			delete(r.dialing, a.ID)
			r.mu.Unlock()
		}()
	}
}

// redialPeers parses the peers the supervisor keeps connected, leaving out
// the node itself; unparsable entries were already refused by CometBFT's
// own start.
func redialPeers(list []string, self p2p.ID) []*p2p.NetAddress {
	var out []*p2p.NetAddress
	for _, s := range list {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		a, err := p2p.NewNetAddressString(s)
		if err != nil || a.ID == self {
			continue
		}
		out = append(out, a)
	}
	return out
}
