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

func init() {
	if certRefsRelease {
		RegisterMigration(CertRefsUpgrade, permission.EnableCertRefs)
	}
}

// authenticateNamed authenticates a creator whose public key PEM carries
// headers (docs/adr/0025-certificate-references.md). A recorded
// certificate (recorded only once references are on) must be of the
// envelope's key and pass every check a carried one does. Otherwise the
// marker decides: before references are on, the headers mean nothing, as
// they always did, and the creator is a bare key; after, the creator is
// refused, saying why.
func (a *App) authenticateNamed(kv ledger.KV, org permission.Organisation, tx *wire.Tx, at time.Time) error {
	if tx.CertRef != nil {
		cert, err := permission.RecordedCertificate(kv, tx.CertRef)
		if err != nil {
			return err
		}
		if cert != nil {
			if !cert.PublicKey().Equal(tx.Creator) {
				return permission.ErrCertificate.Wrapf("tx %s names certificate %x of %s, whose key is not the envelope's (%s)", tx.ID, tx.CertRef, cert.Subject(), tx.Sender)
			}
			return a.certs.Authenticate(kv, org, cert, at)
		}
	}
	on, err := permission.CertRefsOn(kv)
	switch {
	case err != nil:
		return err
	case !on && org.RootCA != "":
		return permission.ErrCertificate.Wrapf("organisation %s requires certificate identities; tx %s carries a public key naming a certificate, which this chain accepts only after upgrade %q", org.ID, tx.ID, CertRefsUpgrade)
	case !on:
		return nil
	case tx.CertRefErr != nil:
		return wire.ErrTxDecode.Wrapf("creator of tx %s: %v", tx.ID, tx.CertRefErr)
	}
	return permission.ErrCertificate.Wrapf("tx %s names certificate %x, which this chain has not recorded: send one transaction carrying the whole certificate first", tx.ID, tx.CertRef)
}
