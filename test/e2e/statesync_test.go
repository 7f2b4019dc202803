package e2e

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	rpcclient "github.com/cometbft/cometbft/rpc/client"
	coretypes "github.com/cometbft/cometbft/rpc/core/types"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/internal/heavytest"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/node"
	"github.com/jinlian-ledger/jinlian/node/localnet"
	"github.com/jinlian-ledger/jinlian/nodecfg"
)

// joinNet is two in-process validators that take a snapshot every
// interval heights, and the localnet's observer home, not started, which
// joins later as a non-voting full node.
type joinNet struct {
	t        *testing.T
	ctx      context.Context
	ln       *localnet.Net
	vals     []consensus.NetworkNode
	joiner   consensus.NetworkNode
	clients  []rpcclient.Client
	banks    []*account
	m        *ledgerModel
	interval int
}

func newJoinNet(t *testing.T, ctx context.Context, interval int, synthetic int64) *joinNet {
	t.Helper()
	base, err := consensus.FreeBasePort(3)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := localnet.Prepare(localnet.Options{
		Home: t.TempDir(), Validators: 2, Observers: 1, BasePort: base,
		ChainID: "jinlian-statesync", TimeoutCommit: inProcessTimeoutCommit,
		SyntheticAccounts: synthetic,
	})
	if err != nil {
		t.Fatal(err)
	}
	n := &joinNet{t: t, ctx: ctx, ln: ln, vals: ln.Network.Nodes[:2], joiner: ln.Network.Nodes[2], interval: interval}
	for _, nn := range n.vals {
		cfg, err := nodecfg.Load(nn.Home, nil)
		if err != nil {
			t.Fatal(err)
		}
		// Keep every snapshot: heights pass fast here.
		cfg.Statesync.SnapshotInterval, cfg.Statesync.SnapshotKeepRecent = interval, 0
		if err := cfg.WriteFile(); err != nil {
			t.Fatal(err)
		}
	}
	for _, nn := range n.vals {
		n.clients = append(n.clients, n.start(nn.Home).Client())
	}
	waitAllHeight(t, ctx, n.clients, 2)
	n.banks = loadDemoAccounts(t, ln.Identities)
	n.m = newLedgerModel(n.banks, localnet.Funding)
	seed, err := hex.DecodeString(localnet.SyntheticSeed)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int64{0, synthetic / 2, synthetic - 1} {
		if synthetic > 0 {
			n.m.balances[app.SyntheticAddress(seed, i)] = localnet.Funding
		}
	}
	n.m.issued += uint64(synthetic) * localnet.Funding
	return n
}

func (n *joinNet) start(home string) *node.Node {
	n.t.Helper()
	cfg, err := nodecfg.Load(home, nil)
	if err != nil {
		n.t.Fatal(err)
	}
	nd, err := node.Start(n.ctx, cfg, node.Options{
		Passphrase: func(string) ([]byte, error) { return []byte(localnet.Passphrase), nil },
		Logger:     slog.New(slog.DiscardHandler),
	})
	if err != nil {
		n.t.Fatalf("start %s: %v", home, err)
	}
	n.t.Cleanup(func() { _ = nd.Stop() })
	return nd
}

// submit broadcasts ops to c, waits for every commit and applies them to
// the model.
func (n *joinNet) submit(c rpcclient.Client, ops ...op) (ids []string, raws [][]byte) {
	n.t.Helper()
	for _, o := range ops {
		raw, id, err := o.build(n.ln.Network.ChainID)
		if err != nil {
			n.t.Fatal(err)
		}
		res, err := c.BroadcastTxSync(n.ctx, raw)
		if err != nil || res.Code != 0 {
			n.t.Fatalf("%v: %v %+v", o, err, res)
		}
		ids, raws = append(ids, id), append(raws, raw)
	}
	for i, id := range ids {
		if _, err := waitTx(n.ctx, c, id); err != nil {
			n.t.Fatalf("%v: %v", ops[i], err)
		}
		n.m.apply(ops[i])
	}
	return ids, raws
}

