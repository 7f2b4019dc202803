package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cmtlog "github.com/cometbft/cometbft/libs/log"

	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/heavytest"
	"github.com/jinlian-ledger/jinlian/node"
	"github.com/jinlian-ledger/jinlian/node/localnet"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/regulator"
)

// TestRegSanctionsLifecycle drives the sanctions list through the CLI on a
// localnet of two validators and an observer: the regulator lists bankB
// with a reason and a source, bankA's transfer to it reaches a block and
// fails there with code 10, the observer raises a sanctions_attempt alert
// naming sender, target, amount and height; after removal the transfer
// goes through. A malformed address is refused before anything is sent.
func TestRegSanctionsLifecycle(t *testing.T) {
	heavytest.Begin(t, "starts a localnet")
	base, err := consensus.FreeBasePort(3)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := localnet.Prepare(localnet.Options{Home: t.TempDir(), Validators: 2, Observers: 1, BasePort: base, TimeoutCommit: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := ln.Start(context.Background(), cmtlog.NewNopLogger(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = node.StopAll(nodes) })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := consensus.WaitForHeight(ctx, nodes[2].Client(), 1); err != nil {
		t.Fatal(err)
	}
	t.Setenv(gmcrypto.PassphraseEnv, localnet.Passphrase)
	for _, env := range []string{"JINLIAN_NODE", "JINLIAN_OBSERVER", "JINLIAN_TLS_MODE", "JINLIAN_TLS_CA", "JINLIAN_TLS_CERT", "JINLIAN_TLS_KEY"} {
		t.Setenv(env, "")
	}
	keys := localnet.KeysDir(ln.Home)
	bankB, err := gmcrypto.ReadKeyInfo(filepath.Join(keys, "bankB.json"))
	if err != nil {
		t.Fatal(err)
	}
	target := bankB.Address
	node := []string{"--node", ln.Network.Nodes[0].RPCAddr}
	reg := append([]string{"reg", "--from", filepath.Join(keys, "regulator.json")}, node...)
	pay := append([]string{"tx", "transfer", "--from", filepath.Join(keys, "bankA.json"), "--asset", "CNY", "--to", target, "--amount", "4711"}, node...)

	if _, err := runCLI(t, append(reg, "sanctions", "add", "not-an-address", "--entry", "SDN-1", "--reason", "r", "--source", "s")...); err == nil || !strings.Contains(err.Error(), "not-an-address") {
		t.Fatalf("malformed address: %v", err)
	}
	if _, err := runCLI(t, append(reg, "sanctions", "add", target, "--entry", "SDN-4711", "--reason", "fronts for a listed entity", "--source", "OFAC SDN 2026-03-01")...); err != nil {
		t.Fatalf("sanctions add: %v", err)
	}
	out, err := runCLI(t, append(reg, "sanctions", "list", "-o", "json")...)
	var list []permission.Sanction
	if err != nil || json.Unmarshal([]byte(out), &list) != nil || len(list) != 1 || list[0].Account != target || list[0].Source != "OFAC SDN 2026-03-01" ||
		list[0].Reason != "fronts for a listed entity" || list[0].Entry != "SDN-4711" || list[0].Height == 0 {
		t.Fatalf("sanctions list: %v %s", err, out)
	}

	out, err = runCLI(t, append(pay, "-o", "json")...)
	var res txResult
	if err == nil || json.Unmarshal([]byte(out), &res) != nil || res.Code != permission.ErrSanctioned.Code() || res.Height == 0 || !strings.Contains(res.Log, "SDN-4711") {
		t.Fatalf("transfer to a listed account: want it refused in a block with code 10: %v %s", err, out)
	}
	var alert *regulator.Alert
	for alert == nil {
		out, err := runCLI(t, "reg", "--observer", nodes[2].Regulator.URL(), "--from", filepath.Join(keys, "regulator.json"), "alerts", "--rule", regulator.RuleSanctionsAttempt, "-o", "json")
		if err != nil {
			t.Fatalf("reg alerts: %v", err)
		}
		var page regulator.Page[regulator.Alert]
		if err := json.Unmarshal([]byte(out), &page); err != nil {
			var items []regulator.Alert
			if err := json.Unmarshal([]byte(out), &items); err != nil {
				t.Fatalf("alerts output: %v %s", err, out)
			}
			page.Items = items
		}
		if len(page.Items) > 0 {
			alert = &page.Items[0]
			break
		}
		if ctx.Err() != nil {
			t.Fatal("no sanctions_attempt alert")
		}
		time.Sleep(100 * time.Millisecond)
	}
	bankA, _ := gmcrypto.ReadKeyInfo(filepath.Join(keys, "bankA.json"))
	if alert.Subject != target || alert.Height != res.Height || len(alert.TxIDs) != 1 || alert.TxIDs[0] != res.TxID ||
		!strings.Contains(alert.Reason, "4711 CNY") || !strings.Contains(alert.Reason, "from "+bankA.Address+" to "+target) {
		t.Fatalf("alert %+v, want subject %s, height %d, tx %s, amount and parties", alert, target, res.Height, res.TxID)
	}

	if _, err := runCLI(t, append(reg, "sanctions", "remove", target, "--reason", "delisted 2026-03-05")...); err != nil {
		t.Fatalf("sanctions remove: %v", err)
	}
	if out, err := runCLI(t, append(reg, "sanctions", "list", "-o", "json")...); err != nil || strings.TrimSpace(out) != "[]" {
		t.Fatalf("list after removal: %v %q", err, out)
	}
	if _, err := runCLI(t, pay...); err != nil {
		t.Fatalf("transfer after removal: %v", err)
	}
}
