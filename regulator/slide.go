package regulator

import (
	"math/bits"
	"sort"
	"time"
)

// Folds carried from block to block. Within a block a rule's fold of an
// account's window only grows (windowFold.upto). Between blocks the window
// moves: its start is the block's time less the rule's window, so a fold
// that began again at every block read the account's whole window once a
// block, and an account busy all day cost each block what its whole window
// holds (BenchmarkHotAccounts: 368 ms a block at first, 734 ms after a
// million transfers). A fold now keeps the entries it counted (foldItem:
// time, amount, balance, a few words each), and the next block resumes it:
// it drops the items that fell out of the window, subtracting them, and
// folds in only the entries after the last one it folded.
//
// The carried folds are a cache like the recent entries they follow
// (recent.go): kept per account in recentCache, counted in its bytes,
// dropped with the account and by a restart (recentCache.clear); a fold
// not carried begins again from the window's start, as before, and gives
// the same numbers (TestAlertsReplayIdenticallyAndOncePerWindow plays a
// node whose cache is cleared at every block against one that keeps it).
// Sums are kept wide (128 bits), so that subtracting is exact; a rule reads
// them saturated at 2⁶⁴−1, which is what adding saturated in order gives.
// A fast-in/fast-out fold that met a PvP refund is not carried: the set of
// refunded escrows changes what counts in the whole window.

// wide is a sum of uint64s that does not overflow in practice (2⁶⁴ of them).
type wide struct{ hi, lo uint64 }

func (w *wide) add(x uint64) {
	var c uint64
	w.lo, c = bits.Add64(w.lo, x, 0)
	w.hi += c
}

func (w *wide) sub(x uint64) {
	var b uint64
	w.lo, b = bits.Sub64(w.lo, x, 0)
	w.hi -= b
}

// sat is the sum, or 2⁶⁴−1 if it is larger.
func (w wide) sat() uint64 {
	if w.hi != 0 {
		return ^uint64(0)
	}
	return w.lo
}

// foldItem is an entry a carried fold counted: velocity's outgoing
// transfers; fast-in/fast-out's receipts (receipt, with the balance after
// it) and the outflows it counted after the window's first receipt.
type foldItem struct {
	at              int64 // UnixNano
	amount, balance uint64
	receipt         bool
}

const foldItemSize = 32 // bytes a foldItem holds in memory

// entryPos is where an entry is in the chain.
type entryPos struct {
	height      int64
	index, move int
}

func posOf(e *Entry) entryPos { return entryPos{e.Height, e.Index, e.Event} }

func (p entryPos) after(q entryPos) bool {
	if p.height != q.height {
		return p.height > q.height
	}
	if p.index != q.index {
		return p.index > q.index
	}
	return p.move > q.move
}

// slideID names a carried fold among an account's.
type slideID struct{ rule, asset, ledger string }

// carried is what a fold left at a block's commit, for the next block.
type carried struct {
	since int64         // the window's start it was folded from (UnixNano)
	span  time.Duration // the rule's window
	fold  windowFold
}

// resume returns the fold of k (a window of the block at time at, es)
// carried from the block before, moved to k's window start, or nil when
// there is none to resume: none carried, another window, or a start
// before the carried one's.
func resume(c *carried, k foldKey, at time.Time, es Window) *windowFold {
	if c == nil || c.span != at.Sub(time.Unix(0, k.since)) || k.since < c.since || c.fold.noCarry {
		return nil
	}
	f := c.fold // the items' array is shared: this block only appends beyond c's items
	if f.head > len(f.items)-f.head {
		f.items, f.head = append([]foldItem(nil), f.items[f.head:]...), 0
	}
	if !f.slide(k.rule, k.since) {
		return nil
	}
	// Folded so far: the window's committed entries up to the last one
	// the carried fold read (the block's own entries all come after it).
	f.upto = sort.Search(len(es.committed), func(i int) bool { return posOf(&es.committed[i]).after(c.fold.last) })
	return &f
}

// slide moves the fold of rule to a window starting at since, false for a
// rule whose folds are not carried. Velocity: the outgoing transfers
// before it leave the count and the sum. Fast-in/fast-out: the receipts
// before it leave what was received, and the outflows between a receipt
// that left and the next one leave what was passed on (they now come
// before the window's first receipt); the first receipt left sets the
// opening balance.
func (f *windowFold) slide(rule string, since int64) bool {
	switch rule {
	case RuleVelocity:
		for f.head < len(f.items) && f.items[f.head].at < since {
			f.n--
			f.sum.sub(f.items[f.head].amount)
			f.head++
		}
	case RuleFastInOut:
		p := &f.pass
		for f.head < len(f.items) && f.items[f.head].at < since {
			// The first item is always a receipt: outflows are kept only
			// after one, and leave with the receipt before them.
			p.in.sub(f.items[f.head].amount)
			f.head++
			for f.head < len(f.items) && !f.items[f.head].receipt {
				p.out.sub(f.items[f.head].amount)
				f.head++
			}
		}
		if f.head == len(f.items) {
			*p = passing{}
			break
		}
		first := f.items[f.head]
		p.opening = 0
		if first.balance >= first.amount {
			p.opening = first.balance - first.amount
		}
	default:
		return false
	}
	return true
}

// size is what c holds in memory beyond its struct.
func (c *carried) size() int { return (len(c.fold.items) - c.fold.head) * foldItemSize }
