package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/contracts/pvp"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/node/localnet"
)

func TestPvpFlags(t *testing.T) {
	l, err := parseLeg("leg-a", "payments:CNY:700")
	if err != nil || l.Ledger != "payments" || l.Asset != "CNY" || l.Amount != 700 {
		t.Fatalf("leg %v %v", l, err)
	}
	for _, bad := range []string{"", "payments:CNY", "payments:CNY:0", ":CNY:5", "payments::5", "payments:CNY:-1", "a:b:c:d"} {
		if _, err := parseLeg("leg-a", bad); err == nil || !strings.Contains(err.Error(), "LEDGER:ASSET:AMOUNT") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if b, err := optionalAddress("receiver-a", ""); b != nil || err != nil {
		t.Fatalf("empty: %v %v", b, err)
	}
	if _, err := optionalAddress("receiver-a", "xyz"); err == nil || !strings.Contains(err.Error(), "--receiver-a") {
		t.Fatalf("bad address: %v", err)
	}
}

// TestPvpCLI drives a trade through the CLI on a localnet of two
// validators: bankA's CNY against bankB's USD (both on payments, the
// localnet's only sub-ledger); bankA cannot fund bankB's leg; bankB's
// funding settles both legs; the queries show it.
func TestPvpCLI(t *testing.T) {
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

	res, err := tx("bankB", "issue", "--asset", "USD", "--to", bankB.Address, "--amount", "500")
	if err != nil {
		t.Fatalf("issue USD: %v %+v", err, res)
	}
	res, err = tx("bankA", "pvp", "propose", "--counterparty", bankB.Address, "--leg-a", "payments:CNY:700", "--leg-b", "payments:USD:100",
		"--expiry-height", fmt.Sprint(res.Height+100), "--memo", "FX 42")
	if err != nil || res.Code != 0 {
		t.Fatalf("propose: %v %+v", err, res)
	}
	trade := res.TxID
	if _, err := tx("bankA", "pvp", "fund", "--trade", trade, "--leg", "a"); err != nil {
		t.Fatalf("fund A: %v", err)
	}
	if res, err := tx("bankA", "pvp", "fund", "--trade", trade, "--leg", "B"); err == nil || res.Code != pvp.ErrWrongParty.Code() || res.Codespace != "pvp" {
		t.Fatalf("bankA funding bankB's leg: %v %+v", err, res)
	}
	if _, err := tx("bankB", "pvp", "fund", "--trade", trade, "--leg", "B"); err != nil {
		t.Fatalf("fund B: %v", err)
	}
	out, err := runCLI(t, append([]string{"query", "pvp", "trade", "--trade", trade}, node...)...)
	var tr app.PvpTradeResponse
	if err != nil || json.Unmarshal([]byte(out), &tr) != nil || tr.Status != pvp.StatusSettled || tr.Rate != "0.1428571429" || tr.Memo != "FX 42" {
		t.Fatalf("trade: %v %s", err, out)
	}
	out, err = runCLI(t, "query", "pvp", "trades", "--party", bankB.Address, "--node", ln.Network.Nodes[0].RPCAddr)
	if err != nil || !strings.Contains(out, trade+" settled") {
		t.Fatalf("trades: %v %s", err, out)
	}
	out, err = runCLI(t, "query", "balance", "--asset", "USD", "--account", bankA.Address, "--node", ln.Network.Nodes[0].RPCAddr)
	if err != nil || !strings.Contains(out, "100") {
		t.Fatalf("bankA's USD: %v %s", err, out)
	}
}
