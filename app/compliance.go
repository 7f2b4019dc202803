package app

import (
	"encoding/hex"
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// MaxConfidentialReaders bounds a payload's readers (each costs the
// validators about 0.3 ms to check).
const MaxConfidentialReaders = 16

// MaxConfidentialBytes bounds a confidential payload's ciphertext.
const MaxConfidentialBytes = 32 << 10

// setSanction lets a regulator maintain the sanctions list.
func (a *App) setSanction(kv ledger.KV, tx *wire.Tx, m *txpb.SetSanction, height int64) ([]abci.Event, error) {
	if _, err := permission.Require(kv, tx.Sender, permission.RoleRegulator, ""); err != nil {
		return nil, fmt.Errorf("set sanction: %w", err)
	}
	acct, err := gmcrypto.AddressFromBytes(m.Account)
	if err != nil {
		return nil, permission.ErrInvalid.Wrapf("sanction account: %v", err)
	}
	if m.Remove {
		err = permission.RemoveSanction(kv, acct.String())
	} else {
		err = permission.SetSanction(kv, permission.Sanction{Account: acct.String(), Entry: m.Entry, Reason: m.Reason, Source: m.Source,
			By: tx.Sender.String(), Height: height})
	}
	if err != nil {
		return nil, err
	}
	return []abci.Event{wire.Event(&txpb.EventSanction{Account: acct.String(), Entry: m.Entry, Removed: m.Remove, Reason: m.Reason, Source: m.Source})}, nil
}

// registerEscrowKey records a regulator's SM2 escrow key.
func (a *App) registerEscrowKey(kv ledger.KV, tx *wire.Tx, m *txpb.RegisterEscrowKey) ([]abci.Event, error) {
	if _, err := permission.Require(kv, tx.Sender, permission.RoleRegulator, ""); err != nil {
		return nil, fmt.Errorf("register escrow key: %w", err)
	}
	if err := permission.SetEscrowKey(kv, permission.EscrowKey{Regulator: tx.Sender.String(), PublicKey: hex.EncodeToString(m.PublicKey)}); err != nil {
		return nil, err
	}
	return []abci.Event{wire.Event(&txpb.EventEscrowKey{Regulator: tx.Sender.String()})}, nil
}

// checkConfidential requires a well-formed payload that the sender, the
// recipient and every registered escrow key can read, and checks the proof
// that they all recover the same key (gmcrypto.VerifyShared): validators
// cannot read the payload, but a sender cannot hand the regulator a share
// that opens nothing while the recipient's opens the payload.
func checkConfidential(kv ledger.KV, c *txpb.Confidential, sender, to gmcrypto.Address) error {
	if c == nil {
		return nil
	}
	if len(c.Ciphertext) == 0 || len(c.Ciphertext) > MaxConfidentialBytes {
		return ErrConfidential.Wrapf("ciphertext of %d bytes, want 1..%d", len(c.Ciphertext), MaxConfidentialBytes)
	}
	if len(c.Keys) == 0 || len(c.Keys) > MaxConfidentialReaders {
		return ErrConfidential.Wrapf("%d readers, want 1..%d", len(c.Keys), MaxConfidentialReaders)
	}
	keys := make([]*gmcrypto.PublicKey, len(c.Keys))
	shares := make([][]byte, len(c.Keys))
	readers := make(map[gmcrypto.Address]bool, len(c.Keys))
	rawKeys := make(map[string]bool, len(c.Keys))
	for i, k := range c.Keys {
		addr, err := gmcrypto.AddressFromBytes(k.Reader)
		if err != nil {
			return ErrConfidential.Wrapf("reader %d: %v", i, err)
		}
		pub, err := gmcrypto.ParsePublicKey(k.PublicKey)
		if err != nil {
			return ErrConfidential.Wrapf("reader %s: %v", addr, err)
		}
		if pub.Address() != addr {
			return ErrConfidential.Wrapf("reader %s: its public key is of %s", addr, pub.Address())
		}
		if readers[addr] {
			return ErrConfidential.Wrapf("reader %s listed twice", addr)
		}
		readers[addr], rawKeys[string(k.PublicKey)] = true, true
		keys[i], shares[i] = pub, k.Wrapped
	}
	for _, n := range []gmcrypto.Address{sender, to} {
		if !readers[n] {
			return ErrConfidential.Wrapf("the payload has no key share for %s (parties and every registered regulator must be able to read it)", n)
		}
	}
	escrow, err := permission.EscrowKeys(kv)
	if err != nil {
		return err
	}
	for _, e := range escrow {
		b, err := hex.DecodeString(e.PublicKey)
		if err != nil || !rawKeys[string(b)] {
			return ErrConfidential.Wrapf("the payload has no key share for the escrow key of regulator %s (parties and every registered regulator must be able to read it)", e.Regulator)
		}
	}
	if err := gmcrypto.VerifyShared(c.Ciphertext, keys, shares, c.Proof); err != nil {
		return ErrConfidential.Wrapf("%v: a reader's share would not open the payload's key", err)
	}
	return nil
}

func amlKey(ledgerName, asset string) []byte { return []byte("aml/" + ledgerName + "/" + asset) }

// AMLThreshold is an on-chain large-amount threshold.
type AMLThreshold struct {
	Ledger      string `json:"ledger"`
	Asset       string `json:"asset"`
	LargeAmount uint64 `json:"large_amount,string"`
}

// setAMLThreshold lets a regulator set the large-amount threshold the
// observers' rule engines apply to an asset.
func (a *App) setAMLThreshold(kv ledger.KV, tx *wire.Tx, m *txpb.SetAMLThreshold) ([]abci.Event, error) {
	if _, err := permission.Require(kv, tx.Sender, permission.RoleRegulator, ""); err != nil {
		return nil, fmt.Errorf("set AML threshold: %w", err)
	}
	if !a.store.HasLedger(m.Ledger) || m.Ledger == permission.SystemLedger {
		return nil, ErrUnknownLedger.Wrapf("%q", m.Ledger)
	}
	if _, err := a.payments.GetAsset(kv, m.Ledger, m.Asset); err != nil {
		return nil, err
	}
	var err error
	if m.LargeAmount == 0 {
		err = kv.Delete(permission.SystemLedger, amlKey(m.Ledger, m.Asset))
	} else {
		var b []byte
		if b, err = ledger.Encode(AMLThreshold{Ledger: m.Ledger, Asset: m.Asset, LargeAmount: m.LargeAmount}); err != nil {
			return nil, err
		}
		err = kv.Set(permission.SystemLedger, amlKey(m.Ledger, m.Asset), b)
	}
	if err != nil {
		return nil, err
	}
	return []abci.Event{wire.Event(&txpb.EventAmlThreshold{Ledger: m.Ledger, Asset: m.Asset, LargeAmount: m.LargeAmount})}, nil
}
