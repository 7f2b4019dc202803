package main

// Committed history for the benchmarks that read it (BenchmarkStatementCSV,
// BenchmarkConsolePaint): a real one-validator localnet whose node serves
// its API over GM TLS, and a generator that pushes signed transactions
// through consensus as fast as the node takes them.

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	cmtlog "github.com/cometbft/cometbft/libs/log"

	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/node"
	"github.com/jinlian-ledger/jinlian/node/localnet"
	"github.com/jinlian-ledger/jinlian/nodecfg"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// historyNet is a started one-validator localnet (and, when asked, a
// regulator observer) for building history.
type historyNet struct {
	ln    *localnet.Net
	nodes []*node.Node
	rpc   string // node0's CometBFT RPC (tcp://…)
	api   string // https://… node0's API (GM TLS, mutual authentication)
	apiCA string
	// id is each demo organisation's identity (bankA, and regulator with
	// an observer).
	id map[string]localnet.Identity
}

type historyOptions struct {
	// Extra are addresses funded in the genesis as members of
	// localnet.BenchOrg (senders and payees that sign with bare keys).
	Extra []string
	// Observer adds a regulator observer with its regulator API.
	Observer bool
	// FullIndex makes node0 index every event attribute (memos), as the
	// node a regulator's console searches does.
	FullIndex bool
	// APIOrgs are the organisations whose CAs node0's API accepts client
	// certificates of (default bankA).
	APIOrgs []string
}

// startHistoryNet starts the localnet and waits for its first block.
func startHistoryNet(b *testing.B, o historyOptions) *historyNet {
	b.Helper()
	nodesWanted := 1
	if o.Observer {
		nodesWanted = 2
	}
	base, err := consensus.FreeBasePort(nodesWanted)
	if err != nil {
		b.Fatal(err)
	}
	obs := 0
	if o.Observer {
		obs = 1
	}
	ln, err := localnet.Prepare(localnet.Options{Home: b.TempDir(), Validators: 1, Observers: obs, BasePort: base,
		TimeoutCommit: 200 * time.Millisecond, CheckpointInterval: -1, ExtraFundedAccounts: o.Extra})
	if err != nil {
		b.Fatal(err)
	}
	orgs := o.APIOrgs
	if len(orgs) == 0 {
		orgs = []string{"bankA"}
	}
	apiURL, apiCA := serveGatedAPI(b, ln, 0, base, orgs...)
	if o.FullIndex {
		cfg, err := nodecfg.Load(ln.Network.Nodes[0].Home, nil)
		if err != nil {
			b.Fatal(err)
		}
		cfg.Events.Index = nodecfg.EventsIndexFull
		if err := cfg.WriteFile(); err != nil {
			b.Fatal(err)
		}
	}
	// JINLIAN_BENCH_LOG=1: the nodes' errors and warnings on stderr.
	cometLog, appLog := cmtlog.NewNopLogger(), slog.New(slog.DiscardHandler)
	if os.Getenv("JINLIAN_BENCH_LOG") == "1" {
		cometLog = cmtlog.NewFilter(cmtlog.NewTMLogger(cmtlog.NewSyncWriter(os.Stderr)), cmtlog.AllowError())
		appLog = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	nodes, err := ln.Start(context.Background(), cometLog, appLog)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = node.StopAll(nodes) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := consensus.WaitForHeight(ctx, nodes[0].Client(), 1); err != nil {
		b.Fatal(err)
	}
	h := &historyNet{ln: ln, nodes: nodes, rpc: ln.Network.Nodes[0].RPCAddr, api: apiURL, apiCA: apiCA, id: map[string]localnet.Identity{}}
	for _, id := range ln.Identities {
		h.id[id.Org] = id
	}
	return h
}

// signer loads an organisation's demo identity as a transaction signer.
func (h *historyNet) signer(b *testing.B, org string) wire.Signer {
	b.Helper()
	info, sk, err := gmcrypto.LoadKey(h.id[org].KeyFile, []byte(localnet.Passphrase))
	if err != nil {
		b.Fatal(err)
	}
	return wire.Signer{Key: sk, MSPID: org, CertPEM: []byte(info.Certificate)}
}

// commit signs the n transactions of payments that next makes and
// broadcasts them to node0 (waiting while its mempool is full), then waits
// until the last is committed and two more blocks are, so that the tx
// index and the event feed hold them all. It returns the ids, in order,
// and prints its progress every progressEvery transactions.
func (h *historyNet) commit(b *testing.B, ctx context.Context, n int, next func(i int) (wire.Signer, *txpb.Message)) []string {
	b.Helper()
	c := h.nodes[0].Client()
	ids := make([]string, n)
	start := time.Now()
	for i := range n {
		s, m := next(i)
		raw, id, err := wire.BuildTx(s, h.ln.Network.ChainID, "payments", time.Now(), m)
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, err = c.BroadcastTxAsync(ctx, raw)
			if err == nil || !strings.Contains(err.Error(), "full") {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = id
		if (i+1)%progressEvery == 0 {
			st, _ := c.Status(ctx)
			height := int64(0)
			if st != nil {
				height = st.SyncInfo.LatestBlockHeight
			}
			fmt.Printf("history: %d of %d transactions sent in %s (height %d)\n", i+1, n, time.Since(start).Round(time.Second), height)
		}
	}
	if n == 0 {
		return ids
	}
	for {
		var loc struct{ Height int64 }
		if err := abciQuery(ctx, nodeFlags{addr: h.rpc}, "/tx", []byte(ids[n-1]), 0, &loc); err == nil && loc.Height > 0 {
			if err := consensus.WaitForHeight(ctx, c, loc.Height+2); err != nil {
				b.Fatal(err)
			}
			break
		}
		if ctx.Err() != nil {
			b.Fatal("the transactions were not committed")
		}
		time.Sleep(500 * time.Millisecond)
	}
	return ids
}

// progressEvery is how often commit prints its progress.
const progressEvery = 50_000

// envCount is a positive count from the environment, or def.
func envCount(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
