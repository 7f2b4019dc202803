package app

import (
	"bytes"
	"slices"

	"github.com/jinlian-ledger/jinlian/contracts/payments"
	"github.com/jinlian-ledger/jinlian/contracts/reserves"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
)

// maxReservesLeaves bounds the leaves reservesLeaves keeps, over all
// assets: 16M entries of 28 bytes (about 450 MB; twice that while a
// reserves height merges). A chain with more positive balances iterates
// them at every reserves height.
const maxReservesLeaves = 16_000_000

// reservesLeaves keeps, beside the state, the positive balances of every
// asset as of the last reserves height, and follows the balance keys each
// block writes (ledger.Store.WrittenKeys), so that the next reserves
// height merges what changed instead of iterating every balance in IAVL
// (about 10 µs an account read from disk: 10 s per asset at a million
// accounts, at every reserves height). It is a cache, a pure function of
// the state at the height it holds and the writes since: a node without
// it (restarted, restored from a snapshot, or one that missed a block)
// iterates the balances, and both give the same record
// (TestReservesLeavesFollowTheState).
type reservesLeaves struct {
	at        int64 // the height whose end-of-block balances sets holds; 0: none
	collected int64 // the last height whose written keys are in dirty
	sets      map[string][]reserves.Entry
	dirty     map[string]map[gmcrypto.Address]struct{}
	// next are the sets of the reserves height being computed.
	next  map[string][]reserves.Entry
	total int
	off   bool // Options.noReservesCache: always iterate
	// merges counts the sets computed by a merge (tests).
	merges int
}

func leavesKey(ledgerName, sym string) string { return ledgerName + "\x00" + sym }

// follow records the balance keys the block of height wrote in ledgers,
// and forgets everything when it did not see the block before: a gap
// would leave writes untracked.
func (c *reservesLeaves) follow(store *ledger.Store, height int64, ledgers []string) {
	if c.at == 0 {
		return
	}
	if c.collected != height-1 {
		c.reset()
		return
	}
	for _, l := range ledgers {
		for _, k := range store.WrittenKeys(l, payments.BalanceKeysPrefix) {
			sym, addr, ok := payments.ParseBalanceKey(k)
			if !ok {
				continue
			}
			lk := leavesKey(l, sym)
			d := c.dirty[lk]
			if d == nil {
				d = map[gmcrypto.Address]struct{}{}
				c.dirty[lk] = d
			}
			d[addr] = struct{}{}
		}
	}
	c.collected = height
}

func (c *reservesLeaves) reset() {
	c.at, c.collected, c.sets, c.dirty, c.next, c.total = 0, 0, nil, nil, nil, 0
}

// entries returns the positive balances of sym on ledgerName at the end
// of the block of height, in account order: merged from the kept set and
// the accounts written since when the set follows the chain up to
// height, read from kv in one ordered iteration otherwise.
func (c *reservesLeaves) entries(kv ledger.KV, p payments.Keeper, ledgerName, sym string, height int64) ([]reserves.Entry, error) {
	lk := leavesKey(ledgerName, sym)
	old, kept := c.sets[lk]
	dirty := c.dirty[lk]
	var out []reserves.Entry
	var err error
	if !c.off && c.at > 0 && c.collected == height && kept && len(dirty) <= len(old)/4+1024 {
		out, err = mergeLeaves(kv, p, ledgerName, sym, old, dirty)
		c.merges++
	} else {
		err = p.IterateBalances(kv, ledgerName, sym, func(addr gmcrypto.Address, amount uint64) bool {
			out = append(out, reserves.Entry{Account: addr, Balance: amount})
			return true
		})
	}
	if err != nil {
		return nil, err
	}
	if c.next == nil {
		c.next = map[string][]reserves.Entry{}
	}
	c.next[lk] = out
	c.total += len(out)
	return out, nil
}

// mergeLeaves applies to old the balances the accounts of dirty hold now.
func mergeLeaves(kv ledger.KV, p payments.Keeper, ledgerName, sym string, old []reserves.Entry, dirty map[gmcrypto.Address]struct{}) ([]reserves.Entry, error) {
	changed := make([]reserves.Entry, 0, len(dirty))
	for addr := range dirty {
		b, err := p.Balance(kv, ledgerName, sym, addr)
		if err != nil {
			return nil, err
		}
		changed = append(changed, reserves.Entry{Account: addr, Balance: b})
	}
	slices.SortFunc(changed, func(x, y reserves.Entry) int { return bytes.Compare(x.Account[:], y.Account[:]) })
	out := make([]reserves.Entry, 0, len(old)+len(changed))
	i := 0
	for _, ch := range changed {
		for i < len(old) && bytes.Compare(old[i].Account[:], ch.Account[:]) < 0 {
			out = append(out, old[i])
			i++
		}
		if i < len(old) && old[i].Account == ch.Account {
			i++ // replaced, or gone if now zero
		}
		if ch.Balance > 0 {
			out = append(out, ch)
		}
	}
	return append(out, old[i:]...), nil
}

// done makes the sets computed at the reserves height the kept ones, or
// keeps none when they exceed maxReservesLeaves.
func (c *reservesLeaves) done(height int64) {
	next, total := c.next, c.total
	c.reset()
	if c.off || total > maxReservesLeaves {
		return
	}
	c.sets, c.at, c.collected = next, height, height
	c.dirty = map[string]map[gmcrypto.Address]struct{}{}
}

// leavesBank is reservesBank for the reserves heights of FinalizeBlock:
// it serves the balances from the leaves kept beside the state.
type leavesBank struct {
	reservesBank
	c      *reservesLeaves
	height int64
}

func (b leavesBank) IterateBalances(kv ledger.Reader, ledgerName, sym string, fn func(gmcrypto.Address, uint64) bool) error {
	w, ok := kv.(ledger.KV)
	if !ok {
		return b.reservesBank.IterateBalances(kv, ledgerName, sym, fn)
	}
	es, err := b.c.entries(w, b.p, ledgerName, sym, b.height)
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
