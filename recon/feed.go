package recon

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
)

// Cursor is a position in the event feed: the next movement to deliver,
// as (height, transaction index in the block, movement index in the
// transaction's TxMovements). Movement indexes count every
// organisation's rows, so a cursor means the same for every caller and
// a member's feed, which skips the other organisations' rows, resumes
// where it stopped with no gap and no duplicate. A cursor past the last
// movement of a transaction, or past the last transaction of a block,
// is the start of what follows.
type Cursor struct {
	Height int64
	Tx     uint32
	Move   uint32
}

// String is the cursor's text form, "height.tx.move" (e.g. "120.3.1").
func (c Cursor) String() string {
	return fmt.Sprintf("%d.%d.%d", c.Height, c.Tx, c.Move)
}

// ErrBadCursor: a cursor's text is not a cursor.
var ErrBadCursor = errors.New("malformed cursor")

// maxCursorLen bounds what ParseCursor reads: three 20-digit numbers and
// two dots.
const maxCursorLen = 62

// ParseCursor reads "height.tx.move", or "height" for the start of a
// height (height.0.0). Numbers are decimal, without sign, spaces or
// leading zeros; height is at least 1. Every number a cursor printed by
// String holds reads back as itself.
func ParseCursor(s string) (Cursor, error) {
	var c Cursor
	bad := func(why string) (Cursor, error) {
		q := s
		if len(q) > maxCursorLen {
			q = q[:maxCursorLen] + "…"
		}
		return Cursor{}, fmt.Errorf("%w %q: %s (want height.tx.move, e.g. 120.3.1, or a height)", ErrBadCursor, q, why)
	}
	if len(s) > maxCursorLen {
		return bad("too long")
	}
	parts := strings.Split(s, ".")
	if len(parts) != 1 && len(parts) != 3 {
		return bad(fmt.Sprintf("%d parts", len(parts)))
	}
	var nums [3]uint64
	for i, p := range parts {
		if p == "" {
			return bad("an empty number")
		}
		if len(p) > 1 && p[0] == '0' {
			return bad("a leading zero")
		}
		for _, r := range p {
			if r < '0' || r > '9' {
				return bad("not a decimal number")
			}
		}
		bits := 32
		if i == 0 {
			bits = 63
		}
		n, err := strconv.ParseUint(p, 10, bits)
		if err != nil {
			return bad("out of range")
		}
		nums[i] = n
	}
	if nums[0] == 0 {
		return bad("height 0: heights start at 1")
	}
	c.Height, c.Tx, c.Move = int64(nums[0]), uint32(nums[1]), uint32(nums[2])
	return c, nil
}

// Blocks is what the event feed reads from a node: its committed blocks
// and their FinalizeBlock results (block store and state store), not the
// tx index, so a hole in the index hides nothing.
type Blocks interface {
	// Stored returns the lowest height the node keeps a block of and
	// the highest whose results are saved.
	Stored() (base, latest int64, err error)
	// BlockTxs returns height h's block time and its transactions with
	// their results, in block order (Index set).
	BlockTxs(h int64) (time.Time, []*abci.TxResult, error)
}

// Movement is one row of the feed: a movement of an organisation's
// account and the cursor that follows it (SSE id; resume from it).
type Movement struct {
	Cursor string `json:"cursor"`
	// Move is the row's index in its transaction's movements.
	Move uint32 `json:"move"`
	OrgRow
}

// Page is one read of the feed.
type Page struct {
	Movements []Movement `json:"movements"`
	// Next is where to continue: the cursor of the movement after the
	// last one listed, or the start of the first height not yet read.
	Next string `json:"next_cursor"`
	// Latest is the node's highest height with results; Next past it
	// means the feed is caught up.
	Latest int64 `json:"latest_height"`
}

// PrunedCursorError: the cursor is below the node's earliest stored
// block (pruned, or the node started from a snapshot).
type PrunedCursorError struct {
	Cursor Cursor
	Base   int64
}

