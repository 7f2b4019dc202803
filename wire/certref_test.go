package wire

import (
	"bytes"
	"encoding/hex"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"google.golang.org/protobuf/proto"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/ca/catest"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
)

// certSigner is a client of a fresh CA of bankA, carrying its certificate.
func certSigner(t testing.TB) (Signer, *gmcrypto.Certificate) {
	t.Helper()
	k, c := catest.Client(t, "bankA")
	return Signer{Key: k, MSPID: "bankA", CertPEM: c.PEM()}, c
}

var transferMsg = &txpb.Message{Body: &txpb.Message_Transfer{Transfer: &txpb.Transfer{Asset: "CNY", To: make([]byte, 20), Amount: 1}}}

// creatorOf decodes the id_bytes of a built envelope's creator.
func creatorOf(t *testing.T, raw []byte) []byte {
	t.Helper()
	tx, err := DecodeTx(raw)
	if err != nil {
		t.Fatal(err)
	}
	var id msp.SerializedIdentity
	if err := proto.Unmarshal(tx.creator, &id); err != nil {
		t.Fatal(err)
	}
	return id.IdBytes
}

func TestNamingCert(t *testing.T) {
	s, cert := certSigner(t)
	whole, _, err := BuildTx(s, "c", "payments", time.Now(), transferMsg)
	if err != nil {
		t.Fatal(err)
	}
	named, err := s.NamingCert()
	if err != nil {
		t.Fatal(err)
	}
	raw, id, err := BuildTx(named, "c", "payments", time.Now(), transferMsg)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := DecodeTx(raw)
	if err != nil {
		t.Fatal(err)
	}
	h := cert.Hash()
	switch {
	case tx.ID != id, tx.Cert != nil, tx.CertRefErr != nil:
		t.Fatalf("named envelope decoded to id %s cert %v err %v", tx.ID, tx.Cert, tx.CertRefErr)
	case !bytes.Equal(tx.CertRef, h[:]):
		t.Fatalf("CertRef %x, want the certificate's SM3 %x", tx.CertRef, h)
	case !tx.Creator.Equal(s.Key.Public()) || tx.Sender != s.Key.Public().Address():
		t.Fatal("named envelope's creator is not the signer's key")
	case tx.VerifySignature() != nil:
		t.Fatal("named envelope does not verify")
	}
	if saved := len(whole) - len(raw); saved < 400 {
		t.Fatalf("naming the certificate saved %d bytes (%d → %d), want ≥ 400", saved, len(whole), len(raw))
	}
	if !strings.Contains(string(creatorOf(t, raw)), "Certificate-SM3: "+hex.EncodeToString(h[:])+"\n") {
		t.Fatalf("id_bytes lack the header:\n%s", creatorOf(t, raw))
	}

	// A bare-key signer has no certificate to name; a certificate of
	// another key is not the signer's.
	if _, err := (Signer{Key: s.Key, MSPID: "bankA"}).NamingCert(); err == nil {
		t.Fatal("a signer without a certificate named one")
	}
	other, _ := certSigner(t)
	if _, err := (Signer{Key: s.Key, MSPID: "bankA", CertPEM: other.CertPEM}).NamingCert(); err == nil || !strings.Contains(err.Error(), "not of the signer's key") {
		t.Fatalf("named another key's certificate: %v", err)
	}
}

// TestCertRefForms: what a public key PEM with headers decodes to. Only
// the canonical form names a certificate; anything else decodes (headers
// were always ignored, and a chain before the upgrade must read old blocks
// as it did) with CertRefErr saying why, for the app to refuse.
func TestCertRefForms(t *testing.T) {
	s, cert := certSigner(t)
	h := cert.Hash()
	good := NamedCertPEM(s.Key.Public(), h)
	block, _ := pem.Decode(good)
	withHeaders := func(hs map[string]string) []byte {
		b := *block
		b.Headers = hs
		return pem.EncodeToMemory(&b)
	}
	hx := hex.EncodeToString(h[:])
	for _, c := range []struct {
		name    string
		idBytes []byte
		ref     bool
		refErr  string // "" = none
	}{
		{"canonical", good, true, ""},
		{"bare key", s.Key.Public().MarshalPEM(), false, ""},
		{"upper-case hex", withHeaders(map[string]string{CertRefHeader: strings.ToUpper(hx)}), false, "lowercase hex"},
		{"31 bytes", withHeaders(map[string]string{CertRefHeader: hx[:62]}), false, "lowercase hex"},
		{"33 bytes", withHeaders(map[string]string{CertRefHeader: hx + "00"}), false, "lowercase hex"},
		{"another header too", withHeaders(map[string]string{CertRefHeader: hx, "Comment": "x"}), false, "want exactly one"},
		{"another header only", withHeaders(map[string]string{"Comment": "x"}), false, "want exactly one"},
		{"trailing newline", append(bytes.Clone(good), '\n'), false, "canonical form"},
		{"CRLF", bytes.ReplaceAll(good, []byte("\n"), []byte("\r\n")), false, "canonical form"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := parseCreator(c.idBytes)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if (p.certRef != nil) != c.ref {
				t.Fatalf("certRef %x, want named %v", p.certRef, c.ref)
			}
			switch {
			case c.refErr == "" && p.certRefErr != nil:
				t.Fatalf("certRefErr %v, want none", p.certRefErr)
			case c.refErr != "" && (p.certRefErr == nil || !strings.Contains(p.certRefErr.Error(), c.refErr)):
				t.Fatalf("certRefErr %v, want one saying %q", p.certRefErr, c.refErr)
			}
			if !p.pub.Equal(s.Key.Public()) {
				t.Fatal("the key is not the signer's")
			}
		})
	}
}

// FuzzParseCreator: id_bytes are outside bytes. Parsing never panics; a
// creator that names a certificate is in its one canonical form, and never
// also carries one.
func FuzzParseCreator(f *testing.F) {
	s, cert := certSigner(f)
	named := NamedCertPEM(s.Key.Public(), cert.Hash())
	f.Add(named)
	f.Add(s.Key.Public().MarshalPEM())
	f.Add(s.CertPEM)
	f.Add(bytes.Replace(named, []byte("Certificate-SM3: "), []byte("Certificate-SM3: A"), 1))
	f.Add(bytes.Replace(named, []byte("\n\n"), []byte("\nComment: x\n\n"), 1))
	f.Add(append(bytes.Clone(named), " "...))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parseCreator(b)
		if err != nil {
			return
		}
		if p.pub == nil {
			t.Fatal("parsed a creator without a key")
		}
		if p.certRef != nil {
			if p.cert != nil || p.certRefErr != nil {
				t.Fatal("a named certificate with a carried one or an error")
			}
			if !bytes.Equal(NamedCertPEM(p.pub, [gmcrypto.HashSize]byte(p.certRef)), b) {
				t.Fatal("accepted a non-canonical named form")
			}
		}
	})
}

// BenchmarkDecodeTx: decoding a transfer envelope (no signature check),
// bare key, carried certificate and named certificate.
func BenchmarkDecodeTx(b *testing.B) {
	s, _ := certSigner(b)
	named, err := s.NamingCert()
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		s    Signer
	}{{"bare", Signer{Key: s.Key, MSPID: "bankA"}}, {"certificate", s}, {"named", named}} {
		raw, _, err := BuildTx(c.s, "c", "payments", time.Now(), transferMsg)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeTx(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
