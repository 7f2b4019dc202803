package app

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/jinlian-ledger/jinlian/contracts/payments"
	"github.com/jinlian-ledger/jinlian/contracts/reserves"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
)

// maxReservesLeaves bounds the leaves reservesLeaves keeps, over all
// assets, and the balances written since the last reserves height it
// holds: 16M entries of 28 bytes (about 450 MB; up to twice that while a
// reserves height merges). A chain with more positive balances iterates
// them at every reserves height.
const maxReservesLeaves = 16_000_000

// reservesLeaves keeps, beside the state, the positive balances of every
// asset as of the last reserves height, and the balances each block wrote
// since (ledger.Store.Written), so that the next reserves height merges
// what changed instead of iterating every balance in IAVL (about 10 µs an
// account read from disk: 10 s per asset at a million accounts, at every
// reserves height). It is a cache, a pure function of the state at the
// height it holds and the writes since: a node without it (restarted,
// restored from a snapshot, or one that missed a block) iterates the
// balances at its next reserves height, and both give the same record
// (TestReservesLeavesFollowTheState).
type reservesLeaves struct {
	// valid: sets holds the positive balances at the end of the last
	// reserves height (empty at the genesis, whose writes the first
	// block's carry), and written every balance written since, up to the
	// end of the block of height collected.
	valid     bool
	collected int64
	sets      map[string][]reserves.Entry
	written   map[string]map[gmcrypto.Address]uint64
	size      int // entries in sets and written
	// chunks are the upper levels of each set's Merkle-sum tree
	// (reserves.Chunks), where computed, so that a reserves height
	// rehashes what changed since; nextChunks those of the height being
	// computed.
	chunks, nextChunks map[string]*reserves.Chunks
	// next are the sets of the reserves height being computed.
	next map[string][]reserves.Entry
	off  bool // Options.noReservesCache: always iterate
	// merges counts the sets computed by a merge (tests).
	merges int
}

func leavesKey(ledgerName, sym string) string { return ledgerName + "\x00" + sym }

// startAtGenesis: no balance before the genesis's writes, which the
// first block's follow finds among its own.
func (c *reservesLeaves) startAtGenesis() {
	c.reset()
	if !c.off {
		c.valid, c.sets, c.written = true, map[string][]reserves.Entry{}, map[string]map[gmcrypto.Address]uint64{}
	}
}

// startAfterBulkLoad is startAtGenesis for a genesis whose generated
// accounts were bulk loaded: their balances are not among the first
// block's writes (ledger.Store.Written does not list bulk records), so the
// leaves start from the genesis's balances, read once here in key order,
// as if height 0 were a reserves height. Reading them at the first
// reserves height instead stalled that block (ten million balances read
// from the trees in FinalizeBlock).
func (c *reservesLeaves) startAfterBulkLoad(kv ledger.Reader, p payments.Keeper, ledgers []string) error {
	c.reset()
	if c.off {
		return nil
	}
	for _, l := range ledgers {
		assets, err := p.Assets(kv, l)
		if err != nil {
			c.reset()
			return err
		}
		for _, as := range assets {
			if _, err := c.entries(kv, p, l, as.Symbol, 0); err != nil {
				c.reset()
				return fmt.Errorf("reserves leaves of %s on %s after the bulk load: %w", as.Symbol, l, err)
			}
		}
	}
	c.done(0)
	return nil
}

// follow records the balances the block of height wrote in ledgers, and
// forgets everything when it did not see the block before (a gap would
// leave writes untracked) or holds more than maxReservesLeaves.
func (c *reservesLeaves) follow(store *ledger.Store, height int64, ledgers []string) error {
	if !c.valid {
		return nil
	}
	if c.collected != height-1 {
		c.reset()
		return nil
	}
	for _, l := range ledgers {
		for _, w := range store.Written(l, payments.BalanceKeysPrefix) {
			sym, addr, ok := payments.ParseBalanceKey(w.Key)
			if !ok {
				continue
			}
			bal, _, _, err := payments.DecodeBalanceRecord(w.Value)
			if err != nil {
				return fmt.Errorf("balance of %s %s on %s: %w", addr, sym, l, err)
			}
			lk := leavesKey(l, sym)
			m := c.written[lk]
			if m == nil {
				m = map[gmcrypto.Address]uint64{}
				c.written[lk] = m
			}
			if _, seen := m[addr]; !seen {
				c.size++
			}
			m[addr] = bal
		}
	}
	c.collected = height
	if c.size > maxReservesLeaves {
		c.reset()
	}
	return nil
}

