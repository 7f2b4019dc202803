package recon

import (
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
)

// Kinds of disagreement between two banks' results for their pair, in
// the order a comparison lists them.
const (
	// The results do not cover the same part of the chain: a day not
	// over on one side, other heights, or other block or app hashes at
	// the same height (one side read a node that is not on the chain).
	DisagreeChainRange = "chain_range"
	// What the chain says about the pair differs between the results:
	// A's chain credits from B are not B's chain debits to A, or the
	// reverse. Two results over the same heights cannot differ here
	// unless one was not computed from the chain.
	DisagreeChainFlows = "chain_flows"
	// The two banks' books disagree about the pair: A's internal credits
	// from B are not B's internal debits to A, or the reverse.
	DisagreeBookFlows = "book_flows"
	// A break one side reported that involves the other bank: open until
	// both books are corrected.
	DisagreeOpenBreak = "open_break"
)

// ErrNotComparable is returned when two results are not of one pair's
// same business day on one chain.
var ErrNotComparable = errors.New("results cannot be compared")

// PairFlows is one asset's flows between the two banks as each result
// has them, A's view first: A's credits are from B, its debits to B.
type PairFlows struct {
	Asset string `json:"asset"`
	A     Flows  `json:"a"`
	B     Flows  `json:"b"`
	Agree bool   `json:"agree"`
}

// Disagreement is one thing the two results do not agree on.
type Disagreement struct {
	Kind   string `json:"kind"`
	Asset  string `json:"asset,omitempty"`
	Field  string `json:"field,omitempty"` // what differs, e.g. "a.chain_credits vs b.chain_debits"
	A      string `json:"a,omitempty"`     // A's figure
	B      string `json:"b,omitempty"`     // B's figure
	Side   string `json:"side,omitempty"`  // an open break: the org that reported it
	Break  *Break `json:"break,omitempty"`
	Detail string `json:"detail"`
}

// Comparison is the bilateral check of two organisations' results for
// the same business day: A and B agree when the chain ranges are the
// same, each side's view of the pair mirrors the other's, and neither
// has a break involving the other.
type Comparison struct {
	A             string         `json:"a"`
	B             string         `json:"b"`
	Date          string         `json:"date"`
	TimeZone      string         `json:"time_zone"`
	ChainID       string         `json:"chain_id"`
	Pairs         []PairFlows    `json:"pairs"`
	Disagreements []Disagreement `json:"disagreements"`
	Agree         bool           `json:"agree"`
}

// Compare checks a's and b's results for their pair. It fails with
// ErrNotComparable when they are of the same organisation, of different
// days or time zones, or of different chains; everything else they
// disagree on is listed.
func Compare(a, b *Result) (*Comparison, error) {
	switch {
	case a.Org == "" || b.Org == "":
		return nil, fmt.Errorf("%w: a result names no organisation", ErrNotComparable)
	case a.Org == b.Org:
		return nil, fmt.Errorf("%w: both are of %s; compare results of the two banks of a pair", ErrNotComparable, a.Org)
	case a.Date != b.Date:
		return nil, fmt.Errorf("%w: %s's is of %s, %s's of %s", ErrNotComparable, a.Org, a.Date, b.Org, b.Date)
	case a.TimeZone != b.TimeZone:
		return nil, fmt.Errorf("%w: %s cut the day in %s, %s in %s", ErrNotComparable, a.Org, a.TimeZone, b.Org, b.TimeZone)
	case a.Chain.ChainID != b.Chain.ChainID:
		return nil, fmt.Errorf("%w: %s's is of chain %q, %s's of chain %q", ErrNotComparable, a.Org, a.Chain.ChainID, b.Org, b.Chain.ChainID)
	}
	c := &Comparison{A: a.Org, B: b.Org, Date: a.Date, TimeZone: a.TimeZone, ChainID: a.Chain.ChainID,
		Pairs: []PairFlows{}, Disagreements: []Disagreement{}}
	c.Disagreements = append(c.Disagreements, compareRanges(a, b)...)

	// Each side's position with the other, per asset.
	pos := func(r *Result, cp string) map[string]Flows {
		m := map[string]Flows{}
		for _, p := range r.Positions {
			if p.Counterparty == cp {
				m[p.Asset] = p.Flows
			}
		}
		return m
	}
	pa, pb := pos(a, b.Org), pos(b, a.Org)
	var assets []string
	for _, m := range []map[string]Flows{pa, pb} {
		for asset := range m {
			if !slices.Contains(assets, asset) {
				assets = append(assets, asset)
			}
		}
	}
	slices.Sort(assets)
	zero := Flows{ChainCredits: "0", ChainDebits: "0", ChainNet: "0", InternalCredits: "0", InternalDebits: "0", InternalNet: "0", Agree: true}
	for _, asset := range assets {
		fa, ok := pa[asset]
		if !ok {
			fa = zero
		}
		fb, ok := pb[asset]
		if !ok {
			fb = zero
		}
		pf := PairFlows{Asset: asset, A: fa, B: fb, Agree: true}
		for _, m := range []struct {
			kind, field, a, b string
			what              string
		}{
			{DisagreeChainFlows, "a.chain_credits vs b.chain_debits", fa.ChainCredits, fb.ChainDebits, "on chain, %s received %s %s from %s by %s's result and %s paid %s to %s by %s's"},
			{DisagreeChainFlows, "a.chain_debits vs b.chain_credits", fa.ChainDebits, fb.ChainCredits, "on chain, %s paid %s %s to %s by %s's result and %s received %s from %s by %s's"},
			{DisagreeBookFlows, "a.internal_credits vs b.internal_debits", fa.InternalCredits, fb.InternalDebits, "%s's books have %s %s received from %s (%s's result), %s's books %s paid to %s (%s's)"},
			{DisagreeBookFlows, "a.internal_debits vs b.internal_credits", fa.InternalDebits, fb.InternalCredits, "%s's books have %s %s paid to %s (%s's result), %s's books %s received from %s (%s's)"},
		} {
			if sameAmount(m.a, m.b) {
				continue
			}
			pf.Agree = false
			c.Disagreements = append(c.Disagreements, Disagreement{Kind: m.kind, Asset: asset, Field: m.field, A: m.a, B: m.b,
				Detail: fmt.Sprintf(m.what, a.Org, m.a, asset, b.Org, a.Org, b.Org, m.b, a.Org, b.Org)})
		}
		c.Pairs = append(c.Pairs, pf)
	}

	// Breaks either side reported that involve the other bank.
	for _, side := range []struct{ r, other *Result }{{a, b}, {b, a}} {
		for i := range side.r.Breaks {
			br := &side.r.Breaks[i]
			if !involves(br, side.other.Org) {
				continue
			}
			c.Disagreements = append(c.Disagreements, Disagreement{Kind: DisagreeOpenBreak, Asset: breakAsset(br), Side: side.r.Org, Break: br,
				Detail: fmt.Sprintf("%s reports a break with %s: %s (reference %q)", side.r.Org, side.other.Org, strings.ReplaceAll(br.Kind, "_", " "), br.Reference)})
		}
	}
	c.Agree = len(c.Disagreements) == 0
	return c, nil
}

