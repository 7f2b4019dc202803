package gmcrypto

// Fuzz targets for every decoder of outside bytes. Run one with, e.g.,
//   go test ./gmcrypto -run '^$' -fuzz FuzzParseCertificatePEM -fuzztime 1m
// Without -fuzz they run their seed corpus as ordinary tests.

import (
	"bytes"
	"testing"
)

var fuzzKey = func() *PrivateKey {
	k, err := GenerateKey()
	if err != nil {
		panic(err)
	}
	return k
}()

func FuzzParseCertificatePEM(f *testing.F) {
	ca := newTestCA(f, "bankA", testNow, 10)
	leaf, _ := ca.issue(f, "alice", RoleNode, 5)
	f.Add(ca.pem)
	f.Add(leaf.PEM())
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCertificatePEM(data)
		if err != nil {
			return
		}
		checkParsedCertificate(t, c, ca.cert)
	})
}

func FuzzParseCertificate(f *testing.F) {
	ca := newTestCA(f, "bankA", testNow, 10)
	leaf, _ := ca.issue(f, "alice", RoleClient, 5)
	f.Add(ca.cert.DER())
	f.Add(leaf.DER())
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, der []byte) {
		c, err := ParseCertificate(der)
		if err != nil {
			return
		}
		checkParsedCertificate(t, c, ca.cert)
	})
}

func checkParsedCertificate(t *testing.T, c, root *Certificate) {
	_ = c.PublicKey().Address()
	_, _, _, _, _ = c.Name(), c.Org(), c.Role(), c.Serial(), c.Subject()
	_, _, _ = c.NotBefore(), c.NotAfter(), c.IsCA()
	_ = c.Hash()
	again, err := ParseCertificatePEM(c.PEM())
	if err != nil || !again.Equal(c) {
		t.Fatalf("PEM round trip: %v", err)
	}
	_ = c.VerifyIssuedBy(root, testNow)
	_ = c.VerifyIssuedBy(c, testNow)
	_ = root.VerifyIssuedBy(c, testNow)
}

func FuzzParsePublicKeyPEM(f *testing.F) {
	f.Add(fuzzKey.Public().MarshalPEM())
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\nMAA=\n-----END PUBLIC KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePublicKeyPEM(data)
		if err != nil {
			return
		}
		again, err := ParsePublicKeyPEM(p.MarshalPEM())
		if err != nil || !again.Equal(p) {
			t.Fatalf("PEM round trip: %v", err)
		}
	})
}

func FuzzParsePublicKey(f *testing.F) {
	f.Add(fuzzKey.Public().Bytes())
	f.Add(append([]byte{2}, fuzzKey.Public().Bytes()[1:33]...))
	f.Add(make([]byte, PublicKeySize))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePublicKey(b)
		if err != nil {
			return
		}
		again, err := ParsePublicKey(p.Bytes())
		if err != nil || !again.Equal(p) || len(p.Bytes()) != PublicKeySize {
			t.Fatalf("round trip: %v", err)
		}
		_ = p.Address()
	})
}

func FuzzVerify(f *testing.F) {
	msg := []byte("payload")
	sig, _ := fuzzKey.Sign(msg)
	f.Add(fuzzKey.Public().Bytes(), msg, sig)
	f.Add(fuzzKey.Public().Bytes(), msg, []byte{0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00})
	f.Add([]byte{4}, []byte{}, []byte{})
	f.Fuzz(func(t *testing.T, pub, m, s []byte) {
		p, err := ParsePublicKey(pub)
		if err != nil {
			p = fuzzKey.Public()
		}
		ok := p.Verify(m, s)
		if ok && p.Equal(fuzzKey.Public()) && !bytes.Equal(m, msg) {
			t.Fatalf("forged signature for %x: %x", m, s)
		}
	})
}

func FuzzDecryptSM2(f *testing.F) {
	for _, enc := range []CiphertextEncoding{CiphertextASN1, CiphertextC1C3C2, CiphertextC1C2C3} {
		ct, _ := fuzzKey.Public().EncryptAs([]byte("secret"), enc)
		f.Add(ct, uint8(enc))
	}
	f.Fuzz(func(t *testing.T, ct []byte, enc uint8) {
		_, _ = fuzzKey.DecryptAs(ct, CiphertextEncoding(enc%4))
	})
}

func FuzzOpenSM4GCM(f *testing.F) {
	key := make([]byte, SM4KeySize)
	sealed, _ := SealSM4GCM(key, []byte("secret"), []byte("aad"))
	f.Add(sealed, []byte("aad"))
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, sealed, aad []byte) {
		if pt, err := OpenSM4GCM(key, sealed, aad); err == nil && !bytes.Equal(aad, []byte("aad")) {
			t.Fatalf("forged SM4-GCM message %x opened to %x", sealed, pt)
		}
	})
}

func FuzzParsePKCS8PrivateKey(f *testing.F) {
	der, _ := fuzzKey.MarshalPKCS8()
	f.Add(der)
	f.Fuzz(func(t *testing.T, der []byte) {
		k, err := ParsePKCS8PrivateKey(der)
		if err != nil {
			return
		}
		_ = k.Public().Bytes()
	})
}

func FuzzDecodeKeyFile(f *testing.F) {
	f.Add([]byte(`{"version":1,"name":"a","org":"b","address":"` + fuzzKey.Public().Address().String() +
		`","public_key":` + jsonString(string(fuzzKey.Public().MarshalPEM())) +
		`,"crypto":{"kdf":"pbkdf2-hmac-sm3","kdf_params":{"iterations":100000,"salt":"00","key_len":16},"cipher":"sm4-gcm","ciphertext":"00"}}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"version":1,"certificate":"x"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		kf, err := decodeKeyFile(data)
		if err != nil {
			return
		}
		if _, err := ParsePublicKeyPEM([]byte(kf.PublicKey)); err != nil {
			t.Fatalf("accepted file with bad public key: %v", err)
		}
	})
}

func jsonString(s string) string {
	var b bytes.Buffer
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '\n':
			b.WriteString(`\n`)
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