func (c *reservesLeaves) reset() {
	*c = reservesLeaves{off: c.off, merges: c.merges}
}

// entries returns the positive balances of sym on ledgerName at the end
// of the block of height, in account order: the kept set merged with the
// balances written since, when the leaves follow the chain up to height;
// read from kv in one ordered iteration otherwise.
func (c *reservesLeaves) entries(kv ledger.Reader, p payments.Keeper, ledgerName, sym string, height int64) ([]reserves.Entry, error) {
	out, _, err := c.collect(kv, p, ledgerName, sym, height)
	return out, err
}

// merged is what collect reports of a merge (mergeLeaves): the leaves that
// changed before from, the first that moved.
type merged struct {
	changed []int
	from    int
}

// collect is entries, with what changed since the kept set when it merged
// (nil when it iterated).
func (c *reservesLeaves) collect(kv ledger.Reader, p payments.Keeper, ledgerName, sym string, height int64) ([]reserves.Entry, *merged, error) {
	lk := leavesKey(ledgerName, sym)
	var out []reserves.Entry
	var m *merged
	if c.valid && c.collected == height {
		m = &merged{}
		out, m.changed, m.from = mergeLeaves(c.sets[lk], c.written[lk])
		c.merges++
	} else {
		err := p.IterateBalances(kv, ledgerName, sym, func(addr gmcrypto.Address, amount uint64) bool {
			out = append(out, reserves.Entry{Account: addr, Balance: amount})
			return true
		})
		if err != nil {
			return nil, nil, err
		}
	}
	if c.next == nil {
		c.next = map[string][]reserves.Entry{}
	}
	c.next[lk] = out
	return out, m, nil
}

// root is the root of sym's Merkle-sum tree on ledgerName at the end of
// the block of height, and its number of leaves: the kept tree's chunks
// updated with the balances written since, when the leaves follow the
// chain up to height and hold its chunks; else computed whole, from the
// entries, keeping its chunks for the next reserves height. ok false when
// the leaves are off (the keeper then builds the root itself).
func (c *reservesLeaves) root(kv ledger.Reader, p payments.Keeper, ledgerName, sym string, height int64) (reserves.Node, uint64, bool, error) {
	if c.off {
		return reserves.Node{}, 0, false, nil
	}
	lk := leavesKey(ledgerName, sym)
	kept := c.chunks[lk] // before collect: it is of the kept set
	keptFor := len(c.sets[lk])
	es, m, err := c.collect(kv, p, ledgerName, sym, height)
	if err != nil {
		return reserves.Node{}, 0, false, err
	}
	var root reserves.Node
	ch := kept
	if m != nil && kept != nil && kept.Len() == keptFor {
		root, err = ch.Update(es, m.changed, m.from)
	} else {
		ch = &reserves.Chunks{}
		root, err = ch.Rebuild(es)
	}
	if err != nil {
		return reserves.Node{}, 0, false, err
	}
	if c.nextChunks == nil {
		c.nextChunks = map[string]*reserves.Chunks{}
	}
	c.nextChunks[lk] = ch
	return root, uint64(ch.Len()), true, nil
}

