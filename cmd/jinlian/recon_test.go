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

	// A member proves its account's movements through its node's API:
	// the gate gives it no raw block, so they come from the event feed.
	bundle := filepath.Join(dir, "movements.json")
	out, err = runCLI(t, append([]string{"query", "movements", "--account", A.Address, "--asset", "CNY", "--from-height", "2", "--prove", bundle}, as...)...)
	if err != nil || !strings.Contains(out, ": 4 movements") || !strings.Contains(out, `memo="INV-4"`) {
		t.Fatalf("query movements through the API: %v\n%s", err, out)
	}
	genesis := filepath.Join(ln.Network.Nodes[0].Home, "config", "genesis.json")
	if out, err := runCLI(t, "verify", "proof", bundle, "--trust", genesis); err != nil || !strings.Contains(out, "the 4 movements listed are every movement") {
		t.Fatalf("verify the member's completeness bundle: %v\n%s", err, out)
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
	// recon watch: two days before the chain started (no transfers), then
	// today's, which is not over. The second day's file comes late.
	watchDir, inDir := filepath.Join(dir, "watch"), filepath.Join(dir, "in")
	if err := os.MkdirAll(inDir, 0o755); err != nil {
		t.Fatal(err)
	}
	today, err := time.ParseInLocation(recon.DateLayout, day, shanghai(t))
	if err != nil {
		t.Fatal(err)
	}
	d1, d2 := today.AddDate(0, 0, -2).Format(recon.DateLayout), today.AddDate(0, 0, -1).Format(recon.DateLayout)
	header := []byte(strings.Join(recon.CSVHeader, ",") + "\n")
	inFile := func(d string) string { return filepath.Join(inDir, "bankA-"+strings.ReplaceAll(d, "-", "")+".csv") }
	if err := os.WriteFile(inFile(d1), header, 0o644); err != nil {
		t.Fatal(err)
	}
	watch := func(extra ...string) (string, string) {
		t.Helper()
		out, errOut, err := runCLIStderr(append(append([]string{"recon", "watch", "--once", "--org", "bankA", "--internal", filepath.Join(inDir, "bankA-{yyyymmdd}.csv"),
			"--out-dir", watchDir, "--from", A.KeyFile}, as...), extra...)...)
		if err != nil {
			t.Fatalf("recon watch: %v\n%s%s", err, out, errOut)
		}
		return out, errOut
	}
	out, errOut := watch("--since", d1)
	if !strings.Contains(out, d1+" (no block): ") || !strings.Contains(out, "0 chain movements, 0 internal lines") ||
		!strings.Contains(errOut, d2+" is over; waiting for the internal file "+inFile(d2)) {
		t.Fatalf("first watch:\n%s%s", out, errOut)
	}
	t.Logf("recon watch, first run:\n%s%s", out, errOut)
	// Restarted with the late file and today's: d2 is done, not d1 again,
	// and today waits.
	if err := os.WriteFile(inFile(d2), header, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(inFile(day), []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut = watch("--since", d1)
	if strings.Contains(out, d1+" (no block): ") || !strings.Contains(out, d2+" (no block): ") || !strings.Contains(errOut, day+" is not over yet") ||
		!strings.Contains(errOut, "--since "+d1+" is ignored") {
		t.Fatalf("second watch:\n%s%s", out, errOut)
	}
	t.Logf("recon watch, restarted:\n%s%s", out, errOut)
	for _, d := range []string{d1, d2} {
		f := filepath.Join(watchDir, "bankA-"+strings.ReplaceAll(d, "-", "")+"-recon.json")
		if out, err := runCLI(t, "recon", "verify", f, "--signer", A.Address); err != nil || !strings.Contains(out, "for "+d) {
			t.Fatalf("verify %s: %v\n%s", f, err, out)
		}
		if _, err := os.Stat(filepath.Join(watchDir, "bankA-"+strings.ReplaceAll(d, "-", "")+"-breaks.csv")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(watchDir, "bankA-"+strings.ReplaceAll(day, "-", "")+"-recon.json")); !os.IsNotExist(err) {
		t.Fatalf("today's result written before the day is over: %v", err)
	}
	// Without --once it keeps running: both days done, today awaited,
	// until it is stopped.
	{
		outDir := t.TempDir()
		var stdout, stderr syncBuffer
		cmd := newRootCmd()
		cmd.SetOut(&stdout)
		cmd.SetErr(&stderr)
		cmd.SetArgs(append([]string{"recon", "watch", "--poll", "100ms", "--org", "bankA", "--internal", filepath.Join(inDir, "bankA-{yyyymmdd}.csv"),
			"--out-dir", outDir, "--since", d1}, as...))
		// Its own deadline: the test's context has been running for
		// the whole test, and -race makes it slow.
		wctx, stop := context.WithTimeout(context.Background(), 2*time.Minute)
		defer stop()
		done := make(chan error, 1)
		go func() { done <- cmd.ExecuteContext(wctx) }()
		for _, d := range []string{d1, d2} {
			for {
				if _, err := os.Stat(filepath.Join(outDir, "bankA-"+strings.ReplaceAll(d, "-", "")+"-recon.json")); err == nil {
					break
				}
				if wctx.Err() != nil {
					t.Fatalf("recon watch did not write %s's result:\n%s%s", d, stdout.String(), stderr.String())
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		for !strings.Contains(stderr.String(), day+" is not over yet") {
			if wctx.Err() != nil {
				t.Fatalf("recon watch did not wait for today:\n%s%s", stdout.String(), stderr.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond) // a few more polls of today, said once
		stop()
		if err := <-done; err != nil || !strings.Contains(stderr.String(), day+" is not over yet") ||
			strings.Count(stderr.String(), "not over yet") != 1 {
			t.Fatalf("recon watch, stopped: %v\n%s%s", err, stdout.String(), stderr.String())
		}
	}
	for _, bad := range [][]string{{"--internal", "x.csv"}, {"--org", ""}, {"--since", "3 Dec"}} {
		args := append([]string{"recon", "watch", "--once", "--org", "bankA", "--internal", "{date}.csv", "--out-dir", t.TempDir(), "--since", d1}, bad...)
		if _, err := runCLI(t, args...); err == nil {
			t.Fatalf("recon watch %q accepted", bad)
		}
	}

	// A file of another day is refused.
	other := time.Now().AddDate(0, 0, -3).In(shanghai(t)).Format(recon.DateLayout)
	if _, err := runCLI(t, append([]string{"recon", "run", "--org", "bankA", "--date", other, "--internal", internal}, as...)...); err == nil ||
		!strings.Contains(err.Error(), "is not for "+other) {
		t.Fatalf("a file of %s reconciled for %s: %v", day, other, err)
	}
}
