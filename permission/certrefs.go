package permission

import (
	"bytes"
	"encoding/hex"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/memo"
	"github.com/jinlian-ledger/jinlian/ledger"
)

// Certificates named by their hash (docs/adr/0025-certificate-references.md).
// Once a chain turns references on, every executed transaction that carries
// a whole certificate records it, and a later envelope may carry its
// signer's public key with the certificate's SM3 hash instead.
//
// State (_system):
//
//	meta/certrefs    → present once references are on (genesis, or the
//	                   certificate-references upgrade's migration)
//	cert/<sm3 hex>   → the certificate's DER

var certRefsKey = []byte("meta/certrefs")

// EnableCertRefs turns certificate references on.
func EnableCertRefs(kv ledger.KV) error { return kv.Set(SystemLedger, certRefsKey, []byte{1}) }

// CertRefsOn reports whether the chain records and resolves certificate
// references.
func CertRefsOn(kv HasReader) (bool, error) { return kv.Has(SystemLedger, certRefsKey) }

func certKey(hash []byte) []byte { return []byte("cert/" + hex.EncodeToString(hash)) }

// RecordCertificate records c under its hash, first sight only, once
// references are on (before, it records nothing). A recorded certificate
// is one read; the marker is read only for a certificate not yet recorded.
func RecordCertificate(kv ledger.KV, c *gmcrypto.Certificate) error {
	h := c.Hash()
	k := certKey(h[:])
	if ok, err := kv.Has(SystemLedger, k); err != nil || ok {
		return err
	}
	if on, err := CertRefsOn(kv); err != nil || !on {
		return err
	}
	return kv.Set(SystemLedger, k, c.DER())
}

// recorded remembers parsed recorded certificates by hash: the state holds
// a certificate's DER under its own SM3, so the parse of a hash never
// changes. Whether the hash is recorded is read from state every time.
var recorded = memo.NewMap[[gmcrypto.HashSize]byte, *gmcrypto.Certificate](10_000)

// HasReader is a Reader that can tell presence without copying a value
// (ledger.KV, ledger.View).
type HasReader interface {
	Reader
	Has(ledger string, key []byte) (bool, error)
}

// RecordedCertificate returns the certificate recorded under hash, or nil.
func RecordedCertificate(kv HasReader, hash []byte) (*gmcrypto.Certificate, error) {
	if len(hash) != gmcrypto.HashSize {
		return nil, ErrCertificate.Wrapf("certificate hash of %d bytes, want %d", len(hash), gmcrypto.HashSize)
	}
	h := [gmcrypto.HashSize]byte(hash)
	if c, ok := recorded.Get(h); ok {
		if ok, err := kv.Has(SystemLedger, certKey(hash)); err != nil || !ok {
			return nil, err
		}
		return c, nil
	}
	der, err := kv.Get(SystemLedger, certKey(hash))
	if err != nil || der == nil {
		return nil, err
	}
	c, err := gmcrypto.ParseCertificate(der)
	if err != nil {
		return nil, ErrCertificate.Wrapf("recorded certificate %x: %v", hash, err)
	}
	if got := c.Hash(); !bytes.Equal(got[:], hash) {
		return nil, ErrCertificate.Wrapf("recorded certificate %x hashes to %x", hash, got)
	}
	recorded.Put(h, c)
	return c, nil
}
