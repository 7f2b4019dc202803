package e2e

import (
	"bytes"
	"log/slog"
	"os"
	"testing"
	"time"

	rpcclient "github.com/cometbft/cometbft/rpc/client"

	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/internal/heavytest"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/node"
	"github.com/jinlian-ledger/jinlian/node/localnet"
	"github.com/jinlian-ledger/jinlian/nodecfg"
)

// stateSyncInterval is how often the validators take a snapshot.
const stateSyncInterval = 5

// TestJoinByStateSync runs two validators that take a snapshot every few
// heights while members transfer CNY, then starts a third node (the
// localnet's registered observer home, never started, configured as a
// non-voting full node) with CometBFT's state sync on, trusting a recent
// block of a validator. It must restore a snapshot instead of replaying
// the early blocks (its block store starts past height 1), reach the
// validators' app hash, refuse a replay of a transaction spent before its
// snapshot, and go on with the chain: a transfer sent to it commits and
// every node agrees on the app hash.
func TestJoinByStateSync(t *testing.T) {
	heavytest.Begin(t, "runs two validators and a node joining by state sync")
	ctx := heavytest.Context(t, 90*time.Second)
	base, err := consensus.FreeBasePort(3)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := localnet.Prepare(localnet.Options{
		Home: t.TempDir(), Validators: 2, Observers: 1, BasePort: base,
		ChainID: "jinlian-statesync", TimeoutCommit: inProcessTimeoutCommit,
	})
	if err != nil {
		t.Fatal(err)
	}
	vals, joinerHome := ln.Network.Nodes[:2], ln.Network.Nodes[2]
	for _, nn := range vals {
		cfg, err := nodecfg.Load(nn.Home, nil)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Statesync.SnapshotInterval, cfg.Statesync.SnapshotKeepRecent = stateSyncInterval, 0 // all: heights pass fast here
		if err := cfg.WriteFile(); err != nil {
			t.Fatal(err)
		}
	}
	start := func(home string) *node.Node {
		t.Helper()
		cfg, err := nodecfg.Load(home, nil)
		if err != nil {
			t.Fatal(err)
		}
		n, err := node.Start(ctx, cfg, node.Options{
			Passphrase: func(string) ([]byte, error) { return []byte(localnet.Passphrase), nil },
			Logger:     slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatalf("start %s: %v", home, err)
		}
		t.Cleanup(func() { _ = n.Stop() })
		return n
	}
	var clients []rpcclient.Client
	for _, nn := range vals {
		clients = append(clients, start(nn.Home).Client())
	}
	waitAllHeight(t, ctx, clients, 2)

	banks := loadDemoAccounts(t, ln.Identities)
	m := newLedgerModel(banks, localnet.Funding)
	submit := func(c rpcclient.Client, ops ...op) (ids []string, raws [][]byte) {
		t.Helper()
		for _, o := range ops {
			raw, id, err := o.build(ln.Network.ChainID)
			if err != nil {
				t.Fatal(err)
			}
			res, err := c.BroadcastTxSync(ctx, raw)
			if err != nil || res.Code != 0 {
				t.Fatalf("%v: %v %+v", o, err, res)
			}
			ids, raws = append(ids, id), append(raws, raw)
		}
		for i, id := range ids {
			if _, err := waitTx(ctx, c, id); err != nil {
				t.Fatalf("%v: %v", ops[i], err)
			}
			m.apply(ops[i])
		}
		return ids, raws
	}
	_, early := submit(clients[0], op{opTransfer, banks[0], banks[1], 1_000}, op{opTransfer, banks[1], banks[0], 250})
	submit(clients[1], op{opIssue, banks[0], banks[1], 5_000})

	// Wait for a snapshot that the joiner can use: the light client
	// verifies the snapshot's app hash in the header of the next height.
	snaps, err := ledger.OpenSnapshots(node.SnapshotDir(vals[0].Home))
	if err != nil {
		t.Fatal(err)
	}
	var snapHeight int64
	for snapHeight == 0 {
		if list, _ := snaps.List(); len(list) > 0 && list[0].Height >= 2*stateSyncInterval {
			snapHeight = list[0].Height
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("no snapshot taken")
		case <-time.After(100 * time.Millisecond):
		}
	}
	waitAllHeight(t, ctx, clients, snapHeight+3)

	// The operator's step: trust a recent block of a validator, cross-
	// checked against the other (jinlian statesync trust --write).
	rpc := func(nn consensus.NetworkNode) string { return "http://" + nn.RPCAddr[len("tcp://"):] }
	trust, err := consensus.TrustFrom(ctx, rpc(vals[0]), rpc(vals[1]))
	if err != nil {
		t.Fatal(err)
	}
	cc, err := consensus.LoadConfig(joinerHome.Home)
	if err != nil {
		t.Fatal(err)
	}
	if err := consensus.ApplyStateSync(cc, trust, 0); err != nil {
		t.Fatal(err)
	}
	cc.StateSync.DiscoveryTime = 5 * time.Second // CometBFT's least
	if err := consensus.WriteConfig(joinerHome.Home, cc); err != nil {
		t.Fatal(err)
	}
	jcfg, err := nodecfg.Load(joinerHome.Home, nil)
	if err != nil {
		t.Fatal(err)
	}
	jcfg.Node.Mode = nodecfg.ModeValidator // a bank's node before it gets power; observers keep every block
	if err := jcfg.WriteFile(); err != nil {
		t.Fatal(err)
	}
	joinStart := time.Now()
	joiner := start(joinerHome.Home)
	jc := joiner.Client()
	target, err := heightOf(ctx, clients[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := consensus.WaitForHeight(ctx, jc, target); err != nil {
		t.Fatalf("joiner: %v", err)
	}
	joinTime := time.Since(joinStart)

	st, err := jc.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.SyncInfo.EarliestBlockHeight <= 1 {
		t.Fatalf("joiner's block store starts at %d: it replayed the early blocks instead of restoring a snapshot", st.SyncInfo.EarliestBlockHeight)
	}
	if _, err := os.Stat(node.LedgerDir(joinerHome.Home)); err != nil {
		t.Fatal(err)
	}
	restored := st.SyncInfo.EarliestBlockHeight - 1
	t.Logf("joined at height %d from the snapshot of height %d in %v", target, restored, joinTime.Round(time.Millisecond))
	if restored%stateSyncInterval != 0 {
		t.Fatalf("joiner's block store starts at %d: not after a snapshot height", st.SyncInfo.EarliestBlockHeight)
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
	// The chain goes on with the joiner: a transfer sent to it commits,
	// and all three agree on every app hash from its first block on.
	all := append(clients, jc)
	ids, _ := submit(jc, op{opTransfer, banks[1], banks[0], 77})
	h, err := waitTx(ctx, clients[0], ids[0])
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
	checkLedger(t, ctx, all, m)
}
