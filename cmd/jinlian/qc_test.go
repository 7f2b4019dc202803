package main

import (
	"strings"
	"testing"
)

// TestVerifyQCNeedsATrustedPoint: verify qc takes nothing from the node
// on trust (the header, the validator set and the SM2 keys all come in a
// bundle checked from a trusted point: package proof's tests play the
// lying node), so without a trusted point it refuses before dialing.
func TestVerifyQCNeedsATrustedPoint(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"nothing trusted", []string{"verify", "qc", "--height", "3", "--node", "tcp://127.0.0.1:1"}, "nothing trusted"},
		{"guomi without a genesis", []string{"verify", "qc", "--height", "3", "--guomi", "--trust-height", "1", "--trust-hash", strings.Repeat("ab", 32)}, "SM2/SM3-only verification needs the trusted genesis"},
		{"both trusted points", []string{"verify", "qc", "--height", "3", "--trust", "g.json", "--trust-height", "1"}, "not both"},
		{"short trusted hash", []string{"verify", "qc", "--height", "3", "--trust-height", "1", "--trust-hash", "abcd"}, "want 64 hex digits"},
		{"missing genesis", []string{"verify", "proof", "b.json", "--trust", "/nonexistent/genesis.json"}, "--trust"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := runCLI(t, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error naming %q", err, c.want)
			}
		})
	}
}
