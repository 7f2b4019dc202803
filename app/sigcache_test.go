package app

import (
	"testing"

	"github.com/jinlian-ledger/jinlian/wire"
)

func TestSigCache(t *testing.T) {
	k1, k2, k3 := txKeyOf([]byte("one")), txKeyOf([]byte("two")), txKeyOf([]byte("three"))
	tx1, tx2, tx3 := &wire.Tx{ID: "1"}, &wire.Tx{ID: "2"}, &wire.Tx{ID: "3"}
	cases := []struct {
		name    string
		sharers int
		run     func(c *SigCache)
		// which of k1, k2, k3 must still be cached afterwards
		want [3]bool
	}{
		{
			name:    "a lone app forgets a transaction once it delivered it",
			sharers: 1,
			run: func(c *SigCache) {
				c.put(k1, tx1)
				c.put(k2, tx2)
				c.delivered(k1)
			},
			want: [3]bool{false, true, false},
		},
		{
			name:    "shared by two: kept until both delivered",
			sharers: 2,
			run: func(c *SigCache) {
				c.put(k1, tx1)
				c.put(k1, tx1) // the second app finds it already verified
				c.delivered(k1)
			},
			want: [3]bool{true, false, false},
		},
		{
			name:    "shared by two: dropped after the second delivery",
			sharers: 2,
			run: func(c *SigCache) {
				c.put(k1, tx1)
				c.delivered(k1)
				c.delivered(k1)
			},
			want: [3]bool{false, false, false},
		},
		{
			name:    "a full generation moves to the old one and is still found",
			sharers: 2,
			run: func(c *SigCache) {
				c.put(k1, tx1)
				c.put(k2, tx2) // generation of 2 is full: next put rotates
				c.put(k3, tx3)
			},
			want: [3]bool{true, true, true},
		},
		{
			name:    "the oldest generation is dropped whole",
			sharers: 2,
			run: func(c *SigCache) {
				c.put(k1, tx1)
				c.put(k2, tx2)
				c.put(k3, tx3)                   // rotates: old = {k1, k2}
				c.put(txKeyOf([]byte("4")), tx3) // cur = {k3, 4}
				c.put(txKeyOf([]byte("5")), tx3) // rotates: old = {k3, 4}
			},
			want: [3]bool{false, false, true},
		},
		{
			name:    "delivery counts in the old generation too",
			sharers: 2,
			run: func(c *SigCache) {
				c.put(k1, tx1)
				c.put(k2, tx2)
				c.put(k3, tx3) // k1 now in the old generation
				c.delivered(k1)
				c.delivered(k1)
			},
			want: [3]bool{false, true, true},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := NewSigCache(3, tc.sharers) // generations of 2
			tc.run(c)
			for i, k := range [][32]byte{k1, k2, k3} {
				if got := c.get(k) != nil; got != tc.want[i] {
					t.Errorf("key %d cached = %v, want %v", i+1, got, tc.want[i])
				}
			}
		})
	}
}
