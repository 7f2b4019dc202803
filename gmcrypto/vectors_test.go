package gmcrypto

// Conformance with the published examples of the Guomi standards:
//   GB/T 32905-2016 (SM3) appendix A, GB/T 32907-2016 (SM4) appendix A,
//   GB/T 32918.5-2017 (SM2 parameters) appendix A/C: signature and encryption
//   examples on the recommended curve with the default user ID;
//   RFC 8998 A.1 for SM4-GCM.

import (
	"bytes"
	"encoding/asn1"
	"encoding/hex"
	"math/big"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSM3Vectors(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"GB/T 32905 A.1 abc", "abc", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"},
		{"GB/T 32905 A.2 512-bit", strings.Repeat("abcd", 16), "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := SM3([]byte(c.in)); hexs(got[:]) != c.want {
				t.Fatalf("SM3 = %x, want %s", got, c.want)
			}
			h := NewSM3() // the streaming form, fed byte by byte, agrees
			for i := range len(c.in) {
				h.Write([]byte{c.in[i]})
			}
			if got := hexs(h.Sum(nil)); got != c.want {
				t.Fatalf("streaming SM3 = %s", got)
			}
			parts := SM3([]byte(c.in[:1]), []byte(c.in[1:]))
			if hexs(parts[:]) != c.want {
				t.Fatal("SM3 of parts differs from SM3 of the whole")
			}
		})
	}
}

func TestSM4Vectors(t *testing.T) {
	key := unhex(t, "0123456789abcdeffedcba9876543210")
	b, err := NewSM4(key)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("GB/T 32907 A.1 one block", func(t *testing.T) {
		out := make([]byte, 16)
		b.Encrypt(out, key) // plaintext = key in the example
		if hexs(out) != "681edf34d206965e86b3e94f536e4246" {
			t.Fatalf("ciphertext %x", out)
		}
		back := make([]byte, 16)
		b.Decrypt(back, out)
		if !bytes.Equal(back, key) {
			t.Fatalf("decrypt %x", back)
		}
	})
	t.Run("GB/T 32907 A.2 1,000,000 iterations", func(t *testing.T) {
		if testing.Short() {
			t.Skip("1,000,000 block encryptions; skipped with -short")
		}
		buf := bytes.Clone(key)
		for range 1_000_000 {
			b.Encrypt(buf, buf)
		}
		if hexs(buf) != "595298c7c6fd271f0402f804c33d3f66" {
			t.Fatalf("ciphertext %x", buf)
		}
	})
}

// GB/T 32918.5-2017 appendix A key pair (also the encryption example's dB).
const (
	vecD  = "3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8"
	vecX  = "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
	vecY  = "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
	vecK  = "59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21"
	vecE  = "F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640"
	vecR  = "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
	vecS  = "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"
	vecC1 = "04" +
		"04EBFC718E8D1798620432268E77FEB6415E2EDE0E073C0F4F640ECD2E149A73" +
		"E858F9D81E5430A57B36DAAB8F950A3C64E6EE6A63094D99283AFF767E124DF0"
	vecC3 = "59983C18F809E262923C53AEC295D30383B54E39D609D160AFCB1908D0BD8766"
	vecC2 = "21886CA989CA9C7D58087307CA93092D651EFA"
)

func vectorKey(t testing.TB) *PrivateKey {
	t.Helper()
	k, err := sm2.NewPrivateKey(unhex(t, vecD))
	if err != nil {
		t.Fatal(err)
	}
	pk, err := newPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pk
}

