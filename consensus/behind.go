package consensus

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"

	cs "github.com/cometbft/cometbft/consensus"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/types"
)

// behindRounds is how many supervisor rounds in a row the peers must report
// the node behind: one round could be a peer state not yet updated.
const behindRounds = 2

// ErrFallenBehind is wrapped by the HaltError of a node that fell
// NodeOptions.BlockSyncGap heights behind its peers while following
// consensus. Its consensus did not fail: it is to be started again, which
// catches up by block sync (CometBFT v0.38 never returns to block sync
// once it follows consensus).
var ErrFallenBehind = errors.New("fallen behind the network")

// behindWatch counts the supervisor rounds in a row in which at least two
// peers (the only one, with one peer) were gap or more heights ahead.
type behindWatch struct {
	gap     int64
	strikes int
}

// peerHeights is the last committed height each connected peer's
// consensus reports (its consensus height minus one), highest first.
func peerHeights(sw *p2p.Switch) []int64 {
	var hs []int64
	for _, p := range sw.Peers().List() {
		if ps, ok := p.Get(types.PeerStateKey).(*cs.PeerState); ok {
			hs = append(hs, ps.GetHeight()-1)
		}
	}
	slices.Sort(hs)
	slices.Reverse(hs)
	return hs
}

// behind reports how far the node at height own is behind peers, as the
// gap to the second-highest peer (the highest if there is only one): one
// peer alone, which could be faulty, cannot make a node restart.
func behind(own int64, peers []int64) int64 {
	switch len(peers) {
	case 0:
		return 0
	case 1:
		return peers[0] - own
	default:
		return peers[1] - own
	}
}

// watchBehind fires a HaltError wrapping ErrFallenBehind once the node,
// following consensus, has been at least gap heights behind its peers for
// behindRounds rounds.
func (n *Node) watchBehind(logger *slog.Logger) {
	w := &n.behind
	if w.gap <= 0 {
		return
	}
	r, sw := n.node.ConsensusReactor(), n.node.Switch()
	if r == nil || sw == nil || r.WaitSync() || !sw.IsRunning() {
		w.strikes = 0
		return
	}
	own := n.node.BlockStore().Height()
	peers := peerHeights(sw)
	by := behind(own, peers)
	if by < w.gap {
		w.strikes = 0
		return
	}
	if w.strikes++; w.strikes < behindRounds {
		return
	}
	logger.Warn("consensus: fallen behind the network; restarting into block sync", "height", own, "behind", by, "peer_heights", fmt.Sprint(peers))
	n.halt.fire(&HaltError{Height: own, Behind: true,
		Cause: fmt.Sprintf("%d heights behind its peers while following consensus (block_sync_gap %d)", by, w.gap),
		Fix:   "start the node again: it catches up by block sync (jinlian start does this by itself)"})
}
