package consensus

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cometbft/cometbft/abci/example/kvstore"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/p2p"

	"github.com/jinlian-ledger/jinlian/internal/heavytest"
)

// partitionApp is a kvstore whose peer filter refuses the peers refuse
// names while cut is set: a partition that fails every dial both ways.
type partitionApp struct {
	*kvstore.Application
	cut    *atomic.Bool
	refuse func(id string) bool
}

func (a partitionApp) Query(ctx context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	if id, ok := strings.CutPrefix(req.Path, "/p2p/filter/id/"); ok && a.cut.Load() && a.refuse(id) {
		return &abci.ResponseQuery{Code: 1, Log: "partitioned"}, nil
	}
	return a.Application.Query(ctx, req)
}

// TestCutOffNodeRejoins cuts one of four validators off, keeps every dial
// failing while the other three commit, then heals the partition and
// expects the node back and caught up within 60 s by itself.
//
// CometBFT's own redial of a persistent peer gives up for hours after
// about 20 minutes of failures; the test stands in for that state by
// leaving the cut-off node out of every CometBFT persistent_peers list, so
// that no CometBFT reconnect routine runs on either side: only the node's
// supervisor, given the same peers as RedialPeers, can bring it back.
func TestCutOffNodeRejoins(t *testing.T) {
	heavytest.Begin(t, "starts four nodes")
	net := writeTestNetwork(t, 1, 1, 1, 1)
	cutID := net.Nodes[3].NodeID
	for i, nn := range net.Nodes {
		c, err := LoadConfig(nn.Home)
		if err != nil {
			t.Fatal(err)
		}
		var peers []string
		for j, other := range net.Nodes[:3] {
			if j != i && i != 3 {
				peers = append(peers, other.PeerAddr())
			}
		}
		c.P2P.PersistentPeers = strings.Join(peers, ",")
		if err := WriteConfig(nn.Home, c); err != nil {
			t.Fatal(err)
		}
	}
	var cut atomic.Bool
	nodes := make([]*Node, 4)
	for i, nn := range net.Nodes {
		refuse := func(id string) bool { return id == cutID }
		opts := NodeOptions{Logger: log.NewNopLogger(), FilterPeers: true, SuperviseInterval: 500 * time.Millisecond}
		if i == 3 {
			refuse = func(string) bool { return true }
			for _, other := range net.Nodes[:3] {
				opts.RedialPeers = append(opts.RedialPeers, other.PeerAddr())
			}
		}
		n, err := StartNode(nn.Home, partitionApp{kvstore.NewInMemoryApplication(), &cut, refuse}, opts)
		if err != nil {
			t.Fatalf("start %s: %v", nn.Moniker, err)
		}
		nodes[i] = n
		t.Cleanup(func() { _ = n.Stop() })
	}
	cutOff := nodes[3]
	sw := cutOff.CometNode().Switch()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	poll := func(what string, done func() bool) {
		t.Helper()
		for !done() {
			if ctx.Err() != nil {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	poll("the supervisor to connect the node to its three peers", func() bool { return sw.Peers().Size() == 3 })
	waitAll(t, nodes, 3)

	cut.Store(true)
	for _, p := range sw.Peers().List() {
		sw.StopPeerForError(p, "test: partition")
	}
	poll("the partition", func() bool {
		for _, n := range nodes[:3] {
			if n.CometNode().Switch().Peers().Has(p2p.ID(cutID)) {
				return false
			}
		}
		return sw.Peers().Size() == 0
	})
	frozen := height(t, cutOff)
	if err := WaitForHeight(ctx, nodes[0].Client(), frozen+10); err != nil {
		t.Fatal(err)
	}
	if n, h := sw.Peers().Size(), height(t, cutOff); n != 0 || h > frozen+1 {
		t.Fatalf("partition leaked: cut-off node has %d peers, height %d (was %d)", n, h, frozen)
	}

	cut.Store(false)
	healed := time.Now()
	target := height(t, nodes[0])
	rejoin, cancelRejoin := context.WithTimeout(ctx, 60*time.Second)
	defer cancelRejoin()
	if err := WaitForHeight(rejoin, cutOff.Client(), target); err != nil {
		t.Fatalf("cut-off node not caught up to height %d within 60 s of healing (at %d, %d peers): %v",
			target, height(t, cutOff), sw.Peers().Size(), err)
	}
	t.Logf("rejoined and caught up %d heights %s after healing", target-frozen, time.Since(healed).Round(time.Millisecond))
	sameAppHashes(t, nodes, target)
}

// TestExternalAddress: a node that listens on one interface tells peers
// that address to dial back; one that listens on all has none to tell
// (CometBFT would advertise 0.0.0.0), and the localnet writes its own.
func TestExternalAddress(t *testing.T) {
	for laddr, want := range map[string]string{
		"tcp://10.1.2.3:26656":  "10.1.2.3:26656",
		"tcp://127.0.0.1:26656": "127.0.0.1:26656",
		"tcp://0.0.0.0:26656":   "",
		"tcp://[::]:26656":      "",
		"tcp://:26656":          "",
		"not an address":        "",
	} {
		if got := externalAddress(laddr); got != want {
			t.Errorf("externalAddress(%q) = %q, want %q", laddr, got, want)
		}
	}
	net := writeTestNetwork(t, 1, 1)
	for _, nn := range net.Nodes {
		c, err := LoadConfig(nn.Home)
		if err != nil {
			t.Fatal(err)
		}
		if c.P2P.ExternalAddress != nn.P2PAddr {
			t.Errorf("%s: external_address %q, want %q", nn.Moniker, c.P2P.ExternalAddress, nn.P2PAddr)
		}
	}
}
