package ledger

import (
	"fmt"
	"slices"
)

// The working trees take a block's writes late.
//
// Set and Delete only log the write: reads of the working state are
// answered by s.pending, which every write updates at once. The log is
// applied to the trees, in the order it was written, when something needs
// the trees themselves (WorkingHash, Commit, an Iterate of that ledger).
// A block's transactions then run without IAVL's copy-on-write of a path
// per write, and a key written again and again in a block (a bank
// gateway's balance, a counter) costs one path instead of one per write.
//
// Applying the log is applying the same operations in the same order, so
// the trees, their shape and their hashes are exactly those of writing at
// once (TestDeferredWritesHashAsImmediate). The one liberty: a key set
// again, with no delete of it in between, is set once with its last value
// at the place of its first set. That changes nothing IAVL keeps: setting
// a key a tree holds replaces the leaf's value and does not rebalance, and
// the hashes are computed from the final values only.

// treeOp is one logged write; value nil deletes key.
type treeOp struct {
	ledger     string
	key, value []byte
}

// logWrite logs a write to the working tree of ledger (value nil:
// delete). Under s.mu.
func (s *Store) logWrite(ledger string, key, value []byte, lk string) {
	if value != nil {
		if i, ok := s.opAt[lk]; ok {
			s.ops[i].value = value
			return
		}
		s.opAt[lk] = len(s.ops)
	} else {
		delete(s.opAt, lk)
	}
	s.ops = append(s.ops, treeOp{ledger: ledger, key: key, value: value})
	s.opsIn[ledger]++
}

// applyOps writes the log to the working trees. Under s.mu (write). A
// failure (a node that cannot be read) breaks the store, as a failed
// Commit does.
func (s *Store) applyOps() error {
	return s.applyOpsOf("")
}

// applyOpsOf writes the log's writes to ledger's working tree (every
// tree's when ledger is ""), in order; the other trees' wait. The trees
// are independent, so the order between ledgers does not matter.
func (s *Store) applyOpsOf(ledger string) error {
	if s.broken != nil {
		return s.broken
	}
	rest := s.ops[:0]
	for _, op := range s.ops {
		if ledger != "" && op.ledger != ledger {
			rest = append(rest, op)
			continue
		}
		t, err := s.tree(op.ledger)
		if err == nil {
			if op.value == nil {
				_, _, err = t.Remove(op.key)
			} else {
				_, err = t.Set(op.key, op.value)
			}
		}
		if err != nil {
			s.broken = damaged(s.dir, fmt.Errorf("write to ledger %s, reopen the store: %w", op.ledger, err))
			return s.broken
		}
	}
	if len(rest) == 0 {
		s.dropOps()
		return nil
	}
	// The other ledgers' writes are logged again, in order.
	rest = slices.Clone(rest)
	s.dropOps()
	for _, op := range rest {
		s.logWrite(op.ledger, op.key, op.value, latestKeyOf(op.ledger, op.key))
	}
	return nil
}

// opsFor reports whether the log holds writes to ledger. Under s.mu.
func (s *Store) opsFor(ledger string) bool { return s.opsIn[ledger] > 0 }

// dropOps forgets the log (applied, or rolled back).
func (s *Store) dropOps() {
	clear(s.ops) // no references to the values kept
	s.ops = s.ops[:0]
	clear(s.opAt)
	clear(s.opsIn)
}
