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
	// ChainID is the chain the registration is for; the chain's state and
	// a genesis leave it out (their own chain).
	ChainID string `json:"chain_id,omitempty"`
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

// KeyFile is a node's checkpoint key. It is encrypted like the SM2 key
// files (gmcrypto keystore: PBKDF2-HMAC-SM3, SM4-GCM), under the node's
// passphrase; the plain format of earlier versions (public and private key
// in hex, like CometBFT's priv_validator_key.json) is still read, and
// EncryptKeyFile converts it.
func KeyFile(home string) string { return filepath.Join(home, "config", "checkpoint_key.json") }

const (
	keyFileVersion = 2 // the encrypted format; the plain one has no version
	keyFileAAD     = "jinlian/checkpoint-key/v1:"
)

type keyFileJSON struct {
	Version    int              `json:"version,omitempty"`
	PublicKey  HexBytes         `json:"public_key"`
	PrivateKey HexBytes         `json:"private_key,omitempty"` // plain format only
	Crypto     *gmcrypto.Sealed `json:"crypto,omitempty"`
}

// ErrPlainKeyFile marks a key file in the old, unencrypted format.
var ErrPlainKeyFile = errors.New("checkpoint key file is not encrypted")

func encodeKeyFile(key *CheckpointKey, passphrase []byte) ([]byte, error) {
	pub := key.Public()
	sealed, err := gmcrypto.SealWithPassphrase(key.Bytes(), passphrase, []byte(keyFileAAD+hex.EncodeToString(pub)))
	if err != nil {
		return nil, err
	}
	b, _ := json.MarshalIndent(keyFileJSON{Version: keyFileVersion, PublicKey: pub, Crypto: &sealed}, "", "  ")
	return append(b, '\n'), nil
}

// SaveKey encrypts key under passphrase and writes it to a new file at
// path (0600), refusing to overwrite.
func SaveKey(path string, key *CheckpointKey, passphrase []byte) error {
	b, err := encodeKeyFile(key, passphrase)
	if err != nil {
		return fmt.Errorf("save checkpoint key %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	if err := gmcrypto.WriteNewFile(path, b); err != nil {
		return fmt.Errorf("save checkpoint key %s: %w", path, err)
	}
	return nil
}

func readKeyFile(path string) (keyFileJSON, error) {
	var kf keyFileJSON
	b, err := os.ReadFile(path)
	if err != nil {
		return kf, err
	}
	if err := json.Unmarshal(b, &kf); err != nil {
		return kf, fmt.Errorf("%s: %w: %v", path, gmcrypto.ErrMalformedKeyFile, err)
	}
	return kf, nil
}

// LoadKey reads a key file, decrypting it with passphrase (a plain file
// of earlier versions needs none; IsPlainKeyFile tells them apart).
func LoadKey(path string, passphrase []byte) (*CheckpointKey, error) {
	kf, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	priv := []byte(kf.PrivateKey)
	switch {
	case kf.Crypto != nil && kf.Version == keyFileVersion:
		if priv, err = kf.Crypto.Open(passphrase, []byte(keyFileAAD+hex.EncodeToString(kf.PublicKey))); err != nil {
			return nil, fmt.Errorf("checkpoint key %s: %w", path, err)
		}
		defer clear(priv)
	case kf.Crypto != nil:
		return nil, fmt.Errorf("checkpoint key %s: %w: version %d, this build reads %d", path, gmcrypto.ErrUnsupportedKeyFile, kf.Version, keyFileVersion)
	case len(priv) == 0:
		return nil, fmt.Errorf("checkpoint key %s: %w: neither crypto nor private_key", path, gmcrypto.ErrMalformedKeyFile)
	}
	k, err := ParseKey(priv)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if string(k.Public()) != string(kf.PublicKey) {
		return nil, fmt.Errorf("%s: public key does not match the private key", path)
	}
	return k, nil
}

// IsPlainKeyFile reports whether path holds a key in the old plain format.
func IsPlainKeyFile(path string) (bool, error) {
	kf, err := readKeyFile(path)
	return err == nil && kf.Crypto == nil && len(kf.PrivateKey) > 0, err
}

// EncryptKeyFile rewrites a plain key file encrypted under passphrase (the
// file is replaced atomically); an encrypted file is left as it is.
func EncryptKeyFile(path string, passphrase []byte) error {
	plain, err := IsPlainKeyFile(path)
	if err != nil || !plain {
		return err
	}
	k, err := LoadKey(path, nil)
	if err != nil {
		return err
	}
	b, err := encodeKeyFile(k, passphrase)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	_ = os.Remove(tmp)
	if err := gmcrypto.WriteNewFile(tmp, b); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// EnsureKey loads the key at path, creating it (from rand, crypto/rand if
// nil; encrypted under passphrase) if absent.
func EnsureKey(path string, rand io.Reader, passphrase []byte) (*CheckpointKey, error) {
	k, err := LoadKey(path, passphrase)
	if !errors.Is(err, os.ErrNotExist) {
		return k, err
	}
	if k, err = GenerateKey(rand); err != nil {
		return nil, err
	}
	return k, SaveKey(path, k, passphrase)
}
