package app

import (
	"github.com/jinlian-ledger/jinlian/internal/errs"
	"github.com/jinlian-ledger/jinlian/wire"
)

// codespace is shared with package wire, which registers the decoding
// errors (codes 2-4) of the same pipeline.
const codespace = wire.Codespace

// Registered errors of the transaction pipeline after decoding (wire has
// codes 2-4), grouped by phase as they are checked: authentication, then
// admission against state.
var (
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
