package reserves

import (
	"bytes"
	"encoding/binary"
	"math"

	"github.com/emmansun/gmsm/sm3"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
)

// Domain-separation tags of the Merkle-sum tree.
const (
	leafTag = 0x00
	nodeTag = 0x01
)

// HashSize is the size of an SM3 digest.
const HashSize = 32

// Node is a node of the Merkle-sum tree: its hash and the sum of the
// balances below it.
type Node struct {
	Hash [HashSize]byte
	Sum  uint64
}

// Leaf is the node of one account:
//
//	hash = SM3(0x00 ‖ account (20 bytes) ‖ balance (8 bytes, big-endian)), sum = balance
func Leaf(account gmcrypto.Address, balance uint64) Node {
	var buf [1 + gmcrypto.AddressSize + 8]byte
	buf[0] = leafTag
	copy(buf[1:], account[:])
	binary.BigEndian.PutUint64(buf[1+gmcrypto.AddressSize:], balance)
	return Node{Hash: sm3.Sum(buf[:]), Sum: balance}
}

// Parent is the node above left and right:
//
//	hash = SM3(0x01 ‖ left.hash ‖ left.sum ‖ right.hash ‖ right.sum), sum = left.sum + right.sum
//
// Each node commits to both children's sums, so no sum can be shifted
// between siblings; the sums are unsigned and their addition is checked,
// so no subtree can carry a negative balance (a wrap-around) that hides a
// liability. ErrSumOverflow when the sum does not fit in 64 bits.
func Parent(left, right Node) (Node, error) {
	if left.Sum > math.MaxUint64-right.Sum {
		return Node{}, ErrSumOverflow.Wrapf("%d + %d does not fit in 64 bits", left.Sum, right.Sum)
	}
	var buf [1 + 2*(HashSize+8)]byte
	buf[0] = nodeTag
	copy(buf[1:], left.Hash[:])
	binary.BigEndian.PutUint64(buf[1+HashSize:], left.Sum)
	copy(buf[1+HashSize+8:], right.Hash[:])
	binary.BigEndian.PutUint64(buf[1+2*HashSize+8:], right.Sum)
	return Node{Hash: sm3.Sum(buf[:]), Sum: left.Sum + right.Sum}, nil
}

// EmptyRoot is the root of a tree without leaves: SM3 of the empty string,
// with sum 0.
func EmptyRoot() Node { return Node{Hash: sm3.Sum(nil)} }

// The tree's shape: leaves sorted by account are paired left to right; an
// odd node at the end of a level is promoted unchanged to the next level
// (as the app hash tree does). Builder computes the same root streaming,
// holding one node per set bit of the leaf count: the tree over n leaves
// is, from the left, the perfect subtrees of n's binary decomposition,
// joined right to left.

// Builder computes the root of a Merkle-sum tree from leaves added in
// strictly ascending account order, in O(log n) memory.
type Builder struct {
	stack []subtree
	n     uint64
	last  gmcrypto.Address
}

type subtree struct {
	Node
	size uint64
}

// Add appends the leaf of account with balance, which must be positive
// (accounts without a balance are not in the tree) and follow the last
// account added.
func (b *Builder) Add(account gmcrypto.Address, balance uint64) error {
	if balance == 0 {
		return ErrBadLeaf.Wrapf("account %s has balance 0: only positive balances are leaves", account)
	}
	if b.n > 0 && bytes.Compare(account[:], b.last[:]) <= 0 {
		return ErrBadLeaf.Wrapf("account %s does not follow %s: leaves must be in strictly ascending account order", account, b.last)
	}
	b.last = account
	b.n++
	b.stack = append(b.stack, subtree{Node: Leaf(account, balance), size: 1})
	for len(b.stack) >= 2 {
		l, r := b.stack[len(b.stack)-2], b.stack[len(b.stack)-1]
		if l.size != r.size {
			break
		}
		p, err := Parent(l.Node, r.Node)
		if err != nil {
			return err
		}
		b.stack = append(b.stack[:len(b.stack)-2], subtree{Node: p, size: 2 * l.size})
	}
	return nil
}

// Len is the number of leaves added.
func (b *Builder) Len() uint64 { return b.n }

// Root returns the root over the leaves added.
func (b *Builder) Root() (Node, error) {
	if len(b.stack) == 0 {
		return EmptyRoot(), nil
	}
	r := b.stack[len(b.stack)-1].Node
	for i := len(b.stack) - 2; i >= 0; i-- {
		var err error
		if r, err = Parent(b.stack[i].Node, r); err != nil {
			return Node{}, err
		}
	}
	return r, nil
}

// Entry is an account's balance, a leaf of the tree.
type Entry struct {
	Account gmcrypto.Address
	Balance uint64
}

