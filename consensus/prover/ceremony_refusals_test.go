package prover

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The ceremony's refusals that need no contribution (the whole ceremony is
// TestCeremony, behind the ceremony build tag).
func TestCeremonyRefusals(t *testing.T) {
	dir := t.TempDir()
	c, err := InitCeremony(dir, 1)
	if err != nil {
		t.Fatal(err)
	}
	if c.State.Phase != 1 || c.State.Domain != 1<<14 || c.State.CircuitID != CircuitID(1) {
		t.Fatalf("new ceremony %+v", c.State)
	}
	keys := filepath.Join(dir, "keys")
	beacon := bytes.Repeat([]byte{9}, 32)
	cases := []struct {
		name string
		do   func(c *Ceremony) error
		want string
	}{
		{"second init in the directory", func(*Ceremony) error { _, err := InitCeremony(dir, 1); return err }, "already holds a ceremony"},
		{"seal phase 1 without contributions", func(c *Ceremony) error { _, err := c.Seal(beacon, keys); return err }, "phase 1 has no contribution"},
		{"beacon too short", func(c *Ceremony) error { _, err := c.Seal([]byte("0123456789"), keys); return err }, "beacon of 10 bytes"},
		{"contribution without a name", func(c *Ceremony) error { _, err := c.Contribute(""); return err }, "contributor's name"},
		{"no ceremony in the directory", func(*Ceremony) error { _, err := OpenCeremony(t.TempDir()); return err }, "start one with ceremony init"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.do(c); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
	// A transcript for another circuit is refused on open.
	st := c.State
	st.CircuitDigest[0] ^= 1
	b, _ := json.Marshal(st)
	if err := os.WriteFile(filepath.Join(dir, ceremonyFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCeremony(dir); !errors.Is(err, ErrKeysMismatch) {
		t.Fatalf("ceremony for another circuit: %v", err)
	}
	// A sealed ceremony takes no more contributions.
	st.CircuitDigest[0] ^= 1
	st.Phase = 3
	b, _ = json.Marshal(st)
	if err := os.WriteFile(filepath.Join(dir, ceremonyFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	sealed, err := OpenCeremony(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sealed.Contribute("late"); !errors.Is(err, ErrCeremonyPhase) {
		t.Fatalf("contribution after the seal: %v", err)
	}
}
