package app

import (
	"context"
	"testing"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/wire"

	abci "github.com/cometbft/cometbft/abci/types"
)

// BenchmarkDecodeVerify is the full envelope path a node pays once per
// transaction: protobuf decoding, certificate-free identity parsing, tx id
// binding and the SM2 signature verification.
func BenchmarkDecodeVerify(b *testing.B) {
	h := newHarness(b)
	raw := h.tx(h.alice, "bankB", "payments", transfer("CNY", h.bob, 1))
	b.ReportAllocs()
	for b.Loop() {
		tx, err := wire.DecodeTx(raw)
		if err != nil {
			b.Fatal(err)
		}
		if err := tx.VerifySignature(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckTxCertificate measures CheckTx for certificate identities
// with a warm certificate cache (chain verified once) and a cold signature
// cache (every tx is new), i.e. what a node pays per fresh transaction.
func BenchmarkCheckTxCertificate(b *testing.B) {
	h := newCertHarness(b)
	txs := make([][]byte, b.N)
	for i := range txs {
		raw, _, err := wire.BuildTx(wire.Signer{Key: h.alice, MSPID: "bankA", CertPEM: h.aliceCert}, testChain, "payments", h.now, transfer("CNY", h.bob, 1))
		if err != nil {
			b.Fatal(err)
		}
		txs[i] = raw
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		r, _ := h.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: txs[i]})
		if r.Code != 0 {
			b.Fatal(r.Log)
		}
		if i%1000 == 999 { // keep the check state from growing without bound
			h.app.resetCheckState()
		}
	}
}

// BenchmarkBlock measures the state machine's cost per transfer through
// CheckTx, FinalizeBlock and Commit (signatures verified once, in CheckTx,
// as on a real node), in blocks of 500 transfers to 100 recipients.
func BenchmarkBlock(b *testing.B) {
	const recipients, perBlock = 100, 500
	h := newHarness(b)
	keys := make([]*gmcrypto.PrivateKey, recipients)
	for i := range keys {
		keys[i] = mustKey(b)
	}
	h.block(h.tx(h.issuer, "bankA", "payments", issue("CNY", h.alice, 1<<50)))
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n += perBlock {
		b.StopTimer()
		txs := make([][]byte, perBlock)
		for i := range txs {
			txs[i] = h.tx(h.alice, "bankB", "payments", transfer("CNY", keys[i%recipients], 1))
		}
		b.StartTimer()
		for _, raw := range txs {
			if r, _ := h.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw}); r.Code != 0 {
				b.Fatal(r.Log)
			}
		}
		h.block(txs...)
	}
}
