package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/node/localnet"
	"github.com/jinlian-ledger/jinlian/node/localnet/localnettest"
)

// A node whose mempool is full refuses a transaction before CheckTx and
// keeps nothing of it: `jinlian tx` sends the same signed transaction
// again, backing off, and it commits once a block has emptied the mempool.
// The one validator's mempool holds one transaction and it makes a block
// every 3 s, so a transfer broadcast while another waits for its block
// finds the mempool full.
func TestTxRetriesWhileMempoolFull(t *testing.T) {
	net := startCLILocalnetWith(t, localnettest.Options{
		Options: localnet.Options{Validators: 1, TimeoutCommit: 3 * time.Second},
		Prepare: func(ln *localnet.Net) {
			home := ln.Network.Nodes[0].Home
			c, err := consensus.LoadConfig(home)
			if err != nil {
				t.Fatal(err)
			}
			c.Mempool.Size = 1
			if err := consensus.WriteConfig(home, c); err != nil {
				t.Fatal(err)
			}
		},
	})
	rpc := net.Network.Nodes[0].RPCAddr
	from := net.Identities[0]
	pay := func(memo string) []string {
		return []string{"tx", "transfer", "--node", rpc, "--from", from.KeyFile, "--asset", "CNY", "--to", from.Address,
			"--amount", "1", "--memo", memo}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for attempt := range 4 {
		// The second transfer is signed first, so that it goes out the
		// moment the first is in the mempool.
		file := filepath.Join(t.TempDir(), "second.json")
		if _, err := runCLI(t, append(pay("second"), "--sign-only", file, "--chain-id", net.Network.ChainID)...); err != nil {
			t.Fatalf("sign the second transfer: %v", err)
		}
		first := make(chan error, 1)
		go func() {
			_, err := runCLI(t, pay("first")...)
			first <- err
		}()
		for {
			res, err := net.Clients[0].NumUnconfirmedTxs(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if res.Total == 1 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		out, errOut, err := runCLIStderr("tx", "broadcast", file, "--node", rpc, "-o", "json")
		var res txResult
		if err != nil || json.Unmarshal([]byte(out), &res) != nil || res.Code != 0 || res.Height == 0 {
			t.Fatalf("the second transfer: %v %s %s", err, out, errOut)
		}
		if err := <-first; err != nil {
			t.Fatalf("the first transfer: %v", err)
		}
		if strings.Contains(errOut, "mempool is full") {
			return
		}
		t.Logf("attempt %d: the first transfer left the mempool before the second went out (stderr %q)", attempt, errOut)
	}
	t.Fatal("the second transfer never found the mempool full")
}
