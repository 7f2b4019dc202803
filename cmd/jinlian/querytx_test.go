package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	cmtlog "github.com/cometbft/cometbft/libs/log"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/heavytest"
	"github.com/jinlian-ledger/jinlian/node"
	"github.com/jinlian-ledger/jinlian/node/localnet"
	"github.com/jinlian-ledger/jinlian/nodecfg"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// TestQueryTxNeverInventsAResult runs two validators that keep no tx index
// (events.index = auto without the API, a validator's default, ADR 0028;
// a height lost from the index by a kill -9 looks the same) and gossip no
// transactions, so that a double spend sent half to
// each validator is admitted by both and the half proposed second is
// refused inside a block. `query tx` must report each transaction's real
// code from the block's results, say so, and fail for an unknown id.
func TestQueryTxNeverInventsAResult(t *testing.T) {
	heavytest.Begin(t, "starts a localnet")
	base, err := consensus.FreeBasePort(2)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := localnet.Prepare(localnet.Options{Home: t.TempDir(), Validators: 2, BasePort: base,
		TimeoutCommit: 100 * time.Millisecond, CheckpointInterval: -1, EventsIndex: nodecfg.EventsIndexAuto})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ln.Network.Nodes {
		c, err := consensus.LoadConfig(n.Home)
		if err != nil {
			t.Fatal(err)
		}
		c.Mempool.Broadcast = false
		if err := consensus.WriteConfig(n.Home, c); err != nil {
			t.Fatal(err)
		}
	}
	nodes, err := ln.Start(context.Background(), cmtlog.NewNopLogger(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = node.StopAll(nodes) })
	for i, n := range nodes {
		if got := n.Node.Config().TxIndex.Indexer; got != "null" {
			t.Fatalf("validator %d without the API: tx indexer %q, want null", i, got)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	if err := consensus.WaitForHeight(ctx, nodes[0].Client(), 1); err != nil {
		t.Fatal(err)
	}

	from, to := ln.Identities[0], ln.Identities[1]
	info, err := gmcrypto.ReadKeyInfo(from.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := gmcrypto.LoadKey(from.KeyFile, []byte(localnet.Passphrase))
	if err != nil {
		t.Fatal(err)
	}
	toAddr, err := gmcrypto.ParseAddress(to.Address)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 2)
	for i, n := range nodes {
		msg := &txpb.Message{Body: &txpb.Message_Transfer{Transfer: &txpb.Transfer{Asset: "CNY", To: toAddr.Bytes(), Amount: localnet.Funding - 10 - uint64(i)}}}
		raw, id, err := wire.BuildTx(wire.Signer{Key: key, MSPID: info.Org, CertPEM: []byte(info.Certificate)}, ln.Network.ChainID, "payments", time.Now(), msg)
		if err != nil {
			t.Fatal(err)
		}
		res, err := n.Client().BroadcastTxSync(ctx, raw)
		if err != nil || res.Code != 0 {
			t.Fatalf("node %d admits its half of the double spend: %v %+v", i, err, res)
		}
		ids[i] = id
	}
	// Both halves get committed: one executes, the other is refused in a block.
	for _, id := range ids {
		for {
			var loc app.TxLocation
			err := abciQuery(ctx, nodeFlags{addr: nodes[0].RPCAddr()}, app.QueryTx, []byte(id), 0, &loc)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("tx %s never committed: %v", id, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	t.Setenv("JINLIAN_NODE", "")
	codes := map[bool]int{}
	for _, id := range ids {
		out, err := runCLI(t, "query", "tx", id, "-o", "json", "--node", nodes[0].RPCAddr())
		if err != nil {
			t.Fatalf("query tx %s: %v", id, err)
		}
		var got txLookup
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("query tx %s: %v\n%s", id, err, out)
		}
		if got.Source != sourceBlockResults || len(got.Hash) != 64 || got.Height == 0 {
			t.Fatalf("query tx %s without an index: %+v, want a hash, a height and source %q", id, got, sourceBlockResults)
		}
		if got.Code != 0 && !strings.Contains(got.Log, "insufficient") {
			t.Errorf("refused tx %s: log %q, want the refusal's reason", id, got.Log)
		}
		codes[got.Code == 0]++
	}
	if codes[true] != 1 || codes[false] != 1 {
		t.Fatalf("double spend: %d executed, %d refused; want one of each", codes[true], codes[false])
	}
	unknown := strings.Repeat("ab", 32)
	if _, err := runCLI(t, "query", "tx", unknown, "--node", nodes[0].RPCAddr()); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("query tx of an unknown id: %v, want not found", err)
	}
}
