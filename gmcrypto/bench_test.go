package gmcrypto

// Benchmarks quoted in docs/guomi.md. Run with
//   go test ./gmcrypto -run '^$' -bench . -benchtime 2s
// (tjfoc comparisons are in interop_test.go).

import (
	"crypto/sha256"
	"path/filepath"
	"testing"
)

func BenchmarkSM2Sign(b *testing.B) {
	k, _ := GenerateKey()
	msg := make([]byte, 256)
	for b.Loop() {
		if _, err := k.Sign(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSM2Verify(b *testing.B) {
	k, _ := GenerateKey()
	msg := make([]byte, 256)
	sig, _ := k.Sign(msg)
	pub := k.Public()
	for b.Loop() {
		if !pub.Verify(msg, sig) {
			b.Fatal("verify failed")
		}
	}
}

func BenchmarkSM2Encrypt32(b *testing.B) {
	k, _ := GenerateKey()
	msg := make([]byte, 32)
	pub := k.Public()
	for b.Loop() {
		if _, err := pub.Encrypt(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSM2Decrypt32(b *testing.B) {
	k, _ := GenerateKey()
	ct, _ := k.Public().Encrypt(make([]byte, 32))
	for b.Loop() {
		if _, err := k.Decrypt(ct); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSM3_4K(b *testing.B) {
	data := make([]byte, 4096)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		SM3(data)
	}
}

// BenchmarkSHA256_4K is the yardstick for SM3.
func BenchmarkSHA256_4K(b *testing.B) {
	data := make([]byte, 4096)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		sha256.Sum256(data)
	}
}

func BenchmarkSM4GCMSeal4K(b *testing.B) {
	key, _ := GenerateSM4Key()
	data := make([]byte, 4096)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := SealSM4GCM(key, data, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSM4GCMOpen4K(b *testing.B) {
	key, _ := GenerateSM4Key()
	sealed, _ := SealSM4GCM(key, make([]byte, 4096), nil)
	b.SetBytes(4096)
	for b.Loop() {
		if _, err := OpenSM4GCM(key, sealed, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCertVerify(b *testing.B) {
	ca := newTestCA(b, "bankA", testNow, 365)
	leaf, _ := ca.issue(b, "alice", RoleClient, 30)
	for b.Loop() {
		if err := leaf.VerifyIssuedBy(ca.cert, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCertParseVerify is the cost of checking a creator certificate
// that arrives as PEM with a transaction.
func BenchmarkCertParseVerify(b *testing.B) {
	ca := newTestCA(b, "bankA", testNow, 365)
	leaf, _ := ca.issue(b, "alice", RoleClient, 30)
	p := leaf.PEM()
	for b.Loop() {
		c, err := ParseCertificatePEM(p)
		if err != nil {
			b.Fatal(err)
		}
		if err := c.VerifyIssuedBy(ca.cert, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKeystoreLoad is dominated by PBKDF2-HMAC-SM3 at KeystoreIterations.
func BenchmarkKeystoreLoad(b *testing.B) {
	k, _ := GenerateKey()
	path := filepath.Join(b.TempDir(), "k.json")
	if err := SaveKey(path, KeyInfo{Name: "a"}, k, []byte("pw")); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := LoadKey(path, []byte("pw")); err != nil {
			b.Fatal(err)
		}
	}
}
