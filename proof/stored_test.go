package proof

import (
	"errors"
	"os"
	"testing"

	cmttypes "github.com/cometbft/cometbft/types"
)

// TestStoredBundles verifies bundles of a real localnet kept in testdata
// (written by an earlier run of this package's tests), with no node: what
// a counterparty does with a file it was handed. They seed FuzzDecode too.
func TestStoredBundles(t *testing.T) {
	g, err := cmttypes.GenesisDocFromFile("testdata/genesis.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"state", "tx"} {
		raw, err := os.ReadFile("testdata/" + name + ".json")
		if err != nil {
			t.Fatal(err)
		}
		b, err := Decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		for _, trust := range []Trust{{Genesis: g}, {Genesis: g, Guomi: true}} {
			if _, err := Verify(b, trust); err != nil {
				t.Fatalf("%s (guomi %t): %v", name, trust.Guomi, err)
			}
		}
		other := *g
		other.ChainID = "another"
		if _, err := Verify(b, Trust{Genesis: &other}); !errors.Is(err, ErrChain) {
			t.Fatalf("%s against another chain's genesis: %v", name, err)
		}
	}
}
