package proof

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	cmttypes "github.com/cometbft/cometbft/types"
)

// ParseTrust makes a verifier's trusted point from a genesis file (read
// by genesis; nil: none given), or from a block height and its hash
// (hex); guomi needs the genesis. Exactly one of the two must be given.
func ParseTrust(genesis func() ([]byte, error), height int64, hash string, guomi bool) (Trust, error) {
	switch {
	case genesis != nil && (height != 0 || hash != ""):
		return Trust{}, errors.New("give the trusted genesis or a trusted height and hash, not both")
	case genesis != nil:
		b, err := genesis()
		if err != nil {
			return Trust{}, fmt.Errorf("the trusted genesis: %w", err)
		}
		g, err := cmttypes.GenesisDocFromJSON(b)
		if err != nil {
			return Trust{}, fmt.Errorf("the trusted genesis: %w", err)
		}
		return Trust{Genesis: g, Guomi: guomi}, nil
	case guomi:
		return Trust{}, errors.New("SM2/SM3-only verification needs the trusted genesis (its SM2 node keys)")
	case height > 0 && hash != "":
		h, err := hex.DecodeString(strings.TrimPrefix(strings.TrimSpace(hash), "0x"))
		if err != nil || len(h) != 32 {
			return Trust{}, fmt.Errorf("trusted hash %q: want 64 hex digits", hash)
		}
		return Trust{Height: height, Hash: h}, nil
	}
	return Trust{}, errors.New("nothing trusted: give the chain's genesis file, or a block height and hash from a node you trust")
}
