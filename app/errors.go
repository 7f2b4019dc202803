package app

import "github.com/jinlian-ledger/jinlian/internal/errs"

const codespace = "app"

// Registered errors of the transaction pipeline, grouped by phase as they
// are checked: decoding, authentication, then admission against state.
var (
	ErrTxDecode       = errs.Register(codespace, 2, "malformed transaction")
	ErrUnknownMessage = errs.Register(codespace, 3, "unknown message")
	ErrBadSignature   = errs.Register(codespace, 4, "invalid signature")
	ErrWrongChainID   = errs.Register(codespace, 5, "wrong chain id")
	ErrStaleTimestamp = errs.Register(codespace, 6, "timestamp outside the accepted window")
	ErrReplay         = errs.Register(codespace, 7, "duplicate transaction")
	ErrUnknownLedger  = errs.Register(codespace, 8, "unknown sub-ledger")
	ErrBadGenesis     = errs.Register(codespace, 9, "invalid genesis")
	ErrBadQuery       = errs.Register(codespace, 10, "invalid query")
	ErrBadQC          = errs.Register(codespace, 11, "invalid quorum certificate")
	ErrConfidential   = errs.Register(codespace, 12, "invalid confidential payload")
	ErrCheckpointKey  = errs.Register(codespace, 13, "invalid checkpoint key registration")
	ErrBadParams      = errs.Register(codespace, 14, "parameter out of range")
)
