package gmcrypto

import (
	"bytes"
	"crypto/pbkdf2"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/emmansun/gmsm/sm3"
	"golang.org/x/term"
)

// Keystore file format. A key file is JSON, mode 0600:
//
//	{
//	  "version": 1,
//	  "name": "alice", "org": "bankA",
//	  "address": "<40 hex>", "public_key": "<PEM>", "certificate": "<PEM, optional>",
//	  "crypto": {
//	    "kdf": "pbkdf2-hmac-sm3",
//	    "kdf_params": {"iterations": 262144, "salt": "<hex, 16 bytes>", "key_len": 16},
//	    "cipher": "sm4-gcm",
//	    "ciphertext": "<hex: 12-byte nonce ‖ SM4-GCM(PKCS#8 DER) ‖ 16-byte tag>"
//	  }
//	}
//
// The GCM associated data binds the format version and the address, so that
// the public half of the file cannot be swapped under a valid ciphertext.
const (
	keystoreVersion = 1
	// KeystoreKDF and KeystoreCipher are the only algorithms LoadKey accepts.
	KeystoreKDF    = "pbkdf2-hmac-sm3"
	KeystoreCipher = "sm4-gcm"
	// KeystoreIterations is the PBKDF2 iteration count SaveKey writes.
	KeystoreIterations = 262144
	// KeystoreMinIterations is the lowest count LoadKey accepts; a file with
	// fewer was not made by jinlian and is too cheap to brute-force.
	KeystoreMinIterations = 100000
	// keystoreMaxIterations bounds the work a hostile file can demand.
	keystoreMaxIterations = 1 << 26
	keystoreSaltSize      = 16
	keystoreAADPrefix     = "jinlian-keystore-v1:"
)

// Errors callers tell apart.
var (
	// ErrWrongPassphrase means the file's ciphertext did not authenticate
	// under the key derived from the passphrase.
	ErrWrongPassphrase = errors.New("wrong passphrase")
	// ErrKeyExists means SaveKey was pointed at a path that already exists.
	ErrKeyExists = errors.New("key file already exists")
	// ErrMalformedKeyFile means the file is not a jinlian keystore or is damaged.
	ErrMalformedKeyFile = errors.New("malformed key file")
	// ErrUnsupportedKeyFile means a well-formed file that uses a version,
	// KDF, cipher or parameter this build does not accept.
	ErrUnsupportedKeyFile = errors.New("unsupported key file")
	// ErrNoPassphrase means ReadPassphrase found no source.
	ErrNoPassphrase = errors.New("no passphrase")
)

// PassphraseEnv is the environment variable ReadPassphrase consults.
const PassphraseEnv = "JINLIAN_PASSPHRASE"

// KeyInfo is the public part of a key file, readable without the passphrase.
type KeyInfo struct {
	Name        string `json:"name"`
	Org         string `json:"org"`
	Address     string `json:"address"`               // hex, filled from the key by SaveKey
	PublicKey   string `json:"public_key"`            // PEM, filled by SaveKey
	Certificate string `json:"certificate,omitempty"` // PEM, optional
}

type keyFile struct {
	Version int `json:"version"`
	KeyInfo
	Crypto Sealed `json:"crypto"`
}

// Sealed is a secret encrypted under a passphrase exactly as a key file
// encrypts its private key (the file's "crypto" object): PBKDF2-HMAC-SM3,
// then SM4-GCM with caller-chosen associated data. Other key files (the
// checkpoint key) use it through SealWithPassphrase and Open.
type Sealed struct {
	KDF        string     `json:"kdf"`
	KDFParams  keyFileKDF `json:"kdf_params"`
	Cipher     string     `json:"cipher"`
	Ciphertext hexBytes   `json:"ciphertext"`
}

type keyFileKDF struct {
	Iterations int      `json:"iterations"`
	Salt       hexBytes `json:"salt"`
	KeyLen     int      `json:"key_len"`
}

type hexBytes []byte

func (h hexBytes) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(h)), nil }
func (h *hexBytes) UnmarshalText(b []byte) error {
	d, err := hex.DecodeString(string(b))
	if err != nil {
		return err
	}
	*h = d
	return nil
}

func keystoreKEK(passphrase, salt []byte, iterations int) ([]byte, error) {
	k, err := pbkdf2.Key(sm3.New, string(passphrase), salt, iterations, SM4KeySize)
	if err != nil {
		return nil, fmt.Errorf("derive keystore key: %w", err)
	}
	return k, nil
}

func keystoreAAD(address string) []byte { return []byte(keystoreAADPrefix + address) }

