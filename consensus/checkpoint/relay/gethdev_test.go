//go:build gethdev

package relay

// Runs the relayer against a real `geth --dev` process:
//
//	go install github.com/ethereum/go-ethereum/cmd/geth@v1.17.8
//	go test -tags gethdev -run GethDev ./consensus/checkpoint/relay
//
// GETH names the binary (default: geth on PATH). geth --dev enables the
// same unscheduled forks as the simulated backend's dev configuration, so
// its gas figures are not mainnet's (see LiveRules).

import (
	"context"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"

	"github.com/jinlian-ledger/jinlian/consensus/checkpoint"
)

func TestGethDev(t *testing.T) {
	_, client, key := StartGethDev(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	chainID, err := client.ChainID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := bind.NewKeyedTransactorWithChainID(key, chainID)
	if err != nil {
		t.Fatal(err)
	}

	p := dev(t)
	keys, vals := checkpoint.TestValidators(t, 1, 10, 10, 10, 10)
	g := checkpoint.TestGenesis(t, "jinlian-gethdev", vals, checkpoint.DevSlots)
	addr, err := Deploy(ctx, client, auth, g, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(client, addr, auth, Config{Backoff: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	prev := g
	for e := uint64(1); e <= 2; e++ {
		cp := checkpoint.TestNext(prev, e*20, "gethdev")
		res, err := r.Submit(ctx, cp, prove(t, p, keys, vals, cp, 0, 1, 2))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("geth --dev: epoch %d anchored in block %d, %d gas", e, res.Block, res.GasUsed)
		prev = cp
	}
	st, err := r.Status(ctx)
	if err != nil || st.Epoch != 2 || st.CheckpointHash != prev.Hash() {
		t.Fatalf("status %+v %v", st, err)
	}
}
