package localnet_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/node"
	"github.com/jinlian-ledger/jinlian/node/localnet"
	"github.com/jinlian-ledger/jinlian/nodecfg"
)

// An observer's regulator indexes every block from height 1, so an
// observer home without a ledger refuses to start with state sync on.
func TestObserverRefusesStateSync(t *testing.T) {
	ln, err := localnet.Prepare(localnet.Options{Home: t.TempDir(), Validators: 1, Observers: 1, BasePort: 30100})
	if err != nil {
		t.Fatal(err)
	}
	home := ln.Network.Nodes[1].Home
	cc, err := consensus.LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	trust := consensus.StateSyncTrust{Height: 5, Hash: strings.Repeat("ab", 32), RPCServers: []string{"http://127.0.0.1:1", "http://127.0.0.1:2"}}
	if err := consensus.ApplyStateSync(cc, trust, 0); err != nil {
		t.Fatal(err)
	}
	if err := consensus.WriteConfig(home, cc); err != nil {
		t.Fatal(err)
	}
	cfg, err := nodecfg.Load(home, nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.Start(context.Background(), cfg, node.Options{})
	if err == nil {
		_ = n.Stop()
		t.Fatal("an observer started with state sync on")
	}
	if !strings.Contains(err.Error(), "cannot join by state sync") {
		t.Fatalf("error %v", err)
	}
}
