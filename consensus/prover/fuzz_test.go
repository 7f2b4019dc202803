package prover

import (
	"encoding/json"
	"testing"

	"github.com/jinlian-ledger/jinlian/checkpoint"
)

// Decoders of outside bytes must fail cleanly, never panic.

func FuzzParseProof(f *testing.F) {
	f.Add(make([]byte, ProofSize))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		if pr, err := ParseProof(b); err == nil && pr == nil {
			t.Fatal("nil proof without error")
		}
	})
}

func FuzzVerifySignature(f *testing.F) {
	keys, vals := testValidators(f, 1, 10)
	d := testCheckpoint(f, vals, 4).Digest()
	sig, _ := keys[0].Sign(d)
	f.Add(vals[0].Key, sig)
	f.Add(make([]byte, checkpoint.KeySize), make([]byte, checkpoint.SignatureSize))
	f.Fuzz(func(t *testing.T, key, sig []byte) {
		_ = checkpoint.VerifySignature(key, d, sig)
	})
}

func FuzzRegistrationJSON(f *testing.F) {
	f.Add([]byte(`{"chain_id":"c","validator":"AA","checkpoint_key":"00","possession":"","sm2_signature":""}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r checkpoint.Registration
		if json.Unmarshal(b, &r) == nil {
			_ = r.SignBytes()
			_, _ = checkpoint.ParsePublicKey(r.CheckpointKey)
		}
	})
}