// SaveKey encrypts key under passphrase and writes it with info to a new file
// at path (mode 0600). It fills info.Address and info.PublicKey from the key,
// checks that info.Certificate, if set, certifies this key, and returns
// ErrKeyExists rather than overwrite anything.
func SaveKey(path string, info KeyInfo, key *PrivateKey, passphrase []byte) error {
	if key == nil {
		return fmt.Errorf("save key %s: %w: nil key", path, ErrInvalidPrivateKey)
	}
	if len(passphrase) == 0 {
		return fmt.Errorf("save key %s: %w: empty passphrase", path, ErrNoPassphrase)
	}
	pub := key.Public()
	info.Address = pub.Address().String()
	info.PublicKey = string(pub.MarshalPEM())
	if info.Certificate != "" {
		if err := checkCertificateKey(info.Certificate, pub); err != nil {
			return fmt.Errorf("save key %s: %w", path, err)
		}
	}
	der, err := key.MarshalPKCS8()
	if err != nil {
		return fmt.Errorf("save key %s: %w", path, err)
	}
	defer clear(der)
	sealed, err := SealWithPassphrase(der, passphrase, keystoreAAD(info.Address))
	if err != nil {
		return fmt.Errorf("save key %s: %w", path, err)
	}
	data, err := json.MarshalIndent(keyFile{Version: keystoreVersion, KeyInfo: info, Crypto: sealed}, "", "  ")
	if err != nil {
		return fmt.Errorf("save key %s: %w", path, err)
	}
	if err := writeNewFile(path, append(data, '\n')); err != nil {
		return fmt.Errorf("save key %s: %w", path, err)
	}
	return nil
}

// SealWithPassphrase encrypts secret under passphrase with the key files'
// KDF and cipher; aad binds the ciphertext to its context (Open needs the
// same).
func SealWithPassphrase(secret, passphrase, aad []byte) (Sealed, error) {
	if len(passphrase) == 0 {
		return Sealed{}, fmt.Errorf("%w: empty passphrase", ErrNoPassphrase)
	}
	salt := make([]byte, keystoreSaltSize)
	if _, err := rand.Read(salt); err != nil {
		return Sealed{}, fmt.Errorf("salt: %w", err)
	}
	kek, err := keystoreKEK(passphrase, salt, KeystoreIterations)
	if err != nil {
		return Sealed{}, err
	}
	defer clear(kek)
	ct, err := SealSM4GCM(kek, secret, aad)
	if err != nil {
		return Sealed{}, err
	}
	return Sealed{
		KDF:        KeystoreKDF,
		KDFParams:  keyFileKDF{Iterations: KeystoreIterations, Salt: salt, KeyLen: SM4KeySize},
		Cipher:     KeystoreCipher,
		Ciphertext: ct,
	}, nil
}

// Open decrypts s. It returns ErrWrongPassphrase when the passphrase (or
// aad) does not authenticate the ciphertext, and ErrUnsupportedKeyFile or
// ErrMalformedKeyFile (wrapped, with the reason) for parameters it refuses.
func (s Sealed) Open(passphrase, aad []byte) ([]byte, error) {
	switch {
	case !strings.EqualFold(s.KDF, KeystoreKDF):
		return nil, fmt.Errorf("%w: kdf %q, want %q", ErrUnsupportedKeyFile, s.KDF, KeystoreKDF)
	case !strings.EqualFold(s.Cipher, KeystoreCipher):
		return nil, fmt.Errorf("%w: cipher %q, want %q", ErrUnsupportedKeyFile, s.Cipher, KeystoreCipher)
	case s.KDFParams.KeyLen != SM4KeySize:
		return nil, fmt.Errorf("%w: kdf key_len %d, want %d", ErrUnsupportedKeyFile, s.KDFParams.KeyLen, SM4KeySize)
	case s.KDFParams.Iterations < KeystoreMinIterations:
		return nil, fmt.Errorf("%w: %d kdf iterations, below the minimum %d", ErrUnsupportedKeyFile, s.KDFParams.Iterations, KeystoreMinIterations)
	case s.KDFParams.Iterations > keystoreMaxIterations:
		return nil, fmt.Errorf("%w: %d kdf iterations, above the maximum %d", ErrUnsupportedKeyFile, s.KDFParams.Iterations, keystoreMaxIterations)
	case len(s.KDFParams.Salt) < 8:
		return nil, fmt.Errorf("%w: kdf salt of %d bytes, want at least 8", ErrMalformedKeyFile, len(s.KDFParams.Salt))
	case len(s.Ciphertext) < SM4GCMNonceSize+SM4GCMTagSize:
		return nil, fmt.Errorf("%w: ciphertext of %d bytes is too short", ErrMalformedKeyFile, len(s.Ciphertext))
	}
	kek, err := keystoreKEK(passphrase, s.KDFParams.Salt, s.KDFParams.Iterations)
	if err != nil {
		return nil, err
	}
	defer clear(kek)
	pt, err := OpenSM4GCM(kek, s.Ciphertext, aad)
	if errors.Is(err, ErrDecrypt) {
		return nil, ErrWrongPassphrase
	}
	return pt, err
}

// WriteNewFile creates path with mode 0600 and data, failing with
// ErrKeyExists if it exists; the data is synced before it returns. Key
// files of other kinds use it as SaveKey does.
func WriteNewFile(path string, data []byte) error { return writeNewFile(path, data) }

// writeNewFile creates path with mode 0600, failing with ErrKeyExists if it
// exists, and makes the contents durable before returning.
func writeNewFile(path string, data []byte) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return ErrKeyExists
		}
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	// O_CREATE's mode is filtered by the umask, which can only narrow it; be
	// explicit anyway in case the file system ignores the create mode.
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if d, derr := os.Open(filepath.Dir(path)); derr == nil {
		d.Sync() // best effort: not every platform can sync a directory
		d.Close()
	}
	return nil
}

