package prover

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/consensys/gnark/backend/groth16/bn254/mpcsetup"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/consensys/gnark/logger"

	"github.com/jinlian-ledger/jinlian/checkpoint"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
)

// SchemeVersion versions the EdDSA/Groth16 circuit. Bump it with any change
// to QuorumCircuit, CommitValidators or Digest: keys and verifier contracts
// are made for one version and one slot count.
const SchemeVersion = 2

// DevBeacon seeds the development setup (DevSetup). It is public, so anyone can
// recompute the setup's secrets and forge proofs: INSECURE, for localnets
// and tests only.
const DevBeacon = "jinlian INSECURE development setup; never use on a real chain"

// CircuitID names a circuit version and size; key files carry it.
func CircuitID(n int) string { return fmt.Sprintf("eddsa-bn254-groth16-v%d-n%d", SchemeVersion, n) }

// Compile compiles the quorum circuit with n slots to R1CS.
func Compile(n int) (constraint.ConstraintSystem, error) {
	if n < 1 {
		return nil, fmt.Errorf("circuit with %d slots", n)
	}
	// gnark logs compilation progress to stdout; jinlian has its own logs.
	logger.Disable()
	return frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, NewQuorumCircuit(n))
}

// CircuitDigest is SM3 of the serialized constraint system: key files
// record it, and keys are refused for any other circuit.
func CircuitDigest(ccs constraint.ConstraintSystem) (checkpoint.Hash32, error) {
	h := gmcrypto.NewSM3()
	if _, err := ccs.WriteTo(h); err != nil {
		return checkpoint.Hash32{}, err
	}
	var d checkpoint.Hash32
	h.Sum(d[:0])
	return d, nil
}

// SetupMPC finishes gnark's Groth16 MPC ceremony: it verifies the phase 1
// (powers of tau) and phase 2 (circuit-specific) contributions and applies
// the final random beacon to both phases. This is the production path
// (docs/checkpoints.md); its phase 1 is far too slow for a development
// setup on a small machine. A Ceremony seals each phase with its own
// beacon (VerifyCeremony).
func SetupMPC(ccs constraint.ConstraintSystem, beacon []byte, phase1 []*mpcsetup.Phase1, phase2 []*mpcsetup.Phase2) (groth16.ProvingKey, groth16.VerifyingKey, error) {
	return VerifyCeremony(ccs, beacon, beacon, phase1, phase2)
}

var devSetupMu sync.Mutex

// DevSetup is the INSECURE deterministic development setup: gnark's
// single-party Groth16 setup with its toxic waste drawn from a stream that
// DevBeacon determines, so every machine derives the same keys (and the
// committed Verifier.sol can be checked) and anyone can forge proofs.
//
// gnark draws its secrets from crypto/rand.Reader, the toxic waste at the
// start of the setup and the commitment key's secret seconds later, so
// DevSetup replaces that variable for the duration of the call with a
// reader that serves the stream to the calling goroutine only (devRand).
// Every other goroutine of the process keeps the system's randomness: one
// that read in between, a test's TLS handshake or key, once took bytes of
// the stream, and the keys came out different from every other machine's
// (a fresh machine's cache then held keys that Verifier.sol refuses).
func DevSetup(ccs constraint.ConstraintSystem) (groth16.ProvingKey, groth16.VerifyingKey, error) {
	devSetupMu.Lock()
	defer devSetupMu.Unlock()
	saved := rand.Reader
	rand.Reader = &devRand{owner: goroutineID(), stream: gmcrypto.NewSM3Stream(gmcrypto.SM3([]byte(DevBeacon))), others: saved}
	defer func() { rand.Reader = saved }()
	return setupBN254(ccs)
}

// devRand reads the deterministic stream for the goroutine that owns it,
// and others for every other goroutine. gnark's setup draws its secrets in
// the goroutine that calls it.
type devRand struct {
	mu     sync.Mutex
	owner  uint64
	stream io.Reader
	others io.Reader
}

