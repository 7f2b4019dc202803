package app

import (
	"bytes"
	"errors"
	"testing"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
)

func TestVoteExtensionCodec(t *testing.T) {
	k, err := gmcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	sm2, _ := k.Sign([]byte("qc"))
	cp := bytes.Repeat([]byte{7}, 64)
	for _, tc := range []struct {
		name   string
		in     VoteExtension
		legacy bool
	}{
		{"SM2 only stays the raw signature", VoteExtension{SM2Signature: sm2}, true},
		{"with a checkpoint signature", VoteExtension{SM2Signature: sm2, CheckpointSignature: cp}, false},
		{"checkpoint signature without SM2 key", VoteExtension{CheckpointSignature: cp}, false},
		{"empty", VoteExtension{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := EncodeVoteExtension(tc.in)
			if tc.legacy != bytes.Equal(b, tc.in.SM2Signature) {
				t.Fatalf("legacy form: %v, encoding %x", tc.legacy, b)
			}
			out, err := DecodeVoteExtension(b)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.SM2Signature, tc.in.SM2Signature) || !bytes.Equal(out.CheckpointSignature, tc.in.CheckpointSignature) {
				t.Fatalf("round trip: %+v", out)
			}
		})
	}
	// What an earlier version sends decodes as the SM2 signature.
	if out, err := DecodeVoteExtension(sm2); err != nil || !bytes.Equal(out.SM2Signature, sm2) || out.CheckpointSignature != nil {
		t.Fatalf("legacy extension: %+v %v", out, err)
	}
	for name, b := range map[string][]byte{
		"truncated":      EncodeVoteExtension(VoteExtension{SM2Signature: sm2, CheckpointSignature: cp})[:20],
		"unknown field":  {0x1a, 0x01, 0x00},
		"repeated field": {0x12, 0x01, 0x00, 0x12, 0x01, 0x00},
		"varint field":   {0x08, 0x01},
	} {
		if _, err := DecodeVoteExtension(b); !errors.Is(err, ErrVoteExtension) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzDecodeVoteExtension(f *testing.F) {
	f.Add([]byte{0x30, 0x01, 0x00})
	f.Add(EncodeVoteExtension(VoteExtension{SM2Signature: []byte{0x30}, CheckpointSignature: []byte{1, 2}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeVoteExtension(b)
		if err != nil {
			return
		}
		again, err := DecodeVoteExtension(EncodeVoteExtension(e))
		if err != nil || !bytes.Equal(again.SM2Signature, e.SM2Signature) || !bytes.Equal(again.CheckpointSignature, e.CheckpointSignature) {
			t.Fatalf("re-encoding %+v: %+v %v", e, again, err)
		}
	})
}
