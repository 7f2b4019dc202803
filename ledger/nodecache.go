package ledger

import (
	"encoding/binary"
	"slices"
	"sync"
)

// nodeCache keeps the encoded inner nodes of one tree's upper and middle
// levels, under IAVL's own node cache, so that a write to a random key
// reads from Badger only the few nodes nearest its leaf (ADR 0023); a
// tree small enough for one generation is kept whole, leaves included, so
// that a write reads nothing from Badger.
//
// IAVL's cache is an LRU of every node it reads or saves. A block of
// random writes saves and reads tens of thousands of nodes near the
// leaves, which are seldom touched again, and they push out the middle
// levels that the next blocks' writes walk through: past about a million
// keys a random write read a dozen nodes from Badger. This cache admits
// only inner nodes whose subtree holds at least a share of the largest
// subtree it has seen (the root's) that keeps the levels above them within
// its bound, so leaves and the lowest levels never displace them; leaves
// only while the whole tree (the root's leaves and as many inner nodes)
// fits in one generation.
//
// It is exact, not a guess: it maps a node key to the bytes Badger holds
// under it. IAVL never writes a node key twice with different bytes except
// when a version is rolled back and written again, and every write and
// delete of a tree goes through its prefixDB, which updates or removes the
// entry once Badger took it. A read that missed stores what it read only if
// no write happened meanwhile (the epoch), so a key deleted or rewritten
// while it was being read is not brought back.
//
// Eviction is by two generations: entries go into the current one; when it
// holds half the bound in bytes it becomes the old one and the previous old
// one is dropped; a hit in the old generation moves the entry to the
// current one.
// Nodes that are read again stay, superseded versions (never read again)
// age out.
//
// It holds no pointer per entry: the index maps a node's version and nonce
// to a place in large byte chunks, so the collector scans neither (a map
// of strings to slices of a million entries cost more in marking than the
// reads it saved). The chunks are mapped outside the Go heap where the
// system allows (nodechunk_unix.go), so a cache of a gigabyte does not
// raise the collector's target by as much again.
type nodeCache struct {
	mu       sync.Mutex
	cur, old generation
	half     int // bytes of one generation (bytes of nodes and index)
	epoch    uint64
	// largest is the size (leaves) of the largest subtree seen, the
	// root's; a node is admitted when its subtree holds at least
	// largest/share leaves.
	largest int64
	share   int64
	// whole is the most leaves a tree may have for its leaves to be kept:
	// as many leaves and inner nodes fit in one generation.
	whole int64

	hits, misses uint64
}

const (
	// nodeIndexBytes is what an entry of a generation's index costs
	// beside its node's bytes (key, place, the map's slack).
	nodeIndexBytes = 48
	// nodeEntryBytes is the size of an entry assumed to derive the share
	// of the root a node must hold (an inner node of a ledger key is
	// about 80 bytes).
	nodeEntryBytes = 128
	// leafEntryBytes is the size of a leaf entry assumed to tell whether
	// a whole tree fits (a ledger key, its value and the index entry).
	leafEntryBytes = 176
	// nodeChunkSize: mapped chunks take memory only as they are written,
	// so a large chunk costs a small cache nothing, and a cache of a
	// gigabyte is 256 mappings.
	nodeChunkSize = 4 << 20
	// maxCachedNode: larger nodes (a long key) are not kept.
	maxCachedNode = 4 << 10
)

// nodeID is a node key without its leading 's'.
type nodeID [12]byte

// nodeRef places a node's bytes in a generation's chunks.
type nodeRef struct{ chunk, off, n uint32 }

type generation struct {
	index  map[nodeID]nodeRef
	chunks [][]byte
	bytes  int
}

func newGeneration(n int) generation {
	return generation{index: make(map[nodeID]nodeRef, n)}
}

// free returns the generation's chunks; nothing may read them after.
func (g *generation) free() {
	for _, b := range g.chunks {
		freeChunk(b)
	}
	g.chunks, g.index, g.bytes = nil, nil, 0
}

func (g *generation) get(id nodeID) ([]byte, bool) {
	r, ok := g.index[id]
	if !ok {
		return nil, false
	}
	return g.chunks[r.chunk][r.off : r.off+r.n], true
}

func (g *generation) put(id nodeID, v []byte) {
	last := len(g.chunks) - 1
	if last < 0 || len(g.chunks[last])+len(v) > cap(g.chunks[last]) {
		g.chunks = append(g.chunks, newChunk())
		last++
	}
	off := len(g.chunks[last])
	g.chunks[last] = append(g.chunks[last], v...)
	g.index[id] = nodeRef{chunk: uint32(last), off: uint32(off), n: uint32(len(v))}
	g.bytes += len(v) + nodeIndexBytes
}

