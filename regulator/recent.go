package regulator

import (
	"cmp"
	"maps"
	"slices"
	"sort"
	"time"
	"unsafe"
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

// Bound of the cache: DefaultRecentCacheBytes of entries in all
// (entrySize: about 400 bytes a transfer), IndexOptions.RecentCacheBytes
// on a node ([regulator] recent_cache_mb); past it, the accounts read
// longest ago are dropped until a quarter of the bound is free, so that
// the accounts of the current blocks stay (an account dropped is read
// from Badger again when a rule next asks for it). A day of a million
// transfers among ten accounts, all in the rules' windows, is two million
// entries: about 800 MB.
const DefaultRecentCacheBytes = 1 << 30

// entrySize is what an entry holds in memory, its strings counted as its
// own (an entry read from the index has its own; the two entries of a
// block's transfer share theirs, so this over-counts those).
func entrySize(e *Entry) int {
	return int(unsafe.Sizeof(*e)) + len(e.TxID) + len(e.Kind) + len(e.Ledger) + len(e.Asset) +
		len(e.From) + len(e.To) + len(e.FromOrg) + len(e.ToOrg)
}

func entriesSize(es []Entry) int {
	n := 0
	for i := range es {
		n += entrySize(&es[i])
	}
	return n
}

// recentEntries are an account's committed entries with time ≥ from,
// oldest first: entries[head:]. Entries that fall out of every window
// only move the head, so a block costs no copy of a long window; the
// rest is copied to a new array once the dropped head is larger than
// it. span is the longest window a rule read of it, used the cache's
// clock (the number of the committed block) when a rule last read it or
// a block moved it.
type recentEntries struct {
	from    time.Time
	span    time.Duration
	entries []Entry
	head    int
	used    uint64
	size    int // entriesSize(live()) + the carried folds' sizes
	// The rules' folds of its windows, carried to the next block (slide.go).
	carried map[slideID]*carried
}

// live are the entries with time ≥ from.
func (r *recentEntries) live() []Entry { return r.entries[r.head:] }

// since returns r's entries with time ≥ since, shared with r: the cache
// only appends after them and never writes over an entry it handed out,
// so the slice stays as it is (read, never modified).
func (r *recentEntries) since(since time.Time) []Entry {
	live := r.live()
	i := sort.Search(len(live), func(i int) bool { return !live[i].Time.Before(since) })
	return slices.Clip(live[i:])
}

type recentCache struct {
	accounts map[string]*recentEntries
	total    int // bytes, the sum of the accounts' sizes
	// max bounds total (0: DefaultRecentCacheBytes); clock counts
	// committed blocks.
	max   int
	clock uint64
}

// since returns addr's cached entries with time ≥ since (shared, see
// recentEntries.since), or ok false when the cache does not cover since.
func (c *recentCache) since(addr string, since time.Time) ([]Entry, bool) {
	r, ok := c.accounts[addr]
	if !ok || since.Before(r.from) {
		return nil, false
	}
	r.used = c.clock + 1 // the block being indexed, which committed numbers
	return r.since(since), true
}

func (c *recentCache) clear() { *c = recentCache{max: c.max} }

// carried is the fold of k's rule, account, asset and ledger that the last
// committed block left, or nil.
func (c *recentCache) carried(k foldKey) *carried {
	if r, ok := c.accounts[k.addr]; ok {
		return r.carried[slideID{k.rule, k.asset, k.ledger}]
	}
	return nil
}

// committed takes in a committed block at time at: the accounts read from
// the index while indexing it (loaded, as they were before it), then the
// block's entries per account (in the block's order), then drops entries
// older than each account's span.
func (c *recentCache) committed(at time.Time, loaded map[string]*recentEntries, block map[string][]Entry, folds map[foldKey]*windowFold) {
	if c.accounts == nil {
		c.accounts = map[string]*recentEntries{}
	}
	c.clock++
	// Map order does not matter here: each account is its own.
	for addr, l := range loaded {
		l.span, l.used, l.size = at.Sub(l.from), c.clock, entriesSize(l.live())
		if old, ok := c.accounts[addr]; ok {
			c.total -= old.size
			l.span = max(l.span, old.span)
		}
		c.accounts[addr] = l
		c.total += l.size
	}
	for _, addr := range slices.Sorted(maps.Keys(block)) {
		if r, ok := c.accounts[addr]; ok {
			r.entries = append(r.entries, block[addr]...)
			r.used = c.clock
			n := entriesSize(block[addr])
			r.size += n
			c.total += n
		}
	}
	// The block's folds, for the next block, where their accounts are
	// kept (map order does not matter either: each fold is its own).
	for k, f := range folds {
		r, ok := c.accounts[k.addr]
		if !ok {
			continue
		}
		id := slideID{k.rule, k.asset, k.ledger}
		if old, ok := r.carried[id]; ok {
			r.size -= old.size()
			c.total -= old.size()
			delete(r.carried, id)
		}
		if f.noCarry {
			continue
		}
		if r.carried == nil {
			r.carried = map[slideID]*carried{}
		}
		cf := &carried{since: k.since, span: at.Sub(time.Unix(0, k.since)), fold: *f}
		r.carried[id] = cf
		r.size += cf.size()
		c.total += cf.size()
	}
	for _, r := range c.accounts {
		if from := at.Add(-r.span); from.After(r.from) {
			live := r.live()
			i := sort.Search(len(live), func(i int) bool { return !live[i].Time.Before(from) })
			n := entriesSize(live[:i])
			r.size -= n
			c.total -= n
			r.head += i
			r.from = from
			if r.head > len(r.entries)-r.head {
				// A new array: the old one may be shared with a window
				// handed out (which then keeps it alive).
				r.entries, r.head = slices.Clone(r.live()), 0
			}
		}
	}
	if max := cmp.Or(c.max, DefaultRecentCacheBytes); c.total > max {
		c.evict(max - max/4)
	}
}

// evict drops the accounts read longest ago (ties: by address, so that
// the same blocks leave the same cache) until at most target bytes are
// left.
func (c *recentCache) evict(target int) {
	addrs := slices.SortedFunc(maps.Keys(c.accounts), func(a, b string) int {
		return cmp.Or(cmp.Compare(c.accounts[a].used, c.accounts[b].used), cmp.Compare(a, b))
	})
	for _, addr := range addrs {
		if c.total <= target {
			return
		}
		c.total -= c.accounts[addr].size
		delete(c.accounts, addr)
	}
}
