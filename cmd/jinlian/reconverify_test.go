package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/recon"
)

// TestReconVerifyCLI checks a signed result offline: the expected signer
// passes, another is refused, a missing --signer is refused, an edited
// field is named; and recon run refuses incomplete flags before any I/O.
func TestReconVerifyCLI(t *testing.T) {
	key, err := gmcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	other, err := gmcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	sr, err := recon.Sign(&recon.Result{Org: "bankA", Date: "2026-12-03", TimeZone: "Asia/Shanghai",
		Chain:  recon.ChainRange{ChainID: "c", FromHeight: 3, ToHeight: 9, Before: &recon.ChainAnchor{Height: 3, AppHash: "AA", BlockHash: "BB"}},
		Breaks: []recon.Break{{Kind: recon.BreakMissingOnChain, Reference: "INV-1", Internal: &recon.Record{Line: 2, Direction: recon.Debit, Amount: 5}}},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "result.json")
	b, _ := json.MarshalIndent(sr, "", "  ")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	signer := key.Public().Address().String()
	out, err := runCLI(t, "recon", "verify", file, "--signer", strings.ToUpper(signer))
	if err != nil || !strings.Contains(out, "valid SM2 signature by "+signer) || !strings.Contains(out, "header 3: app hash AA") {
		t.Fatalf("verify: %v\n%s", err, out)
	}
	if out, err := runCLI(t, "recon", "verify", file, "--any-signer", "-o", "json"); err != nil || !strings.Contains(out, `"signer": "`+signer) {
		t.Fatalf("--any-signer: %v\n%s", err, out)
	}
	if _, err := runCLI(t, "recon", "verify", file, "--signer", other.Public().Address().String()); err == nil || !strings.Contains(err.Error(), "not by") {
		t.Fatalf("another signer: %v", err)
	}
	if _, err := runCLI(t, "recon", "verify", file); err == nil || !strings.Contains(err.Error(), "--signer") {
		t.Fatalf("no signer: %v", err)
	}
	edited := filepath.Join(dir, "edited.json")
	if err := os.WriteFile(edited, []byte(strings.Replace(string(b), `"INV-1"`, `"INV-2"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, "recon", "verify", edited, "--signer", signer); err == nil || !strings.Contains(err.Error(), "result.breaks: changed after signing") {
		t.Fatalf("edited: %v", err)
	}

	if out, err := runCLI(t, "recon", "mapping"); err != nil || out != recon.DefaultMappingTOML {
		t.Fatalf("recon mapping: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--org", "bankA"}, "--internal FILE is required"},
		{[]string{"--internal", file, "--from", "bankA"}, "give --out FILE too"},
		{[]string{"--internal", file, "--encoding", "latin-9"}, `encoding "latin-9"`},
		{[]string{"--internal", file, "--mapping", filepath.Join(dir, "none.toml")}, "none.toml"},
	} {
		if _, err := runCLI(t, append([]string{"recon", "run"}, tc.args...)...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("recon run %q: %v, want %q", tc.args, err, tc.want)
		}
	}
}
