package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	cmtlog "github.com/cometbft/cometbft/libs/log"

	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/heavytest"
	"github.com/jinlian-ledger/jinlian/node"
	"github.com/jinlian-ledger/jinlian/node/localnet"
	"github.com/jinlian-ledger/jinlian/recon"
)

// TestReconRunThroughOwnNode runs a localnet where bankA and bankB pay
// each other, writes bankA's internal file from its own statement with
// planted breaks (a payment never booked, an amount booked wrong, a line
// posted twice, a payment booked that never reached the chain), and
// checks that recon run, through bankA's node's GM TLS API, finds exactly
// them; that the signed result names the day's heights and the node's app
// hashes; and that recon verify accepts it for bankA's key only.
func TestReconRunThroughOwnNode(t *testing.T) {
	heavytest.Begin(t, "runs a two-validator localnet behind the GM TLS API")
	base, err := consensus.FreeBasePort(2)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := localnet.Prepare(localnet.Options{Home: t.TempDir(), Validators: 2, BasePort: base,
		TimeoutCommit: 100 * time.Millisecond, CheckpointInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	apiURL, apiCA := serveGatedAPI(t, ln, 0, base, "bankA", "bankB")
	nodes, err := ln.Start(context.Background(), cmtlog.NewNopLogger(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = node.StopAll(nodes) })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := consensus.WaitForHeight(ctx, nodes[0].Client(), 1); err != nil {
		t.Fatal(err)
	}
	t.Setenv(gmcrypto.PassphraseEnv, localnet.Passphrase)
	for _, env := range []string{"JINLIAN_NODE", "JINLIAN_TLS_MODE", "JINLIAN_TLS_CA", "JINLIAN_TLS_CERT", "JINLIAN_TLS_KEY"} {
		t.Setenv(env, "")
	}
	key := map[string]localnet.Identity{}
	for _, id := range ln.Identities {
		key[id.Org] = id
	}
	A, B := key["bankA"], key["bankB"]
	rpc := nodes[0].RPCAddr()
	days := map[string]bool{}
	pay := func(from, to localnet.Identity, amount int, memo string) {
		t.Helper()
		out, err := runCLI(t, "tx", "transfer", "-o", "json", "--node", rpc, "--from", from.KeyFile, "--asset", "CNY", "--to", to.Address,
			"--amount", fmt.Sprint(amount), "--memo", memo)
		var res struct {
			Code   uint32 `json:"code"`
			Height int64  `json:"height"`
		}
		if err != nil || json.Unmarshal([]byte(out), &res) != nil || res.Code != 0 {
			t.Fatalf("transfer %s: %v %s", memo, err, out)
		}
		blk, err := nodes[0].Client().Block(ctx, &res.Height)
		if err != nil {
			t.Fatal(err)
		}
		days[blk.Block.Time.In(shanghai(t)).Format(recon.DateLayout)] = true
	}
	pay(A, B, 250, "INV-1")
	pay(B, A, 40, "REF-2")
	pay(A, B, 5, "INV-3")
	pay(A, B, 70, "INV-4")
	if len(days) != 1 {
		t.Skip("the transfers straddle midnight in Shanghai")
	}
	var day string
	for d := range days {
		day = d
	}
	as := []string{"--node", apiURL, "--tls-mode", "gmtls", "--tls-ca", apiCA, "--tls-key", A.KeyFile}

	// bankA's internal file: its statement, with breaks planted.
	out, err := runCLI(t, append([]string{"statement", "-o", "csv", "--org", "bankA", "--date", day}, as...)...)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(recs) != 5 {
		t.Fatalf("statement CSV: %v\n%s", err, out)
	}
	col := func(name string) int { return slices.Index(recon.CSVHeader, name) }
	var file [][]string
	file = append(file, recs[0])
	for _, r := range recs[1:] {
		switch r[col("memo")] {
		case "INV-3": // never booked
			continue
		case "INV-4": // booked as 700
			r[col("amount")] = "700"
		case "REF-2": // posted twice
			file = append(file, slices.Clone(r))
		}
		file = append(file, r)
	}
	extra := slices.Clone(recs[1]) // booked, never sent
	extra[col("memo")], extra[col("tx_id")], extra[col("amount")] = "INV-999", "", "1"
	file = append(file, extra)
	dir := t.TempDir()
	internal := filepath.Join(dir, "bankA-"+strings.ReplaceAll(day, "-", "")+".csv")
	var sb strings.Builder
	w := csv.NewWriter(&sb)
	_ = w.WriteAll(file)
	if err := os.WriteFile(internal, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	result := filepath.Join(dir, "result.json")
	out, err = runCLI(t, append([]string{"recon", "run", "-o", "json", "--org", "bankA", "--date", day, "--internal", internal,
		"--from", A.KeyFile, "--out", result}, as...)...)
	if err != nil {
		t.Fatalf("recon run: %v\n%s", err, out)
	}
	var res recon.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range res.Breaks {
		got = append(got, b.Kind+" "+b.Reference)
	}
	want := []string{"missing_on_chain INV-999", "missing_internally INV-3", "amount_mismatch INV-4", "duplicate_internal REF-2"}
	if !slices.Equal(got, want) || res.Summary.Matched != 2 || res.Summary.ChainMovements != 4 || res.Summary.InternalRecords != 5 {
		t.Fatalf("breaks %q, want %q; summary %+v", got, want, res.Summary)
	}
	// The result names the day's heights and the node's app hashes.
	c := res.Chain
	if c.FromHeight == 0 || c.Before == nil || c.Before.Height != c.FromHeight {
		t.Fatalf("chain range %+v", c)
	}
	h := c.Before.Height
	cm, err := nodes[0].Client().Commit(ctx, &h)
	if err != nil || cm.AppHash.String() != c.Before.AppHash || cm.Commit.BlockID.Hash.String() != c.Before.BlockHash || c.ChainID != cm.ChainID {
		t.Fatalf("anchor %+v, node's header %v %v", c.Before, cm, err)
	}
	if c.After != nil && c.After.Height != c.ToHeight+1 {
		t.Fatalf("after %+v", c.After)
	}

	// The text summary and the CSV of breaks.
	out, err = runCLI(t, append([]string{"recon", "run", "--org", "bankA", "--date", day, "--internal", internal}, as...)...)
	if err != nil || !strings.Contains(out, "4 chain movements, 5 internal lines: 2 matched, 4 breaks") || !strings.Contains(out, "amount mismatch") {
		t.Fatalf("text: %v\n%s", err, out)
	}
	t.Logf("recon run:\n%s", out)
	out, err = runCLI(t, append([]string{"recon", "run", "-o", "csv", "--org", "bankA", "--date", day, "--internal", internal}, as...)...)
	if lines, _ := csv.NewReader(strings.NewReader(out)).ReadAll(); err != nil || len(lines) != 5 || !slices.Equal(lines[0], recon.BreaksCSVHeader) {
		t.Fatalf("csv: %v\n%s", err, out)
	}
	t.Logf("recon run -o csv:\n%s", out)
	out, err = runCLI(t, append([]string{"recon", "run", "--org", "bankA", "--date", day, "--internal", internal,
		"--from", A.KeyFile, "--out", filepath.Join(dir, "text.json")}, as...)...)
	if err != nil || !strings.Contains(out, "signed by "+strings.ToLower(A.Address)) {
		t.Fatalf("text with --out: %v\n%s", err, out)
	}
	t.Logf("recon run --from --out:\n%s", out)

	// Verify: bankA's key, not bankB's.
	out, err = runCLI(t, "recon", "verify", result, "--signer", A.Address)
	if err != nil || !strings.Contains(out, "valid SM2 signature by "+strings.ToLower(A.Address)) {
		t.Fatalf("verify: %v\n%s", err, out)
	}
	t.Logf("recon verify:\n%s", out)
	if _, err := runCLI(t, "recon", "verify", result, "--signer", B.Address); err == nil || !strings.Contains(err.Error(), "not by") {
		t.Fatalf("verify with bankB as the signer: %v", err)
	} else {
		t.Logf("recon verify --signer bankB: %v", err)
	}
	if _, err := runCLI(t, "recon", "verify", result); err == nil || !strings.Contains(err.Error(), "--signer") {
		t.Fatalf("verify without --signer: %v", err)
	}

	// bankB's books are its statement; recon compare confirms the pair.
	bs := []string{"--node", apiURL, "--tls-mode", "gmtls", "--tls-ca", apiCA, "--tls-key", B.KeyFile}
	out, err = runCLI(t, append([]string{"statement", "-o", "csv", "--org", "bankB", "--date", day}, bs...)...)
	if err != nil {
		t.Fatal(err)
	}
	internalB := filepath.Join(dir, "bankB.csv")
	if err := os.WriteFile(internalB, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	resultB := filepath.Join(dir, "resultB.json")
	if out, err := runCLI(t, append([]string{"recon", "run", "--org", "bankB", "--date", day, "--internal", internalB,
		"--from", B.KeyFile, "--out", resultB}, bs...)...); err != nil || !strings.Contains(out, "0 breaks") {
		t.Fatalf("recon run for bankB: %v\n%s", err, out)
	}
	out, err = runCLI(t, "recon", "compare", result, resultB, "--signer-a", A.Address, "--signer-b", B.Address, "-o", "json")
	if err == nil || !strings.Contains(err.Error(), "the results disagree") {
		t.Fatalf("compare: %v\n%s", err, out)
	}
	var cmp recon.Comparison
	if err := json.Unmarshal([]byte(out), &cmp); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// The day is today: neither result is of a finished day, which
	// compare says first.
	got = nil
	if d := cmp.Disagreements; len(d) == 0 || d[0].Kind != recon.DisagreeChainRange || d[0].Field != "complete" {
		t.Fatalf("compare of two results of a day not over: %+v", d)
	}
	for _, d := range cmp.Disagreements {
		if d.Kind == recon.DisagreeChainRange {
			continue
		}
		k := d.Kind + " " + d.Field
		if d.Break != nil {
			k = d.Kind + " " + d.Side + " " + d.Break.Kind + " " + d.Break.Reference
		}
		got = append(got, k)
	}
	want = []string{"book_flows a.internal_credits vs b.internal_debits", "book_flows a.internal_debits vs b.internal_credits",
		"open_break bankA missing_on_chain INV-999", "open_break bankA missing_internally INV-3", "open_break bankA amount_mismatch INV-4",
		"open_break bankA duplicate_internal REF-2"}
	if !slices.Equal(got, want) {
		t.Fatalf("compare found\n%q\nwant\n%q", got, want)
	}
	out, err = runCLI(t, "recon", "compare", result, resultB, "--signer-a", A.Address, "--signer-b", B.Address)
	t.Logf("recon compare: %v\n%s", err, out)
	if _, err := runCLI(t, "recon", "compare", resultB, resultB, "--signer-a", B.Address, "--signer-b", B.Address); err == nil ||
		!strings.Contains(err.Error(), "both are of bankB") {
		t.Fatalf("compare of one bank's result with itself: %v", err)
	}
	if _, err := runCLI(t, "recon", "compare", result, resultB, "--signer-a", B.Address, "--signer-b", B.Address); err == nil ||
		!strings.Contains(err.Error(), "not by") {
		t.Fatalf("compare with the wrong signer: %v", err)
	}
	// A file of another day is refused.
	other := time.Now().AddDate(0, 0, -3).In(shanghai(t)).Format(recon.DateLayout)
	if _, err := runCLI(t, append([]string{"recon", "run", "--org", "bankA", "--date", other, "--internal", internal}, as...)...); err == nil ||
		!strings.Contains(err.Error(), "is not for "+other) {
		t.Fatalf("a file of %s reconciled for %s: %v", day, other, err)
	}
}
