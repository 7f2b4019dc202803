package checkpoint

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
)

const registrationDomain = "jinlian/checkpoint-key/v1"

// Registration binds a validator's checkpoint key to its SM2 identity: the
// SM2 node key signs (chain, validator address, checkpoint key), and the
// checkpoint key signs the same statement (proof of possession, so nobody
// can register a key it does not hold, such as another validator's).
type Registration struct {
	ChainID string `json:"chain_id"`
	// Validator is the CometBFT address, upper-case hex.
	Validator     string   `json:"validator"`
	CheckpointKey HexBytes `json:"checkpoint_key"`
	Possession    HexBytes `json:"possession"`
	SM2Signature  HexBytes `json:"sm2_signature"`
}

// HexBytes is bytes as hex in JSON.
type HexBytes []byte

// MarshalText encodes hex.
func (h HexBytes) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(h)), nil }

// UnmarshalText decodes hex.
func (h *HexBytes) UnmarshalText(b []byte) error {
	v, err := hex.DecodeString(string(b))
	*h = v
	return err
}

// SignBytes is what both keys sign.
func (r Registration) SignBytes() []byte {
	b := append([]byte(registrationDomain), 0)
	b = binary.AppendUvarint(b, uint64(len(r.ChainID)))
	b = append(b, r.ChainID...)
	b = binary.AppendUvarint(b, uint64(len(r.Validator)))
	b = append(b, strings.ToUpper(r.Validator)...)
	return append(b, r.CheckpointKey...)
}

// possessionDigest maps SignBytes to the scalar the checkpoint key signs.
func (r Registration) possessionDigest() Hash32 {
	h := gmcrypto.SM3(r.SignBytes())
	var e fr.Element
	e.SetBigInt(new(big.Int).SetBytes(h[:]))
	return Hash32(e.Bytes())
}

// Register makes a validator's registration.
func Register(chainID, validator string, key *CheckpointKey, node *gmcrypto.PrivateKey) (Registration, error) {
	r := Registration{ChainID: chainID, Validator: strings.ToUpper(validator), CheckpointKey: key.Public()}
	var err error
	if r.Possession, err = key.Sign(r.possessionDigest()); err != nil {
		return r, err
	}
	r.SM2Signature, err = node.Sign(r.SignBytes())
	return r, err
}

// ErrBadRegistration is a registration that does not verify.
var ErrBadRegistration = errors.New("invalid checkpoint key registration")

// Verify checks a registration for chainID against the validator's SM2
// node key.
func (r Registration) Verify(chainID string, node *gmcrypto.PublicKey) error {
	if r.ChainID != chainID {
		return fmt.Errorf("%w: for chain %q, not %q", ErrBadRegistration, r.ChainID, chainID)
	}
	if _, err := ParsePublicKey(r.CheckpointKey); err != nil {
		return fmt.Errorf("%w: %v", ErrBadRegistration, err)
	}
	if err := VerifySignature(r.CheckpointKey, r.possessionDigest(), r.Possession); err != nil {
		return fmt.Errorf("%w: proof of possession of validator %s: %v", ErrBadRegistration, r.Validator, err)
	}
	if !node.Verify(r.SignBytes(), r.SM2Signature) {
		return fmt.Errorf("%w: SM2 signature of validator %s does not verify", ErrBadRegistration, r.Validator)
	}
	return nil
}

// KeyFile is a node's checkpoint key, like CometBFT's
// priv_validator_key.json: plain, readable by the node's user only.
func KeyFile(home string) string { return filepath.Join(home, "config", "checkpoint_key.json") }

type keyFileJSON struct {
	PublicKey  HexBytes `json:"public_key"`
	PrivateKey HexBytes `json:"private_key"`
}

// SaveKey writes key to path (0600), refusing to overwrite.
func SaveKey(path string, key *CheckpointKey) error {
	b, _ := json.MarshalIndent(keyFileJSON{PublicKey: key.Public(), PrivateKey: key.Bytes()}, "", "  ")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// LoadKey reads a key file.
func LoadKey(path string) (*CheckpointKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var kf keyFileJSON
	if err := json.Unmarshal(b, &kf); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	k, err := ParseKey(kf.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if string(k.Public()) != string(kf.PublicKey) {
		return nil, fmt.Errorf("%s: public key does not match the private key", path)
	}
	return k, nil
}

// EnsureKey loads the key at path, creating it (from rand, crypto/rand if
// nil) if absent.
func EnsureKey(path string, rand io.Reader) (*CheckpointKey, error) {
	k, err := LoadKey(path)
	if !errors.Is(err, os.ErrNotExist) {
		return k, err
	}
	if k, err = GenerateKey(rand); err != nil {
		return nil, err
	}
	return k, SaveKey(path, k)
}
