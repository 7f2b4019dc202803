package ledger

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
)

// innerNode encodes the start of an IAVL inner node of the given height
// and size (the two varints nodeCache decodes), then pad bytes.
func innerNode(height, size int64, pad int) []byte {
	v := binary.AppendVarint(nil, height)
	v = binary.AppendVarint(v, size)
	return append(v, make([]byte, pad)...)
}

func nodeKeyOf(version int64, nonce uint32) []byte {
	k := []byte{'s'}
	k = binary.BigEndian.AppendUint64(k, uint64(version))
	return binary.BigEndian.AppendUint32(k, nonce)
}

func TestNodeCacheAdmits(t *testing.T) {
	c := newNodeCache(256 * 2 * 2 * nodeEntryBytes) // share 256: with a root of 1024 leaves, subtrees of 4 or more
	if !c.admitLocked(innerNode(10, 1024, 40)) {
		t.Fatal("the root was not admitted")
	}
	for _, tc := range []struct {
		name  string
		value []byte
		want  bool
	}{
		{"leaf of a tree larger than the share", innerNode(0, 1, 40), false},
		{"height 0 of more than one leaf", innerNode(0, 2, 40), false},
		{"inner node of one leaf", innerNode(1, 1, 40), false},
		{"subtree of 3 leaves, below the share", innerNode(2, 3, 40), false},
		{"subtree of 4 leaves", innerNode(2, 4, 40), true},
		{"negative height (a root reference)", append([]byte{'s'}, make([]byte, 12)...), false},
		{"empty (an empty tree's root)", []byte{}, false},
		{"truncated varint", []byte{0x80}, false},
		{"too large", innerNode(5, 64, maxCachedNode), false},
	} {
		if got := c.admitLocked(tc.value); got != tc.want {
			t.Errorf("%s: admit = %v, want %v", tc.name, got, tc.want)
		}
	}
	// A larger root raises the bar.
	c.admitLocked(innerNode(20, 1<<20, 40))
	if c.admitLocked(innerNode(2, 4, 40)) {
		t.Error("a subtree of 4 leaves is still admitted beside a root of 2^20")
	}

	// A tree that fits whole in a generation (its leaves and as many inner
	// nodes) is kept whole, leaves included.
	const leaves = 100
	small := newNodeCache(2 * leaves * (nodeEntryBytes + leafEntryBytes))
	for _, n := range []struct{ height, size int64 }{{7, leaves}, {1, 2}, {0, 1}} {
		if !small.admitLocked(innerNode(n.height, n.size, 40)) {
			t.Errorf("height %d of a tree of %d leaves that fits whole: not admitted", n.height, leaves)
		}
	}
	small.admitLocked(innerNode(7, leaves+1, 40))
	if small.admitLocked(innerNode(0, 1, 40)) {
		t.Error("a leaf is still admitted once the tree outgrew a generation")
	}
}

func TestNodeCacheGetReturnsACopy(t *testing.T) {
	c := newNodeCache(64)
	key, v := nodeKeyOf(7, 1), innerNode(3, 8, 20)
	c.fill(key, v, c.epochNow())
	got, ok, _ := c.get(key)
	if !ok || string(got) != string(v) {
		t.Fatalf("get = %x %v, want %x", got, ok, v)
	}
	got[len(got)-1] = 0xFF
	v[len(v)-1] = 0xEE // the caller's buffer, copied by fill
	if again, _, _ := c.get(key); again[len(again)-1] != 0 {
		t.Fatalf("the cached bytes changed with a caller's buffer: %x", again)
	}
}

// A read that missed must not store what it read when a write or delete
// of the tree landed meanwhile: the key may have been deleted or written
// again.
func TestNodeCacheFillAfterWriteIsDropped(t *testing.T) {
	c := newNodeCache(64)
	key, v := nodeKeyOf(9, 2), innerNode(3, 8, 20)
	_, _, epoch := c.get(key) // a read misses; Badger still holds v
	c.written([]batchOp{{key: append([]byte("t/x/"), key...)}}, len("t/x/"))
	c.fill(key, v, epoch) // the read ends with what it saw before the delete
	if got, ok, _ := c.get(key); ok {
		t.Fatalf("a deleted node came back from a read that started before the delete: %x", got)
	}
	// A write stores the new bytes, and a later delete removes them.
	w := innerNode(3, 8, 21)
	c.written([]batchOp{{key: append([]byte("t/x/"), key...), value: w}}, len("t/x/"))
	if got, ok, _ := c.get(key); !ok || string(got) != string(w) {
		t.Fatalf("after a write get = %x %v, want %x", got, ok, w)
	}
	c.written([]batchOp{{key: append([]byte("t/x/"), key...)}}, len("t/x/"))
	if _, ok, _ := c.get(key); ok {
		t.Fatal("a deleted node is still served")
	}
}