func (e *PrunedCursorError) Error() string {
	return fmt.Sprintf("cursor %s: this node keeps blocks from height %d on; earlier ones are pruned (resume from %d.0.0 and accept the gap, or ask a node that keeps them)", e.Cursor, e.Base, e.Base)
}

// FutureCursorError: the cursor is beyond the next height to commit, so
// no feed of this chain's node gave it.
type FutureCursorError struct {
	Cursor Cursor
	Latest int64
}

func (e *FutureCursorError) Error() string {
	return fmt.Sprintf("cursor %s is from the future: the latest height is %d, so the furthest cursor is %d.0.0 (is it from another chain?)", e.Cursor, e.Latest, e.Latest+1)
}

// FeedQuery selects a page of the feed.
type FeedQuery struct {
	From Cursor
	// Org keeps one organisation's rows; "" keeps every organisation's.
	Org string
	// Ledger keeps one sub-ledger's rows; "" keeps every sub-ledger's.
	Ledger string
	// Limit is the most movements to return (at least 1).
	Limit int
	// MaxHeights is the most heights to read (0: no bound), so that a
	// selective feed over a long chain answers with progress.
	MaxHeights int64
	// Loc is the zone of the rows' times (nil: UTC).
	Loc *time.Location
}

// Check validates the names q filters by.
func (q FeedQuery) Check() error {
	if q.Org != "" && !orgPattern.MatchString(q.Org) {
		return fmt.Errorf("%w: organisation %q: want 1-64 of [A-Za-z0-9_.-], starting alphanumeric", ErrInvalid, q.Org)
	}
	if q.Ledger != "" && !ledgerPattern.MatchString(q.Ledger) {
		return fmt.Errorf("%w: sub-ledger %q: want 1-64 of [A-Za-z0-9_.-]", ErrInvalid, q.Ledger)
	}
	return nil
}

// ReadFeed returns the movements from q.From on, in chain order. A
// cursor below the node's base is a *PrunedCursorError; one past
// latest.0.0 is a *FutureCursorError (a client resuming from the next
// cursor of a caught-up page asks for latest+1.0.0, which is allowed
// and empty).
func ReadFeed(ctx context.Context, b Blocks, q FeedQuery) (*Page, error) {
	base, latest, err := b.Stored()
	if err != nil {
		return nil, err
	}
	from := q.From
	switch {
	case from.Height < base:
		return nil, &PrunedCursorError{Cursor: from, Base: base}
	case from.Height > latest+1 || from.Height == latest+1 && (from.Tx != 0 || from.Move != 0):
		return nil, &FutureCursorError{Cursor: from, Latest: latest}
	}
	loc := q.Loc
	if loc == nil {
		loc = time.UTC
	}
	limit := max(q.Limit, 1)
	page := &Page{Movements: []Movement{}, Latest: latest}
	next := Cursor{Height: latest + 1}
	for h := from.Height; h <= latest; h++ {
		if q.MaxHeights > 0 && h-from.Height >= q.MaxHeights {
			next = Cursor{Height: h}
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		at, txs, err := b.BlockTxs(h)
		if err != nil {
			return nil, err
		}
		at = at.In(loc)
		for _, r := range txs {
			if h == from.Height && r.Index < from.Tx {
				continue
			}
			rows, err := TxMovements(r, at)
			if err != nil {
				return nil, err
			}
			for m, row := range rows {
				if h == from.Height && r.Index == from.Tx && uint32(m) < from.Move {
					continue
				}
				if q.Org != "" && row.Org != q.Org || q.Ledger != "" && row.Ledger != q.Ledger {
					continue
				}
				after := Cursor{Height: h, Tx: r.Index, Move: uint32(m) + 1}
				page.Movements = append(page.Movements, Movement{Cursor: after.String(), Move: uint32(m), OrgRow: row})
				if len(page.Movements) == limit {
					page.Next = after.String()
					return page, nil
				}
			}
		}
	}
	page.Next = next.String()
	return page, nil
}
