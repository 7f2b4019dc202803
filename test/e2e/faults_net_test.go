package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/node/localnet"
)

// faultNet is a 4-validator network of separate `jinlian start`
// processes, as docs/quickstart.md runs one per bank, whose P2P links run
// through proxies the test can cut: node i dials node j at the proxy of
// link i→j, so a partition is a set of cut links, on loopback, without
// root. Each process logs to its own file.
type faultNet struct {
	t       *testing.T
	bin     string
	chainID string
	banks   []*account
	nodes   []*nodeProc
	links   map[[2]int]*linkProxy
}

// newFaultNet prepares a localnet of four validators (no observers, no
// checkpoints) in a temporary directory, rewrites every node's
// persistent_peers to go through the link proxies, moves node
// homeOnTmpfs's home (if ≥ 0) onto mnt, and starts every node.
func newFaultNet(t *testing.T, ctx context.Context, bin string, mnt string, homeOnTmpfs int, args ...string) *faultNet {
	t.Helper()
	dir := t.TempDir()
	base, err := consensus.FreeBasePort(4)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := localnet.Prepare(localnet.Options{Home: filepath.Join(dir, "net"), Validators: 4, BasePort: base,
		TimeoutCommit: 300 * time.Millisecond, CheckpointInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	f := &faultNet{t: t, bin: bin, chainID: ln.Network.ChainID, banks: loadDemoAccounts(t, ln.Identities), links: map[[2]int]*linkProxy{}}
	for i := range ln.Network.Nodes {
		for j, other := range ln.Network.Nodes {
			if i != j {
				p, err := newLinkProxy(other.P2PAddr)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(p.close)
				f.links[[2]int{i, j}] = p
			}
		}
	}
	for i, nn := range ln.Network.Nodes {
		c, err := consensus.LoadConfig(nn.Home)
		if err != nil {
			t.Fatal(err)
		}
		var peers []string
		for j, other := range ln.Network.Nodes {
			if i != j {
				peers = append(peers, other.NodeID+"@"+f.links[[2]int{i, j}].addr())
			}
		}
		c.P2P.PersistentPeers = strings.Join(peers, ",")
		if err := consensus.WriteConfig(nn.Home, c); err != nil {
			t.Fatal(err)
		}
		home := nn.Home
		if i == homeOnTmpfs {
			if out, err := exec.Command("cp", "-a", nn.Home+"/.", mnt).CombinedOutput(); err != nil {
				t.Fatalf("copy node%d's home onto %s: %v\n%s", i, mnt, err, out)
			}
			home = mnt
		}
		client, err := rpchttp.New(nn.RPCAddr, "/websocket")
		if err != nil {
			t.Fatal(err)
		}
		f.nodes = append(f.nodes, &nodeProc{name: fmt.Sprintf("node%d", i), home: home, bin: bin, args: args, rpcAddr: nn.RPCAddr, client: client,
			logPath: filepath.Join(dir, fmt.Sprintf("node%d.log", i))})
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, n := range f.nodes {
				t.Logf("%s log:\n%s", n.name, logExcerpt(n.logText()))
			}
		}
	})
	for _, n := range f.nodes {
		n.start(t)
	}
	for i := range f.nodes {
		f.reachHeight(ctx, i, 2, time.Now())
	}
	return f
}