// newNodeCache bounds the cache at about bytes. A node is admitted when
// its subtree holds at least a 1/share of the root's leaves, share being
// half the entries of one generation: the levels above such nodes (about
// 2·share nodes) fit in a generation, beside the versions they replace.
func newNodeCache(bytes int) *nodeCache {
	half := max(bytes/2, 1)
	return &nodeCache{cur: newGeneration(0), old: newGeneration(0), half: half,
		share: max(int64(half/nodeEntryBytes/2), 1),
		whole: int64(half / (nodeEntryBytes + leafEntryBytes))}
}

// isNodeKey: IAVL v1 node keys are 's' followed by the version (8 bytes)
// and a nonce (4 bytes). Roots are node keys too, whose value may be empty
// or name another node key; those never decode as inner nodes.
func isNodeKey(key []byte) bool {
	return len(key) == 13 && key[0] == 's'
}

// admitLocked reports whether value, an encoded IAVL node, is worth
// keeping: an inner node whose subtree is big enough, or a leaf of a tree
// that fits whole. It decodes the two leading varints IAVL writes: the
// subtree's height and its size in leaves.
func (c *nodeCache) admitLocked(value []byte) bool {
	if len(value) > maxCachedNode {
		return false
	}
	height, n := binary.Varint(value)
	if n <= 0 || height < 0 {
		return false
	}
	size, m := binary.Varint(value[n:])
	if m <= 0 || size < 1 || (height == 0) != (size == 1) {
		return false
	}
	c.largest = max(c.largest, size)
	if height == 0 {
		// A leaf: kept only while the whole tree (largest leaves and as
		// many inner nodes) fits in one generation.
		return c.largest <= c.whole
	}
	return size >= c.largest/c.share
}

// stats returns the reads answered and the reads missed.
func (c *nodeCache) stats() (hits, misses uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses
}

func idOf(key []byte) nodeID { return nodeID(key[1:]) }

// get returns a copy of the cached bytes of key, a node key, or ok false
// and the epoch to pass to fill with what Badger holds.
func (c *nodeCache) get(key []byte) (value []byte, ok bool, epoch uint64) {
	id := idOf(key)
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.cur.get(id)
	if ok {
		value = slices.Clone(v)
	} else if v, ok = c.old.get(id); ok {
		// Copied out first: the move may drop the generation v is in.
		value = slices.Clone(v)
		delete(c.old.index, id)
		c.putLocked(id, value)
	}
	if !ok {
		c.misses++
		return nil, false, c.epoch
	}
	c.hits++
	return value, true, 0
}

// fill stores what a read found under key, unless a write came since
// epoch.
func (c *nodeCache) fill(key, value []byte, epoch uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch == epoch && c.admitLocked(value) {
		c.putLocked(idOf(key), value)
	}
}

// written records what a batch has stored in Badger: each op's value
// under its key, or the key deleted (value nil). Keys carry the tree's
// prefix, of prefixLen bytes.
func (c *nodeCache) written(ops []batchOp, prefixLen int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	for _, op := range ops {
		key := op.key[prefixLen:]
		if !isNodeKey(key) {
			continue
		}
		id := idOf(key)
		delete(c.old.index, id)
		if op.value != nil && c.admitLocked(op.value) {
			c.putLocked(id, op.value)
		} else {
			delete(c.cur.index, id)
		}
	}
}

// putLocked copies v into the current generation, which becomes the old
// one first when it is full.
func (c *nodeCache) putLocked(id nodeID, v []byte) {
	if c.cur.bytes >= c.half {
		c.old.free()
		c.old, c.cur = c.cur, newGeneration(len(c.cur.index))
	}
	c.cur.put(id, v)
}

// clear drops every entry (the tree's keys were removed wholesale, or a
// write failed half way).
func (c *nodeCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cur.free()
	c.old.free()
	c.cur, c.old = newGeneration(0), newGeneration(0)
	c.epoch++
	c.largest = 0
}

// nodeCaches holds the nodeCache of each tree, made on first use.
type nodeCaches struct {
	mu     sync.Mutex
	bytes  int // bound of each tree's cache; 0 turns them off
	byName map[string]*nodeCache
}

// of returns the cache of the named tree (nil when off).
func (n *nodeCaches) of(name string) *nodeCache {
	if n == nil || n.bytes <= 0 {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	c, ok := n.byName[name]
	if !ok {
		if n.byName == nil {
			n.byName = map[string]*nodeCache{}
		}
		c = newNodeCache(n.bytes)
		n.byName[name] = c
	}
	return c
}

// clear empties every tree's cache (the database was emptied).
func (n *nodeCaches) clear() {
	if n == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, c := range n.byName {
		c.clear()
	}
}
