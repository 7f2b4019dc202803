package wire

import (
	"testing"
	"time"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"google.golang.org/protobuf/proto"
)

// envelopeSeeds are well-formed envelopes of several messages, signed
// with a bare key and with a key naming its certificate.
func envelopeSeeds(f *testing.F) [][]byte {
	var seeds [][]byte
	k, err := gmcrypto.GenerateKey()
	if err != nil {
		f.Fatal(err)
	}
	to := k.Public().Address().Bytes()
	for _, m := range []*txpb.Message{
		{Body: &txpb.Message_Transfer{Transfer: &txpb.Transfer{Asset: "CNY", To: to, Amount: 5}}},
		{Body: &txpb.Message_Issue{Issue: &txpb.Issue{Asset: "CNY", To: to, Amount: 1}}},
		{Body: &txpb.Message_Burn{Burn: &txpb.Burn{Asset: "CNY", Amount: 1}}},
		{Body: &txpb.Message_CustodyCreate{CustodyCreate: &txpb.CustodyCreate{Signers: [][]byte{to, to}, Threshold: 2,
			DailyLimits: []*txpb.CustodyLimit{{Asset: "CNY", Amount: 9}}}}},
		{Body: &txpb.Message_CustodyPropose{CustodyPropose: &txpb.CustodyPropose{Account: to, Asset: "CNY", To: to, Amount: 3}}},
		{Body: &txpb.Message_CustodyApprove{CustodyApprove: &txpb.CustodyApprove{Account: to, Proposal: 1}}},
	} {
		b, _, err := BuildTx(Signer{Key: k, MSPID: "bankA"}, "c", "payments", time.Unix(1, 0), m)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	// An envelope naming its certificate by hash (ADR 0025).
	cs, _ := certSigner(f)
	named, err := cs.NamingCert()
	if err != nil {
		f.Fatal(err)
	}
	b, _, err := BuildTx(named, "c", "payments", time.Unix(1, 0), &txpb.Message{Body: &txpb.Message_Transfer{Transfer: &txpb.Transfer{Asset: "CNY", To: to, Amount: 5}}})
	if err != nil {
		f.Fatal(err)
	}
	return append(seeds, b)
}

// FuzzDecodeTx feeds arbitrary bytes to the envelope decoder: it must never
// panic, and whatever it accepts must be self-consistent.
func FuzzDecodeTx(f *testing.F) {
	for _, b := range envelopeSeeds(f) {
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		tx, err := DecodeTx(b)
		if err != nil {
			return
		}
		if tx.ID != TxIDOf(tx) {
			t.Fatalf("accepted tx whose id does not bind nonce and creator")
		}
		if tx.Msg == nil || tx.Msg.Body == nil || tx.Creator == nil {
			t.Fatalf("accepted tx without message or creator")
		}
		if tx.CertRef != nil && (tx.Cert != nil || tx.CertRefErr != nil) {
			t.Fatalf("a named certificate with a carried one or an error")
		}
		_ = tx.VerifySignature() // must not panic
	})
}

// FuzzDecodeQCTx: the QC transaction comes from the proposer, outside
// bytes to every other validator; decoding never panics, and what decodes
// encodes back to a transaction that decodes to the same QC.
func FuzzDecodeQCTx(f *testing.F) {
	good, err := EncodeQCTx(&txpb.QuorumCertificate{ChainId: "c", Height: 7, AppHash: []byte{1, 2}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte("JLQC"))
	f.Add([]byte("JLQ"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		qc, err := DecodeQCTx(raw)
		if err != nil {
			return
		}
		if !IsQCTx(raw) {
			t.Fatal("decoded a transaction without the QC prefix")
		}
		again, err := EncodeQCTx(qc)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeQCTx(again)
		if err != nil || !proto.Equal(back, qc) {
			t.Fatalf("re-encoded QC does not decode to itself: %v", err)
		}
	})
}
