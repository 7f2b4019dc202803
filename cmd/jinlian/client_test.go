package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cmtlog "github.com/cometbft/cometbft/libs/log"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/heavytest"
	"github.com/jinlian-ledger/jinlian/node"
	"github.com/jinlian-ledger/jinlian/node/localnet"
	"github.com/jinlian-ledger/jinlian/nodecfg"
)

// runCLI runs the jinlian command with args and returns its stdout.
func runCLI(t testing.TB, args ...string) (string, error) {
	t.Helper()
	out, _, err := runCLIStderr(args...)
	return out, err
}

// runCLIStderr runs the CLI and returns its stdout and stderr.
func runCLIStderr(args ...string) (out, errOut string, err error) {
	var o, e bytes.Buffer
	cmd := newRootCmd()
	cmd.SetArgs(args)
	cmd.SetOut(&o)
	cmd.SetErr(&e)
	err = cmd.Execute()
	return o.String(), e.String(), err
}

// TestCLIThroughGMTLSAPI runs a one-validator jinlian localnet whose node
// serves its API over GM TLS with mutual authentication, and drives the
// unchanged CLI commands through it: status, a signed transfer, a balance.
func TestCLIThroughGMTLSAPI(t *testing.T) {
	heavytest.Begin(t, "runs a localnet behind the GM TLS API")
	base, err := consensus.FreeBasePort(2)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := localnet.Prepare(localnet.Options{Home: t.TempDir(), Validators: 2, BasePort: base, TimeoutCommit: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	home := ln.Network.Nodes[0].Home
	certs, err := api.GenerateCertificates(api.CertOptions{Dir: filepath.Join(t.TempDir(), "api"), Mode: nodecfg.APITLSGM, Org: "bankA", Client: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := nodecfg.Load(home, nil)
	if err != nil {
		t.Fatal(err)
	}
	apiAddr := fmt.Sprintf("127.0.0.1:%d", base+2)
	cfg.API.Listen, cfg.API.TLS = apiAddr, nodecfg.APITLSGM
	cfg.API.CertFile, cfg.API.KeyFile, cfg.API.EncCertFile, cfg.API.EncKeyFile = certs.Cert, certs.Key, certs.EncCert, certs.EncKey
	// Clients may come from the test CA (alice, not registered on chain) or
	// from bankA's CA (the registered demo identity).
	bundle := filepath.Join(t.TempDir(), "clients.pem")
	testCA, _ := os.ReadFile(certs.CA)
	bankCA, _ := os.ReadFile(filepath.Join(localnet.CADir(ln.Home, "bankA"), "ca.crt.pem"))
	if err := os.WriteFile(bundle, append(testCA, bankCA...), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.API.ClientCAFile = bundle
	if err := cfg.WriteFile(); err != nil {
		t.Fatal(err)
	}
	nodes, err := ln.Start(context.Background(), cmtlog.NewNopLogger(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = node.StopAll(nodes) })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := consensus.WaitForHeight(ctx, nodes[0].Client(), 1); err != nil {
		t.Fatal(err)
	}

	// The client's SM2 TLS key, also as a jinlian key file holding its certificate.
	t.Setenv(gmcrypto.PassphraseEnv, localnet.Passphrase)
	for _, env := range []string{"JINLIAN_NODE", "JINLIAN_TLS_MODE", "JINLIAN_TLS_CA", "JINLIAN_TLS_CERT", "JINLIAN_TLS_KEY"} {
		t.Setenv(env, "")
	}
	clientKey, err := gmcrypto.LoadPrivateKeyFile(certs.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := gmcrypto.LoadCertificatesFile(certs.ClientCert)
	if err != nil {
		t.Fatal(err)
	}
	keystore := filepath.Join(t.TempDir(), "alice-tls.json")
	if err := gmcrypto.SaveKey(keystore, gmcrypto.KeyInfo{Name: "alice", Org: "bankA", Certificate: string(certPEM[0].PEM())}, clientKey, []byte(localnet.Passphrase)); err != nil {
		t.Fatal(err)
	}

	node := "https://" + apiAddr
	pemFlags := []string{"--node", node, "--tls-ca", certs.CA, "--tls-cert", certs.ClientCert, "--tls-key", certs.ClientKey}
	keystoreFlags := []string{"--node", node, "--tls-mode", "gmtls", "--tls-ca", certs.CA, "--tls-key", keystore}

	out, err := runCLI(t, append([]string{"status", "-o", "json"}, pemFlags...)...)
	if err != nil {
		t.Fatalf("status through the API: %v", err)
	}
	var st map[string]any
	if err := json.Unmarshal([]byte(out), &st); err != nil || st["chain_id"] != ln.Network.ChainID {
		t.Fatalf("status: %v %s", err, out)
	}

	from, to := ln.Identities[0], ln.Identities[1]
	out, err = runCLI(t, append([]string{"tx", "transfer", "-o", "json", "--from", from.KeyFile, "--asset", "CNY", "--to", to.Address, "--amount", "250"}, keystoreFlags...)...)
	if err != nil {
		t.Fatalf("tx transfer through the API: %v", err)
	}
	var tx map[string]any
	if err := json.Unmarshal([]byte(out), &tx); err != nil || tx["code"] != float64(0) {
		t.Fatalf("tx transfer: %v %s", err, out)
	}
	// A proposal prints its id and status.
	out, err = runCLI(t, append([]string{"gov", "propose", "set-params", "--voting-period", "50", "--from", from.KeyFile}, keystoreFlags...)...)
	if err != nil || !strings.Contains(out, "proposal: 1 (voting)") {
		t.Fatalf("gov propose: %v %s", err, out)
	}
	out, err = runCLI(t, append([]string{"gov", "show", "1"}, gmtlsKeyFlags(from.KeyFile, node, certs.CA)...)...)
	if err != nil || !strings.Contains(out, "action: voting_period_blocks=50") {
		t.Fatalf("gov show: %v %s", err, out)
	}

	// Reads are gated: alice's certificate is valid but names no on-chain
	// identity; bankA's demo identity is a member of payments but no
	// regulator, so it may not read raw blocks.
	if _, err := runCLI(t, append([]string{"query", "balance", "--asset", "CNY", "--account", to.Address}, pemFlags...)...); err == nil || !strings.Contains(err.Error(), "is not registered on chain") {
		t.Fatalf("unregistered client read a balance: %v", err)
	}
	bankFlags := []string{"--node", node, "--tls-mode", "gmtls", "--tls-ca", certs.CA, "--tls-key", from.KeyFile}
	if _, err := runCLI(t, append([]string{"query", "tx", strings.Repeat("ab", 32)}, bankFlags...)...); err == nil {
		t.Fatal("expected an error for an unknown tx id")
	}
	if _, err := runCLI(t, append([]string{"debug", "invariants"}, bankFlags...)...); err == nil || !strings.Contains(err.Error(), "only regulators and auditors") {
		t.Fatalf("member read every sub-ledger's supply: %v", err)
	}
	// verify qc needs no raw block: a member checks a certificate against
	// the header of the next block, verified by its commit.
	if err := consensus.WaitForHeight(ctx, nodes[0].Client(), 5); err != nil {
		t.Fatal(err)
	}
	out, err = runCLI(t, append([]string{"verify", "qc", "--height", "2", "--trust", filepath.Join(ln.Network.Nodes[0].Home, "config", "genesis.json")}, bankFlags...)...)
	if err != nil || !strings.Contains(out, "OK: every SM2 signature verifies") || !strings.Contains(out, "header 3 verified") {
		t.Fatalf("member verify qc through the API: %v\n%s", err, out)
	}
	out, err = runCLI(t, append([]string{"query", "balance", "-o", "json", "--asset", "CNY", "--account", to.Address}, bankFlags...)...)
	if err != nil {
		t.Fatalf("query balance through the API: %v", err)
	}
	var bal map[string]any
	if err := json.Unmarshal([]byte(out), &bal); err != nil || fmt.Sprint(bal["amount"]) != fmt.Sprint(localnet.Funding+250) {
		t.Fatalf("balance: %v %s", err, out)
	}

	// Completeness commitments: a member reads its own organisation's
	// accounts (the transfer above is the sender's first movement), not
	// another bank's.
	out, err = runCLI(t, append([]string{"query", "commitment", "-o", "json", "--asset", "CNY", "--account", from.Address}, bankFlags...)...)
	if err != nil {
		t.Fatalf("query commitment of its own account through the API: %v", err)
	}
	var com map[string]any
	if err := json.Unmarshal([]byte(out), &com); err != nil || com["count"] != "1" || fmt.Sprint(com["balance"]) != fmt.Sprint(localnet.Funding-250) || len(fmt.Sprint(com["chain"])) != 64 {
		t.Fatalf("commitment: %v %s", err, out)
	}
	if to.Org != from.Org {
		if _, err := runCLI(t, append([]string{"query", "commitment", "--asset", "CNY", "--account", to.Address}, bankFlags...)...); err == nil || !strings.Contains(err.Error(), "it is an account of "+to.Org) {
			t.Fatalf("member read another bank's commitment: %v", err)
		}
	}

	refused := []struct {
		name string
		args []string
		want string
	}{
		{"no client certificate", []string{"--node", node, "--tls-ca", certs.CA}, "bad certificate"},
		{"no CA", []string{"--node", node}, "needs --tls-ca"},
		{"TLS 1.3 against a GM TLS API", []string{"--node", node, "--tls-mode", "tls13", "--tls-ca", certs.CA}, "an SM2 CA needs gmtls"},
		{"TLS flags on a plain RPC address", []string{"--node", nodes[0].RPCAddr(), "--tls-ca", certs.CA}, "need an https:// --node"},
		{"unknown mode", []string{"--node", node, "--tls-mode", "ssl", "--tls-ca", certs.CA}, "want tls13 or gmtls"},
	}
	for _, r := range refused {
		_, err := runCLI(t, append([]string{"status"}, r.args...)...)
		if err == nil || !strings.Contains(err.Error(), r.want) {
			t.Errorf("%s: error %v, want it to mention %q", r.name, err, r.want)
		}
	}
}

// gmtlsKeyFlags: reach node over GM TLS authenticated by a jinlian key file.
func gmtlsKeyFlags(key, node, ca string) []string {
	return []string{"--node", node, "--tls-mode", "gmtls", "--tls-ca", ca, "--tls-key", key}
}