// Tree is a whole Merkle-sum tree, level by level (levels[0] the leaves),
// from which inclusion proofs are cut. The state machine only needs the
// root (Builder); a node answering a query builds the Tree.
type Tree struct {
	entries []Entry
	levels  [][]Node
}

// Build builds the tree over entries, which must be sorted by account
// without duplicates and with positive balances.
func Build(entries []Entry) (*Tree, error) {
	var b Builder
	leaves := make([]Node, len(entries))
	for i, e := range entries {
		if err := b.Add(e.Account, e.Balance); err != nil {
			return nil, err
		}
		leaves[i] = Leaf(e.Account, e.Balance)
	}
	t := &Tree{entries: entries, levels: [][]Node{leaves}}
	for level := leaves; len(level) > 1; {
		next := make([]Node, 0, (len(level)+1)/2)
		for i := 0; i+1 < len(level); i += 2 {
			p, err := Parent(level[i], level[i+1])
			if err != nil {
				return nil, err
			}
			next = append(next, p)
		}
		if len(level)%2 == 1 {
			next = append(next, level[len(level)-1])
		}
		t.levels = append(t.levels, next)
		level = next
	}
	return t, nil
}

// Root is the tree's root.
func (t *Tree) Root() Node {
	top := t.levels[len(t.levels)-1]
	if len(top) == 0 {
		return EmptyRoot()
	}
	return top[0]
}

// Len is the number of leaves.
func (t *Tree) Len() uint64 { return uint64(len(t.entries)) }

// Step is one sibling on the path from a leaf to the root.
type Step struct {
	// Left: the sibling is the left child (the path's node the right one).
	Left bool
	Node
}

// Prove returns the index of account's leaf and the siblings from the
// leaf up; ErrNoLeaf if account has no balance in the tree.
func (t *Tree) Prove(account gmcrypto.Address) (Entry, uint64, []Step, error) {
	i, ok := searchEntry(t.entries, account)
	if !ok {
		return Entry{}, 0, nil, ErrNoLeaf.Wrapf("account %s holds nothing at the reserves height", account)
	}
	var path []Step
	idx := i
	for _, level := range t.levels[:len(t.levels)-1] {
		switch {
		case idx%2 == 1:
			path = append(path, Step{Left: true, Node: level[idx-1]})
		case idx+1 < len(level):
			path = append(path, Step{Left: false, Node: level[idx+1]})
		}
		idx /= 2
	}
	return t.entries[i], uint64(i), path, nil
}

func searchEntry(entries []Entry, account gmcrypto.Address) (int, bool) {
	lo, hi := 0, len(entries)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if bytes.Compare(entries[m].Account[:], account[:]) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(entries) && entries[lo].Account == account
}

// VerifyPath checks that the leaf (account, balance) at index of a tree of
// count leaves, with the siblings path, leads to root with sum total:
// every step's sum is recomputed from its children (checked for
// overflow), and the path's shape must be the one index and count
// determine (which side each sibling is on, and where a node was promoted
// without one), so the path cannot be reshaped to reach another root.
func VerifyPath(account gmcrypto.Address, balance uint64, index, count uint64, path []Step, root [HashSize]byte, total uint64) error {
	if balance == 0 {
		return ErrBadLeaf.Wrapf("balance 0: only positive balances are leaves")
	}
	if count == 0 || index >= count {
		return ErrPathShape.Wrapf("leaf index %d in a tree of %d leaves", index, count)
	}
	cur := Leaf(account, balance)
	idx, size, used := index, count, 0
	for size > 1 {
		var wantLeft, has bool
		switch {
		case idx%2 == 1:
			wantLeft, has = true, true
		case idx+1 < size:
			has = true
		}
		if has {
			if used >= len(path) {
				return ErrPathShape.Wrapf("the path ends after %d steps; leaf %d of %d needs more", used, index, count)
			}
			s := path[used]
			if s.Left != wantLeft {
				return ErrPathShape.Wrapf("step %d: the sibling is on the %s, leaf %d of %d puts it on the %s", used, side(s.Left), index, count, side(wantLeft))
			}
			var err error
			if s.Left {
				cur, err = Parent(s.Node, cur)
			} else {
				cur, err = Parent(cur, s.Node)
			}
			if err != nil {
				return ErrSumOverflow.Wrapf("step %d: %v", used, err)
			}
			used++
		}
		idx /= 2
		size = (size + 1) / 2
	}
	if used != len(path) {
		return ErrPathShape.Wrapf("the path has %d steps; leaf %d of %d needs %d", len(path), index, count, used)
	}
	if cur.Hash != root {
		return ErrRootMismatch.Wrapf("the path leads to %X, the committed root is %X", cur.Hash, root)
	}
	if cur.Sum != total {
		return ErrTotalMismatch.Wrapf("the path sums to %d, the committed total is %d", cur.Sum, total)
	}
	return nil
}

func side(left bool) string {
	if left {
		return "left"
	}
	return "right"
}
