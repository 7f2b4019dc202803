package recon

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
)

// Reconcile matches an internal file (its bytes, read with m; name is
// what the result calls it) against a statement of the same day. The
// result's Chain is left for Range to fill.
func Reconcile(st *Statement, data []byte, name string, m Mapping) (*Result, error) {
	loc, err := time.LoadLocation(st.Day.TimeZone)
	if err != nil {
		_, off := st.Day.Start.Zone()
		loc = time.FixedZone(st.Day.TimeZone, off)
	}
	f, err := ParseInternal(bytes.NewReader(data), m, loc)
	if err != nil {
		return nil, err
	}
	if err := CheckDay(f, st.Day); err != nil {
		return nil, err
	}
	rec := Match(st.Rows, f.Records)
	h := gmcrypto.SM3(data)
	return &Result{Format: ResultFormat, Org: st.Org, Date: st.Day.Date, TimeZone: st.Day.TimeZone,
		Internal: InternalSource{Name: name, SM3: hex.EncodeToString(h[:]), Encoding: f.Encoding, Records: len(f.Records)},
		Summary:  rec.Summary, Breaks: rec.Breaks, Positions: rec.Positions, Totals: rec.Totals}, nil
}

// Anchors reads the header of a committed height: the chain id, and the
// block hash and app hash as CometBFT prints them (upper-case hex).
type Anchors interface {
	Anchor(ctx context.Context, height int64) (chainID string, a ChainAnchor, err error)
}

// Range reads the headers that anchor a day: the day's first block (its
// app hash is the state before the day) and the block after its last
// (the state after it).
func Range(ctx context.Context, n Anchors, d Day) (ChainRange, error) {
	cr := ChainRange{FromHeight: d.FromHeight, ToHeight: d.ToHeight, Complete: d.Complete, AsOfHeight: d.AsOfHeight}
	anchor := func(h int64) (*ChainAnchor, error) {
		id, a, err := n.Anchor(ctx, h)
		if err != nil {
			return nil, fmt.Errorf("header of height %d: %w", h, err)
		}
		cr.ChainID = id
		return &a, nil
	}
	var err error
	switch {
	case d.FromHeight == 0 && d.AsOfHeight > 0:
		cr.After, err = anchor(d.AsOfHeight)
	case d.FromHeight > 0:
		if cr.Before, err = anchor(d.FromHeight); err != nil {
			break
		}
		// The next block's header holds the state after the day's last
		// block, whichever day that block is in. Today it may not be
		// committed yet: then the result has no After.
		if cr.After, err = anchor(d.ToHeight + 1); err != nil && d.ToHeight == d.AsOfHeight {
			cr.After, err = nil, nil
		}
	}
	return cr, err
}
