package ledger

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	ics23 "github.com/cosmos/ics23/go"
)

// Membership proofs tie one committed key/value of a ledger to the app
// hash of a height, in two steps a verifier can check offline:
//
//  1. an ICS-23 existence proof of (key, value) in the ledger's IAVL tree
//     (IAVL's own hashing, SHA-256, which IAVL hard-codes: the IavlSpec);
//  2. the ledger's root among the height's sorted (name, root) pairs, whose
//     AppHash (SM3) is the app hash.

// Errors of VerifyInAppHash, one per step, so that a verifier can say
// which step failed.
var (
	// ErrMembershipProof: the ICS-23 proof does not prove the key (and
	// value, or its absence) under the ledger's IAVL root.
	ErrMembershipProof = errors.New("membership proof does not verify")
	// ErrLedgerRoots: the ledger roots are malformed or lack the ledger.
	ErrLedgerRoots = errors.New("ledger roots do not include the ledger")
	// ErrAppHashMismatch: the ledger roots do not hash to the app hash.
	ErrAppHashMismatch = errors.New("ledger roots do not hash to the app hash")
)

// Roots returns the (ledger name, IAVL root) pairs of the View's height,
// sorted by name; AppHash(v.Roots()) is the app hash of that height.
func (v *View) Roots() []LedgerRoot {
	out := make([]LedgerRoot, len(v.names))
	for i, n := range v.names {
		out[i] = LedgerRoot{Name: n, Root: slices.Clone(v.trees[n].Hash())}
	}
	return out
}

// ProveMembership returns the committed value of key in ledger and an
// encoded ICS-23 existence proof of it against the ledger's IAVL root at
// the View's height (VerifyMembership checks it).
func (v *View) ProveMembership(ledger string, key []byte) (value, proof []byte, err error) {
	if len(key) == 0 {
		return nil, nil, fmt.Errorf("prove in ledger %s: %w", ledger, ErrEmptyKey)
	}
	t, err := v.tree(ledger)
	if err != nil {
		return nil, nil, err
	}
	val, err := t.Get(key)
	if err != nil {
		return nil, nil, damaged(v.s.dir, fmt.Errorf("get from ledger %s at height %d: %w", ledger, v.height, err))
	}
	if val == nil {
		return nil, nil, fmt.Errorf("prove in ledger %s at height %d: key %x is not set", ledger, v.height, key)
	}
	p, err := t.GetMembershipProof(key)
	if err != nil {
		return nil, nil, fmt.Errorf("prove in ledger %s at height %d: %w", ledger, v.height, err)
	}
	b, err := p.Marshal()
	if err != nil {
		return nil, nil, err
	}
	return cloneValue(val), b, nil
}

// Prove returns the committed value of key in ledger (nil when the key is
// not set) and an encoded ICS-23 commitment proof against the ledger's
// IAVL root at the View's height: an existence proof of (key, value), or,
// for a key not set, a non-existence proof (the neighbouring keys).
// VerifyKey checks it.
func (v *View) Prove(ledger string, key []byte) (value, proof []byte, err error) {
	if len(key) == 0 {
		return nil, nil, fmt.Errorf("prove in ledger %s: %w", ledger, ErrEmptyKey)
	}
	t, err := v.tree(ledger)
	if err != nil {
		return nil, nil, err
	}
	val, err := t.Get(key)
	if err != nil {
		return nil, nil, damaged(v.s.dir, fmt.Errorf("get from ledger %s at height %d: %w", ledger, v.height, err))
	}
	var p *ics23.CommitmentProof
	if val == nil {
		p, err = t.GetNonMembershipProof(key)
	} else {
		p, err = t.GetMembershipProof(key)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("prove in ledger %s at height %d: %w", ledger, v.height, err)
	}
	b, err := p.Marshal()
	if err != nil {
		return nil, nil, err
	}
	return cloneValue(val), b, nil
}

