package consensus

import (
	"errors"
	"testing"
	"time"

	"github.com/cometbft/cometbft/abci/example/kvstore"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/p2p"

	"github.com/jinlian-ledger/jinlian/internal/heavytest"
)

func TestRetiringKeySignsUntilRetired(t *testing.T) {
	net := writeTestNetwork(t, 1)
	key, retired, err := loadRetiringNodeKey(net.Nodes[0].Home + "/config/node_key.json")
	if err != nil {
		t.Fatal(err)
	}
	plain, err := p2p.LoadNodeKey(net.Nodes[0].Home + "/config/node_key.json")
	if err != nil {
		t.Fatal(err)
	}
	if key.ID() != plain.ID() {
		t.Fatalf("wrapped key id %s, want %s", key.ID(), plain.ID())
	}
	msg := []byte("challenge")
	sig, err := key.PrivKey.Sign(msg)
	if err != nil || !plain.PubKey().VerifySignature(msg, sig) {
		t.Fatalf("sign before retiring: %v, verifies %v", err, plain.PubKey().VerifySignature(msg, sig))
	}
	retired.Store(true)
	if sig, err := key.PrivKey.Sign(msg); !errors.Is(err, errNodeKeyRetired) || sig != nil {
		t.Fatalf("sign after retiring = %x, %v; want errNodeKeyRetired", sig, err)
	}
}

// TestRestartRightAfterStartKeepsPeer plays the late dial of a stopped
// switch: nodes stopped right after they started still have their start's
// persistent-peer dials asleep (up to 3 s); started again in the same
// process, they must hold each other on one steady connection. Before the
// key was retired at Stop, an old switch's dial reached the new peer under
// the old node's ID; the peer kept that connection, which nobody read, and
// refused the new node's as a duplicate for about 100 s.
func TestRestartRightAfterStartKeepsPeer(t *testing.T) {
	heavytest.Begin(t, "starts and restarts two nodes")
	net := writeTestNetwork(t, 1, 1)
	apps := []abci.Application{kvstore.NewInMemoryApplication(), kvstore.NewInMemoryApplication()}
	for round := range 4 {
		old := startAll(t, net, apps)
		stopAll(t, old) // their start's dials are still asleep
		nodes := startAll(t, net, apps)
		// A first dial sleeps up to 3 s, a redial 5 s: the old dials
		// have all fired, and a steady connection is up, well within 20 s.
		if !steadyPeer(nodes[0], p2p.ID(nodes[1].NodeID()), 5*time.Second, 20*time.Second) {
			t.Fatalf("round %d: no connection between the nodes held 5 s within 20 s", round)
		}
		stopAll(t, nodes)
	}
}

// steadyPeer says whether n holds one connection to id, the same one, for
// hold, within limit.
func steadyPeer(n *Node, id p2p.ID, hold, limit time.Duration) bool {
	var held p2p.Peer
	var since time.Time
	for end := time.Now().Add(limit); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		p := n.CometNode().Switch().Peers().Get(id)
		if p == nil || p != held {
			held, since = p, time.Now()
			continue
		}
		if time.Since(since) >= hold {
			return true
		}
	}
	return false
}
