package recon

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// pairResults is bankA's and bankB's results of one day whose books
// match the chain: bankA's from dayRows, bankB's from the mirror of
// bankA's movements with bankB. edit changes bankB's rows or records
// before matching.
func pairResults(t *testing.T, editA, editB func(rows []Row, recs []Record) ([]Row, []Record)) (*Result, *Result) {
	t.Helper()
	rowsA := dayRows(t)
	var rowsB []Row
	for _, r := range rowsA {
		if r.CounterpartyOrg != "bankB" {
			continue
		}
		m := r
		m.Account, m.Counterparty, m.CounterpartyOrg = r.Counterparty, r.Account, "bankA"
		m.Direction = map[string]string{Debit: Credit, Credit: Debit}[r.Direction]
		rowsB = append(rowsB, m)
	}
	result := func(org string, rows []Row, edit func([]Row, []Record) ([]Row, []Record)) *Result {
		var recs []Record
		for i, r := range rows {
			recs = append(recs, Record{Line: i + 2, Reference: r.Memo, TxID: r.TxID, Direction: r.Direction, Amount: r.Amount, Asset: r.Asset,
				Counterparty: r.Counterparty})
		}
		if edit != nil {
			rows, recs = edit(slices.Clone(rows), recs)
		}
		rec := Match(rows, recs)
		day := reconDay(t)
		return &Result{Format: ResultFormat, Org: org, Date: day.Date, TimeZone: day.TimeZone,
			Chain: ChainRange{ChainID: "jinlian-test", FromHeight: day.FromHeight, ToHeight: day.ToHeight, Complete: true, AsOfHeight: day.AsOfHeight,
				Before: &ChainAnchor{Height: day.FromHeight, BlockHash: "AA", AppHash: "BB"},
				After:  &ChainAnchor{Height: day.ToHeight + 1, BlockHash: "CC", AppHash: "DD"}},
			Summary: rec.Summary, Breaks: rec.Breaks, Positions: rec.Positions, Totals: rec.Totals}
	}
	return result("bankA", rowsA, editA), result("bankB", rowsB, editB)
}