// VerifyKey checks an ICS-23 proof from Prove under the IAVL root: with a
// value, that key = value; with a nil value, that key is not set. It never
// panics on malformed input.
func VerifyKey(root, proof, key, value []byte) (err error) {
	if value != nil {
		return VerifyMembership(root, proof, key, value)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: malformed proof (%v)", ErrMembershipProof, r)
		}
	}()
	var p ics23.CommitmentProof
	if err := p.Unmarshal(proof); err != nil {
		return fmt.Errorf("%w: decode: %v", ErrMembershipProof, err)
	}
	ne := p.GetNonexist()
	if ne == nil {
		return fmt.Errorf("%w: not a non-existence proof", ErrMembershipProof)
	}
	if !bytes.Equal(ne.Key, key) {
		return fmt.Errorf("%w: it proves the absence of another key", ErrMembershipProof)
	}
	if !ics23.VerifyNonMembership(ics23.IavlSpec, root, &p, key) {
		return fmt.Errorf("%w: the neighbours do not lead to IAVL root %X, or the key lies between them", ErrMembershipProof, root)
	}
	return nil
}

// VerifyInAppHash checks that key = value (value nil: key not set) in
// ledger at the height whose ledger roots are roots and whose app hash is
// appHash, in two steps: the ICS-23 proof under the ledger's IAVL root
// among roots (ErrLedgerRoots, ErrMembershipProof), then the roots'
// SM3 Merkle root against appHash (ErrAppHashMismatch). Contracts' own
// bundles (reserves) and jinlian's state proofs use this one check.
func VerifyInAppHash(appHash []byte, roots []LedgerRoot, ledger string, key, value, proof []byte) error {
	root, err := RootOf(roots, ledger)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrLedgerRoots, err)
	}
	if err := VerifyKey(root, proof, key, value); err != nil {
		return fmt.Errorf("key %x of ledger %s: %w", key, ledger, err)
	}
	if got := AppHash(roots); !bytes.Equal(got, appHash) {
		return fmt.Errorf("%w: they hash to %X, want %X", ErrAppHashMismatch, got, appHash)
	}
	return nil
}

// VerifyMembership checks that proof (from ProveMembership) proves key =
// value under the IAVL root. It never panics on malformed input.
func VerifyMembership(root, proof, key, value []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: malformed proof (%v)", ErrMembershipProof, r)
		}
	}()
	var p ics23.CommitmentProof
	if err := p.Unmarshal(proof); err != nil {
		return fmt.Errorf("%w: decode: %v", ErrMembershipProof, err)
	}
	ex := p.GetExist()
	if ex == nil {
		return fmt.Errorf("%w: not an existence proof", ErrMembershipProof)
	}
	if !bytes.Equal(ex.Key, key) || !bytes.Equal(ex.Value, value) {
		return fmt.Errorf("%w: it proves another key or value", ErrMembershipProof)
	}
	if !ics23.VerifyMembership(ics23.IavlSpec, root, &p, key, value) {
		return fmt.Errorf("%w: the path does not lead to IAVL root %X", ErrMembershipProof, root)
	}
	return nil
}

// RootOf returns the root of ledger among roots, which must be sorted by
// name without duplicates (as View.Roots returns them).
func RootOf(roots []LedgerRoot, ledger string) ([]byte, error) {
	for i, r := range roots {
		if i > 0 && roots[i-1].Name >= r.Name {
			return nil, fmt.Errorf("ledger roots are not sorted by name without duplicates (%q after %q)", r.Name, roots[i-1].Name)
		}
	}
	i, ok := slices.BinarySearchFunc(roots, ledger, func(r LedgerRoot, name string) int {
		switch {
		case r.Name < name:
			return -1
		case r.Name > name:
			return 1
		}
		return 0
	})
	if !ok {
		return nil, fmt.Errorf("ledger %s is not among the ledger roots", ledger)
	}
	return roots[i].Root, nil
}

// ProvenValue is the value an ICS-23 proof from Prove shows: the value of
// an existence proof, nil for a non-existence proof. It checks nothing
// else (VerifyKey does).
func ProvenValue(proof []byte) ([]byte, error) {
	var p ics23.CommitmentProof
	if err := p.Unmarshal(proof); err != nil {
		return nil, fmt.Errorf("%w: decode: %v", ErrMembershipProof, err)
	}
	switch {
	case p.GetExist() != nil:
		if len(p.GetExist().Value) == 0 {
			return nil, fmt.Errorf("%w: an existence proof of an empty value", ErrMembershipProof)
		}
		return p.GetExist().Value, nil
	case p.GetNonexist() != nil:
		return nil, nil
	}
	return nil, fmt.Errorf("%w: neither an existence nor a non-existence proof", ErrMembershipProof)
}
