package wire

import (
	"bytes"
	"testing"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
)

// sameParts reports whether two envelopes' parts are equal, an empty byte
// slice equal to an absent one (protobuf does not tell them apart).
func sameParts(a, b envelopeParts) bool {
	return bytes.Equal(a.payload, b.payload) && bytes.Equal(a.signature, b.signature) &&
		a.hasHeader == b.hasHeader && bytes.Equal(a.data, b.data) && a.chType == b.chType &&
		a.hasTimestamp == b.hasTimestamp && a.seconds == b.seconds && a.nanos == b.nanos &&
		a.channelID == b.channelID && a.txID == b.txID && a.chainID == b.chainID &&
		bytes.Equal(a.creator, b.creator) && bytes.Equal(a.nonce, b.nonce) &&
		a.mspid == b.mspid && bytes.Equal(a.idBytes, b.idBytes)
}

// FuzzScanEnvelope: whatever the fast scanner accepts, proto.Unmarshal
// accepts too, with the same parts. The fuzzer explores encodings clients
// do not write (repeated fields, unknown fields, other wire types, invalid
// UTF-8, overlong varints), where a difference would let two decoders of
// one envelope disagree.
func FuzzScanEnvelope(f *testing.F) {
	for _, b := range envelopeSeeds(f) {
		f.Add(b)
		for _, v := range envelopeVariants(f, b) {
			f.Add(v.b)
		}
	}
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, ok := scanEnvelope(b)
		if !ok {
			return
		}
		q, err := unmarshalEnvelope(b)
		if err != nil {
			t.Fatalf("scanned, but protobuf refuses it: %v", err)
		}
		if !sameParts(p, q) {
			t.Fatalf("scanned %+v, protobuf decoded %+v", p, q)
		}
	})
}

type envelopeVariant struct {
	name    string
	b       []byte
	scanned bool // the fast scanner reads it (else DecodeTx falls back to protobuf)
	signed  bool // the payload's bytes are b's, so b's signature still covers them
}

// envelopeVariants re-encodes the envelope b in ways protobuf reads as the
// same transaction: every variant decodes to b's transaction.
func envelopeVariants(t testing.TB, b []byte) []envelopeVariant {
	var env common.Envelope
	var payload common.Payload
	var ch common.ChannelHeader
	if err := proto.Unmarshal(b, &env); err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(env.Payload, &payload); err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(payload.Header.ChannelHeader, &ch); err != nil {
		t.Fatal(err)
	}
	marshal := func(m proto.Message) []byte {
		out, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	// withChannelHeader re-encodes b around a changed channel header.
	withChannelHeader := func(change func(*common.ChannelHeader)) []byte {
		c := proto.Clone(&ch).(*common.ChannelHeader)
		change(c)
		p := proto.Clone(&payload).(*common.Payload)
		p.Header.ChannelHeader = marshal(c)
		return marshal(&common.Envelope{Payload: marshal(p), Signature: env.Signature})
	}
	bytesField := func(n protowire.Number, v []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, n, protowire.BytesType), v)
	}
	varintField := func(n protowire.Number, v uint64) []byte {
		return protowire.AppendVarint(protowire.AppendTag(nil, n, protowire.VarintType), v)
	}
	overlong := append(protowire.AppendTag(nil, 1, protowire.VarintType), 0x90, 0xce, 0x80, 0x80, 0x00) // 10000 in five bytes
	return []envelopeVariant{
		{"as built", b, true, true},
		{"fields in reverse order", append(bytesField(2, env.Signature), bytesField(1, env.Payload)...), true, true},
		{"version, epoch and tls_cert_hash set", withChannelHeader(func(c *common.ChannelHeader) {
			c.Version, c.Epoch, c.TlsCertHash = 3, 4, []byte{5}
		}), true, false},
		{"an overlong varint", withChannelHeader(func(c *common.ChannelHeader) {
			c.Type = 0
			c.ProtoReflect().SetUnknown(overlong)
		}), true, false},
		{"an unknown field", append(bytes.Clone(b), varintField(15, 7)...), false, true},
		{"the signature twice", append(append(bytes.Clone(b), bytesField(2, []byte("an earlier one"))...), bytesField(2, env.Signature)...), false, true},
		{"the payload as a varint first", append(varintField(1, 9), b...), false, true},
		{"the header in two parts", func() []byte {
			p := bytesField(1, bytesField(1, payload.Header.ChannelHeader))
			p = append(p, bytesField(1, bytesField(2, payload.Header.SignatureHeader))...)
			p = append(p, bytesField(2, payload.Data)...)
			return append(bytesField(1, p), bytesField(2, env.Signature)...)
		}(), false, false},
	}
}

// TestDecodeTxEncodings: an envelope decodes to the same transaction in
// every encoding protobuf accepts, through the fast scanner or the
// fallback, and the scanner reads the clients' encodings.
func TestDecodeTxEncodings(t *testing.T) {
	b := selfTransfer(t)
	want, err := DecodeTx(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range envelopeVariants(t, b) {
		t.Run(v.name, func(t *testing.T) {
			if _, ok := scanEnvelope(v.b); ok != v.scanned {
				t.Errorf("scanned %v, want %v", ok, v.scanned)
			}
			got, err := DecodeTx(v.b)
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != want.ID || got.Ledger != want.Ledger || got.ChainID != want.ChainID || !got.Timestamp.Equal(want.Timestamp) ||
				got.MSPID != want.MSPID || got.Sender != want.Sender || !proto.Equal(got.Msg, want.Msg) {
				t.Errorf("decoded %+v, want %+v", got, want)
			}
			// The signature covers the payload's bytes, not its meaning.
			if err := got.VerifySignature(); (err == nil) != v.signed {
				t.Errorf("signature check: %v; want it to pass: %v", err, v.signed)
			}
		})
	}
}

// TestDecodeTxOwnsItsBytes: the decoded transaction does not share the
// caller's buffer, which the caller may reuse.
func TestDecodeTxOwnsItsBytes(t *testing.T) {
	b := selfTransfer(t)
	tx, err := DecodeTx(b)
	if err != nil {
		t.Fatal(err)
	}
	clear(b)
	if err := tx.VerifySignature(); err != nil || tx.ID != TxIDOf(tx) {
		t.Fatalf("the decoded transaction changed with the caller's buffer: %v", err)
	}
}

// selfTransfer is the envelope of a transfer a fresh key signs to itself.
func selfTransfer(t *testing.T) []byte {
	t.Helper()
	k, err := gmcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := BuildTx(Signer{Key: k, MSPID: "bankA"}, "c", "payments", time.Unix(1, 0),
		&txpb.Message{Body: &txpb.Message_Transfer{Transfer: &txpb.Transfer{Asset: "CNY", To: k.Public().Address().Bytes(), Amount: 5}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
