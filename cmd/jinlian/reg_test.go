package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/regulator"
)

func TestRegVerifyReport(t *testing.T) {
	dir := t.TempDir()
	key, err := gmcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := gmcrypto.GenerateKey()
	body := []byte("record,format\nreport,jinlian-compliance-report/v1\n")
	report := filepath.Join(dir, "r.csv")
	sig, _ := regulator.SignReport(body, key)
	sb, _ := json.Marshal(sig)
	if err := os.WriteFile(report, body, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(report+".sig", sb, 0o644); err != nil {
		t.Fatal(err)
	}
	signer := key.Public().Address().String()
	cases := []struct {
		name    string
		args    []string
		tamper  bool
		wantErr string
	}{
		{"valid", []string{"reg", "verify-report", report}, false, ""},
		{"valid, expected signer", []string{"reg", "verify-report", report, "--signer", signer}, false, ""},
		{"another signer expected", []string{"reg", "verify-report", report, "--signer", other.Public().Address().String()}, false, "not by"},
		{"changed report", []string{"reg", "verify-report", report}, true, "the report was changed"},
	}
	for _, c := range cases {
		if c.tamper {
			if err := os.WriteFile(report, append(body, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		out, err := runCLI(t, c.args...)
		switch {
		case c.wantErr == "" && (err != nil || !strings.Contains(out, "valid SM2 signature by "+signer)):
			t.Errorf("%s: %v %s", c.name, err, out)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s: error %v, want %q", c.name, err, c.wantErr)
		}
	}
}

func TestRegSQLSchema(t *testing.T) {
	out, err := runCLI(t, "reg", "sql-schema")
	if err != nil || !strings.Contains(out, "CREATE TABLE blocks") || !strings.Contains(out, "CREATE OR REPLACE VIEW jinlian_movements") {
		t.Fatalf("sql-schema: %v\n%.200s", err, out)
	}
	out, _ = runCLI(t, "reg", "sql-schema", "--jinlian-only")
	if strings.Contains(out, "CREATE TABLE blocks") {
		t.Fatal("--jinlian-only printed CometBFT's tables")
	}
}

func TestRegNeedsAKey(t *testing.T) {
	_, err := runCLI(t, "--home", t.TempDir(), "reg", "status", "--from", "nobody")
	if err == nil || !strings.Contains(err.Error(), `key "nobody" not found`) {
		t.Fatalf("status without a key: %v", err)
	}
}