// The bound holds, and a node read in every round outlives rounds of
// nodes read once.
func TestNodeCacheBoundAndGenerations(t *testing.T) {
	const entries = 100
	entry := len(innerNode(20, 1<<20, 30)) + nodeIndexBytes
	c := newNodeCache(entries * entry)
	hot := nodeKeyOf(1, 1)
	c.fill(hot, innerNode(20, 1<<20, 30), c.epochNow())
	for i := range 50 * entries {
		c.fill(nodeKeyOf(int64(2+i), 1), innerNode(20, 1<<20, 30), c.epochNow())
		if i%(entries/4) == 0 {
			if _, ok, _ := c.get(hot); !ok {
				t.Fatalf("the hot node was dropped after %d others", i)
			}
		}
		if n := len(c.cur.index) + len(c.old.index); n > entries+1 {
			t.Fatalf("%d entries held, bound %d", n, entries)
		}
		if b := c.cur.bytes + c.old.bytes; b > (entries+1)*entry {
			t.Fatalf("%d bytes held, bound %d", b, entries*entry)
		}
	}
	if _, ok, _ := c.get(nodeKeyOf(2, 1)); ok {
		t.Fatal("a node read once, 50 generations ago, is still held")
	}
}

// The store's trees read their inner nodes from the cache once IAVL's own
// cache lost them: a tree walked again by a fresh reader reads only leaves
// and the lowest levels from Badger, and serves the same values as with
// the cache off.
func TestNodeCacheSavesTreeReads(t *testing.T) {
	const n = 20_000
	for _, bytes := range []int{-1, 8 << 20, 32 << 20} {
		t.Run(fmt.Sprint(bytes), func(t *testing.T) {
			s, err := Open(t.TempDir(), Options{IAVLCacheSize: 1, NodeCacheBytes: bytes})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.CreateLedger("payments"); err != nil {
				t.Fatal(err)
			}
			for i := range n {
				if err := s.Set("payments", fmt.Appendf(nil, "k%06d", i), fmt.Appendf(nil, "v%d", i)); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.Commit(); err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(1, 2))
			for range 2_000 {
				i := r.IntN(n)
				if err := s.Set("payments", fmt.Appendf(nil, "k%06d", i), fmt.Appendf(nil, "w%d", i)); err != nil {
					t.Fatal(err)
				}
			}
			ci, err := s.Commit()
			if err != nil {
				t.Fatal(err)
			}
			c := s.nodes.of("payments")
			if bytes < 0 {
				if c != nil {
					t.Fatal("a cache with the cache off")
				}
				return
			}
			hit, missed := c.stats()
			// A fresh tree over the same keys, as the reader trees are:
			// IAVL's cache of one node holds nothing of it.
			tree := s.newTree("payments")
			if _, err := tree.LoadVersion(ci.Height); err != nil {
				t.Fatal(err)
			}
			walks := 0
			for range 500 {
				i := r.IntN(n)
				v, err := tree.Get(fmt.Appendf(nil, "k%06d", i))
				if err != nil || (string(v) != fmt.Sprintf("v%d", i) && string(v) != fmt.Sprintf("w%d", i)) {
					t.Fatalf("key %d: %q %v", i, v, err)
				}
				walks++
			}
			// A walk of a tree of 20,000 leaves passes about 16 nodes;
			// 8 MiB admits subtrees of 20,000/16,384 = 1 leaf or more,
			// every inner node, so only leaves go to Badger; 32 MiB
			// holds the whole tree (20,000 leaves and as many inner nodes
			// in 16 MiB), leaves included.
			hitsNow, missedNow := c.stats()
			perWalk := float64(missedNow-missed) / float64(walks)
			hits := float64(hitsNow-hit) / float64(walks)
			want := 2.0
			if bytes >= 32<<20 {
				want = 0
			}
			if perWalk > want || hits < 10 {
				t.Fatalf("a walk of a fresh tree: %.1f Badger reads (want at most %.0f), %.1f nodes from the cache (want 10 or more)", perWalk, want, hits)
			}
		})
	}
}

// epochNow is the epoch a read starting now would see.
func (c *nodeCache) epochNow() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epoch
}