func (r *devRand) Read(p []byte) (int, error) {
	if goroutineID() != r.owner {
		return r.others.Read(p)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stream.Read(p)
}

// goroutineID is the calling goroutine's number, from the first line of
// its stack ("goroutine 18 [running]:"). Go offers no other way to tell
// goroutines apart; the development setup's reads are few.
func goroutineID() uint64 {
	var buf [64]byte
	b := bytes.TrimPrefix(buf[:runtime.Stack(buf[:], false)], []byte("goroutine "))
	var id uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + uint64(c-'0')
	}
	return id
}

// KeyInfo describes a key pair on disk (<dir>/<circuit id>.json).
type KeyInfo struct {
	CircuitID     string            `json:"circuit_id"`
	CircuitDigest checkpoint.Hash32 `json:"circuit_digest"`
	Constraints   int               `json:"constraints"`
	// Insecure is true for the development setup, whose secrets are public.
	Insecure bool   `json:"insecure"`
	Setup    string `json:"setup"`
}

func keyPaths(dir, id string) (info, pk, vk string) {
	b := filepath.Join(dir, id)
	return b + ".json", b + ".pk", b + ".vk"
}

// ErrKeysMismatch is a key file made for another circuit.
var ErrKeysMismatch = errors.New("proving keys do not match the circuit")

// SaveKeys writes a key pair under dir, named by info.CircuitID.
func SaveKeys(dir string, info KeyInfo, pk groth16.ProvingKey, vk groth16.VerifyingKey) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ip, pp, vp := keyPaths(dir, info.CircuitID)
	for _, f := range []struct {
		path string
		w    interface {
			WriteRawTo(w io.Writer) (int64, error)
		}
	}{{pp, pk}, {vp, vk}} {
		if err := writeFileAtomic(f.path, func(w io.Writer) error { _, err := f.w.WriteRawTo(w); return err }); err != nil {
			return err
		}
	}
	b, _ := json.MarshalIndent(info, "", "  ")
	return writeFileAtomic(ip, func(w io.Writer) error { _, err := w.Write(append(b, '\n')); return err })
}

// LoadKeys reads the key pair of circuit ccs (named id) from dir and checks
// that it was made for this very constraint system. withPK false reads only
// the verifying key.
func LoadKeys(dir, id string, ccs constraint.ConstraintSystem, withPK bool) (KeyInfo, groth16.ProvingKey, groth16.VerifyingKey, error) {
	var info KeyInfo
	ip, pp, vp := keyPaths(dir, id)
	b, err := os.ReadFile(ip)
	if err != nil {
		return info, nil, nil, err
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return info, nil, nil, fmt.Errorf("%s: %w", ip, err)
	}
	d, err := CircuitDigest(ccs)
	if err != nil {
		return info, nil, nil, err
	}
	if info.CircuitID != id || info.CircuitDigest != d {
		return info, nil, nil, fmt.Errorf("%w: %s is for %s (circuit %s), this binary has %s (circuit %s)", ErrKeysMismatch, ip, info.CircuitID, info.CircuitDigest, id, d)
	}
	vk := new(groth16bn254.VerifyingKey)
	if err := readFile(vp, vk.ReadFrom); err != nil {
		return info, nil, nil, err
	}
	var pk groth16.ProvingKey
	if withPK {
		// The proving key is the node's own file; skipping the subgroup
		// checks saves seconds, and a corrupt key only yields proofs that
		// do not verify.
		k := new(groth16bn254.ProvingKey)
		if err := readFile(pp, k.UnsafeReadFrom); err != nil {
			return info, nil, nil, err
		}
		pk = k
	}
	return info, pk, vk, nil
}

func readFile(path string, read func(io.Reader) (int64, error)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := read(bufio.NewReaderSize(f, 1<<20)); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

func writeFileAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(tmp, 1<<20)
	err = write(w)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// DevSlots is the slot count of the development circuit
// (checkpoint.DevSlots).
const DevSlots = checkpoint.DevSlots

// DevKeysDir is where tests and tools cache development keys:
// $JINLIAN_CHECKPOINT_KEYS, or jinlian/checkpoint-keys in the user's cache
// directory. The keys are deterministic, so a cache only saves time.
func DevKeysDir() string {
	if d := os.Getenv("JINLIAN_CHECKPOINT_KEYS"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "jinlian", "checkpoint-keys")
	}
	return filepath.Join(os.TempDir(), "jinlian-checkpoint-keys")
}
