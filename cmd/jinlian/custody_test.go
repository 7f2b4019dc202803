package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/contracts/custody"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/node/localnet"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

func TestCustodyOf(t *testing.T) {
	ev := wire.Event
	approved := func(id uint64, n uint32, exec int64) abci.Event {
		return ev(&txpb.EventCustodyApproved{Account: "a", Proposal: id, Approvals: n, Threshold: 2, ExecutableHeight: exec})
	}
	for _, tc := range []struct {
		name   string
		events []abci.Event
		want   *custodyOutcome
	}{
		{"a transfer is no custody transaction", []abci.Event{{Type: "transfer"}}, nil},
		{"created", []abci.Event{ev(&txpb.EventCustodyCreated{Account: "a", Threshold: 2})}, &custodyOutcome{Account: "a", Status: "created", Threshold: 2}},
		{"proposed, expired ones closed first",
			[]abci.Event{ev(&txpb.EventCustodyClosed{Account: "a", Proposal: 1, Status: custody.StatusExpired}), ev(&txpb.EventCustodyProposed{Account: "a", Proposal: 3}), approved(3, 1, 0)},
			&custodyOutcome{Account: "a", Proposal: 3, Status: custody.StatusAwaiting, Approvals: 1, Threshold: 2}},
		{"approved into the time lock", []abci.Event{approved(3, 2, 40)},
			&custodyOutcome{Account: "a", Proposal: 3, Status: custody.StatusTimeLocked, Approvals: 2, Threshold: 2, ExecutableHeight: 40}},
		{"approved and executed", []abci.Event{approved(3, 2, 9), {Type: "transfer"}, ev(&txpb.EventCustodyExecuted{Account: "a", Proposal: 3})},
			&custodyOutcome{Account: "a", Proposal: 3, Status: "executed", Approvals: 2, Threshold: 2}},
		{"signer change executed, another proposal superseded",
			[]abci.Event{approved(4, 2, 9), ev(&txpb.EventCustodyClosed{Account: "a", Proposal: 3, Status: custody.StatusSuperseded}), ev(&txpb.EventCustodyExecuted{Account: "a", Proposal: 4})},
			&custodyOutcome{Account: "a", Proposal: 4, Status: "executed", Approvals: 2, Threshold: 2}},
		{"vetoed", []abci.Event{ev(&txpb.EventCustodyClosed{Account: "a", Proposal: 5, Status: custody.StatusVetoed})},
			&custodyOutcome{Account: "a", Proposal: 5, Status: custody.StatusVetoed}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := custodyOf(tc.events)
			if (got == nil) != (tc.want == nil) || got != nil && *got != *tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestCustodyFlags(t *testing.T) {
	a, b := strings.Repeat("ab", 20), strings.Repeat("cd", 20)
	got, err := addressList("signer", []string{a + "," + b, " 0x" + a})
	if err != nil || len(got) != 3 {
		t.Fatalf("addresses %v %v", got, err)
	}
	for _, bad := range [][]string{nil, {""}, {a + ",xyz"}} {
		if _, err := addressList("signer", bad); err == nil || !strings.Contains(err.Error(), "--signer") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	ls, err := parseLimits([]string{"CNY=100,USD=5", "GOLD=1"})
	if err != nil || len(ls) != 3 || ls[0].Asset != "CNY" || ls[0].Amount != 100 || ls[2].Asset != "GOLD" {
		t.Fatalf("limits %v %v", ls, err)
	}
	for _, bad := range []string{"CNY", "CNY=0", "=5", "CNY=-1", "CNY=x"} {
		if _, err := parseLimits([]string{bad}); err == nil || !strings.Contains(err.Error(), "ASSET=AMOUNT") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// TestCustodyCLI drives a custody account through the CLI on a localnet of
// two validators (bankA and bankB): created with both as signers, two of
// two; funded; a payment proposed by bankA waits for bankB, which bankA
// cannot stand in for; bankB's approval pays it; the queries show it.
func TestCustodyCLI(t *testing.T) {
	ln, _ := startCLILocalnet(t, 2)
	keys := localnet.KeysDir(ln.Home)
	bankA, _ := gmcrypto.ReadKeyInfo(filepath.Join(keys, "bankA.json"))
	bankB, _ := gmcrypto.ReadKeyInfo(filepath.Join(keys, "bankB.json"))
	node := []string{"--node", ln.Network.Nodes[0].RPCAddr, "-o", "json"}
	tx := func(from string, args ...string) (txResult, error) {
		t.Helper()
		out, err := runCLI(t, append(append(append([]string{"tx"}, args...), "--from", filepath.Join(keys, from+".json")), node...)...)
		var res txResult
		if jerr := json.Unmarshal([]byte(out), &res); jerr != nil && err == nil {
			t.Fatalf("%v: output %q: %v", args, out, jerr)
		}
		return res, err
	}

	res, err := tx("bankA", "custody", "create", "--signer", bankA.Address+","+bankB.Address, "--threshold", "2", "--daily-limit", "CNY=5000", "--memo", "settlement vault")
	if err != nil || res.Custody == nil || res.Custody.Status != "created" {
		t.Fatalf("create: %v %+v", err, res)
	}
	vault := res.Custody.Account
	if want, _ := custody.AccountAddress("payments", res.TxID); want.String() != vault {
		t.Fatalf("account %s, want %s derived from tx %s", vault, want, res.TxID)
	}
	if _, err := tx("bankA", "transfer", "--asset", "CNY", "--to", vault, "--amount", "1000"); err != nil {
		t.Fatalf("fund: %v", err)
	}
	res, err = tx("bankA", "custody", "propose", "--account", vault, "--asset", "CNY", "--to", bankB.Address, "--amount", "300", "--memo", "invoice 42")
	if err != nil || res.Custody == nil || res.Custody.Proposal != 1 || res.Custody.Status != custody.StatusAwaiting || res.Custody.Approvals != 1 {
		t.Fatalf("propose: %v %+v", err, res)
	}
	if res, err := tx("bankA", "custody", "approve", "--account", vault, "--proposal", "1"); err == nil || res.Code != custody.ErrAlreadyApproved.Code() || res.Codespace != "custody" {
		t.Fatalf("bankA approving twice: %v %+v", err, res)
	}
	out, err := runCLI(t, append([]string{"query", "custody", "proposals", "--account", vault}, node...)...)
	var ps app.CustodyProposalsResponse
	if err != nil || json.Unmarshal([]byte(out), &ps) != nil || len(ps.Proposals) != 1 || ps.Proposals[0].Status != custody.StatusAwaiting || ps.Proposals[0].Memo != "invoice 42" {
		t.Fatalf("proposals: %v %s", err, out)
	}
	res, err = tx("bankB", "custody", "approve", "--account", vault, "--proposal", "1")
	if err != nil || res.Custody == nil || res.Custody.Status != "executed" {
		t.Fatalf("approve: %v %+v", err, res)
	}
	out, err = runCLI(t, append([]string{"query", "custody", "account", "--account", vault}, node...)...)
	var acc app.CustodyAccountResponse
	if err != nil || json.Unmarshal([]byte(out), &acc) != nil || len(acc.Balances) != 1 || acc.Balances[0].Amount != 700 || acc.Balances[0].PaidToday != 300 || acc.Memo != "settlement vault" {
		t.Fatalf("account: %v %s", err, out)
	}
	out, err = runCLI(t, "query", "custody", "accounts", "--signer", bankB.Address, "--node", ln.Network.Nodes[0].RPCAddr)
	if err != nil || !strings.Contains(out, vault+" 2 of 2") {
		t.Fatalf("accounts: %v %s", err, out)
	}
}
