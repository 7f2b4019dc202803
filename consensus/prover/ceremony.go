package prover

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/backend/groth16/bn254/mpcsetup"
	"github.com/consensys/gnark/constraint"
	cs "github.com/consensys/gnark/constraint/bn254"

	"github.com/jinlian-ledger/jinlian/checkpoint"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
)

// A Ceremony is a production Groth16 setup (gnark's MPC, docs/checkpoints.md)
// in progress, kept in a directory that travels from contributor to
// contributor: ceremony.json (the transcript) and one file per
// contribution. Phase 1 (powers of tau) collects contributions until the
// coordinator seals it with a random beacon announced after the last one;
// phase 2 (this circuit) starts from the sealed phase 1, collects
// contributions and is sealed with a second beacon, which yields the
// proving and verifying keys. The keys are safe if one contributor
// destroyed its randomness; every step is checked by VerifyCeremony.
type Ceremony struct {
	dir   string
	State CeremonyState
	ccs   constraint.ConstraintSystem
}

// CeremonyState is ceremony.json.
type CeremonyState struct {
	CircuitID     string            `json:"circuit_id"`
	CircuitDigest checkpoint.Hash32 `json:"circuit_digest"`
	Slots         int               `json:"slots"`
	Constraints   int               `json:"constraints"`
	Domain        uint64            `json:"domain"`
	// Phase is 1 or 2 while contributions are collected, 3 once sealed.
	Phase        int                 `json:"phase"`
	Phase1       []Contribution      `json:"phase1"`
	Phase1Beacon checkpoint.HexBytes `json:"phase1_beacon,omitempty"`
	Phase2       []Contribution      `json:"phase2"`
	Phase2Beacon checkpoint.HexBytes `json:"phase2_beacon,omitempty"`
}

// Contribution is one participant's turn: the file it wrote and its SM3.
type Contribution struct {
	Name string            `json:"name"`
	File string            `json:"file"`
	SM3  checkpoint.Hash32 `json:"sm3"`
}

// MinBeaconBytes is the shortest beacon Seal accepts.
const MinBeaconBytes = 16

const ceremonyFile = "ceremony.json"

// Errors of the ceremony a caller tells apart.
var (
	ErrCeremonyPhase = errors.New("not possible in this phase of the ceremony")
	ErrTranscript    = errors.New("ceremony transcript does not verify")
)

// InitCeremony starts a ceremony for the circuit with slots slots in dir,
// which must not hold one.
func InitCeremony(dir string, slots int) (*Ceremony, error) {
	if _, err := os.Stat(filepath.Join(dir, ceremonyFile)); err == nil {
		return nil, fmt.Errorf("%s already holds a ceremony", dir)
	}
	ccs, err := Compile(slots)
	if err != nil {
		return nil, err
	}
	d, err := CircuitDigest(ccs)
	if err != nil {
		return nil, err
	}
	c := &Ceremony{dir: dir, ccs: ccs, State: CeremonyState{
		CircuitID: CircuitID(slots), CircuitDigest: d, Slots: slots, Constraints: ccs.GetNbConstraints(),
		Domain: ecc.NextPowerOfTwo(uint64(ccs.GetNbConstraints())), Phase: 1,
		Phase1: []Contribution{}, Phase2: []Contribution{},
	}}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return c, c.save()
}

// OpenCeremony reads the ceremony in dir and checks that it is for the
// circuit this binary compiles.
func OpenCeremony(dir string) (*Ceremony, error) {
	b, err := os.ReadFile(filepath.Join(dir, ceremonyFile))
	if err != nil {
		return nil, fmt.Errorf("ceremony: %w (start one with ceremony init)", err)
	}
	c := &Ceremony{dir: dir}
	if err := json.Unmarshal(b, &c.State); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ceremonyFile), err)
	}
	if c.ccs, err = Compile(c.State.Slots); err != nil {
		return nil, err
	}
	d, err := CircuitDigest(c.ccs)
	if err != nil {
		return nil, err
	}
	if d != c.State.CircuitDigest || c.State.CircuitID != CircuitID(c.State.Slots) {
		return nil, fmt.Errorf("%w: the ceremony is for %s (circuit %s), this binary compiles %s (circuit %s)", ErrKeysMismatch, c.State.CircuitID, c.State.CircuitDigest, CircuitID(c.State.Slots), d)
	}
	return c, nil
}

func (c *Ceremony) save() error {
	b, _ := json.MarshalIndent(c.State, "", "  ")
	return writeFileAtomic(filepath.Join(c.dir, ceremonyFile), func(w io.Writer) error { _, err := w.Write(append(b, '\n')); return err })
}