func TestCompare(t *testing.T) {
	// drop removes the record or row with the reference.
	dropRecord := func(ref string) func([]Row, []Record) ([]Row, []Record) {
		return func(rows []Row, recs []Record) ([]Row, []Record) {
			return rows, slices.DeleteFunc(recs, func(r Record) bool { return r.Reference == ref })
		}
	}
	for _, tc := range []struct {
		name  string
		editA func([]Row, []Record) ([]Row, []Record)
		editB func([]Row, []Record) ([]Row, []Record)
		mut   func(a, b *Result)
		want  []string // kind field/side, in order
	}{
		{name: "books and chain agree", want: nil},
		{name: "bankB never booked a payment from bankA", editB: dropRecord("INV-001"),
			// INV-001: bankA pays bankB 100 CNY; bankB's books lack the credit.
			want: []string{"book_flows a.internal_debits vs b.internal_credits CNY", "open_break bankB missing_internally"}},
		{name: "bankA booked a payment to bankB twice",
			editA: func(rows []Row, recs []Record) ([]Row, []Record) {
				dup := recs[0] // INV-001, to bankB
				dup.Line = 99
				return rows, append(recs, dup)
			},
			want: []string{"book_flows a.internal_debits vs b.internal_credits CNY", "open_break bankA duplicate_internal"}},
		{name: "a break with a third bank is not the pair's", editA: dropRecord("INV-002"), want: nil},
		{name: "a payment on bankA's side of the chain only",
			editA: func(rows []Row, recs []Record) ([]Row, []Record) {
				r := rows[0]
				r.TxID, r.Memo, r.Amount = strings.Repeat("e", 64), "INV-X", 5
				rec := Record{Line: 98, Reference: r.Memo, TxID: r.TxID, Direction: r.Direction, Amount: r.Amount, Asset: r.Asset, Counterparty: r.Counterparty}
				return append(rows, r), append(recs, rec)
			},
			want: []string{"chain_flows a.chain_debits vs b.chain_credits CNY", "book_flows a.internal_debits vs b.internal_credits CNY"}},
		{name: "bankB computed before the day was over",
			mut:  func(a, b *Result) { b.Chain.Complete, b.Chain.ToHeight, b.Chain.After = false, 30, nil },
			want: []string{"chain_range complete", "chain_range heights"}},
		{name: "other block at the same height",
			mut: func(a, b *Result) {
				b.Chain.Before = &ChainAnchor{Height: a.Chain.Before.Height, BlockHash: "EE", AppHash: "BB"}
			},
			want: []string{"chain_range before"}},
		{name: "other app hash after the day",
			mut: func(a, b *Result) {
				b.Chain.After = &ChainAnchor{Height: a.Chain.After.Height, BlockHash: "CC", AppHash: "FF"}
			},
			want: []string{"chain_range after"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := pairResults(t, tc.editA, tc.editB)
			if tc.mut != nil {
				tc.mut(a, b)
			}
			c, err := Compare(a, b)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range c.Disagreements {
				switch d.Kind {
				case DisagreeOpenBreak:
					got = append(got, d.Kind+" "+d.Side+" "+d.Break.Kind)
				case DisagreeChainRange:
					got = append(got, d.Kind+" "+d.Field)
				default:
					got = append(got, d.Kind+" "+d.Field+" "+d.Asset)
				}
				if d.Detail == "" {
					t.Errorf("disagreement %+v has no detail", d)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("disagreements\n%q\nwant\n%q", got, tc.want)
			}
			if c.Agree != (len(tc.want) == 0) {
				t.Fatalf("agree = %v with %d disagreements", c.Agree, len(tc.want))
			}
			if len(c.Pairs) != 2 || c.Pairs[0].Asset != "CNY" || c.Pairs[1].Asset != "USD" || !c.Pairs[1].Agree {
				t.Fatalf("pairs %+v", c.Pairs)
			}
			// The comparison is symmetric in what it finds.
			r, err := Compare(b, a)
			if err != nil || len(r.Disagreements) != len(c.Disagreements) {
				t.Fatalf("B against A: %v, %d disagreements, A against B %d", err, len(r.Disagreements), len(c.Disagreements))
			}
		})
	}
}

func TestCompareNotComparable(t *testing.T) {
	for _, tc := range []struct {
		name string
		mut  func(a, b *Result)
		want string
	}{
		{"same organisation", func(a, b *Result) { b.Org = "bankA" }, "both are of bankA"},
		{"no organisation", func(a, b *Result) { a.Org = "" }, "names no organisation"},
		{"another day", func(a, b *Result) { b.Date = "2026-12-04" }, "bankB's of 2026-12-04"},
		{"another time zone", func(a, b *Result) { b.TimeZone = "UTC" }, "bankB in UTC"},
		{"another chain", func(a, b *Result) { b.Chain.ChainID = "other" }, `bankB's of chain "other"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := pairResults(t, nil, nil)
			tc.mut(a, b)
			_, err := Compare(a, b)
			if !errors.Is(err, ErrNotComparable) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want ErrNotComparable naming %q", err, tc.want)
			}
		})
	}
}

func TestBreaksNameTheirCounterparty(t *testing.T) {
	rows := dayRows(t)
	recs := []Record{{Line: 2, Reference: "INV-001", Direction: Debit, Amount: 7, Asset: "CNY", Counterparty: b1},
		{Line: 3, Reference: "NEW", Direction: Debit, Amount: 7, Asset: "CNY", Counterparty: c1},
		{Line: 4, Reference: "ELSE", Direction: Debit, Amount: 7, Asset: "CNY", Counterparty: "some bank"}}
	rec := Match(rows[:2], recs)
	got := map[string]string{}
	for _, b := range rec.Breaks {
		got[b.Kind+" "+b.Reference] = b.Counterparty
	}
	want := map[string]string{
		"amount_mismatch INV-001":    "bankB",     // paired: the chain's organisation
		"missing_on_chain NEW":       "bankC",     // unpaired, account known from the day's rows
		"missing_on_chain ELSE":      "some bank", // unknown: what the file says
		"missing_internally INV-002": "bankC",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: counterparty %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
}
