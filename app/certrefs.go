package app

import (
	"time"

	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/wire"
)

// CertRefsUpgrade is the scheduled upgrade that turns certificate
// references on for a chain started before it
// (docs/adr/0025-certificate-references.md): from its height executed
// transactions record the certificates they carry, and envelopes may name
// a recorded certificate by its SM3 hash instead of carrying it. A chain
// started by this binary has them from genesis (InitChain).
const CertRefsUpgrade = "certificate-references"

func init() { RegisterMigration(CertRefsUpgrade, permission.EnableCertRefs) }

// authenticateNamed authenticates a creator that names its certificate by
// hash (docs/adr/0025-certificate-references.md): the certificate must be
// recorded, be of the envelope's key, and pass every check a carried one
// does.
func (a *App) authenticateNamed(kv ledger.KV, org permission.Organisation, tx *wire.Tx, at time.Time) error {
	if tx.CertRefErr != nil {
		return wire.ErrTxDecode.Wrapf("creator of tx %s: %v", tx.ID, tx.CertRefErr)
	}
	cert, err := permission.RecordedCertificate(kv, tx.CertRef)
	if err != nil {
		return err
	}
	if cert == nil {
		return permission.ErrCertificate.Wrapf("tx %s names certificate %x, which this chain has not recorded: send one transaction carrying the whole certificate first", tx.ID, tx.CertRef)
	}
	if !cert.PublicKey().Equal(tx.Creator) {
		return permission.ErrCertificate.Wrapf("tx %s names certificate %x of %s, whose key is not the envelope's (%s)", tx.ID, tx.CertRef, cert.Subject(), tx.Sender)
	}
	return a.certs.Authenticate(kv, org, cert, at)
}

// recordCert records a carried certificate for later envelopes to name,
// once the chain has references on.
func recordCert(kv ledger.KV, tx *wire.Tx) error {
	if tx.Cert == nil {
		return nil
	}
	if on, err := permission.CertRefsOn(kv); err != nil || !on {
		return err
	}
	return permission.RecordCertificate(kv, tx.Cert)
}
