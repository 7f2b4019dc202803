//go:build ceremony

package prover

// Runs a whole MPC ceremony for the smallest circuit (1 slot, domain 2^14):
// about 2.5 minutes of CPU on a 2-core machine, so it is opt-in:
//
//	go test -tags ceremony -run TestCeremony ./consensus/prover
//
// The ceremony's refusals that need no contribution are tested without
// the tag (TestCeremonyRefusals).

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A ceremony with two phase-1 and two phase-2 contributors, sealed with a
// beacon per phase, yields keys that prove and verify checkpoints; the
// transcript refuses out-of-phase steps, weak beacons and tampered files.
func TestCeremony(t *testing.T) {
	const slots = 1
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	c, err := InitCeremony(dir, slots)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := InitCeremony(dir, slots); err == nil {
		t.Fatal("second init in the same directory")
	}
	beacon1, beacon2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	steps := []struct {
		name    string
		do      func(c *Ceremony) error
		wantErr error // nil: succeeds
		msg     string
	}{
		{"seal an empty phase 1", func(c *Ceremony) error { _, err := c.Seal(beacon1, keys); return err }, ErrCeremonyPhase, "no contribution"},
		{"bank A contributes to phase 1", func(c *Ceremony) error { _, err := c.Contribute("bankA"); return err }, nil, ""},
		{"bank B contributes to phase 1", func(c *Ceremony) error { _, err := c.Contribute("bankB"); return err }, nil, ""},
		{"anonymous contribution", func(c *Ceremony) error { _, err := c.Contribute(" "); return err }, nil, "contributor's name"},
		{"phase 1 verifies", func(c *Ceremony) error { return c.Verify() }, nil, ""},
		{"short beacon", func(c *Ceremony) error { _, err := c.Seal([]byte("guess"), keys); return err }, nil, "at least 16"},
		{"seal phase 1", func(c *Ceremony) error { _, err := c.Seal(beacon1, keys); return err }, nil, ""},
		{"bank C contributes to phase 2", func(c *Ceremony) error { _, err := c.Contribute("bankC"); return err }, nil, ""},
		{"bank D contributes to phase 2", func(c *Ceremony) error { _, err := c.Contribute("bankD"); return err }, nil, ""},
		{"both phases verify", func(c *Ceremony) error { return c.Verify() }, nil, ""},
		{"seal phase 2", func(c *Ceremony) error { _, err := c.Seal(beacon2, keys); return err }, nil, ""},
		{"contribute after the seal", func(c *Ceremony) error { _, err := c.Contribute("late"); return err }, ErrCeremonyPhase, "sealed"},
	}
	for _, s := range steps {
		// Every step reopens the directory, as each bank would.
		c, err = OpenCeremony(dir)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		err := s.do(c)
		switch {
		case s.wantErr == nil && s.msg == "" && err != nil:
			t.Fatalf("%s: %v", s.name, err)
		case s.wantErr != nil && !errors.Is(err, s.wantErr):
			t.Fatalf("%s: error %v, want %v", s.name, err, s.wantErr)
		case s.msg != "" && (err == nil || !bytes.Contains([]byte(err.Error()), []byte(s.msg))):
			t.Fatalf("%s: error %v, want one saying %q", s.name, err, s.msg)
		}
	}

	p, err := NewEdDSAGroth16(slots)
	if err != nil {
		t.Fatal(err)
	}
	info, err := p.Setup(keys, false)
	if err != nil || info.Insecure {
		t.Fatalf("ceremony keys %+v: %v", info, err)
	}
	ks, vals := testValidators(t, 7, 10)
	cp := testCheckpoint(t, vals, slots)
	proof, err := p.Prove(cp, vals, testSign(t, ks, cp, 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Verify(cp, proof); err != nil {
		t.Fatalf("proof with the ceremony keys: %v", err)
	}

	// A contribution file changed after the fact breaks the transcript.
	f := filepath.Join(dir, c.State.Phase2[0].File)
	b, _ := os.ReadFile(f)
	b[len(b)/2] ^= 1
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.Verify(); !errors.Is(err, ErrTranscript) {
		t.Fatalf("tampered transcript: %v", err)
	}
}
