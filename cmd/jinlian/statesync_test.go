package main

import (
	"strings"
	"testing"
)

// The happy path (a trusted node's block written into config.toml) runs in
// test/e2e TestJoinByStateSync through the same consensus.TrustFrom and
// ApplyStateSync; here, the refusals.
func TestStateSyncTrustRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"the API instead of the RPC", []string{"statesync", "trust", "--node", "https://127.0.0.1:26680"}, "CometBFT RPC"},
		{"a node that does not answer", []string{"statesync", "trust", "--node", "tcp://127.0.0.1:1"}, "status of http://127.0.0.1:1"},
		{"write into a home without config", []string{"statesync", "trust", "--node", "tcp://127.0.0.1:1", "--write", "--home", t.TempDir()}, "status of"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runCLI(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v (out %q), want one naming %q", err, out, tc.want)
			}
		})
	}
}
