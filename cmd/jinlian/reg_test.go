package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	coretypes "github.com/cometbft/cometbft/rpc/core/types"
	"github.com/cometbft/cometbft/types"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/permission"
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
		{"no expected signer", []string{"reg", "verify-report", report}, false, "--signer"},
		{"valid, any signer", []string{"reg", "verify-report", report, "--any-signer"}, false, ""},
		{"valid, expected signer", []string{"reg", "verify-report", report, "--signer", signer}, false, ""},
		{"another signer expected", []string{"reg", "verify-report", report, "--signer", other.Public().Address().String()}, false, "not by"},
		{"changed report", []string{"reg", "verify-report", report, "--signer", signer}, true, "the report was changed"},
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
	for _, want := range []string{"CREATE TABLE blocks", "CREATE TABLE IF NOT EXISTS jinlian_movements", "CREATE TABLE IF NOT EXISTS jinlian_alerts",
		"CREATE TABLE IF NOT EXISTS jinlian_sql_cursor", "VIEW jinlian_daily_net_flows", "VIEW jinlian_txs"} {
		if err != nil || !strings.Contains(out, want) {
			t.Fatalf("sql-schema lacks %q: %v\n%.200s", want, err, out)
		}
	}
	out, _ = runCLI(t, "reg", "sql-schema", "--jinlian-only")
	if strings.Contains(out, "CREATE TABLE blocks") || strings.Contains(out, "jinlian_txs") || !strings.Contains(out, "jinlian_movements") {
		t.Fatal("--jinlian-only printed CometBFT's tables or the view over them, or not the regulator's")
	}
}

func TestRegNeedsAKey(t *testing.T) {
	_, err := runCLI(t, "--home", t.TempDir(), "reg", "status", "--from", "nobody")
	if err == nil || !strings.Contains(err.Error(), `key "nobody" not found`) {
		t.Fatalf("status without a key: %v", err)
	}
}

// genesisOnly is a block source of a chain that has its genesis and no block.
type genesisOnly struct{}

func (genesisOnly) Block(context.Context, *int64) (*coretypes.ResultBlock, error) {
	return nil, errors.New("no block")
}
func (genesisOnly) BlockResults(context.Context, *int64) (*coretypes.ResultBlockResults, error) {
	return nil, errors.New("no block")
}
func (genesisOnly) Status(context.Context) (*coretypes.ResultStatus, error) {
	return &coretypes.ResultStatus{}, nil
}
func (genesisOnly) ABCIInfo(context.Context) (*coretypes.ResultABCIInfo, error) {
	return &coretypes.ResultABCIInfo{}, nil
}
func (genesisOnly) Genesis(context.Context) (*coretypes.ResultGenesis, error) {
	return &coretypes.ResultGenesis{Genesis: &types.GenesisDoc{ChainID: "audit-test", GenesisTime: time.Now()}}, nil
}

