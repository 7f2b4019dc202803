package recon

import (
	"errors"
	"fmt"
	"sort"
	"time"
)

// DateLayout is how a business day is written: YYYY-MM-DD.
const DateLayout = "2006-01-02"

// Headers is what the day cut reads from a node's block store.
type Headers interface {
	// Heights returns the lowest and the highest height whose header can
	// be read and whose transactions are indexed; top is 0 before the
	// first block.
	Heights() (base, top int64, err error)
	// BlockTime returns the time in the header of block h (base ≤ h ≤ top).
	BlockTime(h int64) (time.Time, error)
}

// Day is a business day [Start, End) in a time zone and the blocks whose
// header time falls in it.
type Day struct {
	Date     string    `json:"date"`
	TimeZone string    `json:"time_zone"`
	Start    time.Time `json:"start"` // midnight, included
	End      time.Time `json:"end"`   // the next midnight, excluded
	// FromHeight and ToHeight are the day's first and last block, both
	// included; both are 0 when no block falls in the day.
	FromHeight int64 `json:"from_height"`
	ToHeight   int64 `json:"to_height"`
	// Complete: the chain has a block at or after End, so no block that
	// is still to come falls in the day. False for today and later days.
	Complete bool `json:"complete"`
	// AsOfHeight is the highest height the cut looked at.
	AsOfHeight int64 `json:"as_of_height"`
}

// ErrInvalid marks a request that names something malformed (a date, an
// organisation, an account); the message names what.
var ErrInvalid = errors.New("invalid statement request")

// PrunedError: the node no longer keeps blocks that may fall in the day
// (its block store starts at Base, pruned or restored from a snapshot).
type PrunedError struct {
	Date     string
	Base     int64
	BaseTime time.Time
}

func (e *PrunedError) Error() string {
	return fmt.Sprintf("day %s: this node keeps blocks from height %d (%s) on; earlier blocks, which may fall in the day, are pruned: ask a node that keeps them",
		e.Date, e.Base, e.BaseTime.UTC().Format(time.RFC3339))
}

// ParseDate returns the midnights that open and close date in loc. A day
// is 24 hours except where loc changes its clock.
func ParseDate(date string, loc *time.Location) (start, end time.Time, err error) {
	d, err := time.ParseInLocation(DateLayout, date, loc)
	if err != nil {
		return start, end, fmt.Errorf("%w: date %q: want YYYY-MM-DD", ErrInvalid, date)
	}
	y, m, dd := d.Date()
	return time.Date(y, m, dd, 0, 0, 0, 0, loc), time.Date(y, m, dd+1, 0, 0, 0, 0, loc), nil
}

// FindDay finds the heights of the blocks of date in loc with two binary
// searches over block times: about 2·log₂(height) header reads, however
// long the chain. Days before the first block have no block and are
// complete; days after the last block have none yet and are not.
func FindDay(h Headers, date string, loc *time.Location) (Day, error) {
	start, end, err := ParseDate(date, loc)
	if err != nil {
		return Day{}, err
	}
	base, top, err := h.Heights()
	if err != nil {
		return Day{}, fmt.Errorf("day %s: %w", date, err)
	}
	day := Day{Date: date, TimeZone: loc.String(), Start: start, End: end, AsOfHeight: top}
	if top < 1 {
		return day, nil
	}
	base = max(base, 1)
	if base > 1 {
		t, err := h.BlockTime(base)
		if err != nil {
			return Day{}, fmt.Errorf("day %s: %w", date, err)
		}
		// Blocks below base are older than it: they are outside the day
		// only when base's own time is not after its start.
		if t.After(start) {
			return Day{}, &PrunedError{Date: date, Base: base, BaseTime: t}
		}
	}
	first, err := firstAtOrAfter(h, base, top, start)
	if err != nil {
		return Day{}, fmt.Errorf("day %s: %w", date, err)
	}
	next, err := firstAtOrAfter(h, first, top, end)
	if err != nil {
		return Day{}, fmt.Errorf("day %s: %w", date, err)
	}
	day.Complete = next <= top
	if first < next {
		day.FromHeight, day.ToHeight = first, next-1
	}
	return day, nil
}

// firstAtOrAfter is the lowest height in [lo, top] whose block time is at
// or after t, or top+1 when there is none.
func firstAtOrAfter(h Headers, lo, top int64, t time.Time) (int64, error) {
	if lo > top {
		return lo, nil
	}
	var err error
	i := sort.Search(int(top-lo+1), func(i int) bool {
		if err != nil {
			return true
		}
		bt, e := h.BlockTime(lo + int64(i))
		if e != nil {
			err = e
			return true
		}
		return !bt.Before(t)
	})
	return lo + int64(i), err
}

// Today is the date, in loc, of the latest block: the business day a
// statement without a date is of. It reads no clock but the chain's.
func Today(h Headers, loc *time.Location) (string, error) {
	_, top, err := h.Heights()
	if err != nil {
		return "", err
	}
	if top < 1 {
		return "", fmt.Errorf("the chain has no block yet: name a date")
	}
	t, err := h.BlockTime(top)
	if err != nil {
		return "", err
	}
	return t.In(loc).Format(DateLayout), nil
}
