package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/contracts/reserves"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/node/localnet"
)

// TestReservesCLI: on a localnet of four validators (reserves every
// checkpoint, 20 blocks), bankA pays bankB; at the next reserves height
// bankB gets its proof with query reserves --prove, whose app hash is the
// checkpoint's of that height, and verify reserves accepts it offline and
// with --node (the SM2 QC of that height); a
// bundle with bankB's balance raised, or with a sibling's sum lowered, is
// refused naming what failed; debug invariants shows the reserves hold.
func TestReservesCLI(t *testing.T) {
	ln, nodes := startCLILocalnet(t, 4)
	keys := localnet.KeysDir(ln.Home)
	bankB, err := gmcrypto.ReadKeyInfo(filepath.Join(keys, "bankB.json"))
	if err != nil {
		t.Fatal(err)
	}
	node := []string{"--node", ln.Network.Nodes[0].RPCAddr}
	cli := func(args ...string) string {
		t.Helper()
		out, err := runCLI(t, append(args, node...)...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		return out
	}
	var res txResult
	out := cli("tx", "transfer", "-o", "json", "--from", filepath.Join(keys, "bankA.json"), "--asset", "CNY", "--to", bankB.Address, "--amount", "250")
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Code != 0 {
		t.Fatalf("transfer: %v %s", err, out)
	}

	// The first reserves height at or after the transfer, and its QC
	// (block h+2) for --node.
	n := localnet.CheckpointInterval
	h := (res.Height + int64(n) - 1) / int64(n) * int64(n)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := consensus.WaitForHeight(ctx, nodes[0].Client(), h+3); err != nil {
		t.Fatal(err)
	}
	var rec app.ReservesResponse
	if err := json.Unmarshal([]byte(cli("query", "reserves", "--asset", "CNY", "-o", "json")), &rec); err != nil || rec.Record.Height < h || rec.Record.Accounts == 0 {
		t.Fatalf("record: %v %+v", err, rec)
	}
	bundle := cli("query", "reserves", "--asset", "CNY", "--account", bankB.Address, "--prove", "--height", strconv.FormatInt(h, 10), "-o", "json")
	dir := t.TempDir()
	file := filepath.Join(dir, "bundle.json")
	if err := os.WriteFile(file, []byte(bundle), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := runCLI(t, "verify", "reserves", file); err != nil || !strings.Contains(out, "OK: "+bankB.Address) || !strings.Contains(out, "not checked against a quorum certificate") {
		t.Fatalf("offline verify: %v\n%s", err, out)
	}
	genesis := filepath.Join(ln.Network.Nodes[0].Home, "config", "genesis.json")
	if _, err := runCLI(t, append([]string{"verify", "reserves", file}, node...)...); err == nil || !strings.Contains(err.Error(), "nothing trusted") {
		t.Fatalf("verify --node without a trusted point: %v", err)
	}
	out = cli("verify", "reserves", file, "--trust", genesis)
	if !strings.Contains(out, "certified by an SM2 quorum certificate") {
		t.Fatalf("verify --node:\n%s", out)
	}

	// The reserves height is a checkpoint height: the checkpoint the
	// chain defined there (and a prover anchors) has the bundle's app hash.
	parsed, err := reserves.DecodeBundle([]byte(bundle))
	if err != nil {
		t.Fatal(err)
	}
	v, err := nodes[0].Store.View(0)
	if err != nil {
		t.Fatal(err)
	}
	epoch, ok, err := app.CheckpointEpochAt(v, uint64(h))
	if err != nil || !ok {
		t.Fatalf("no checkpoint at reserves height %d: %v", h, err)
	}
	cp, ok, err := app.LoadCheckpoint(v, epoch)
	if err != nil || !ok || !bytes.Equal(cp.AppHash[:], parsed.AppHash) {
		t.Fatalf("checkpoint %d of height %d: app hash %X, the bundle's %X (%v)", epoch, h, cp.AppHash, []byte(parsed.AppHash), err)
	}

	var b map[string]any
	if err := json.Unmarshal([]byte(bundle), &b); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		tamper func(m map[string]any)
		want   string
	}{
		{"balance raised", func(m map[string]any) { m["balance"] = "999999999" }, "does not lead to the committed root"},
		{"total raised", func(m map[string]any) {
			r := m["record"].(map[string]any)
			r["total"] = "1"
		}, "does not sum to the committed total"},
		{"app hash replaced", func(m map[string]any) { m["app_hash"] = strings.Repeat("AB", 32) }, "do not hash to the app hash"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var m map[string]any
			_ = json.Unmarshal([]byte(bundle), &m)
			c.tamper(m)
			raw, _ := json.Marshal(m)
			bad := filepath.Join(dir, "bad.json")
			if err := os.WriteFile(bad, raw, 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := runCLI(t, append([]string{"verify", "reserves", bad}, node...)...)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(out, "FAILED") {
				t.Fatalf("tampered bundle: %v\n%s", err, out)
			}
		})
	}

	// A genuine bundle of height h presented as of height h+1, to be
	// checked against that height's certificate: the record it proves is
	// of height h.
	b["height"] = float64(h + 1)
	rec1 := b["record"].(map[string]any)
	rec1["height"] = float64(h + 1)
	raw, _ := json.Marshal(b)
	wrong := filepath.Join(dir, "wrong-height.json")
	_ = os.WriteFile(wrong, raw, 0o600)
	if out, err := runCLI(t, append([]string{"verify", "reserves", wrong}, node...)...); err == nil || !strings.Contains(err.Error(), "differs from the proven record") {
		t.Fatalf("bundle moved to another height: %v\n%s", err, out)
	}

	inv := cli("debug", "invariants")
	if !strings.Contains(inv, "payments/CNY reserves of height") || !strings.Contains(inv, "invariants hold: true") {
		t.Fatalf("invariants:\n%s", inv)
	}
}
