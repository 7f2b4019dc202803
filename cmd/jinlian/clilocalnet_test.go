package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	cmtlog "github.com/cometbft/cometbft/libs/log"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/node"
	"github.com/jinlian-ledger/jinlian/node/localnet"
	"github.com/jinlian-ledger/jinlian/node/localnet/localnettest"
	"github.com/jinlian-ledger/jinlian/nodecfg"
)

// startCLILocalnet starts a localnet of n validators for CLI tests (the
// heavy-test lock held), waits for block 1 and clears the environment the
// CLI reads, so that only the flags a test passes count. The localnet's
// key passphrase is set.
func startCLILocalnet(t *testing.T, n int) (*localnet.Net, []*node.Node) {
	t.Helper()
	net := startCLILocalnetWith(t, localnettest.Options{Options: localnet.Options{Validators: n}})
	return net.Net, net.Nodes
}

// startCLILocalnetWith is startCLILocalnet with the harness's options (a
// Prepare hook, timeouts); Heavy and CometLogger are set here.
func startCLILocalnetWith(t *testing.T, o localnettest.Options) *localnettest.Net {
	t.Helper()
	o.Heavy, o.CometLogger = "starts a localnet", cmtlog.NewNopLogger()
	net := localnettest.Start(t, o)
	t.Setenv(gmcrypto.PassphraseEnv, localnet.Passphrase)
	for _, env := range []string{"JINLIAN_NODE", "JINLIAN_OBSERVER", "JINLIAN_TLS_MODE", "JINLIAN_TLS_CA", "JINLIAN_TLS_CERT", "JINLIAN_TLS_KEY"} {
		t.Setenv(env, "")
	}
	return net
}

// serveGatedAPI configures node i of ln (before it starts) to serve the API
// at base+10i+2 over GM TLS with mutual authentication, its clients the
// registered identities of orgs (their certificates chain to the
// organisations' CAs), so that the read gate decides. It returns the API's
// https:// URL and its CA file.
func serveGatedAPI(t testing.TB, ln *localnet.Net, i, base int, orgs ...string) (url, caFile string) {
	t.Helper()
	home := ln.Network.Nodes[i].Home
	certs, err := api.GenerateCertificates(api.CertOptions{Dir: filepath.Join(t.TempDir(), "api"), Mode: nodecfg.APITLSGM, Org: "bankA", Client: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := nodecfg.Load(home, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", base+consensus.PortsPerNode*i+2)
	cfg.API.Listen, cfg.API.TLS = addr, nodecfg.APITLSGM
	cfg.API.CertFile, cfg.API.KeyFile, cfg.API.EncCertFile, cfg.API.EncKeyFile = certs.Cert, certs.Key, certs.EncCert, certs.EncKey
	var cas []byte
	for _, org := range orgs {
		b, err := os.ReadFile(filepath.Join(localnet.CADir(ln.Home, org), "ca.crt.pem"))
		if err != nil {
			t.Fatal(err)
		}
		cas = append(cas, b...)
	}
	cfg.API.ClientCAFile = filepath.Join(t.TempDir(), "clients.pem")
	if err := os.WriteFile(cfg.API.ClientCAFile, cas, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := cfg.WriteFile(); err != nil {
		t.Fatal(err)
	}
	return "https://" + addr, certs.CA
}
