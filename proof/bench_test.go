package proof_test

import (
	"context"
	"testing"

	"github.com/jinlian-ledger/jinlian/contracts/payments"
	"github.com/jinlian-ledger/jinlian/proof"
)

// Proof generation (over the node's RPC on 127.0.0.1: the header chain,
// the QC, the registrations and the key's proof) and offline verification
// of one bundle, on the single-validator localnet of this package's tests:
//
//	go test ./proof -run XXX -bench . -benchtime 50x
func BenchmarkBuildState(b *testing.B) {
	ch := startChain(b)
	keys := []proof.Key{{Ledger: "payments", Key: payments.BalanceKey("CNY", ch.Sender)}}
	for b.Loop() {
		if _, err := ch.Src.State(context.Background(), ch.TxHeight, keys); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuildTx(b *testing.B) {
	ch := startChain(b)
	for b.Loop() {
		if _, err := ch.Src.Tx(context.Background(), ch.TxHeight, ch.TxID); err != nil {
			b.Fatal(err)
		}
	}
}

func benchVerify(b *testing.B, bundle *proof.Bundle, guomi bool) {
	ch := startChain(b)
	raw, err := bundle.Encode()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		d, err := proof.Decode(raw)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := proof.Verify(d, proof.Trust{Genesis: ch.Genesis, Guomi: guomi}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyState(b *testing.B)      { benchVerify(b, startChain(b).State, false) }
func BenchmarkVerifyTx(b *testing.B)         { benchVerify(b, startChain(b).Tx, false) }
func BenchmarkVerifyTxGuomi(b *testing.B)    { benchVerify(b, startChain(b).Tx, true) }
func BenchmarkVerifyStateGuomi(b *testing.B) { benchVerify(b, startChain(b).State, true) }
