package recon

import (
	"context"
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/movement"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// HeightsError: a range of heights a node cannot list movements of,
// because it keeps no blocks of part of it (pruned, or joined by state
// sync) or has not committed all of it yet.
type HeightsError struct {
	From, To     int64
	Base, Latest int64
}

func (e *HeightsError) Error() string {
	return fmt.Sprintf("heights %d..%d: this node keeps the blocks and results of heights %d..%d only (ask a node that keeps the range, such as an archive observer)", e.From, e.To, e.Base, e.Latest)
}

// CheckAccount validates acct and writes its address in canonical form
// (40 lower-case hex digits).
func CheckAccount(acct *movement.Account) error {
	if !ledgerPattern.MatchString(acct.Ledger) {
		return fmt.Errorf("%w: sub-ledger %q: want 1-64 of [A-Za-z0-9_.-]", ErrInvalid, acct.Ledger)
	}
	if !assetPattern.MatchString(acct.Asset) {
		return fmt.Errorf("%w: asset %q: want 1-32 of [A-Za-z0-9_.-], starting alphanumeric", ErrInvalid, acct.Asset)
	}
	a, err := gmcrypto.ParseAddress(acct.Address)
	if err != nil {
		return fmt.Errorf("%w: account: %v", ErrInvalid, err)
	}
	acct.Address = a.String()
	return nil
}

// AccountMovements lists every movement of acct at heights from..to (both
// included), in chain order, from the node's blocks and their saved
// results: what movement.Verify checks against the account's commitments
// after from−1 and after to. It reads every block of the range rather
// than the tx index, which finds transactions by sender and recipient
// organisation but not by account (a custody account's payments are sent
// by its signers), and whose holes would hide movements; the commitment
// check catches a list that is incomplete anyway.
func AccountMovements(ctx context.Context, b Blocks, acct movement.Account, from, to int64) ([]movement.Movement, error) {
	if err := CheckAccount(&acct); err != nil {
		return nil, err
	}
	if from < 1 || to < from {
		return nil, fmt.Errorf("%w: heights %d..%d: want 1 ≤ from ≤ to", ErrInvalid, from, to)
	}
	base, latest, err := b.Stored()
	if err != nil {
		return nil, err
	}
	if from < base || to > latest {
		return nil, &HeightsError{From: from, To: to, Base: base, Latest: latest}
	}
	out := []movement.Movement{}
	for h := from; h <= to; h++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		txs, err := txResults(b, h)
		if err != nil {
			return nil, err
		}
		for _, r := range txs {
			ms, err := txAccountMovements(r)
			if err != nil {
				return nil, err
			}
			for _, m := range ms {
				if m.Of() == acct {
					out = append(out, m)
				}
			}
		}
	}
	return out, nil
}

// ResultsReader is what a Blocks may also offer: height h's transactions'
// results alone, without the block (Tx may be nil), where the results
// cost less to read without the block, as over a node's RPC, whose block
// carries every transaction again in its JSON. AccountMovements reads
// only the results' events.
type ResultsReader interface {
	TxResults(h int64) ([]*abci.TxResult, error)
}

// ResultsAt is height h's results as a ResultsReader answers them: in
// block order, Index set, without the transactions.
func ResultsAt(h int64, rs []*abci.ExecTxResult) []*abci.TxResult {
	txs := make([]*abci.TxResult, len(rs))
	for i, r := range rs {
		txs[i] = &abci.TxResult{Height: h, Index: uint32(i), Result: *r}
	}
	return txs
}

// txResults reads height h's results, alone where b offers it.
func txResults(b Blocks, h int64) ([]*abci.TxResult, error) {
	if rr, ok := b.(ResultsReader); ok {
		return rr.TxResults(h)
	}
	_, txs, err := b.BlockTxs(h)
	return txs, err
}

// txAccountMovements is movement.FromEvents of one committed transaction,
// with the id and sender its jinlian_tx event names.
func txAccountMovements(r *abci.TxResult) ([]movement.Movement, error) {
	if r.Result.Code != abci.CodeTypeOK {
		return nil, nil // a failed transaction moves nothing
	}
	var jt *txpb.EventJinlianTx
	for _, ev := range r.Result.Events {
		if ev.Type != "jinlian_tx" {
			continue
		}
		m, _, err := wire.ParseEvent(ev)
		if err != nil {
			return nil, fmt.Errorf("height %d tx %d: %w", r.Height, r.Index, err)
		}
		jt, _ = m.(*txpb.EventJinlianTx)
	}
	id, sender := "", ""
	if jt != nil {
		id, sender = jt.Id, jt.Sender
	}
	ms, err := movement.FromEvents(r.Height, r.Index, id, sender, r.Result.Events)
	if err != nil {
		return nil, err
	}
	if len(ms) > 0 && jt == nil {
		// A transaction the app made itself (a QC, a checkpoint) moves nothing.
		return nil, fmt.Errorf("height %d tx %d: movements without a jinlian_tx event", r.Height, r.Index)
	}
	return ms, nil
}

// Movement is the movement a statement row reports, for checking a
// statement's rows of one account against the account's completeness
// commitments (movement.Verify over the day's heights). ok is false for
// the rows that move no balance of the row's account: an issuer's
// "issued" and "retired" rows.
func (r Row) Movement() (m movement.Movement, ok bool) {
	if r.Direction != Credit && r.Direction != Debit {
		return m, false
	}
	m = movement.Movement{Height: r.Height, TxIndex: r.TxIndex, TxID: r.TxID, Event: uint32(r.EventIndex), Ledger: r.Ledger, Asset: r.Asset,
		Account: r.Account, Kind: r.Kind, Direction: r.Direction, Amount: r.Amount, Counterparty: r.Counterparty, Memo: r.Memo}
	if r.BalanceAfter != nil {
		m.BalanceAfter = *r.BalanceAfter
	}
	if r.Redemption != nil {
		m.Redemption = *r.Redemption
	}
	return m, true
}
