package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// The ceremony commands' steps that need no contribution (a whole ceremony
// is consensus/prover's TestCeremony, behind the ceremony build tag).
func TestCeremonyCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ceremony")
	beacon := strings.Repeat("ab", 32)
	for _, c := range []struct {
		name    string
		args    []string
		wantOut string
		wantErr string
	}{
		{"verify before init", []string{"verify"}, "", "start one with ceremony init"},
		{"init", []string{"init", "--slots", "1"}, "started a ceremony for eddsa-bn254-groth16-v2-n1", ""},
		{"init again", []string{"init", "--slots", "1"}, "", "already holds a ceremony"},
		{"empty transcript verifies", []string{"verify"}, "transcript verifies: 0 phase 1 and 0 phase 2", ""},
		{"seal an empty phase", []string{"seal", "--beacon", beacon}, "", "phase 1 has no contribution"},
		{"beacon not hex", []string{"seal", "--beacon", "drand"}, "", "--beacon: not hex"},
		{"contribution without a name", []string{"contribute"}, "", `required flag(s) "name" not set`},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := runCLI(t, append([]string{"checkpoint", "ceremony", "--dir", dir}, c.args...)...)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, c.wantErr)
				}
				return
			}
			if err != nil || !strings.Contains(out, c.wantOut) {
				t.Fatalf("out %q err %v, want %q", out, err, c.wantOut)
			}
		})
	}
}
