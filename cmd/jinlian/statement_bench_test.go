package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
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
	n := envCount("JINLIAN_STATEMENT_MOVEMENTS", 100_000)
	payee, err := gmcrypto.GenerateKey() // an account of localnet.BenchOrg
	if err != nil {
		b.Fatal(err)
	}
	h := startHistoryNet(b, historyOptions{Extra: []string{payee.Public().Address().String()}})
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	A, signer := h.id["bankA"], h.signer(b, "bankA")
	to := payee.Public().Address().Bytes()
	start := time.Now()
	h.commit(b, ctx, n, func(i int) (wire.Signer, *txpb.Message) {
		return signer, &txpb.Message{Body: &txpb.Message_Transfer{Transfer: &txpb.Transfer{Asset: "CNY", To: to, Amount: 1, Memo: fmt.Sprintf("INV-%07d", i)}}}
	})
	b.Logf("%d transfers committed in %s", n, time.Since(start).Round(time.Second))
	apiURL, apiCA := h.api, h.apiCA
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
