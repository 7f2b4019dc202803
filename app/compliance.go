package app

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
)

// ConfidentialAAD is the SM4-GCM additional data of confidential payloads.
var ConfidentialAAD = []byte("jinlian/confidential/v1")

// MaxConfidentialBytes bounds a confidential payload's ciphertext.
const MaxConfidentialBytes = 32 << 10

// setSanction lets a regulator maintain the sanctions list.
func (a *App) setSanction(kv ledger.KV, tx *Tx, m *txpb.SetSanction, height int64) ([]abci.Event, error) {
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
		err = permission.SetSanction(kv, permission.Sanction{Account: acct.String(), Entry: m.Entry, Reason: m.Reason, By: tx.Sender.String(), Height: height})
	}
	if err != nil {
		return nil, err
	}
	return []abci.Event{{Type: "sanction", Attributes: []abci.EventAttribute{
		{Key: "account", Value: acct.String(), Index: true},
		{Key: "entry", Value: m.Entry, Index: true},
		{Key: "removed", Value: fmt.Sprint(m.Remove)},
	}}}, nil
}

// registerEscrowKey records a regulator's SM2 escrow key.
func (a *App) registerEscrowKey(kv ledger.KV, tx *Tx, m *txpb.RegisterEscrowKey) ([]abci.Event, error) {
	if _, err := permission.Require(kv, tx.Sender, permission.RoleRegulator, ""); err != nil {
		return nil, fmt.Errorf("register escrow key: %w", err)
	}
	if err := permission.SetEscrowKey(kv, permission.EscrowKey{Regulator: tx.Sender.String(), PublicKey: hex.EncodeToString(m.PublicKey)}); err != nil {
		return nil, err
	}
	return []abci.Event{{Type: "escrow_key", Attributes: []abci.EventAttribute{{Key: "regulator", Value: tx.Sender.String(), Index: true}}}}, nil
}

// checkConfidential requires a well-formed payload whose data key is
// wrapped for the sender, the recipient and every registered escrow key.
// Validators cannot read it: they only check who can.
func checkConfidential(kv ledger.KV, c *txpb.Confidential, sender, to gmcrypto.Address) error {
	if c == nil {
		return nil
	}
	if len(c.Ciphertext) == 0 || len(c.Ciphertext) > MaxConfidentialBytes {
		return ErrConfidential.Wrapf("ciphertext of %d bytes, want 1..%d", len(c.Ciphertext), MaxConfidentialBytes)
	}
	readers := map[gmcrypto.Address]bool{}
	for _, k := range c.Keys {
		addr, err := gmcrypto.AddressFromBytes(k.Reader)
		if err != nil || len(k.Wrapped) == 0 {
			return ErrConfidential.Wrapf("malformed wrapped key")
		}
		readers[addr] = true
	}
	need := []gmcrypto.Address{sender, to}
	escrow, err := permission.EscrowKeys(kv)
	if err != nil {
		return err
	}
	for _, e := range escrow {
		addr, _ := gmcrypto.ParseAddress(e.Regulator)
		need = append(need, addr)
	}
	for _, n := range need {
		if !readers[n] {
			return ErrConfidential.Wrapf("data key is not wrapped for %s (parties and every registered regulator must be able to read it)", n)
		}
	}
	return nil
}

// SealConfidential encrypts plaintext for readers (address → public key)
// the way checkConfidential expects.
func SealConfidential(plaintext []byte, readers []*gmcrypto.PublicKey) (*txpb.Confidential, error) {
	key, err := gmcrypto.GenerateSM4Key()
	if err != nil {
		return nil, err
	}
	ct, err := gmcrypto.SealSM4GCM(key, plaintext, ConfidentialAAD)
	if err != nil {
		return nil, err
	}
	out := &txpb.Confidential{Ciphertext: ct}
	seen := map[gmcrypto.Address]bool{}
	for _, r := range readers {
		if seen[r.Address()] {
			continue
		}
		seen[r.Address()] = true
		w, err := r.Encrypt(key)
		if err != nil {
			return nil, err
		}
		out.Keys = append(out.Keys, &txpb.WrappedKey{Reader: r.Address().Bytes(), Wrapped: w})
	}
	return out, nil
}

// OpenConfidential decrypts a payload with the reader's private key; it
// fails clearly when the reader holds no wrapped key.
func OpenConfidential(c *txpb.Confidential, key *gmcrypto.PrivateKey) ([]byte, error) {
	me := key.Public().Address()
	for _, k := range c.Keys {
		if !bytes.Equal(k.Reader, me[:]) {
			continue
		}
		dk, err := key.Decrypt(k.Wrapped)
		if err != nil {
			return nil, fmt.Errorf("unwrap data key: %w", err)
		}
		return gmcrypto.OpenSM4GCM(dk, c.Ciphertext, ConfidentialAAD)
	}
	return nil, ErrConfidential.Wrapf("%s is not a reader of this payload: only the parties and registered regulators can decrypt it", me)
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
func (a *App) setAMLThreshold(kv ledger.KV, tx *Tx, m *txpb.SetAMLThreshold) ([]abci.Event, error) {
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
		b, _ := json.Marshal(AMLThreshold{Ledger: m.Ledger, Asset: m.Asset, LargeAmount: m.LargeAmount})
		err = kv.Set(permission.SystemLedger, amlKey(m.Ledger, m.Asset), b)
	}
	if err != nil {
		return nil, err
	}
	return []abci.Event{{Type: "aml_threshold", Attributes: []abci.EventAttribute{
		{Key: "ledger", Value: m.Ledger, Index: true},
		{Key: "asset", Value: m.Asset, Index: true},
		{Key: "large_amount", Value: fmt.Sprint(m.LargeAmount)},
	}}}, nil
}
