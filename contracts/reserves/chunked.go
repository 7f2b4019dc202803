package reserves

import (
	"bytes"
	"slices"
)

// The tree's root kept up to date from what changed (Chunks).
//
// The leaves are cut into chunks of chunkSize, aligned from the first
// leaf. A full chunk's root is a perfect subtree of the tree, and the last,
// partial chunk pairs as it would alone (it starts at an even index of
// every level below the chunks' level), so the tree over the leaves is the
// tree over the chunks' roots, by the same rule: paired left to right, an
// odd node at the end of a level promoted. Chunks keeps the chunks' roots
// and every level above them; after some balances change, it rehashes
// their chunks and the paths above them, and after accounts appear or
// leave (their leaves move) everything from the first moved leaf on. The
// root is the Builder's for every input (TestChunksRootIsTheBuildersRoot);
// the tree's shape and its proofs are unchanged.

const chunkSize = 16

// Chunks is the upper part of a tree: levels[0] the roots of its chunks of
// chunkSize leaves, each next level the pairs of the one below, the last
// level the root.
type Chunks struct {
	n      int // leaves
	levels [][]Node
}

// Len is the number of leaves the chunks were computed over.
func (c *Chunks) Len() int { return c.n }

// Root is the root over the leaves of the last Rebuild or Update.
func (c *Chunks) Root() Node {
	if c.n == 0 {
		return EmptyRoot()
	}
	return c.levels[len(c.levels)-1][0]
}

// Rebuild computes the chunks of entries (sorted by account, without
// duplicates, positive balances: Builder's rules, checked) and returns the
// root.
func (c *Chunks) Rebuild(entries []Entry) (Node, error) {
	for i := range entries {
		if err := checkLeaf(entries, i); err != nil {
			return Node{}, err
		}
	}
	*c = Chunks{}
	return c.update(entries, nil, 0)
}

// Update returns the root over entries, which are the leaves the chunks
// were computed over but for: the leaves at the indexes in changed (the
// same account, another positive balance), and, when from ≥ 0, every
// leaf from index from on (accounts inserted or removed before them moved
// them). Entries must follow Builder's rules; the changed leaves and
// those from from on are checked.
func (c *Chunks) Update(entries []Entry, changed []int, from int) (Node, error) {
	if from < 0 {
		if len(entries) != c.n {
			from = min(c.n, len(entries)) // not what the caller said: recompute the tail
		} else {
			from = len(entries)
		}
	}
	from = min(from, len(entries), c.n)
	check := func(i int) error {
		if err := checkLeaf(entries, i); err != nil || i+1 == len(entries) {
			return err
		}
		return checkLeaf(entries, i+1)
	}
	var dirty []int
	for _, i := range changed {
		if i < 0 || i >= len(entries) {
			return Node{}, ErrBadLeaf.Wrapf("leaf %d of %d changed", i, len(entries))
		}
		if i < from {
			if err := check(i); err != nil {
				return Node{}, err
			}
			dirty = append(dirty, i/chunkSize)
		}
	}
	for i := from; i < len(entries); i++ {
		if err := check(i); err != nil {
			return Node{}, err
		}
	}
	slices.Sort(dirty)
	return c.update(entries, slices.Compact(dirty), from)
}

// checkLeaf applies Builder's rules to leaf i: a positive balance, an
// account after the one before.
func checkLeaf(entries []Entry, i int) error {
	e := entries[i]
	if e.Balance == 0 {
		return ErrBadLeaf.Wrapf("account %s has balance 0: only positive balances are leaves", e.Account)
	}
	if i > 0 && bytes.Compare(entries[i-1].Account[:], e.Account[:]) >= 0 {
		return ErrBadLeaf.Wrapf("account %s does not follow %s: leaves must be in strictly ascending account order", e.Account, entries[i-1].Account)
	}
	return nil
}

// update rehashes the chunks in dirty (ascending, below from's chunk) and
// every chunk from leaf from on, then the levels above them.
func (c *Chunks) update(entries []Entry, dirty []int, from int) (Node, error) {
	c.n = len(entries)
	if c.n == 0 {
		c.levels = nil
		return EmptyRoot(), nil
	}
	// Level 0: the chunks' roots.
	start := from / chunkSize
	count := (len(entries) + chunkSize - 1) / chunkSize
	if len(c.levels) == 0 {
		c.levels = [][]Node{nil}
	}
	c.levels[0] = resize(c.levels[0], count)
	var leaves [chunkSize]Node
	rehash := func(j int) error {
		es := entries[j*chunkSize : min((j+1)*chunkSize, len(entries))]
		for i, e := range es {
			leaves[i] = Leaf(e.Account, e.Balance)
		}
		r, err := pairUp(leaves[:len(es)])
		c.levels[0][j] = r
		return err
	}
	for _, j := range dirty {
		if j < start {
			if err := rehash(j); err != nil {
				return Node{}, err
			}
		}
	}
	for j := start; j < count; j++ {
		if err := rehash(j); err != nil {
			return Node{}, err
		}
	}
	// The levels above: a parent is rehashed when a child was.
	for l := 0; len(c.levels[l]) > 1; l++ {
		below := c.levels[l]
		if l+1 == len(c.levels) {
			c.levels = append(c.levels, nil)
		}
		c.levels[l+1] = resize(c.levels[l+1], (len(below)+1)/2)
		above := c.levels[l+1]
		up := dirty[:0:0]
		for _, j := range dirty {
			if p := j / 2; p < start/2 && (len(up) == 0 || up[len(up)-1] != p) {
				up = append(up, p)
			}
		}
		start /= 2
		parent := func(p int) error {
			if 2*p+1 < len(below) {
				n, err := Parent(below[2*p], below[2*p+1])
				above[p] = n
				return err
			}
			above[p] = below[2*p]
			return nil
		}
		for _, p := range up {
			if err := parent(p); err != nil {
				return Node{}, err
			}
		}
		for p := start; p < len(above); p++ {
			if err := parent(p); err != nil {
				return Node{}, err
			}
		}
		dirty = up
	}
	c.levels = c.levels[:topLevel(c.levels)+1]
	return c.Root(), nil
}

// topLevel is the index of the first level of one node.
func topLevel(levels [][]Node) int {
	for l, nodes := range levels {
		if len(nodes) == 1 {
			return l
		}
	}
	return len(levels) - 1
}

// resize returns nodes with length n, keeping what it holds below n.
func resize(nodes []Node, n int) []Node {
	if cap(nodes) >= n {
		return nodes[:n]
	}
	return append(nodes[:cap(nodes)], make([]Node, n-cap(nodes))...)
}

// pairUp is the root over nodes (at least one) by the tree's rule, using
// nodes as scratch.
func pairUp(nodes []Node) (Node, error) {
	for len(nodes) > 1 {
		j := 0
		for i := 0; i+1 < len(nodes); i += 2 {
			p, err := Parent(nodes[i], nodes[i+1])
			if err != nil {
				return Node{}, err
			}
			nodes[j] = p
			j++
		}
		if len(nodes)%2 == 1 {
			nodes[j] = nodes[len(nodes)-1]
			j++
		}
		nodes = nodes[:j]
	}
	return nodes[0], nil
}