// mergeLeaves applies to old the balances written since. It reports, for
// reserves.Chunks.Update, the indexes of the leaves whose balance changed
// before from, and from, the index of the first leaf that moved (an
// account that appeared or emptied; -1: none).
//
// When no leaf moves (every written balance replaces a positive one, as
// in a chain whose accounts are all funded) old is updated in place and
// returned: a reserves height then costs what was written, not a copy of
// every leaf (at ten million accounts the copy was 280 MB, a quarter of a
// second, at every reserves height). That is safe because the result
// replaces the kept set (done) or everything is forgotten (reset), as the
// kept chunks are updated in place too; merging the same writes again
// gives the same leaves. Otherwise out is a new slice and old is left as
// it was.
func mergeLeaves(old []reserves.Entry, written map[gmcrypto.Address]uint64) (out []reserves.Entry, changedAt []int, from int) {
	from = -1
	if len(written) == 0 {
		return old, nil, from
	}
	changed := make([]reserves.Entry, 0, len(written))
	for addr, b := range written {
		changed = append(changed, reserves.Entry{Account: addr, Balance: b})
	}
	slices.SortFunc(changed, func(x, y reserves.Entry) int { return bytes.Compare(x.Account[:], y.Account[:]) })
	if at, ok := replacedOnly(old, changed); ok {
		for _, r := range at {
			old[r.at].Balance = r.balance
			changedAt = append(changedAt, r.at)
		}
		return old, changedAt, from
	}
	out = make([]reserves.Entry, 0, len(old)+len(changed))
	i := 0
	moved := func() {
		if from < 0 {
			from = len(out)
		}
	}
	for _, ch := range changed {
		for i < len(old) && bytes.Compare(old[i].Account[:], ch.Account[:]) < 0 {
			out = append(out, old[i])
			i++
		}
		switch {
		case i < len(old) && old[i].Account == ch.Account && ch.Balance > 0: // replaced
			i++
			if from < 0 {
				changedAt = append(changedAt, len(out))
			}
			out = append(out, ch)
		case i < len(old) && old[i].Account == ch.Account: // emptied: gone
			i++
			moved()
		case ch.Balance > 0: // a new account
			moved()
			out = append(out, ch)
		}
	}
	return append(out, old[i:]...), changedAt, from
}

// replacedOnly tells whether merging changed (in account order) into old
// moves no leaf: every account written a positive balance is in old, and
// every account written zero is not (a no-op). It returns where each
// positive one is.
func replacedOnly(old, changed []reserves.Entry) ([]replaced, bool) {
	at := make([]replaced, 0, len(changed))
	lo := 0
	for _, ch := range changed {
		i, found := slices.BinarySearchFunc(old[lo:], ch.Account, func(e reserves.Entry, a gmcrypto.Address) int {
			return bytes.Compare(e.Account[:], a[:])
		})
		if found != (ch.Balance > 0) {
			return nil, false
		}
		if found {
			at = append(at, replaced{lo + i, ch.Balance})
		}
		lo += i
	}
	return at, true
}

type replaced struct {
	at      int
	balance uint64
}

// done makes the sets computed at the reserves height the kept ones.
func (c *reservesLeaves) done(height int64) {
	next, chunks := c.next, c.nextChunks
	c.reset()
	size := 0
	for _, es := range next {
		size += len(es)
	}
	if c.off || size > maxReservesLeaves {
		return
	}
	c.valid, c.sets, c.collected, c.size = true, next, height, size
	c.chunks = chunks
	c.written = map[string]map[gmcrypto.Address]uint64{}
}

// leavesBank is reservesBank for the reserves heights of FinalizeBlock:
// it serves the balances from the leaves kept beside the state.
type leavesBank struct {
	reservesBank
	c      *reservesLeaves
	height int64
}

// Root implements reserves.RootBank.
func (b leavesBank) Root(kv ledger.Reader, ledgerName, sym string) (reserves.Node, uint64, bool, error) {
	return b.c.root(kv, b.p, ledgerName, sym, b.height)
}

func (b leavesBank) IterateBalances(kv ledger.Reader, ledgerName, sym string, fn func(gmcrypto.Address, uint64) bool) error {
	es, err := b.c.entries(kv, b.p, ledgerName, sym, b.height)
	if err != nil {
		return err
	}
	for _, e := range es {
		if !fn(e.Account, e.Balance) {
			return nil
		}
	}
	return nil
}
