package permission

import (
	"encoding/hex"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/errs"
	"github.com/jinlian-ledger/jinlian/ledger"
)

// ErrSanctioned rejects a transfer, issue or burn naming a sanctioned
// account; the message names the list entry. CheckTx lets an otherwise
// valid one into a block, which refuses it with this code, so that the
// attempt is on chain for the regulators (ADR 0007 §4).
var ErrSanctioned = errs.Register(codespace, 10, "sanctioned account")

// Sanction is one entry of the consortium sanctions list.
type Sanction struct {
	Account string `json:"account"`
	Entry   string `json:"entry"`
	Reason  string `json:"reason,omitempty"`
	Source  string `json:"source,omitempty"` // the list the entry comes from
	By      string `json:"by"`               // regulator identity
	Height  int64  `json:"height"`
}

func sanctionKey(a string) []byte { return []byte("sanction/" + a) }

// SetSanction adds or replaces an entry.
func SetSanction(kv ledger.KV, s Sanction) error {
	if _, err := gmcrypto.ParseAddress(s.Account); err != nil {
		return ErrInvalid.Wrapf("sanction: %v", err)
	}
	if s.Entry == "" {
		return ErrInvalid.Wrapf("sanction of %s names no list entry", s.Account)
	}
	b, err := ledger.Encode(s)
	if err != nil {
		return err
	}
	return kv.Set(SystemLedger, sanctionKey(s.Account), b)
}

// RemoveSanction deletes an entry.
func RemoveSanction(kv ledger.KV, account string) error {
	b, err := kv.Get(SystemLedger, sanctionKey(account))
	if err != nil {
		return err
	}
	if b == nil {
		return ErrInvalid.Wrapf("account %s is not on the sanctions list", account)
	}
	return kv.Delete(SystemLedger, sanctionKey(account))
}

// Sanctions lists the sanctions list in account order.
func Sanctions(kv Reader) ([]Sanction, error) { return list[Sanction](kv, "sanction/") }

// CheckSanctions returns ErrSanctioned naming the entry if any of accounts is listed.
func CheckSanctions(kv Reader, accounts ...string) error {
	for _, a := range accounts {
		b, err := ledger.Peek(kv, SystemLedger, sanctionKey(a))
		if err != nil {
			return err
		}
		if b != nil {
			var s Sanction
			if err := ledger.Decode(b, &s); err != nil {
				return err
			}
			return ErrSanctioned.Wrapf("account %s is on the sanctions list as entry %s (%s)", a, s.Entry, s.Reason)
		}
	}
	return nil
}

// EscrowKey is a regulator's SM2 public key for confidential payloads.
type EscrowKey struct {
	Regulator string `json:"regulator"` // address
	PublicKey string `json:"public_key"`
}

func escrowKey(a string) []byte { return []byte("escrow/" + a) }

// SetEscrowKey registers a regulator's escrow key.
func SetEscrowKey(kv ledger.KV, k EscrowKey) error {
	b, err := hex.DecodeString(k.PublicKey)
	if err == nil {
		_, err = gmcrypto.ParsePublicKey(b)
	}
	if err != nil {
		return ErrInvalid.Wrapf("escrow key of %s: %v", k.Regulator, err)
	}
	v, err := ledger.Encode(k)
	if err != nil {
		return err
	}
	return kv.Set(SystemLedger, escrowKey(k.Regulator), v)
}

// EscrowKeys lists registered escrow keys in regulator order.
func EscrowKeys(kv Reader) ([]EscrowKey, error) { return list[EscrowKey](kv, "escrow/") }

// Public keys of senders of executed transactions, so that clients can
// encrypt for an address. Refused transactions record nothing.
func pubKeyKey(a string) []byte { return []byte(pubKeyPrefix + a) }

// RecordPublicKey remembers pub as the public key behind addr, its address
// (first sight only).
func RecordPublicKey(kv ledger.KV, addr gmcrypto.Address, pub *gmcrypto.PublicKey) error {
	k := addrKey(pubKeyPrefix, addr)
	if seen, err := kv.Has(SystemLedger, k); err != nil || seen {
		return err
	}
	return kv.Set(SystemLedger, k, pub.Bytes())
}

// PublicKeyOf returns the recorded public key of an address, or nil.
func PublicKeyOf(kv Reader, addr string) (*gmcrypto.PublicKey, error) {
	b, err := kv.Get(SystemLedger, pubKeyKey(addr))
	if err != nil || b == nil {
		return nil, err
	}
	return gmcrypto.ParsePublicKey(b)
}
