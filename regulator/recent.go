package regulator

import (
	"cmp"
	"maps"
	"slices"
	"sort"
	"time"
)

// The rules read an account's movements of a window (its last hour, day)
// at every movement of it: velocity and fast-in/fast-out at every
// transfer. Read from Badger and decoded each time, that cost grew with
// the square of an account's activity: an observer at a thousand
// transfers a second fell minutes behind (docs/performance.md, "The
// regulator observer"). recentCache keeps, per account the rules have
// read, its committed entries from a time on, appends each committed
// block's and drops what no rule has asked for. It changes no result:
// AccountEntries returns what the index holds, from wherever it reads it,
// and it is filled only from committed blocks, so a replay or a restart
// (an empty cache) raises the same alerts.

// Bounds of the cache: at most maxRecentEntries entries in all (a few
// hundred bytes each); past it, the accounts read longest ago are dropped
// until a quarter of the bound is free, so that the accounts of the
// current blocks stay (an account dropped is read from Badger again when
// a rule next asks for it).
const maxRecentEntries = 1 << 20

// recentEntries are an account's committed entries with time ≥ from,
// oldest first; span is the longest window a rule read of it, used the
// cache's clock (the number of the committed block) when a rule last read
// it or a block moved it.
type recentEntries struct {
	from    time.Time
	span    time.Duration
	entries []Entry
	used    uint64
}

type recentCache struct {
	accounts map[string]*recentEntries
	total    int
	// max bounds total (0: maxRecentEntries); clock counts committed
	// blocks.
	max   int
	clock uint64
}

// since returns a copy of addr's cached entries with time ≥ since, or ok
// false when the cache does not cover since.
func (c *recentCache) since(addr string, since time.Time) ([]Entry, bool) {
	r, ok := c.accounts[addr]
	if !ok || since.Before(r.from) {
		return nil, false
	}
	r.used = c.clock + 1 // the block being indexed, which committed numbers
	i := sort.Search(len(r.entries), func(i int) bool { return !r.entries[i].Time.Before(since) })
	return slices.Clone(r.entries[i:]), true
}

func (c *recentCache) clear() { *c = recentCache{max: c.max} }

// committed takes in a committed block at time at: the accounts read from
// the index while indexing it (loaded, as they were before it), then the
// block's entries per account (in the block's order), then drops entries
// older than each account's span.
func (c *recentCache) committed(at time.Time, loaded map[string]*recentEntries, block map[string][]Entry) {
	if c.accounts == nil {
		c.accounts = map[string]*recentEntries{}
	}
	c.clock++
	// Map order does not matter here: each account is its own.
	for addr, l := range loaded {
		l.span, l.used = at.Sub(l.from), c.clock
		if old, ok := c.accounts[addr]; ok {
			c.total -= len(old.entries)
			l.span = max(l.span, old.span)
		}
		c.accounts[addr] = l
		c.total += len(l.entries)
	}
	for _, addr := range slices.Sorted(maps.Keys(block)) {
		if r, ok := c.accounts[addr]; ok {
			r.entries = append(r.entries, block[addr]...)
			r.used = c.clock
			c.total += len(block[addr])
		}
	}
	for _, r := range c.accounts {
		if from := at.Add(-r.span); from.After(r.from) {
			i := sort.Search(len(r.entries), func(i int) bool { return !r.entries[i].Time.Before(from) })
			c.total -= i
			r.entries = slices.Delete(r.entries, 0, i)
			r.from = from
		}
	}
	if max := cmp.Or(c.max, maxRecentEntries); c.total > max {
		c.evict(max - max/4)
	}
}

// evict drops the accounts read longest ago (ties: by address, so that
// the same blocks leave the same cache) until at most target entries are
// left.
func (c *recentCache) evict(target int) {
	addrs := slices.SortedFunc(maps.Keys(c.accounts), func(a, b string) int {
		return cmp.Or(cmp.Compare(c.accounts[a].used, c.accounts[b].used), cmp.Compare(a, b))
	})
	for _, addr := range addrs {
		if c.total <= target {
			return
		}
		c.total -= len(c.accounts[addr].entries)
		delete(c.accounts, addr)
	}
}
