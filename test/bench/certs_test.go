package bench

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cmtlog "github.com/cometbft/cometbft/libs/log"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/node/localnet"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// --certs: every transfer carries a client certificate of the bench
// organisation that its root CA signed, and kvstore's transactions take
// the size of such an envelope.
func TestCertsLoad(t *testing.T) {
	o := &Options{Count: 6, Accounts: 3, Certs: true}
	l, err := buildLoad("jinlian", WorkloadTransfer, o, 0)
	if err != nil {
		t.Fatal(err)
	}
	root, err := gmcrypto.ParseCertificatePEM(l.rootCA)
	if err != nil {
		t.Fatalf("root CA: %v", err)
	}
	for i, raw := range l.txs {
		tx, err := wire.DecodeTx(raw)
		if err != nil {
			t.Fatalf("tx %d: %v", i, err)
		}
		if tx.Cert == nil || tx.MSPID != localnet.BenchOrg || tx.Cert.Org() != localnet.BenchOrg || tx.Cert.Role() != gmcrypto.RoleClient {
			t.Fatalf("tx %d: mspid %q, certificate %v", i, tx.MSPID, tx.Cert)
		}
		if err := tx.Cert.VerifySignedBy(root); err != nil {
			t.Fatalf("tx %d: certificate not issued by the load's root CA: %v", i, err)
		}
		if err := tx.VerifySignature(); err != nil {
			t.Fatalf("tx %d: %v", i, err)
		}
	}
	kv, err := buildLoad("kvstore", "", o, 0)
	if err != nil {
		t.Fatal(err)
	}
	// An envelope's size moves by a few bytes with its signature's DER
	// and the certificate's name.
	if d := len(kv.txs[0]) - len(l.txs[0]); d < -8 || d > 8 {
		t.Fatalf("kvstore transactions of %d bytes, a certificate envelope is %d", len(kv.txs[0]), len(l.txs[0]))
	}
	bare, err := buildLoad("jinlian", WorkloadTransfer, &Options{Count: 1, Accounts: 1}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if bare.rootCA != nil || len(bare.txs[0]) >= len(l.txs[0]) {
		t.Fatalf("without --certs: root CA %v, %d bytes against %d", bare.rootCA != nil, len(bare.txs[0]), len(l.txs[0]))
	}
	// --cert-refs: the warm-up's envelopes (the first extra) carry the
	// certificate, the measured load's name it by hash; kvstore follows
	// the named size.
	ro := &Options{Count: 4, Accounts: 2, Certs: true, CertRefs: true}
	refs, err := buildLoad("jinlian", WorkloadTransfer, ro, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i, raw := range refs.txs {
		tx, err := wire.DecodeTx(raw)
		if err != nil {
			t.Fatalf("tx %d: %v", i, err)
		}
		if warm := i < 2; warm != (tx.Cert != nil) || warm == (tx.CertRef != nil) {
			t.Fatalf("tx %d (warm-up %v): certificate %v, named %x", i, warm, tx.Cert != nil, tx.CertRef)
		}
		if err := tx.VerifySignature(); err != nil {
			t.Fatalf("tx %d: %v", i, err)
		}
	}
	if d := len(l.txs[0]) - len(refs.txs[2]); d < 400 {
		t.Fatalf("a named envelope is %d bytes, a carried one %d", len(refs.txs[2]), len(l.txs[0]))
	}
	kvRefs, err := buildLoad("kvstore", "", ro, 0)
	if err != nil {
		t.Fatal(err)
	}
	if d := len(kvRefs.txs[0]) - len(refs.txs[2]); d < -8 || d > 8 {
		t.Fatalf("kvstore transactions of %d bytes, a named envelope is %d", len(kvRefs.txs[0]), len(refs.txs[2]))
	}
	for _, bad := range []*Options{{Certs: false, CertRefs: true, Warmup: time.Second}, {Certs: true, CertRefs: true}} {
		bad.Apps, bad.Validators, bad.Rate, bad.Count, bad.Duration, bad.Batch, bad.Workers, bad.Accounts, bad.Repeat = []string{"jinlian"}, 1, 1, 1, time.Second, 1, 1, 1, 1
		if _, _, err := Run(context.Background(), io.Discard, "/nonexistent", t.TempDir(), bad); err == nil || !strings.Contains(err.Error(), "--cert-refs needs --certs and a --warmup") {
			t.Fatalf("--cert-refs with certs %v, warm-up %s: %v", bad.Certs, bad.Warmup, err)
		}
	}
	if _, _, err := Run(context.Background(), io.Discard, "/nonexistent", t.TempDir(), &Options{Apps: []string{"jinlian"},
		Workloads: []string{WorkloadCustodyApprove}, Certs: true, Validators: 1, Rate: 1, Count: 1, Duration: time.Second,
		Batch: 1, Workers: 1, Accounts: 1, Repeat: 1}); err == nil || !strings.Contains(err.Error(), "--certs with --workload custody-approve") {
		t.Fatalf("--certs with a contract workload: %v", err)
	}
}

// The network --certs measures authenticates the certificates: with the
// root CA in the genesis a sender's certificate transfer commits, its
// later transfers naming the certificate (--cert-refs) commit while a
// sender whose certificate was never carried cannot name it, and a member
// signing with its bare key is refused, as a bank's member would be. Without the root CA in the genesis the bare key would pass,
// so the load would measure the cheaper path.
func TestCertsNetworkAuthenticates(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a validator")
	}
	// Two senders; the first two transactions (one each) are the
	// "warm-up's", carrying certificates, the next two name them.
	l, err := buildLoad("jinlian", WorkloadTransfer, &Options{Count: 2, Accounts: 2, Certs: true, CertRefs: true}, 2)
	if err != nil {
		t.Fatal(err)
	}
	// A member of the bench organisation that signs with its bare key.
	bareKey, err := gmcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	accounts, ca := filepath.Join(dir, "accounts.txt"), filepath.Join(dir, "bench-ca.pem")
	lines := append(append([]string(nil), l.accounts...), bareKey.Public().Address().String())
	if err := os.WriteFile(accounts, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ca, l.rootCA, 0o644); err != nil {
		t.Fatal(err)
	}
	base, err := consensus.FreeBasePort(1)
	if err != nil {
		t.Fatal(err)
	}
	ready, stop, err := Serve(ServeOptions{App: "jinlian", Home: filepath.Join(dir, "net"), Validators: 1, BasePort: base,
		TimeoutCommit: 100 * time.Millisecond, AccountsFile: accounts, BenchCAFile: ca}, cmtlog.NewNopLogger(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stop() }()
	if stage, code, log := commitTx(t, ready.RPC[0], l.txs[0]); code != 0 {
		t.Fatalf("certificate transfer refused in %s: code %d, %s", stage, code, log)
	}
	// Sender 1 has not carried its certificate yet: its name is refused.
	if stage, code, log := commitTx(t, ready.RPC[0], l.txs[3]); stage != "check_tx" || !strings.Contains(log, "has not recorded") {
		t.Fatalf("unrecorded named certificate: %s code %d, %s", stage, code, log)
	}
	// Sender 0's was recorded by its first transfer: its name commits.
	if stage, code, log := commitTx(t, ready.RPC[0], l.txs[2]); code != 0 {
		t.Fatalf("named certificate refused in %s: code %d, %s", stage, code, log)
	}
	msg := &txpb.Message{Body: &txpb.Message_Transfer{Transfer: &txpb.Transfer{Asset: "CNY", To: bareKey.Public().Address().Bytes(), Amount: 1}}}
	raw, _, err := wire.BuildTx(wire.Signer{Key: bareKey, MSPID: localnet.BenchOrg}, ChainID, "payments", time.Now(), msg)
	if err != nil {
		t.Fatal(err)
	}
	if stage, code, log := commitTx(t, ready.RPC[0], raw); stage != "check_tx" || !strings.Contains(log, "requires certificate identities") {
		t.Fatalf("bare key of a certificate organisation: %s code %d, %s", stage, code, log)
	}
}

// commitTx sends tx with broadcast_tx_commit to the node at rpc and returns
// where it stopped (check_tx, or tx_result once in a block) with that
// stage's code and log.
func commitTx(t *testing.T, rpc string, tx []byte) (stage string, code uint32, log string) {
	t.Helper()
	c, err := rpchttp.New(rpc, "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.BroadcastTxCommit(context.Background(), tx)
	if err != nil {
		t.Fatalf("broadcast_tx_commit: %v", err)
	}
	if res.CheckTx.Code != 0 {
		return "check_tx", res.CheckTx.Code, res.CheckTx.Log
	}
	return "tx_result", res.TxResult.Code, res.TxResult.Log
}
