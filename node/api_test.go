package node_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/node"
	"github.com/jinlian-ledger/jinlian/node/localnet"
	"github.com/jinlian-ledger/jinlian/node/localnet/localnettest"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/nodecfg"
)

// TestNodeServesAPI: a node whose jinlian.toml sets api.listen
// serves the API (here GM TLS with mutual authentication, certificate paths
// relative to the home) and stops it with the node.
func TestNodeServesAPI(t *testing.T) {
	base, err := consensus.FreeBasePort(1)
	if err != nil {
		t.Fatal(err)
	}
	apiAddr := fmt.Sprintf("127.0.0.1:%d", base+2)
	var files *api.CertFiles
	h := localnettest.Start(t, localnettest.Options{Options: localnet.Options{BasePort: base}, WaitHeight: -1, Prepare: func(ln *localnet.Net) {
		home := ln.Network.Nodes[0].Home
		var err error
		files, err = api.GenerateCertificates(api.CertOptions{Dir: filepath.Join(home, "config", "api"), Mode: nodecfg.APITLSGM, Org: "bankA", Client: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := nodecfg.Load(home, nil)
		if err != nil {
			t.Fatal(err)
		}
		cfg.API.Listen, cfg.API.TLS = apiAddr, nodecfg.APITLSGM
		cfg.API.CertFile, cfg.API.KeyFile = "config/api/server_sign.pem", "config/api/server_sign_key.pem"
		cfg.API.EncCertFile, cfg.API.EncKeyFile = "config/api/server_enc.pem", "config/api/server_enc_key.pem"
		cfg.API.ClientCAFile = "config/api/ca.pem"
		if err := cfg.WriteFile(); err != nil {
			t.Fatal(err)
		}
	}})
	nodes := h.Nodes
	if nodes[0].API == nil || nodes[0].API.Addr().String() != apiAddr {
		t.Fatalf("API not started on %s", apiAddr)
	}
	hc, err := api.NewHTTPClient(api.ClientTLS{Mode: nodecfg.APITLSGM, CAFile: files.CA, CertFile: files.ClientCert, KeyFile: files.ClientKey})
	if err != nil {
		t.Fatal(err)
	}
	c, err := rpchttp.NewWithClient("https://"+apiAddr, "/websocket", hc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := consensus.WaitForHeight(ctx, c, 3); err != nil {
		t.Fatalf("through the API: %v", err)
	}
	// GET /v1/qc reads the certificate of height 1 from block 3.
	for _, tc := range []struct {
		query string
		code  int
		want  string
	}{
		{"height=1", http.StatusOK, `"height": 1,`},
		{"height=1000000", http.StatusNotFound, "not committed yet"},
		{"height=0", http.StatusBadRequest, "positive integer"},
		{"height=1&height=2", http.StatusBadRequest, "exactly one parameter"},
		{"h=1", http.StatusBadRequest, "exactly one parameter"},
	} {
		resp, err := hc.Get("https://" + apiAddr + "/v1/qc?" + tc.query)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || !strings.Contains(string(body), tc.want) {
			t.Errorf("GET /v1/qc?%s = %d %s, want %d with %q", tc.query, resp.StatusCode, body, tc.code, tc.want)
		}
	}
	h.Nodes = nil // stopped here, not again when the test ends
	if err := node.StopAll(nodes); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Status(ctx); err == nil {
		t.Fatal("API still answers after the node stopped")
	}
}