// load commits count transfers of 1 fen between the two banks, in
// batches that the mempool holds, and returns the chain's height.
func (n *joinNet) load(count int) int64 {
	n.t.Helper()
	const batch = 2000
	for done := 0; done < count; {
		k := min(batch, count-done)
		var last string
		for i := range k {
			from, to := n.banks[i%2], n.banks[(i+1)%2]
			raw, id, err := op{opTransfer, from, to, 1}.build(n.ln.Network.ChainID)
			if err != nil {
				n.t.Fatal(err)
			}
			if _, err := n.clients[i%2].BroadcastTxAsync(n.ctx, raw); err != nil {
				n.t.Fatal(err)
			}
			last = id
		}
		if _, err := waitTx(n.ctx, n.clients[0], last); err != nil {
			n.t.Fatalf("load: %v", err)
		}
		done += k
	}
	h, err := heightOf(n.ctx, n.clients[0])
	if err != nil {
		n.t.Fatal(err)
	}
	return h
}

// waitSnapshot waits until the validators have a snapshot at or above
// height and the chain is three heights past it (the light client checks
// the snapshot's app hash in the next header), and returns its height.
func (n *joinNet) waitSnapshot(height int64) int64 {
	n.t.Helper()
	snaps, err := ledger.OpenSnapshots(node.SnapshotDir(n.vals[0].Home))
	if err != nil {
		n.t.Fatal(err)
	}
	for {
		if list, _ := snaps.List(); len(list) > 0 && list[0].Height >= height {
			waitAllHeight(n.t, n.ctx, n.clients, list[0].Height+3)
			return list[0].Height
		}
		select {
		case <-n.ctx.Done():
			n.t.Fatalf("no snapshot at or above height %d", height)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// join starts the joiner, by state sync or (stateSync false) by block
// sync from height 1, waits until it reaches the validators' height at
// the start, and returns the time that took and the joiner's status.
func (n *joinNet) join(stateSync bool) (time.Duration, rpcclient.Client, *coretypes.ResultStatus) {
	n.t.Helper()
	home := n.joiner.Home
	if stateSync {
		// The operator's step: trust a recent block of a validator,
		// cross-checked against the other (jinlian statesync trust --write).
		rpc := func(nn consensus.NetworkNode) string { return "http://" + strings.TrimPrefix(nn.RPCAddr, "tcp://") }
		trust, err := consensus.TrustFrom(n.ctx, rpc(n.vals[0]), rpc(n.vals[1]))
		if err != nil {
			n.t.Fatal(err)
		}
		cc, err := consensus.LoadConfig(home)
		if err != nil {
			n.t.Fatal(err)
		}
		if err := consensus.ApplyStateSync(cc, trust, 0); err != nil {
			n.t.Fatal(err)
		}
		cc.StateSync.DiscoveryTime = 5 * time.Second // CometBFT's least
		if err := consensus.WriteConfig(home, cc); err != nil {
			n.t.Fatal(err)
		}
	}
	cfg, err := nodecfg.Load(home, nil)
	if err != nil {
		n.t.Fatal(err)
	}
	// A bank's node before it gets voting power; an observer keeps every
	// block for its regulator and does not state-sync.
	cfg.Node.Mode = nodecfg.ModeValidator
	if err := cfg.WriteFile(); err != nil {
		n.t.Fatal(err)
	}
	target, err := heightOf(n.ctx, n.clients[0])
	if err != nil {
		n.t.Fatal(err)
	}
	started := time.Now()
	jc := n.start(home).Client()
	if err := consensus.WaitForHeight(n.ctx, jc, target); err != nil {
		n.t.Fatalf("joiner: %v", err)
	}
	took := time.Since(started)
	st, err := jc.Status(n.ctx)
	if err != nil {
		n.t.Fatal(err)
	}
	return took, jc, st
}

// TestJoinByStateSync: while members transfer CNY, two validators take a
// snapshot every few heights; then a third node starts with CometBFT's
// state sync on, trusting a recent block of a validator. It must restore a
// snapshot instead of replaying the early blocks (its block store starts
// just past a snapshot height), reach the validators' app hash, refuse a
// replay of a transaction spent before its snapshot, and go on with the
// chain: a transfer sent to it commits and every node agrees on every app
// hash from its first block on, and on every balance.
func TestJoinByStateSync(t *testing.T) {
	heavytest.Begin(t, "runs two validators and a node joining by state sync")
	ctx := heavytest.Context(t, 90*time.Second)
	const interval = 5
	// A genesis that bulk-loads 2,000 generated accounts (issue 16's
	// state generator): the joiner restores them from a snapshot, and
	// checkLedger reads three of them on every node.
	n := newJoinNet(t, ctx, interval, 2000)
	c0, c1 := n.clients[0], n.clients[1]
	banks := n.banks
	_, early := n.submit(c0, op{opTransfer, banks[0], banks[1], 1_000}, op{opTransfer, banks[1], banks[0], 250})
	n.submit(c1, op{opIssue, banks[0], banks[1], 5_000})
	n.waitSnapshot(2 * interval)

	took, jc, st := n.join(true)
	restored := st.SyncInfo.EarliestBlockHeight - 1
	t.Logf("joined at height %d from the snapshot of height %d in %v", st.SyncInfo.LatestBlockHeight, restored, took.Round(time.Millisecond))
	if restored < 1 || restored%interval != 0 {
		t.Fatalf("joiner's block store starts at %d: it replayed the early blocks instead of restoring a snapshot", st.SyncInfo.EarliestBlockHeight)
	}

	// A replay of a transfer spent before the snapshot is refused by the
	// joiner's CheckTx, from the restored spent-id index.
	res, err := jc.CheckTx(ctx, early[0])
	if err != nil {
		t.Fatal(err)
	}
	if res.Code == 0 {
		t.Fatal("the joiner accepts a replay of a transaction spent before its snapshot")
	}
	all := append(n.clients, jc)
	ids, _ := n.submit(jc, op{opTransfer, banks[1], banks[0], 77})
	h, err := waitTx(ctx, c0, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	waitAllHeight(t, ctx, all, h+1)
	for height := st.SyncInfo.EarliestBlockHeight; height <= h+1; height++ {
		var want []byte
		for i, c := range all {
			b, err := c.Block(ctx, &height)
			if err != nil {
				t.Fatalf("node%d block %d: %v", i, height, err)
			}
			if i == 0 {
				want = b.Block.AppHash
			} else if !bytes.Equal(b.Block.AppHash, want) {
				t.Fatalf("height %d: node%d app hash %X, node0 %X", height, i, b.Block.AppHash, want)
			}
		}
	}
	checkLedger(t, ctx, all, n.m)
}

// TestJoinTime measures how long a node takes to join a chain of each
// length in JINLIAN_JOIN_TIME (committed transfers, comma separated), by
// state sync and by block sync from height 1 (scripts/join-time). Skipped
// unless the variable is set.
func TestJoinTime(t *testing.T) {
	spec := os.Getenv("JINLIAN_JOIN_TIME")
	if spec == "" {
		t.Skip("set JINLIAN_JOIN_TIME=0,2000,... (scripts/join-time)")
	}
	heavytest.Begin(t, "measures join time against chain length")
	for _, f := range strings.Split(spec, ",") {
		count, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			t.Fatalf("JINLIAN_JOIN_TIME: %v", err)
		}
		for _, stateSync := range []bool{true, false} {
			t.Run(fmt.Sprintf("%d/statesync=%v", count, stateSync), func(t *testing.T) {
				ctx := heavytest.Context(t, 15*time.Minute)
				n := newJoinNet(t, ctx, 20, 0)
				loaded := time.Now()
				h := n.load(count)
				loadTook := time.Since(loaded)
				var snapBytes int64
				if stateSync {
					snapBytes = snapshotBytes(t, n.vals[0].Home, n.waitSnapshot(h))
				}
				took, _, st := n.join(stateSync)
				fmt.Printf("join-time transfers=%d height=%d statesync=%v join_s=%.2f earliest_block=%d snapshot_mb=%.1f load_s=%.1f\n",
					count, st.SyncInfo.LatestBlockHeight, stateSync, took.Seconds(), st.SyncInfo.EarliestBlockHeight, float64(snapBytes)/1e6, loadTook.Seconds())
			})
		}
	}
}

// snapshotBytes is the size of the chunks of the snapshot of height.
func snapshotBytes(t *testing.T, home string, height int64) int64 {
	t.Helper()
	dir := filepath.Join(node.SnapshotDir(home), fmt.Sprintf("%d-%d", height, ledger.SnapshotFormat))
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, e := range entries {
		if info, err := e.Info(); err == nil && e.Name() != "metadata" {
			total += info.Size()
		}
	}
	return total
}
