package proof

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cometbft/cometbft/light"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmttypes "github.com/cometbft/cometbft/types"
)

// The header chain is checked with CometBFT's light-client rules
// (light.Verify: adjacent headers by next_validators_hash, others by more
// than 1/3 of the trusted set having signed, each header by more than 2/3
// of its own set). A consortium's validators are admitted by governance,
// not bonded, so the verifier applies no trusting period: an old bundle
// stays verifiable (docs/proofs.md, "What is trusted").
const (
	noTrustingPeriod = 200 * 365 * 24 * time.Hour
	maxClockDrift    = 10 * time.Second
)

var trustLevel = light.DefaultTrustLevel

func encodeLightBlock(lb *cmttypes.LightBlock) (Hex, error) {
	pb, err := lb.ToProto()
	if err != nil {
		return nil, err
	}
	return pb.Marshal()
}

// DecodeLightBlock reads one of a bundle's light_blocks and checks its
// shape for chainID (not its signatures: Verify does).
func DecodeLightBlock(b []byte, chainID string) (*cmttypes.LightBlock, error) {
	return decodeLightBlock(b, chainID)
}

func decodeLightBlock(b []byte, chainID string) (*cmttypes.LightBlock, error) {
	var pb cmtproto.LightBlock
	if err := pb.Unmarshal(b); err != nil {
		return nil, err
	}
	lb, err := cmttypes.LightBlockFromProto(&pb)
	if err != nil {
		return nil, err
	}
	if lb.SignedHeader != nil && lb.Header != nil && lb.ChainID != chainID {
		return nil, fmt.Errorf("%w: block %d is of chain %q, the bundle's chain_id is %q", ErrChain, lb.Height, lb.ChainID, chainID)
	}
	return lb, lb.ValidateBasic(chainID)
}

// verifyHeaders checks blocks, ascending, from the trusted point to the
// last, and returns the last (block H+1).
func verifyHeaders(chainID string, blocks []*cmttypes.LightBlock, t Trust, now time.Time) (*cmttypes.LightBlock, error) {
	if len(blocks) == 0 {
		return nil, fmt.Errorf("%w: the bundle carries no light block", ErrHeaders)
	}
	start := -1
	switch {
	case t.Genesis != nil:
		g := t.Genesis
		first := blocks[0]
		if first.Height != g.InitialHeight {
			return nil, fmt.Errorf("%w: the first light block is of height %d, the genesis starts at %d", ErrTrust, first.Height, g.InitialHeight)
		}
		vals := make([]*cmttypes.Validator, len(g.Validators))
		for i, v := range g.Validators {
			vals[i] = cmttypes.NewValidator(v.PubKey, v.Power)
		}
		set := cmttypes.NewValidatorSet(vals)
		if !bytes.Equal(set.Hash(), first.ValidatorsHash) {
			return nil, fmt.Errorf("%w: block %d's validators_hash %X is not the genesis validator set's %X", ErrTrust, first.Height, first.ValidatorsHash, set.Hash())
		}
		if err := set.VerifyCommitLight(chainID, first.Commit.BlockID, first.Height, first.Commit); err != nil {
			return nil, fmt.Errorf("%w: block %d is not signed by the genesis validators: %v", ErrTrust, first.Height, err)
		}
		start = 0
	case t.Height > 0:
		for i, lb := range blocks {
			if lb.Height == t.Height {
				if !bytes.Equal(lb.Hash(), t.Hash) {
					return nil, fmt.Errorf("%w: block %d hashes to %X, trusted %X", ErrTrust, t.Height, lb.Hash(), t.Hash)
				}
				start = i
				break
			}
		}
		if start < 0 {
			return nil, fmt.Errorf("%w: no light block of the trusted height %d in the bundle (it has %d..%d)", ErrTrust, t.Height, blocks[0].Height, blocks[len(blocks)-1].Height)
		}
	default:
		return nil, fmt.Errorf("%w: no trusted point given (a genesis, or a height and block hash)", ErrTrust)
	}
	for i := start + 1; i < len(blocks); i++ {
		prev, next := blocks[i-1], blocks[i]
		if next.Height <= prev.Height {
			return nil, fmt.Errorf("%w: light block %d (height %d) after height %d", ErrHeaders, i, next.Height, prev.Height)
		}
		if err := light.Verify(prev.SignedHeader, prev.ValidatorSet, next.SignedHeader, next.ValidatorSet, noTrustingPeriod, now, maxClockDrift, trustLevel); err != nil {
			return nil, fmt.Errorf("%w: block %d from block %d: %v", ErrHeaders, next.Height, prev.Height, err)
		}
	}
	return blocks[len(blocks)-1], nil
}

// headerTrace returns light blocks from from to to that verifyHeaders
// accepts: to itself when the set of from can trust it, else a bisection
// as CometBFT's light client does it (light.Verify refusing with
// ErrNewValSetCantBeTrusted halves the step).
func headerTrace(ctx context.Context, fetch func(context.Context, int64) (*cmttypes.LightBlock, error), from, to int64) ([]*cmttypes.LightBlock, error) {
	trusted, err := fetch(ctx, from)
	if err != nil {
		return nil, err
	}
	out := []*cmttypes.LightBlock{trusted}
	now := time.Now()
	for trusted.Height < to {
		pivot := to
		for {
			cand, err := fetch(ctx, pivot)
			if err != nil {
				return nil, err
			}
			err = light.Verify(trusted.SignedHeader, trusted.ValidatorSet, cand.SignedHeader, cand.ValidatorSet, noTrustingPeriod, now, maxClockDrift, trustLevel)
			if err == nil {
				out = append(out, cand)
				trusted = cand
				break
			}
			var notTrusted light.ErrNewValSetCantBeTrusted
			if !errors.As(err, &notTrusted) || pivot <= trusted.Height+1 {
				return nil, fmt.Errorf("header %d from %d: %w", pivot, trusted.Height, err)
			}
			pivot = (trusted.Height + pivot) / 2
		}
	}
	return out, nil
}