// TestRegAuditExportAndVerify: the audit log exported through the API and
// from a stopped observer's store verifies against the observer's key;
// one edited, deleted or moved line fails at its seq, and so does a
// chain checked against another key.
func TestRegAuditExportAndVerify(t *testing.T) {
	dir := t.TempDir()
	obsKey, caller, other := mustGenKey(t), mustGenKey(t), mustGenKey(t)
	keyFile, pwFile := filepath.Join(dir, "auditor.json"), filepath.Join(dir, "pw")
	if err := gmcrypto.SaveKey(keyFile, gmcrypto.KeyInfo{Name: "auditor"}, caller, []byte("pw")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pwFile, []byte("pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	indexDir := filepath.Join(dir, "data", "regulator.badger")
	svc, err := regulator.New(regulator.Config{Source: genesisOnly{}, IndexDir: indexDir, AuditKey: obsKey, Listen: "127.0.0.1:0",
		Roles: func(context.Context, string) ([]string, error) { return []string{permission.RoleAuditor}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	reg := []string{"reg", "--observer", svc.URL(), "--from", keyFile, "--passphrase-file", pwFile}
	for range 3 {
		if _, err := runCLI(t, append(reg, "status")...); err != nil {
			t.Fatal(err)
		}
	}
	viaAPI := filepath.Join(dir, "api.jsonl")
	if out, err := runCLI(t, append(reg, "audit", "export", "--out", viaAPI)...); err != nil || !strings.Contains(out, "wrote 3 audit entries") {
		t.Fatalf("export through the API: %v %s", err, out)
	}
	if err := svc.Stop(); err != nil {
		t.Fatal(err)
	}
	fromStore := filepath.Join(dir, "store.jsonl")
	if out, err := runCLI(t, "reg", "audit", "export", "--store", regulator.OperatorDir(indexDir), "--out", fromStore); err != nil || !strings.Contains(out, "wrote 4 audit entries") {
		t.Fatalf("export from the store: %v %s", err, out)
	}
	pub := hex.EncodeToString(obsKey.Public().Bytes())
	for _, f := range []string{viaAPI, fromStore} {
		if out, err := runCLI(t, "reg", "audit", "verify", f, "--pubkey", pub); err != nil || !strings.Contains(out, "chain and SM2 signatures valid") {
			t.Fatalf("verify %s: %v %s", f, err, out)
		}
	}
	body, _ := os.ReadFile(fromStore)
	lines := strings.SplitAfter(string(body), "\n")
	lines = lines[:len(lines)-1]
	cases := []struct {
		name    string
		lines   func() []string
		pubkey  string
		wantErr string
	}{
		{"edited", func() []string {
			l := slices.Clone(lines)
			l[1] = strings.Replace(l[1], `"status":200`, `"status":403`, 1)
			return l
		}, pub, "broken at seq 2"},
		{"deleted", func() []string { return slices.Delete(slices.Clone(lines), 2, 3) }, pub, "broken at seq 3"},
		{"moved", func() []string { l := slices.Clone(lines); l[0], l[3] = l[3], l[0]; return l }, pub, "broken at seq 1"},
		{"another observer's key", func() []string { return lines }, hex.EncodeToString(other.Public().Bytes()), "not a trusted observer key"},
	}
	for _, tc := range cases {
		f := filepath.Join(dir, tc.name+".jsonl")
		if err := os.WriteFile(f, []byte(strings.Join(tc.lines(), "")), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := runCLI(t, "reg", "audit", "verify", f, "--pubkey", tc.pubkey); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.wantErr)
		}
	}
}

func mustGenKey(t *testing.T) *gmcrypto.PrivateKey {
	t.Helper()
	k, err := gmcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestRegSQLBackfill: `reg sql backfill` reaches the observer's API signed
// with --from (its height flag is --from-height) and prints the observer's
// refusal: here an observer without SQL, and a height outside the index.
func TestRegSQLBackfill(t *testing.T) {
	dir := t.TempDir()
	caller := mustGenKey(t)
	keyFile, pwFile := filepath.Join(dir, "regulator.json"), filepath.Join(dir, "pw")
	if err := gmcrypto.SaveKey(keyFile, gmcrypto.KeyInfo{Name: "regulator"}, caller, []byte("pw")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pwFile, []byte("pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		conn, height, want string
	}{
		{"", "1", "501: regulator SQL is off on this observer: set regulator.sql"},
		{"postgres://u:pw0rd@127.0.0.1:1/x?sslmode=disable&connect_timeout=2", "5", "400: bad backfill height: from height 5: the index holds heights 1..0"},
		{"postgres://u:pw0rd@127.0.0.1:1/x?sslmode=disable&connect_timeout=2", "1", "regulator SQL postgres://u:xxxxx@127.0.0.1:1/x"},
	} {
		svc, err := regulator.New(regulator.Config{Source: genesisOnly{}, IndexDir: filepath.Join(t.TempDir(), "regulator.badger"), AuditKey: mustGenKey(t),
			Listen: "127.0.0.1:0", SQLConn: c.conn,
			Roles: func(context.Context, string) ([]string, error) { return []string{permission.RoleRegulator}, nil }})
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		_, err = runCLI(t, "reg", "--observer", svc.URL(), "--from", keyFile, "--passphrase-file", pwFile, "sql", "backfill", "--from-height", c.height)
		_ = svc.Stop()
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "pw0rd") {
			t.Errorf("backfill --from-height %s against %q: %v, want %q", c.height, c.conn, err, c.want)
		}
	}
}
