package wire

import "github.com/jinlian-ledger/jinlian/internal/errs"

// Codespace is the ABCI codespace of the transaction pipeline. Package app
// registers the errors of the later phases in it.
const Codespace = "app"

// Registered errors of decoding: codes 2-4 of the pipeline's codespace.
var (
	ErrTxDecode       = errs.Register(Codespace, 2, "malformed transaction")
	ErrUnknownMessage = errs.Register(Codespace, 3, "unknown message")
	ErrBadSignature   = errs.Register(Codespace, 4, "invalid signature")
)
