package reserves

import "github.com/jinlian-ledger/jinlian/internal/errs"

const codespace = "reserves"

// Registered errors: those of the state machine and the query, then those
// a verifier of a bundle reports, each naming what failed.
var (
	ErrNoRecord = errs.Register(codespace, 2, "no reserves record")
	ErrNoLeaf   = errs.Register(codespace, 3, "account not in the reserves tree")
	ErrBadLeaf  = errs.Register(codespace, 4, "invalid reserves leaf")
	// ErrSumOverflow: a node's sum does not fit in 64 bits (a forged
	// sibling sum that would wrap around, as a negative balance would).
	ErrSumOverflow = errs.Register(codespace, 5, "reserves sum overflow")

	ErrBadBundle = errs.Register(codespace, 10, "malformed reserves bundle")
	// ErrPathShape: the sibling path is not the one the leaf's index and
	// the leaf count determine.
	ErrPathShape = errs.Register(codespace, 11, "reserves path has the wrong shape")
	// ErrRootMismatch: the leaf and path do not lead to the committed root.
	ErrRootMismatch = errs.Register(codespace, 12, "reserves path does not lead to the committed root")
	// ErrTotalMismatch: the root's sum is not the committed total.
	ErrTotalMismatch = errs.Register(codespace, 13, "reserves path does not sum to the committed total")
	// ErrRecordMismatch: the record the bundle shows is not the record
	// whose bytes are proven.
	ErrRecordMismatch = errs.Register(codespace, 14, "reserves record differs from the proven record")
	// ErrRecordNotProven: the record is not in the ledger's IAVL tree.
	ErrRecordNotProven = errs.Register(codespace, 15, "reserves record not proven in the ledger's state")
	// ErrAppHashMismatch: the ledger roots do not hash to the app hash.
	ErrAppHashMismatch = errs.Register(codespace, 16, "ledger roots do not hash to the app hash")
	// ErrSupplyMismatch: total + pending redemptions ≠ issued − burned.
	ErrSupplyMismatch = errs.Register(codespace, 17, "reserves total does not match the supply")
	// ErrNotCertified: the app hash is not the one a quorum certified.
	ErrNotCertified = errs.Register(codespace, 18, "app hash not certified")
)
