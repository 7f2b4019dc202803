package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	cmtlog "github.com/cometbft/cometbft/libs/log"

	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/node"
	"github.com/jinlian-ledger/jinlian/node/localnet"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// BenchmarkStatementCSV measures `jinlian statement -o csv` of one
// business day in which bankA made JINLIAN_STATEMENT_MOVEMENTS (default
// 100,000) transfers to another bank's account, through bankA's own node's GM TLS API, as a
// reconciliation clerk runs it (issue 11's target: ≤ 5 s for 100,000
// movements; docs/performance.md, "Statements"). The transfers are
// committed by a real one-validator localnet before the timer starts;
// each iteration is one whole command (TLS handshake, tx index search,
// statement JSON, CSV). Run it alone:
//
//	go test ./cmd/jinlian -run '^$' -bench StatementCSV -benchtime 3x -timeout 30m
func BenchmarkStatementCSV(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("JINLIAN_STATEMENT_MOVEMENTS")); err == nil && v > 0 {
		n = v
	}
	base, err := consensus.FreeBasePort(1)
	if err != nil {
		b.Fatal(err)
	}
	payee, err := gmcrypto.GenerateKey() // an account of localnet.BenchOrg
	if err != nil {
		b.Fatal(err)
	}
	ln, err := localnet.Prepare(localnet.Options{Home: b.TempDir(), Validators: 1, BasePort: base,
		TimeoutCommit: 200 * time.Millisecond, CheckpointInterval: -1, ExtraFundedAccounts: []string{payee.Public().Address().String()}})
	if err != nil {
		b.Fatal(err)
	}
	apiURL, apiCA := serveGatedAPI(b, ln, 0, base, "bankA")
	nodes, err := ln.Start(context.Background(), cmtlog.NewNopLogger(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = node.StopAll(nodes) })
	c := nodes[0].Client()
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	if err := consensus.WaitForHeight(ctx, c, 1); err != nil {
		b.Fatal(err)
	}
	key := map[string]localnet.Identity{}
	for _, id := range ln.Identities {
		key[id.Org] = id
	}
	A := key["bankA"]
	info, sk, err := gmcrypto.LoadKey(A.KeyFile, []byte(localnet.Passphrase))
	if err != nil {
		b.Fatal(err)
	}
	signer := wire.Signer{Key: sk, MSPID: "bankA", CertPEM: []byte(info.Certificate)}
	to := payee.Public().Address()
	start := time.Now()
	var last string
	for i := 0; i < n; i++ {
		m := &txpb.Message{Body: &txpb.Message_Transfer{Transfer: &txpb.Transfer{Asset: "CNY", To: to.Bytes(), Amount: 1, Memo: fmt.Sprintf("INV-%07d", i)}}}
		raw, id, err := wire.BuildTx(signer, ln.Network.ChainID, "payments", time.Now(), m)
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, err = c.BroadcastTxAsync(ctx, raw)
			if err == nil || !strings.Contains(err.Error(), "full") {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			b.Fatal(err)
		}
		last = id
	}
	for {
		var loc struct{ Height int64 }
		if err := abciQuery(ctx, nodeFlags{addr: ln.Network.Nodes[0].RPCAddr}, "/tx", []byte(last), 0, &loc); err == nil && loc.Height > 0 {
			if err := consensus.WaitForHeight(ctx, c, loc.Height+2); err != nil {
				b.Fatal(err)
			}
			break
		}
		if ctx.Err() != nil {
			b.Fatal("the transfers were not committed")
		}
		time.Sleep(500 * time.Millisecond)
	}
	b.Logf("%d transfers committed in %s", n, time.Since(start).Round(time.Second))
	b.Setenv(gmcrypto.PassphraseEnv, localnet.Passphrase)
	for _, env := range []string{"JINLIAN_NODE", "JINLIAN_TLS_MODE", "JINLIAN_TLS_CA", "JINLIAN_TLS_CERT", "JINLIAN_TLS_KEY"} {
		b.Setenv(env, "")
	}
	today := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
	args := []string{"statement", "-o", "csv", "--date", today, "--node", apiURL, "--tls-mode", "gmtls", "--tls-ca", apiCA, "--tls-key", A.KeyFile}
	b.ResetTimer()
	var rows int
	for i := 0; i < b.N; i++ {
		out, err := runCLI(b, args...)
		if err != nil {
			b.Fatal(err)
		}
		rows = strings.Count(out, "\n") - 1
	}
	b.StopTimer()
	if rows < n-n/100 { // a day boundary in Shanghai may cut off a few
		b.Fatalf("the statement has %d rows, want about %d", rows, n)
	}
	b.ReportMetric(float64(rows), "rows")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/statement")
}
