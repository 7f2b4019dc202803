package consensus

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cometbft/cometbft/abci/example/kvstore"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/p2p"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

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
func TestCutOffNodeRejoins(t *testing.T) {
	heavytest.Begin(t, "starts four nodes")
	// Ten heights behind is under its block_sync_gap: gossip catches it up
	// without a restart.
	p := startPartitionable(t, testTimeoutCommit, 0, 20)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	frozen := p.cutFor(ctx, 10)
	healed := time.Now()
	target := height(t, p.nodes[0])
	rejoin, cancelRejoin := context.WithTimeout(ctx, 60*time.Second)
	defer cancelRejoin()
	if err := WaitForHeight(rejoin, p.cutOff.Client(), target); err != nil {
		t.Fatalf("cut-off node not caught up to height %d within 60 s of healing (at %d, %d peers): %v",
			target, height(t, p.cutOff), p.sw.Peers().Size(), err)
	}
	t.Logf("rejoined and caught up %d heights %s after healing", target-frozen, time.Since(healed).Round(time.Millisecond))
	sameAppHashes(t, p.nodes, target)
	if err := p.cutOff.HaltErr(); err != nil {
		t.Fatalf("a node %d heights behind, under its block_sync_gap of 20, stopped: %v", target-frozen, err)
	}
}