// compareRanges lists how the two results' chain ranges differ.
func compareRanges(a, b *Result) []Disagreement {
	var out []Disagreement
	add := func(field, va, vb, detail string) {
		out = append(out, Disagreement{Kind: DisagreeChainRange, Field: field, A: va, B: vb, Detail: detail})
	}
	ca, cb := a.Chain, b.Chain
	for _, s := range []struct {
		r *Result
		c ChainRange
	}{{a, ca}, {b, cb}} {
		if !s.c.Complete {
			add("complete", fmt.Sprint(ca.Complete), fmt.Sprint(cb.Complete),
				fmt.Sprintf("%s's result was computed before the day was over (as of height %d): run it again", s.r.Org, s.c.AsOfHeight))
		}
	}
	if ca.FromHeight != cb.FromHeight || ca.ToHeight != cb.ToHeight {
		add("heights", fmt.Sprintf("%d..%d", ca.FromHeight, ca.ToHeight), fmt.Sprintf("%d..%d", cb.FromHeight, cb.ToHeight),
			fmt.Sprintf("%s's result covers heights %d..%d, %s's %d..%d", a.Org, ca.FromHeight, ca.ToHeight, b.Org, cb.FromHeight, cb.ToHeight))
	}
	for _, an := range []struct {
		name   string
		pa, pb *ChainAnchor
	}{{"before", ca.Before, cb.Before}, {"after", ca.After, cb.After}} {
		if an.pa == nil || an.pb == nil || an.pa.Height != an.pb.Height {
			continue // absent (the day not over) or other heights: reported above
		}
		if an.pa.BlockHash != an.pb.BlockHash || an.pa.AppHash != an.pb.AppHash {
			add(an.name, an.pa.BlockHash+" "+an.pa.AppHash, an.pb.BlockHash+" "+an.pb.AppHash,
				fmt.Sprintf("at height %d the results name different blocks or app hashes: one side read a node that is not on the chain", an.pa.Height))
		}
	}
	return out
}

// involves reports whether a break is with the organisation org: it is
// counted under org (Break.Counterparty), or, in a result written before
// breaks named their counterparty, its chain side's counterparty is of
// org or its internal line names org.
func involves(b *Break, org string) bool {
	if b.Counterparty != "" {
		return b.Counterparty == org
	}
	if b.Chain != nil && b.Chain.CounterpartyOrg == org {
		return true
	}
	return b.Internal != nil && strings.EqualFold(b.Internal.Counterparty, org)
}

func breakAsset(b *Break) string {
	if b.Chain != nil {
		return b.Chain.Asset
	}
	if b.Internal != nil {
		return b.Internal.Asset
	}
	return ""
}

// sameAmount compares two decimal amounts as numbers ("0" and "" are
// both zero; anything that is not a number compares as text).
func sameAmount(a, b string) bool {
	x, okA := new(big.Int).SetString(cmpOrZero(a), 10)
	y, okB := new(big.Int).SetString(cmpOrZero(b), 10)
	if !okA || !okB {
		return a == b
	}
	return x.Cmp(y) == 0
}

func cmpOrZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}
