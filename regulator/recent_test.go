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
	at := time.Unix(1_780_000_000, 0)
	size := entrySize(&Entry{TxID: "0", Time: at})
	c := &recentCache{max: 40 * size}
	entries := func(n int) []Entry {
		out := make([]Entry, n)
		for i := range out {
			out[i] = Entry{TxID: fmt.Sprint(i), Time: at}
		}
		return out
	}
	// Block 1 loads a and b, block 2 c and d (10 entries each): 40, at the bound.
	c.committed(at, map[string]*recentEntries{"a": {from: at, entries: entries(10)}, "b": {from: at, entries: entries(10)}}, nil, nil)
	c.committed(at, map[string]*recentEntries{"c": {from: at, entries: entries(10)}, "d": {from: at, entries: entries(10)}}, nil, nil)
	if c.total != 40*size || len(c.accounts) != 4 {
		t.Fatalf("at the bound: %d entries, %d accounts", c.total, len(c.accounts))
	}
	// Block 3 reads b again and appends one entry to b and d: 42 > 40, so
	// the least recently read go (a, then c) until at most 30 are left.
	if _, ok := c.since("b", at); !ok {
		t.Fatal("b not cached")
	}
	c.committed(at, nil, map[string][]Entry{"b": entries(1), "d": entries(1)}, nil)
	var left []string
	for addr := range c.accounts {
		left = append(left, addr)
	}
	slices.Sort(left)
	if !slices.Equal(left, []string{"b", "d"}) || c.total != 22*size {
		t.Fatalf("after eviction: accounts %v, %d bytes; want [b d], 22 entries of %d", left, c.total, size)
	}
	// clear keeps the bound.
	c.clear()
	if c.max != 40*size || c.total != 0 || len(c.accounts) != 0 {
		t.Fatalf("cleared: %+v", c)
	}
}

// A window handed out shares the cache's entries: whatever the cache does
// after (append a block's entries, drop what fell out of the window, copy
// the rest to a new array), the window reads what it read when it was
// handed out.
func TestRecentCacheWindowsStayAsHandedOut(t *testing.T) {
	c := &recentCache{}
	at := time.Unix(1_780_000_000, 0)
	block := func(h int) []Entry {
		out := make([]Entry, 3)
		for i := range out {
			out[i] = Entry{TxID: fmt.Sprintf("%d/%d", h, i), Height: int64(h), Time: at.Add(time.Duration(h) * time.Second)}
		}
		return out
	}
	// The account is read with a window of 10 s, from block 0 on.
	c.committed(at, map[string]*recentEntries{"a": {from: at.Add(-10 * time.Second), entries: block(0)}}, nil, nil)
	var views [][]Entry
	var want [][]Entry
	for h := 1; h <= 40; h++ {
		v, ok := c.since("a", at.Add(time.Duration(h-10)*time.Second))
		if !ok {
			t.Fatalf("block %d: a not cached", h)
		}
		views, want = append(views, v), append(want, slices.Clone(v))
		c.committed(at.Add(time.Duration(h)*time.Second), nil, map[string][]Entry{"a": block(h)}, nil)
	}
	for i, v := range views {
		if !slices.EqualFunc(v, want[i], func(a, b Entry) bool { return a.TxID == b.TxID }) {
			t.Fatalf("window of block %d changed after it was handed out", i+1)
		}
	}
	// What is cached is the last 10 s, and the dropped head was let go.
	r := c.accounts["a"]
	if got := len(r.live()); got != 33 || r.live()[0].Height != 30 {
		t.Fatalf("cached %d entries from height %d; want 33 from 30", got, r.live()[0].Height)
	}
	if r.head > len(r.live()) {
		t.Fatalf("a dropped head of %d entries kept beside %d live", r.head, len(r.live()))
	}
	if c.total != entriesSize(r.live()) {
		t.Fatalf("total %d, want %d", c.total, entriesSize(r.live()))
	}
}
