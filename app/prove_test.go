package app

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/contracts/payments"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/wire"
)

// TestQueryProofs pins prove=true: the two proof operations of the key a
// query reads verify against the committed app hash, for a key that is
// set (existence) and one that is not (non-existence), and the block's
// results commitment lists its transactions with their codes.
func TestQueryProofs(t *testing.T) {
	h := newHarness(t)
	carol := mustKey(t)
	okTx := h.tx(h.issuer, "bankA", "payments", issue("CNY", h.bob, 7))
	badTx := h.tx(h.bob, "bankB", "payments", transfer("CNY", h.alice, 1000))
	res := h.block(okTx, badTx)
	if res[0].Code != 0 || res[1].Code == 0 {
		t.Fatalf("codes %d %d", res[0].Code, res[1].Code)
	}
	appHash := h.store.LastCommit().AppHash
	prove := func(path string, data []byte) *abci.ResponseQuery {
		t.Helper()
		r, err := h.app.Query(context.Background(), &abci.RequestQuery{Path: path, Data: data, Prove: true})
		if err != nil || r.Code != 0 {
			t.Fatalf("%s: %v %s", path, err, r.Log)
		}
		return r
	}
	balanceReq := func(k *gmcrypto.PrivateKey) []byte {
		b, _ := json.Marshal(BalanceRequest{Ledger: "payments", Asset: "CNY", Account: k.Public().Address().String()})
		return b
	}
	storeReq, _ := json.Marshal(StoreRequest{Ledger: "payments", Key: hex.EncodeToString(payments.BalanceKey("CNY", h.alice.Public().Address()))})
	for _, c := range []struct {
		name, path string
		data       []byte
		ledger     string
		key        []byte
		want       []byte // nil: not set
	}{
		{"balance set", QueryBalance, balanceReq(h.bob), "payments", payments.BalanceKey("CNY", h.bob.Public().Address()), binary.BigEndian.AppendUint64(nil, 7)},
		{"balance never set", QueryBalance, balanceReq(carol), "payments", payments.BalanceKey("CNY", carol.Public().Address()), nil},
		{"store key", QueryStore, storeReq, "payments", payments.BalanceKey("CNY", h.alice.Public().Address()), binary.BigEndian.AppendUint64(nil, 500)},
		{"results commitment", QueryTxResults, nil, permission.SystemLedger, wire.TxResultsKey, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := prove(c.path, c.data)
			kp, err := ParseProofOps(r.ProofOps, c.key)
			if err != nil {
				t.Fatal(err)
			}
			// A balance record starts with the balance (then its
			// completeness commitment).
			if kp.Ledger != c.ledger || (c.want != nil && !bytes.HasPrefix(kp.Value, c.want)) || (c.want == nil && c.path != QueryTxResults && kp.Value != nil) {
				t.Fatalf("proof of %s/%x shows %x", kp.Ledger, kp.Key, kp.Value)
			}
			if err := ledger.VerifyInAppHash(appHash, kp.Roots, kp.Ledger, kp.Key, kp.Value, kp.Proof); err != nil {
				t.Fatal(err)
			}
			if c.path == QueryTxResults {
				rec, err := wire.DecodeTxResultsRecord(kp.Value)
				if err != nil || rec.Height != h.height || rec.Count != 2 {
					t.Fatalf("record %+v %v", rec, err)
				}
				leaves := [][32]byte{wire.TxResultLeaf(0, okTx, 0), wire.TxResultLeaf(1, badTx, res[1].Code)}
				if wire.TxResultsRoot(leaves) != rec.Root {
					t.Fatal("the record's root is not over the block's transactions and codes")
				}
			}
			// Another key's value under this proof must fail.
			if err := ledger.VerifyInAppHash(appHash, kp.Roots, kp.Ledger, kp.Key, []byte("forged"), kp.Proof); !errors.Is(err, ledger.ErrMembershipProof) {
				t.Fatalf("forged value: %v", err)
			}
		})
	}
	r, _ := h.app.Query(context.Background(), &abci.RequestQuery{Path: QueryLedgers, Prove: true})
	if r.Code == 0 {
		t.Fatal("a path without proofs answered prove=true")
	}
}

// BenchmarkTxResultsCommitment is the FinalizeBlock cost of the results
// commitment for a block of 1,000 transactions of 1 KiB (ADR 0013).
func BenchmarkTxResultsCommitment(b *testing.B) {
	txs := make([][]byte, 1000)
	results := make([]*abci.ExecTxResult, len(txs))
	for i := range txs {
		txs[i] = make([]byte, 1024)
		txs[i][0], txs[i][1] = byte(i), byte(i>>8)
		results[i] = &abci.ExecTxResult{Code: uint32(i % 2)}
	}
	s, err := ledger.Open(b.TempDir(), ledger.Options{InMemory: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateLedger(permission.SystemLedger); err != nil {
		b.Fatal(err)
	}
	if err := startTxResults(s); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := setTxResults(s, 1, txs, results); err != nil {
			b.Fatal(err)
		}
	}
}

// TestTxResultsOnlyOnceStarted: a chain of an older release has no
// results record, and its blocks write none (its app hashes stay) until
// the upgrade's migration writes the first.
func TestTxResultsOnlyOnceStarted(t *testing.T) {
	s, err := ledger.Open(t.TempDir(), ledger.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateLedger(permission.SystemLedger); err != nil {
		t.Fatal(err)
	}
	txs, results := [][]byte{[]byte("tx")}, []*abci.ExecTxResult{{Code: 3}}
	if err := setTxResults(s, 5, txs, results); err != nil {
		t.Fatal(err)
	}
	if b, _ := s.Get(permission.SystemLedger, wire.TxResultsKey); b != nil {
		t.Fatal("a chain without the upgrade wrote a results record")
	}
	if err := startTxResults(s); err != nil {
		t.Fatal(err)
	}
	if err := setTxResults(s, 6, txs, results); err != nil {
		t.Fatal(err)
	}
	b, _ := s.Get(permission.SystemLedger, wire.TxResultsKey)
	rec, err := wire.DecodeTxResultsRecord(b)
	if err != nil || rec.Height != 6 || rec.Count != 1 || rec.Root != wire.TxResultsRoot([][32]byte{wire.TxResultLeaf(0, txs[0], 3)}) {
		t.Fatalf("record %+v %v", rec, err)
	}
}
