package ledger

import (
	"encoding/binary"

	"github.com/emmansun/gmsm/sm3"
)

// Domain-separation tags of the app-hash tree (see docs/adr/0001-app-hash.md).
const (
	appHashLeafTag  = 0x00
	appHashInnerTag = 0x01
)

// AppHash returns the SM3 Merkle root over roots, which must be sorted by
// Name with no duplicates (the Store guarantees it):
//
//	leaf  = SM3(0x00 ‖ uvarint(len(name)) ‖ name ‖ root)
//	inner = SM3(0x01 ‖ left ‖ right)
//
// Leaves are paired left to right; an odd node at the end of a level is
// promoted unchanged to the next level (never duplicated, so no two leaf
// lists share a root). The empty set hashes to SM3 of the empty string.
func AppHash(roots []LedgerRoot) []byte {
	if len(roots) == 0 {
		sum := sm3.Sum(nil)
		return sum[:]
	}
	level := make([][]byte, len(roots))
	for i, r := range roots {
		level[i] = appHashLeaf(r.Name, r.Root)
	}
	for len(level) > 1 {
		next := level[:0:0]
		for i := 0; i+1 < len(level); i += 2 {
			next = append(next, appHashInner(level[i], level[i+1]))
		}
		if len(level)%2 == 1 {
			next = append(next, level[len(level)-1])
		}
		level = next
	}
	return level[0]
}

func appHashLeaf(name string, root []byte) []byte {
	h := sm3.New()
	var buf [1 + binary.MaxVarintLen64]byte
	buf[0] = appHashLeafTag
	n := binary.PutUvarint(buf[1:], uint64(len(name)))
	h.Write(buf[:1+n])
	h.Write([]byte(name))
	h.Write(root)
	return h.Sum(nil)
}

func appHashInner(left, right []byte) []byte {
	h := sm3.New()
	h.Write([]byte{appHashInnerTag})
	h.Write(left)
	h.Write(right)
	return h.Sum(nil)
}
