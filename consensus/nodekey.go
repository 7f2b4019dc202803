package consensus

import (
	"errors"
	"sync/atomic"

	"github.com/cometbft/cometbft/crypto"
	"github.com/cometbft/cometbft/p2p"
)

// errNodeKeyRetired is what a stopped node's p2p key answers to a request
// to sign.
var errNodeKeyRetired = errors.New("p2p key of a stopped node: it signs no handshake")

// retiringKey is the node's p2p key as CometBFT's transport holds it: it
// signs handshakes until the node stops, then refuses.
//
// CometBFT's Switch.Stop does not end the goroutines that dial peers (the
// start's persistent-peer dials sleep up to 3 s before dialing, the redial
// backoff up to 3^10 s between tries), and a stopped transport still
// completes the handshake. Such a late dial gives the peer a connection
// under this node's ID that the stopped switch never starts, so never
// reads; the peer keeps it until its ping goes unanswered (about 100 s)
// and meanwhile refuses the node started again in the same process (the
// restart into block sync, ErrFallenBehind) as a duplicate, which CometBFT
// redials at once, a thousand times a second. A four-validator restart
// test stalled that way. Retiring the key at Stop makes every such late
// handshake fail before it reaches the peer's switch.
type retiringKey struct {
	crypto.PrivKey
	retired *atomic.Bool
}

func (k retiringKey) Sign(msg []byte) ([]byte, error) {
	if k.retired.Load() {
		return nil, errNodeKeyRetired
	}
	return k.PrivKey.Sign(msg)
}

// loadRetiringNodeKey loads the node key at path, wrapped so that setting
// the returned flag retires it.
func loadRetiringNodeKey(path string) (*p2p.NodeKey, *atomic.Bool, error) {
	key, err := p2p.LoadNodeKey(path)
	if err != nil {
		return nil, nil, err
	}
	retired := new(atomic.Bool)
	return &p2p.NodeKey{PrivKey: retiringKey{PrivKey: key.PrivKey, retired: retired}}, retired, nil
}
