package regulator

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// The cache of recent entries, past its bound, drops the accounts read
// longest ago, not everything: the accounts of the latest block stay, and
// what is left fits three quarters of the bound.
func TestRecentCacheEvictsAccountsReadLongestAgo(t *testing.T) {
	c := &recentCache{max: 40}
	at := time.Unix(1_780_000_000, 0)
	entries := func(n int) []Entry {
		out := make([]Entry, n)
		for i := range out {
			out[i] = Entry{TxID: fmt.Sprint(i), Time: at}
		}
		return out
	}
	// Block 1 loads a and b, block 2 c and d (10 entries each): 40, at the bound.
	c.committed(at, map[string]*recentEntries{"a": {from: at, entries: entries(10)}, "b": {from: at, entries: entries(10)}}, nil)
	c.committed(at, map[string]*recentEntries{"c": {from: at, entries: entries(10)}, "d": {from: at, entries: entries(10)}}, nil)
	if c.total != 40 || len(c.accounts) != 4 {
		t.Fatalf("at the bound: %d entries, %d accounts", c.total, len(c.accounts))
	}
	// Block 3 reads b again and appends one entry to b and d: 42 > 40, so
	// the least recently read go (a, then c) until at most 30 are left.
	if _, ok := c.since("b", at); !ok {
		t.Fatal("b not cached")
	}
	c.committed(at, nil, map[string][]Entry{"b": entries(1), "d": entries(1)})
	var left []string
	for addr := range c.accounts {
		left = append(left, addr)
	}
	slices.Sort(left)
	if !slices.Equal(left, []string{"b", "d"}) || c.total != 22 {
		t.Fatalf("after eviction: accounts %v, %d entries; want [b d], 22", left, c.total)
	}
	// clear keeps the bound.
	c.clear()
	if c.max != 40 || c.total != 0 || len(c.accounts) != 0 {
		t.Fatalf("cleared: %+v", c)
	}
}
