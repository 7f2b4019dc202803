package permission

import (
	"encoding/hex"
	"strings"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
)

// Validator is a consensus node registered with its SM2 node key, which
// signs the app hash of every height (the SM2 quorum certificate).
type Validator struct {
	Name string `json:"name,omitempty"`
	Org  string `json:"org"`
	// Address is the CometBFT validator address, upper-case hex as CometBFT prints it.
	Address string `json:"address"`
	// SM2PublicKey is the node key, uncompressed point in hex.
	SM2PublicKey string `json:"sm2_public_key"`
	// Power mirrors the validator's CometBFT voting power.
	Power int64 `json:"power"`
}

func validatorKey(addr string) []byte { return []byte("val/" + strings.ToUpper(addr)) }

// ValidatorKey is the _system key of a validator's registration (what a
// state proof of its SM2 node key proves).
func ValidatorKey(addr string) []byte { return validatorKey(addr) }

// PublicKey parses the validator's SM2 node key.
func (v Validator) PublicKey() (*gmcrypto.PublicKey, error) {
	b, err := hex.DecodeString(v.SM2PublicKey)
	if err != nil {
		return nil, ErrInvalid.Wrapf("validator %s: SM2 public key is not hex", v.Address)
	}
	pub, err := gmcrypto.ParsePublicKey(b)
	if err != nil {
		return nil, ErrInvalid.Wrapf("validator %s: %v", v.Address, err)
	}
	return pub, nil
}

// ValidateValidator checks a registration's form.
func ValidateValidator(v Validator) error {
	if b, err := hex.DecodeString(v.Address); err != nil || len(b) != 20 {
		return ErrInvalid.Wrapf("validator %q: address %q is not 40 hex digits", v.Name, v.Address)
	}
	if v.Power < 0 {
		return ErrInvalid.Wrapf("validator %s: negative power", v.Address)
	}
	_, err := v.PublicKey()
	return err
}

// SetValidator stores a registration; its organisation must exist.
func SetValidator(kv ledger.KV, v Validator) error {
	if err := ValidateValidator(v); err != nil {
		return err
	}
	if _, err := GetOrganisation(kv, v.Org); err != nil {
		return err
	}
	v.Address = strings.ToUpper(v.Address)
	b, err := ledger.Encode(v)
	if err != nil {
		return err
	}
	return kv.Set(SystemLedger, validatorKey(v.Address), b)
}

// GetValidator looks a validator up by CometBFT address (any hex case).
func GetValidator(kv Reader, addr string) (Validator, bool, error) {
	var v Validator
	b, err := kv.Get(SystemLedger, validatorKey(addr))
	if err != nil || b == nil {
		return v, false, err
	}
	return v, true, ledger.Decode(b, &v)
}

// Validators lists registrations in address order.
func Validators(kv Reader) ([]Validator, error) { return list[Validator](kv, "val/") }
