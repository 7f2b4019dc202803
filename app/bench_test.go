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
// Sub-benchmarks: the certificate carried, and named by hash once a block
// recorded it (ADR 0025).
func BenchmarkCheckTxCertificate(b *testing.B) {
	h := newCertHarness(b)
	carried := wire.Signer{Key: h.alice, MSPID: "bankA", CertPEM: h.aliceCert}
	named, err := carried.NamingCert()
	if err != nil {
		b.Fatal(err)
	}
	first, _, err := wire.BuildTx(carried, testChain, "payments", h.now, transfer("CNY", h.bob, 1))
	if err != nil {
		b.Fatal(err)
	}
	if res := h.block(first); res[0].Code != 0 {
		b.Fatal(res[0].Log)
	}
	for _, c := range []struct {
		name   string
		signer wire.Signer
	}{{"carried", carried}, {"named", named}} {
		b.Run(c.name, func(b *testing.B) {
			txs := make([][]byte, b.N)
			for i := range txs {
				raw, _, err := wire.BuildTx(c.signer, testChain, "payments", h.now, transfer("CNY", h.bob, 1))
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
		})
	}
}

// BenchmarkBlock measures the state machine's cost per transfer through
// CheckTx, FinalizeBlock and Commit (signatures verified once, in CheckTx,
// as on a real node), in blocks of 500 transfers to 100 recipients.
func BenchmarkBlock(b *testing.B) {
	const recipients, perBlock = 100, 500
	keys := make([]*gmcrypto.PrivateKey, recipients)
	for i := range keys {
		keys[i] = mustKey(b)
	}
	h := newHarness(b, keys...) // payees must be registered identities
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

// BenchmarkFinalizeTransfers is BenchmarkBlock without CheckTx in the
// timer: what executing and committing a transfer costs a node whose
// signature cache already holds it (ProcessProposal, FinalizeBlock,
// Commit), in blocks of 500 transfers among 100 funded accounts, so each
// transfer debits one account and credits another that both hold
// balances. Per-transfer costs of the state machine (the completeness
// commitment's hashes and records, docs/performance.md) show here
// without the SM2 verification that dominates BenchmarkBlock.
func BenchmarkFinalizeTransfers(b *testing.B) {
	const accounts, perBlock = 100, 500
	keys := make([]*gmcrypto.PrivateKey, accounts)
	for i := range keys {
		keys[i] = mustKey(b)
	}
	h := newHarness(b, keys...)
	fund := make([][]byte, accounts)
	for i, k := range keys {
		fund[i] = h.tx(h.issuer, "bankA", "payments", issue("CNY", k, 1<<40))
	}
	h.block(fund...)
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n += perBlock {
		b.StopTimer()
		txs := make([][]byte, perBlock)
		for i := range txs {
			from, to := (n+i)%accounts, (n+i+1+i/accounts)%accounts
			if to == from {
				to = (to + 1) % accounts
			}
			txs[i] = h.tx(keys[from], "bankB", "payments", transfer("CNY", keys[to], 1))
			if r, _ := h.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: txs[i]}); r.Code != 0 {
				b.Fatal(r.Log)
			}
		}
		b.StartTimer()
		for _, r := range h.block(txs...) {
			if r.Code != 0 {
				b.Fatal(r.Log)
			}
		}
	}
}