func readKeyFile(path string) (*keyFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return decodeKeyFile(data)
}

// decodeKeyFile parses a key file and checks its public part for consistency.
func decodeKeyFile(data []byte) (*keyFile, error) {
	var kf keyFile
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&kf); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedKeyFile, err)
	}
	if kf.Version != keystoreVersion {
		if kf.Version == 0 {
			return nil, fmt.Errorf("%w: no version field", ErrMalformedKeyFile)
		}
		return nil, fmt.Errorf("%w: version %d, this build reads version %d", ErrUnsupportedKeyFile, kf.Version, keystoreVersion)
	}
	pub, err := ParsePublicKeyPEM([]byte(kf.PublicKey))
	if err != nil {
		return nil, fmt.Errorf("%w: public_key: %v", ErrMalformedKeyFile, err)
	}
	addr, err := ParseAddress(kf.Address)
	if err != nil {
		return nil, fmt.Errorf("%w: address: %v", ErrMalformedKeyFile, err)
	}
	if pub.Address() != addr {
		return nil, fmt.Errorf("%w: address %s does not belong to public_key (want %s)", ErrMalformedKeyFile, kf.Address, pub.Address())
	}
	if kf.Certificate != "" {
		if err := checkCertificateKey(kf.Certificate, pub); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformedKeyFile, err)
		}
	}
	return &kf, nil
}

// ReadKeyInfo returns the public part of the key file at path.
func ReadKeyInfo(path string) (KeyInfo, error) {
	kf, err := readKeyFile(path)
	if err != nil {
		return KeyInfo{}, fmt.Errorf("read key file %s: %w", path, err)
	}
	return kf.KeyInfo, nil
}

// LoadKey decrypts the key file at path. It returns ErrWrongPassphrase when
// the passphrase does not open the file, ErrMalformedKeyFile or
// ErrUnsupportedKeyFile (wrapped, with the reason) for files it cannot read.
func LoadKey(path string, passphrase []byte) (KeyInfo, *PrivateKey, error) {
	kf, err := readKeyFile(path)
	if err != nil {
		return KeyInfo{}, nil, fmt.Errorf("load key %s: %w", path, err)
	}
	der, err := kf.Crypto.Open(passphrase, keystoreAAD(kf.Address))
	if err != nil {
		return KeyInfo{}, nil, fmt.Errorf("load key %s: %w", path, err)
	}
	defer clear(der)
	key, err := ParsePKCS8PrivateKey(der)
	if err != nil {
		return KeyInfo{}, nil, fmt.Errorf("load key %s: %w: %v", path, ErrMalformedKeyFile, err)
	}
	if got := key.Public().Address().String(); got != strings.ToLower(strings.TrimPrefix(kf.Address, "0x")) {
		return KeyInfo{}, nil, fmt.Errorf("load key %s: %w: private key has address %s, file says %s", path, ErrMalformedKeyFile, got, kf.Address)
	}
	return kf.KeyInfo, key, nil
}

// ReadPassphrase finds the passphrase a command should use, in this order:
// the contents of file if file != "" (one trailing newline removed); the
// environment variable JINLIAN_PASSPHRASE if set; an echo-free prompt on the
// terminal if stdin is one. Otherwise it fails with ErrNoPassphrase naming the
// three ways to supply one.
func ReadPassphrase(file string, prompt string) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("read passphrase file: %w", err)
		}
		b = bytes.TrimSuffix(b, []byte("\n"))
		b = bytes.TrimSuffix(b, []byte("\r"))
		if len(b) == 0 {
			return nil, fmt.Errorf("%w: passphrase file %s is empty", ErrNoPassphrase, file)
		}
		return b, nil
	}
	if v, ok := os.LookupEnv(PassphraseEnv); ok {
		if v == "" {
			return nil, fmt.Errorf("%w: %s is set but empty", ErrNoPassphrase, PassphraseEnv)
		}
		return []byte(v), nil
	}
	fd := int(os.Stdin.Fd())
	if term.IsTerminal(fd) {
		if prompt == "" {
			prompt = "Passphrase: "
		}
		fmt.Fprint(os.Stderr, prompt)
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return nil, fmt.Errorf("read passphrase from terminal: %w", err)
		}
		if len(b) == 0 {
			return nil, fmt.Errorf("%w: empty passphrase entered", ErrNoPassphrase)
		}
		return b, nil
	}
	return nil, fmt.Errorf("%w: use --passphrase-file, set %s, or run on a terminal for an interactive prompt", ErrNoPassphrase, PassphraseEnv)
}

// checkCertificateKey reports whether certPEM is one SM2 certificate whose
// subject key is pub.
func checkCertificateKey(certPEM string, pub *PublicKey) error {
	c, err := ParseCertificatePEM([]byte(certPEM))
	if err != nil {
		return err
	}
	if !c.PublicKey().Equal(pub) {
		return fmt.Errorf("certificate %s is not for this key", c.Subject())
	}
	return nil
}