// top is the highest height among the nodes that answer.
func (f *faultNet) top(ctx context.Context, except ...int) int64 {
	var h int64
	for i, n := range f.nodes {
		if !containsInt(except, i) {
			h = max(h, n.height(ctx))
		}
	}
	return h
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// reachHeight waits until node i reaches height h and returns how long it
// took from since.
func (f *faultNet) reachHeight(ctx context.Context, i int, h int64, since time.Time) time.Duration {
	f.t.Helper()
	for f.nodes[i].height(ctx) < h {
		if ctx.Err() != nil {
			f.t.Fatalf("node%d did not reach height %d (at %d): %v", i, h, f.nodes[i].height(context.Background()), ctx.Err())
		}
		if !f.nodes[i].running() {
			f.t.Fatalf("node%d exited while catching up to %d: %v\n%s", i, h, f.nodes[i].exitErr(), logExcerpt(f.nodes[i].logText()))
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(since)
}

// meshed waits (at most limit) until every node has a P2P connection to
// every other one, as after persistent peers have redialled, and none is
// still in block sync: a node that just reached the others' height by
// block sync may still lack some connections, or not yet vote. A
// partition then would measure the redial, or cut a quorum of three that
// is really two voters (the campaign of 2026-12-08 01:41: the three
// stalled, one of them still block-syncing the heights nobody could
// make).
func (f *faultNet) meshed(ctx context.Context, limit time.Duration) {
	f.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		full, why := true, ""
		for i, n := range f.nodes {
			qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			ni, err := n.client.NetInfo(qctx)
			if err == nil && ni.NPeers < len(f.nodes)-1 {
				err = fmt.Errorf("%d peers", ni.NPeers)
			}
			if err == nil {
				st, serr := n.client.Status(qctx)
				if err = serr; err == nil && st.SyncInfo.CatchingUp {
					err = errors.New("still in block sync")
				}
			}
			cancel()
			if err != nil {
				full, why = false, fmt.Sprintf("node%d: %v", i, err)
				break
			}
		}
		if full {
			return
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			f.t.Fatalf("the validators did not all connect to each other and leave block sync within %v (%s)", limit, why)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// partition cuts every link between nodes of different groups; nodes in
// no group are cut from everyone. blackhole keeps the cut connections
// open and drops their bytes (as a network that loses packets); otherwise
// they are closed at once (as a reset).
func (f *faultNet) partition(blackhole bool, groups ...[]int) {
	group := map[int]int{}
	for g, ids := range groups {
		for _, i := range ids {
			group[i] = g + 1
		}
	}
	for link, p := range f.links {
		a, b := group[link[0]], group[link[1]]
		p.setCut(a == 0 || b == 0 || a != b, blackhole)
	}
}

// heal restores every link.
func (f *faultNet) heal() {
	for _, p := range f.links {
		p.setCut(false, false)
	}
}

// linkProxy forwards TCP connections to one node's P2P address unless the
// link is cut.
type linkProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{}
}

func newLinkProxy(target string) (*linkProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &linkProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go p.serve()
	return p, nil
}

func (p *linkProxy) addr() string {
	return "127.0.0.1:" + strconv.Itoa(p.ln.Addr().(*net.TCPAddr).Port)
}

func (p *linkProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.handle(c)
	}
}

func (p *linkProxy) isCut() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cut
}

func (p *linkProxy) handle(c net.Conn) {
	if p.isCut() {
		_ = c.Close()
		return
	}
	u, err := net.DialTimeout("tcp", p.target, 3*time.Second)
	if err != nil {
		_ = c.Close()
		return
	}
	p.mu.Lock()
	if p.cut {
		p.mu.Unlock()
		_ = c.Close()
		_ = u.Close()
		return
	}
	p.conns[c], p.conns[u] = struct{}{}, struct{}{}
	p.mu.Unlock()
	done := make(chan struct{})
	go func() { p.pipe(u, c); close(done) }()
	p.pipe(c, u)
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, u)
	p.mu.Unlock()
}

// pipe copies src to dst, dropping what arrives while the link is cut.
func (p *linkProxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.isCut() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	_ = src.Close()
	_ = dst.Close()
}

func (p *linkProxy) setCut(cut, blackhole bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut && !blackhole {
		for c := range p.conns {
			_ = c.Close()
		}
		clear(p.conns)
	}
}

func (p *linkProxy) close() {
	_ = p.ln.Close()
	p.setCut(true, false)
}

// sigkill kills node i with SIGKILL and checks that the signal ended it.
func (f *faultNet) sigkill(i int) {
	f.t.Helper()
	n := f.nodes[i]
	if !n.running() {
		f.t.Fatalf("kill node%d: not running (%v)", i, n.exitErr())
	}
	n.kill()
	var ee *exec.ExitError
	if err := n.exitErr(); !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		f.t.Fatalf("node%d exit: %v, want killed by SIGKILL", i, err)
	}
}