func (c *Ceremony) r1cs() *cs.R1CS { return c.ccs.(*cs.R1CS) }

// writeContribution writes v to a new file of the ceremony and records it.
func (c *Ceremony) writeContribution(phase int, name string, v io.WriterTo) (Contribution, error) {
	list := &c.State.Phase1
	if phase == 2 {
		list = &c.State.Phase2
	}
	file := fmt.Sprintf("phase%d-%04d.bin", phase, len(*list)+1)
	h := gmcrypto.NewSM3()
	err := writeFileAtomic(filepath.Join(c.dir, file), func(w io.Writer) error {
		_, err := v.WriteTo(io.MultiWriter(w, h))
		return err
	})
	if err != nil {
		return Contribution{}, err
	}
	ct := Contribution{Name: name, File: file}
	h.Sum(ct.SM3[:0])
	*list = append(*list, ct)
	return ct, c.save()
}

// readContribution reads a recorded contribution, checking its SM3.
func (c *Ceremony) readContribution(ct Contribution, v io.ReaderFrom) error {
	f, err := os.Open(filepath.Join(c.dir, filepath.Base(ct.File)))
	if err != nil {
		return err
	}
	defer f.Close()
	h := gmcrypto.NewSM3()
	if _, err := v.ReadFrom(io.TeeReader(bufio.NewReaderSize(f, 1<<20), h)); err != nil {
		return fmt.Errorf("%w: %s (by %s): %v", ErrTranscript, ct.File, ct.Name, err)
	}
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	var d checkpoint.Hash32
	h.Sum(d[:0])
	if d != ct.SM3 {
		return fmt.Errorf("%w: %s (by %s) has SM3 %s, the transcript records %s", ErrTranscript, ct.File, ct.Name, d, ct.SM3)
	}
	return nil
}