// TestFallenBehindRestartsIntoBlockSync: a node cut off until it is more
// than its block_sync_gap behind stops, once the partition heals, with
// ErrFallenBehind; started again, as jinlian start does, it catches up by
// block sync and agrees with the others.
func TestFallenBehindRestartsIntoBlockSync(t *testing.T) {
	heavytest.Begin(t, "starts four nodes")
	p := startPartitionable(t, testTimeoutCommit, 0, 20)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	frozen := p.cutFor(ctx, 40)
	healed := time.Now()
	select {
	case <-p.cutOff.Halted():
	case <-ctx.Done():
		t.Fatalf("a node 40 heights behind (block_sync_gap 20) did not stop to block-sync (at %d, %d peers)", height(t, p.cutOff), p.sw.Peers().Size())
	}
	err := p.cutOff.HaltErr()
	if !errors.Is(err, ErrFallenBehind) || !errors.Is(err, ErrConsensusHalted) {
		t.Fatalf("halt error %v: want ErrFallenBehind", err)
	}
	if !strings.Contains(err.Error(), "heights behind its peers") {
		t.Errorf("halt error %q does not say how far behind", err)
	}
	// A client of the node's RPC holding a keep-alive connection across
	// the restart must reach the new node, not the stopped one.
	rpc, err := rpchttp.New(p.cutOff.RPCAddr(), "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rpc.Status(ctx); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	p.restartCutOff()
	if !p.cutOff.CometNode().ConsensusReactor().WaitSync() {
		t.Errorf("the restarted node is not block-syncing")
	}
	target := height(t, p.nodes[0])
	if err := WaitForHeight(ctx, p.cutOff.Client(), target); err != nil {
		t.Fatalf("restarted node not caught up to %d: %v", target, err)
	}
	fresh, cancelFresh := context.WithTimeout(ctx, 5*time.Second)
	defer cancelFresh()
	if err := WaitForHeight(fresh, rpc, target); err != nil {
		t.Fatalf("an RPC client connected before the restart does not see the restarted node: %v", err)
	}
	t.Logf("%d heights behind: stopped %s after healing, caught up %s after healing (%s after the restart)",
		target-frozen, stopped.Sub(healed).Round(time.Millisecond), time.Since(healed).Round(time.Millisecond), time.Since(stopped).Round(time.Millisecond))
	sameAppHashes(t, p.nodes, target)
}

// TestBehindNeedsTwoPeers: one peer alone cannot make a node restart.
func TestBehindNeedsTwoPeers(t *testing.T) {
	for _, c := range []struct {
		own   int64
		peers []int64
		want  int64
	}{
		{10, nil, 0},
		{10, []int64{500}, 490},       // the only peer
		{10, []int64{500, 11, 10}, 1}, // one peer far ahead, one near
		{10, []int64{500, 400, 10}, 390},
		{600, []int64{500, 400}, -200}, // ahead of them
	} {
		if got := behind(c.own, c.peers); got != c.want {
			t.Errorf("behind(%d, %v) = %d, want %d", c.own, c.peers, got, c.want)
		}
	}
}

// restartCutOff stops the cut-off node and starts it again on its home
// with the same application and options.
func (p *partitionable) restartCutOff() {
	p.tb.Helper()
	if err := p.cutOff.Stop(); err != nil {
		p.tb.Fatal(err)
	}
	n, err := StartNode(p.cutHome, p.cutApp, p.cutOpts)
	if err != nil {
		p.tb.Fatalf("start the cut-off node again: %v", err)
	}
	p.tb.Cleanup(func() { _ = n.Stop() })
	p.nodes[3], p.cutOff, p.sw = n, n, n.CometNode().Switch()
}

// partitionable is four validators of which the last can be cut off.
//
// CometBFT's own redial of a persistent peer gives up for hours after
// about 20 minutes of failures; the network stands in for that state by
// leaving the cut-off node out of every CometBFT persistent_peers list, so
// that no CometBFT reconnect routine runs on either side: only the node's
// supervisor, given the same peers as RedialPeers, can bring it back.
type partitionable struct {
	tb     testing.TB
	nodes  []*Node
	cutOff *Node
	sw     *p2p.Switch
	cut    *atomic.Bool
	cutID  string

	// how the cut-off node was started, for restartCutOff
	cutHome string
	cutApp  abci.Application
	cutOpts NodeOptions
}

// startPartitionable starts the four validators, connected, at
// timeoutCommit; gossipSleep, when not 0, replaces every node's
// peer_gossip_sleep_duration; blockSyncGap is the cut-off node's
// NodeOptions.BlockSyncGap.
func startPartitionable(tb testing.TB, timeoutCommit, gossipSleep time.Duration, blockSyncGap int64) *partitionable {
	// The last has little power, so it is rarely the proposer the others
	// wait timeout_propose for while it is cut off.
	net := writeTestNetworkTimeout(tb, timeoutCommit, 10, 10, 10, 1)
	p := &partitionable{tb: tb, cut: &atomic.Bool{}, cutID: string(net.Nodes[3].NodeID)}
	for i, nn := range net.Nodes {
		c, err := LoadConfig(nn.Home)
		if err != nil {
			tb.Fatal(err)
		}
		var peers []string
		for j, other := range net.Nodes[:3] {
			if j != i && i != 3 {
				peers = append(peers, other.PeerAddr())
			}
		}
		c.P2P.PersistentPeers = strings.Join(peers, ",")
		if gossipSleep != 0 {
			c.Consensus.PeerGossipSleepDuration = gossipSleep
		}
		if err := WriteConfig(nn.Home, c); err != nil {
			tb.Fatal(err)
		}
	}
	for i, nn := range net.Nodes {
		refuse := func(id string) bool { return id == p.cutID }
		opts := NodeOptions{Logger: log.NewNopLogger(), FilterPeers: true, SuperviseInterval: 100 * time.Millisecond}
		if i == 3 {
			refuse = func(string) bool { return true }
			for _, other := range net.Nodes[:3] {
				opts.RedialPeers = append(opts.RedialPeers, other.PeerAddr())
			}
			opts.BlockSyncGap = blockSyncGap
		}
		app := partitionApp{kvstore.NewInMemoryApplication(), p.cut, refuse}
		n, err := StartNode(nn.Home, app, opts)
		if err != nil {
			tb.Fatalf("start %s: %v", nn.Moniker, err)
		}
		p.nodes = append(p.nodes, n)
		tb.Cleanup(func() { _ = n.Stop() })
		p.cutHome, p.cutApp, p.cutOpts = nn.Home, app, opts
	}
	p.cutOff = p.nodes[3]
	p.sw = p.cutOff.CometNode().Switch()
	return p
}

func (p *partitionable) poll(ctx context.Context, what string, done func() bool) {
	p.tb.Helper()
	for !done() {
		if ctx.Err() != nil {
			p.tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cutFor waits for the network to run, cuts the last node off until the
// others are behind heights ahead of it, heals the partition and returns
// the height the cut-off node was frozen at.
func (p *partitionable) cutFor(ctx context.Context, behind int64) int64 {
	p.tb.Helper()
	p.poll(ctx, "the supervisor to connect the node to its three peers", func() bool { return p.sw.Peers().Size() == 3 })
	waitAll(p.tb, p.nodes, 3)
	p.cut.Store(true)
	for _, peer := range p.sw.Peers().List() {
		p.sw.StopPeerForError(peer, "test: partition")
	}
	p.poll(ctx, "the partition", func() bool {
		for _, n := range p.nodes[:3] {
			if n.CometNode().Switch().Peers().Has(p2p.ID(p.cutID)) {
				return false
			}
		}
		return p.sw.Peers().Size() == 0
	})
	frozen := height(p.tb, p.cutOff)
	if err := WaitForHeight(ctx, p.nodes[0].Client(), frozen+behind); err != nil {
		p.tb.Fatal(err)
	}
	if n, h := p.sw.Peers().Size(), height(p.tb, p.cutOff); n != 0 || h > frozen+1 {
		p.tb.Fatalf("partition leaked: cut-off node has %d peers, height %d (was %d)", n, h, frozen)
	}
	p.cut.Store(false)
	return frozen
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