func TestSM2SignatureVector(t *testing.T) {
	k := vectorKey(t)
	pub := k.Public()
	if got := hexs(pub.Bytes()); got != strings.ToLower("04"+vecX+vecY) {
		t.Fatalf("public key %s", got)
	}
	msg := []byte("message digest")

	// e = SM3(ZA ‖ M) with the default user ID 1234567812345678.
	e, err := sm2.CalculateSM2Hash(pub.k, msg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if hexs(e) != strings.ToLower(vecE) {
		t.Fatalf("e = %x", e)
	}

	// gmsm derives k itself (hedged), so recompute (r, s) from the published
	// k with the curve: r = (e + x1) mod n, s = (1+d)^-1 (k - r d) mod n.
	curve := sm2.P256()
	n := curve.Params().N
	kk := new(big.Int).SetBytes(unhex(t, vecK))
	x1, _ := curve.ScalarBaseMult(kk.Bytes()) //lint:ignore SA1019 recomputing the standard's worked example needs the raw point
	r := new(big.Int).Add(new(big.Int).SetBytes(e), x1)
	r.Mod(r, n)
	d := new(big.Int).SetBytes(unhex(t, vecD))
	s := new(big.Int).Mul(r, d)
	s.Sub(kk, s)
	s.Mul(s, new(big.Int).ModInverse(new(big.Int).Add(d, big.NewInt(1)), n))
	s.Mod(s, n)
	if r.Text(16) != strings.ToLower(vecR) || s.Text(16) != strings.ToLower(vecS) {
		t.Fatalf("(r, s) = (%x, %x)", r, s)
	}

	// The published signature verifies with our Verify, and not for another message.
	sig, err := asn1.Marshal(struct{ R, S *big.Int }{
		new(big.Int).SetBytes(unhex(t, vecR)), new(big.Int).SetBytes(unhex(t, vecS)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Verify(msg, sig) {
		t.Fatal("published signature does not verify")
	}
	if pub.Verify([]byte("message digesT"), sig) {
		t.Fatal("published signature verifies another message")
	}
	// Our own signature with the same key verifies too.
	own, _ := k.Sign(msg)
	if !pub.Verify(msg, own) {
		t.Fatal("own signature does not verify")
	}
}

func TestSM2EncryptionVector(t *testing.T) {
	k := vectorKey(t)
	msg := []byte("encryption standard")
	raw := unhex(t, vecC1+vecC3+vecC2)

	// Decrypt the published ciphertext in each encoding.
	pt, err := k.DecryptAs(raw, CiphertextC1C3C2)
	if err != nil || string(pt) != string(msg) {
		t.Fatalf("C1C3C2: %q, %v", pt, err)
	}
	old := unhex(t, vecC1+vecC2+vecC3)
	if pt, err := k.DecryptAs(old, CiphertextC1C2C3); err != nil || string(pt) != string(msg) {
		t.Fatalf("C1C2C3: %q, %v", pt, err)
	}
	asn1CT, err := sm2.PlainCiphertext2ASN1(raw, sm2.C1C3C2)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := k.Decrypt(asn1CT); err != nil || string(pt) != string(msg) {
		t.Fatalf("ASN.1: %q, %v", pt, err)
	}

	// With the published k fed as the randomness, encryption reproduces it.
	ct, err := sm2.Encrypt(bytes.NewReader(unhex(t, vecK)), k.Public().k, msg,
		sm2.NewPlainEncrypterOpts(sm2.MarshalUncompressed, sm2.C1C3C2))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ct, raw) {
		t.Fatalf("ciphertext %x\nwant       %x", ct, raw)
	}
}

type gcmVector struct{ key, nonce, pt, aad, ct, tag []byte }

// rfc8998GCM is RFC 8998 appendix A.1, the SM4-GCM example of the TLS 1.3
// ShangMi cipher suites.
func rfc8998GCM(t testing.TB) gcmVector {
	return gcmVector{
		key:   unhex(t, "0123456789ABCDEFFEDCBA9876543210"),
		nonce: unhex(t, "00001234567800000000ABCD"),
		pt: unhex(t, "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"+
			"EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA"),
		aad: unhex(t, "FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2"),
		ct: unhex(t, "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"+
			"D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"),
		tag: unhex(t, "83DE3541E4C2B58177E065A9BF7B62EC"),
	}
}

func TestSM4GCMVector(t *testing.T) {
	v := rfc8998GCM(t)
	sealed := append(append(bytes.Clone(v.nonce), v.ct...), v.tag...)
	pt, err := OpenSM4GCM(v.key, sealed, v.aad)
	if err != nil || !bytes.Equal(pt, v.pt) {
		t.Fatalf("OpenSM4GCM(RFC 8998 A.1) = %x, %v", pt, err)
	}
	aead, err := newSM4GCM(v.key) // the AEAD behind SealSM4GCM, with the fixed nonce
	if err != nil {
		t.Fatal(err)
	}
	if got := aead.Seal(nil, v.nonce, v.pt, v.aad); !bytes.Equal(got, append(bytes.Clone(v.ct), v.tag...)) {
		t.Fatalf("seal = %x", got)
	}
}