func (c *Ceremony) phase1s() ([]*mpcsetup.Phase1, error) {
	out := make([]*mpcsetup.Phase1, len(c.State.Phase1))
	for i, ct := range c.State.Phase1 {
		out[i] = new(mpcsetup.Phase1)
		if err := c.readContribution(ct, out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (c *Ceremony) phase2s() ([]*mpcsetup.Phase2, error) {
	out := make([]*mpcsetup.Phase2, len(c.State.Phase2))
	for i, ct := range c.State.Phase2 {
		out[i] = new(mpcsetup.Phase2)
		if err := c.readContribution(ct, out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// commons recomputes the sealed phase 1 from its contributions and beacon.
func (c *Ceremony) commons() (*mpcsetup.SrsCommons, error) {
	p1, err := c.phase1s()
	if err != nil {
		return nil, err
	}
	commons, err := mpcsetup.VerifyPhase1(c.State.Domain, c.State.Phase1Beacon, p1...)
	if err != nil {
		return nil, fmt.Errorf("%w: phase 1: %v", ErrTranscript, err)
	}
	return &commons, nil
}

// Contribute adds the caller's contribution to the current phase, with
// fresh randomness (crypto/rand) that gnark discards after use. name
// identifies the contributor in the transcript.
func (c *Ceremony) Contribute(name string) (Contribution, error) {
	if strings.TrimSpace(name) == "" {
		return Contribution{}, errors.New("a contribution needs the contributor's name")
	}
	switch c.State.Phase {
	case 1:
		prev := mpcsetup.NewPhase1(c.State.Domain)
		if n := len(c.State.Phase1); n > 0 {
			prev = new(mpcsetup.Phase1)
			if err := c.readContribution(c.State.Phase1[n-1], prev); err != nil {
				return Contribution{}, err
			}
		}
		prev.Contribute()
		return c.writeContribution(1, name, prev)
	case 2:
		prev := new(mpcsetup.Phase2)
		if n := len(c.State.Phase2); n > 0 {
			if err := c.readContribution(c.State.Phase2[n-1], prev); err != nil {
				return Contribution{}, err
			}
		} else {
			commons, err := c.commons()
			if err != nil {
				return Contribution{}, err
			}
			prev.Initialize(c.r1cs(), commons)
		}
		prev.Contribute()
		return c.writeContribution(2, name, prev)
	}
	return Contribution{}, fmt.Errorf("%w: the ceremony is sealed", ErrCeremonyPhase)
}

// Verify checks every contribution recorded so far: each file's SM3, and
// each contribution's proofs against its predecessor (phase 2 from the
// sealed phase 1).
func (c *Ceremony) Verify() error {
	p1, err := c.phase1s()
	if err != nil {
		return err
	}
	prev1 := mpcsetup.NewPhase1(c.State.Domain)
	for i, next := range p1 {
		if err := prev1.Verify(next); err != nil {
			return fmt.Errorf("%w: phase 1 contribution %d (%s): %v", ErrTranscript, i+1, c.State.Phase1[i].Name, err)
		}
		prev1 = next
	}
	if c.State.Phase < 2 {
		return nil
	}
	commons, err := c.commons()
	if err != nil {
		return err
	}
	p2, err := c.phase2s()
	if err != nil {
		return err
	}
	prev2 := new(mpcsetup.Phase2)
	prev2.Initialize(c.r1cs(), commons)
	for i, next := range p2 {
		if err := prev2.Verify(next); err != nil {
			return fmt.Errorf("%w: phase 2 contribution %d (%s): %v", ErrTranscript, i+1, c.State.Phase2[i].Name, err)
		}
		prev2 = next
	}
	return nil
}

// Seal closes the current phase with beacon, a public random value
// announced after its last contribution (e.g. a drand round). Sealing
// phase 1 opens phase 2; sealing phase 2 verifies the whole transcript
// (VerifyCeremony) and writes the keys to keysDir.
func (c *Ceremony) Seal(beacon []byte, keysDir string) (KeyInfo, error) {
	if len(beacon) < MinBeaconBytes {
		return KeyInfo{}, fmt.Errorf("beacon of %d bytes: want at least %d of public randomness announced after the last contribution", len(beacon), MinBeaconBytes)
	}
	switch c.State.Phase {
	case 1:
		if len(c.State.Phase1) == 0 {
			return KeyInfo{}, fmt.Errorf("%w: phase 1 has no contribution, so nothing secret: keys from it would be forgeable", ErrCeremonyPhase)
		}
		c.State.Phase1Beacon = beacon
		if _, err := c.commons(); err != nil {
			return KeyInfo{}, err
		}
		c.State.Phase = 2
		return KeyInfo{}, c.save()
	case 2:
		if len(c.State.Phase2) == 0 {
			return KeyInfo{}, fmt.Errorf("%w: phase 2 has no contribution, so nothing secret: keys from it would be forgeable", ErrCeremonyPhase)
		}
		p1, err := c.phase1s()
		if err != nil {
			return KeyInfo{}, err
		}
		p2, err := c.phase2s()
		if err != nil {
			return KeyInfo{}, err
		}
		pk, vk, err := VerifyCeremony(c.ccs, c.State.Phase1Beacon, beacon, p1, p2)
		if err != nil {
			return KeyInfo{}, fmt.Errorf("%w: %v", ErrTranscript, err)
		}
		names := func(cs []Contribution) string {
			out := make([]string, len(cs))
			for i, ct := range cs {
				out[i] = ct.Name
			}
			return strings.Join(out, ", ")
		}
		info := KeyInfo{
			CircuitID: c.State.CircuitID, CircuitDigest: c.State.CircuitDigest, Constraints: c.State.Constraints,
			Setup: fmt.Sprintf("Groth16 MPC ceremony: phase 1 by %s, beacon %x; phase 2 by %s, beacon %x",
				names(c.State.Phase1), []byte(c.State.Phase1Beacon), names(c.State.Phase2), beacon),
		}
		if err := SaveKeys(keysDir, info, pk, vk); err != nil {
			return KeyInfo{}, err
		}
		c.State.Phase2Beacon, c.State.Phase = beacon, 3
		return info, c.save()
	}
	return KeyInfo{}, fmt.Errorf("%w: the ceremony is sealed", ErrCeremonyPhase)
}

// VerifyCeremony is SetupMPC with a beacon per phase: it verifies the
// phase 1 and phase 2 contributions and applies each phase's beacon.
func VerifyCeremony(ccs constraint.ConstraintSystem, beacon1, beacon2 []byte, phase1 []*mpcsetup.Phase1, phase2 []*mpcsetup.Phase2) (groth16.ProvingKey, groth16.VerifyingKey, error) {
	r, err := bn254R1CS(ccs)
	if err != nil {
		return nil, nil, err
	}
	domain := ecc.NextPowerOfTwo(uint64(r.GetNbConstraints()))
	commons, err := mpcsetup.VerifyPhase1(domain, beacon1, phase1...)
	if err != nil {
		return nil, nil, fmt.Errorf("phase 1: %w", err)
	}
	pk, vk, err := mpcsetup.VerifyPhase2(r, &commons, beacon2, phase2...)
	if err != nil {
		return nil, nil, fmt.Errorf("phase 2: %w", err)
	}
	return pk, vk, nil
}
