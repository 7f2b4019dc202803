package localnet_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/jinlian-ledger/jinlian/node/localnet"
	"github.com/jinlian-ledger/jinlian/node/localnet/localnettest"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/contracts/payments"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
)

func TestLocalnetExtraFundedAccounts(t *testing.T) {
	k, err := gmcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	extra := k.Public().Address().String()
	cases := []struct {
		name    string
		extra   []string
		wantErr string
		funded  []string // addresses expected among the CNY balances
	}{
		{name: "none: only the demo identities are funded", funded: nil},
		{name: "an extra address gets the localnet funding", extra: []string{extra}, funded: []string{extra}},
		{name: "a 0x prefix is accepted and dropped", extra: []string{"0x" + extra}, funded: []string{extra}},
		{name: "a malformed address is refused", extra: []string{"zz"}, wantErr: "extra funded account"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := localnet.Prepare(localnet.Options{Home: t.TempDir(), Validators: 1, BasePort: 30000, ExtraFundedAccounts: tc.extra})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			g, err := app.ParseGenesis(ln.Network.Genesis.AppState)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]uint64{}
			for _, b := range g.Ledgers[0].Balances {
				got[b.Account] = b.Amount
			}
			if len(got) != len(ln.Identities)+len(tc.funded) {
				t.Fatalf("%d funded accounts, want %d", len(got), len(ln.Identities)+len(tc.funded))
			}
			for _, a := range tc.funded {
				if got[a] != localnet.Funding {
					t.Errorf("balance of %s = %d, want %d", a, got[a], localnet.Funding)
				}
			}
		})
	}
}

// TestLocalnetSyntheticAccounts: four real validators apply a genesis of
// generated accounts in a bulk load (ADR 0021) and agree on every app
// hash (CometBFT halts a node that does not), each node reads a generated
// account's balance after its first commit, and the network goes on after
// all its nodes stop and start again on their homes.
func TestLocalnetSyntheticAccounts(t *testing.T) {
	const n = 3000
	h := localnettest.Start(t, localnettest.Options{Options: localnet.Options{Validators: 4, SyntheticAccounts: n},
		Heavy: "runs a four-validator localnet", WaitHeight: 3})
	seed, _ := hex.DecodeString(localnet.SyntheticSeed)
	last := app.SyntheticAddress(seed, n-1)
	var hashes [][]byte
	wait, cancelWait := context.WithTimeout(context.Background(), time.Minute)
	defer cancelWait()
	for i, nd := range h.Nodes {
		// WaitHeight is node 0's: another may be a block behind.
		if err := consensus.WaitForHeight(wait, h.Clients[i], 3); err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		v, err := nd.Store.View(2)
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		hashes = append(hashes, ledger.AppHash(v.Roots()))
		if bal, err := (payments.Keeper{}).Balance(v, "payments", "CNY", last); err != nil || bal != localnet.Funding {
			t.Fatalf("node %d: balance of generated account %d at height 2: %d, %v; want %d", i, n-1, bal, err, localnet.Funding)
		}
	}
	for i := 1; i < len(hashes); i++ {
		if !bytes.Equal(hashes[i], hashes[0]) {
			t.Fatalf("node %d's app hash at height 2 %X, node 0's %X", i, hashes[i], hashes[0])
		}
	}
	h.Stop(t)
	h.Restart(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := h.Clients[0].Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := consensus.WaitForHeight(ctx, h.Clients[0], st.SyncInfo.LatestBlockHeight+2); err != nil {
		t.Fatalf("after a restart: %v", err)
	}
}
