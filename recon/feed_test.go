package recon

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
)

func TestCursorParse(t *testing.T) {
	cases := []struct {
		in   string
		want Cursor
		err  string // in the error; "" parses
	}{
		{"120.3.1", Cursor{120, 3, 1}, ""},
		{"1.0.0", Cursor{1, 0, 0}, ""},
		{"7", Cursor{7, 0, 0}, ""},
		{"9223372036854775807.4294967295.4294967295", Cursor{math.MaxInt64, math.MaxUint32, math.MaxUint32}, ""},
		{"", Cursor{}, "an empty number"},
		{"0", Cursor{}, "height 0"},
		{"0.0.0", Cursor{}, "height 0"},
		{"1.2", Cursor{}, "2 parts"},
		{"1.2.3.4", Cursor{}, "4 parts"},
		{"1..3", Cursor{}, "an empty number"},
		{"1.2.", Cursor{}, "an empty number"},
		{"01.2.3", Cursor{}, "a leading zero"},
		{"1.02.3", Cursor{}, "a leading zero"},
		{"+1.2.3", Cursor{}, "not a decimal number"},
		{"-1.2.3", Cursor{}, "not a decimal number"},
		{" 1.2.3", Cursor{}, "not a decimal number"},
		{"1.2.3 ", Cursor{}, "not a decimal number"},
		{"1_000.2.3", Cursor{}, "not a decimal number"},
		{"0x10.2.3", Cursor{}, "a leading zero"},
		{"1x.2.3", Cursor{}, "not a decimal number"},
		{"１.2.3", Cursor{}, "not a decimal number"}, // a full-width digit
		{"9223372036854775808.0.0", Cursor{}, "out of range"},
		{"1.4294967296.0", Cursor{}, "out of range"},
		{"1.0.4294967296", Cursor{}, "out of range"},
		{strings.Repeat("1", 63), Cursor{}, "too long"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseCursor(c.in)
			if c.err != "" {
				if err == nil || !errors.Is(err, ErrBadCursor) || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("ParseCursor(%q) = %v, %v; want an error saying %q", c.in, got, err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("ParseCursor(%q) = %v, %v; want %v", c.in, got, err, c.want)
			}
			if back, err := ParseCursor(got.String()); err != nil || back != got {
				t.Fatalf("round trip of %v: %v, %v", got, back, err)
			}
		})
	}
}

// FuzzParseCursor: the parser never panics, accepts only what it prints,
// and what it accepts prints back as the same cursor.
func FuzzParseCursor(f *testing.F) {
	for _, s := range []string{"120.3.1", "7", "0", "1..2", "01.2.3", "9223372036854775807.4294967295.4294967295", "１.2.3", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCursor(s)
		if err != nil {
			if !errors.Is(err, ErrBadCursor) {
				t.Fatalf("ParseCursor(%q): error %v is not ErrBadCursor", s, err)
			}
			return
		}
		if c.Height < 1 {
			t.Fatalf("ParseCursor(%q) = %v: height below 1", s, c)
		}
		if s != c.String() && s != strconv.FormatInt(c.Height, 10) {
			t.Fatalf("ParseCursor(%q) = %v, which prints as %q", s, c, c.String())
		}
		if back, err := ParseCursor(c.String()); err != nil || back != c {
			t.Fatalf("round trip of %v: %v, %v", c, back, err)
		}
	})
}

// chainBlocks reads a fakeChain as the block and state stores.
type chainBlocks struct{ *fakeChain }

func (c chainBlocks) Stored() (int64, int64, error) { return c.Heights() }
func (c chainBlocks) BlockTxs(h int64) (time.Time, []*abci.TxResult, error) {
	at, err := c.BlockTime(h)
	var txs []*abci.TxResult
	for _, r := range c.txs {
		if r.Height == h {
			txs = append(txs, r)
		}
	}
	return at, txs, err
}

func feedLines(ms []Movement) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Org+" "+line(m.Row)+" next="+m.Cursor)
	}
	return out
}

// TestReadFeed: the whole feed, one organisation's, and pages of every
// size from every cursor walk the same sequence, with no gap and no
// duplicate; cursors out of the node's range are typed errors.
func TestReadFeed(t *testing.T) {
	b := chainBlocks{newChain(dayTxs)}
	ctx := context.Background()
	all, err := ReadFeed(ctx, b, FeedQuery{From: Cursor{Height: 1}, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if all.Next != "41.0.0" || all.Latest != 40 {
		t.Fatalf("next %s latest %d, want 41.0.0 and 40", all.Next, all.Latest)
	}
	// Every organisation's statement rows, in order, are its feed.
	st, err := Build(ctx, b.fakeChain, cst, Request{Org: "bankA", Date: "2026-12-03"})
	if err != nil {
		t.Fatal(err)
	}
	var fromStatement, fromFeed []string
	for _, r := range st.Rows {
		fromStatement = append(fromStatement, line(r))
	}
	bankA, err := ReadFeed(ctx, b, FeedQuery{From: Cursor{Height: 10}, Org: "bankA", Limit: 1000, Loc: cst})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range bankA.Movements {
		if m.Height <= 33 {
			fromFeed = append(fromFeed, line(m.Row))
		}
		if m.Org != "bankA" {
			t.Fatalf("bankA's feed holds %s's row %s", m.Org, line(m.Row))
		}
	}
	if strings.Join(fromFeed, "\n") != strings.Join(fromStatement, "\n") {
		t.Fatalf("bankA's feed:\n%s\nits statement:\n%s", strings.Join(fromFeed, "\n"), strings.Join(fromStatement, "\n"))
	}
	// Both sides of a transfer between two banks are in the full feed,
	// one cursor apart.
	want := []string{
		`bankA 11/1/0 transfer debit 30 CNY a1 b1@bankB "INV-1" =870 next=11.1.1`,
		`bankB 11/1/0 transfer credit 30 CNY b1 a1@bankA "INV-1" =130 next=11.1.2`,
	}
	got := feedLines(all.Movements)
	if strings.Join(got[2:4], "\n") != strings.Join(want, "\n") {
		t.Fatalf("full feed starts:\n%s", strings.Join(got[:4], "\n"))
	}
	// Pages from every cursor of the full feed, for every org filter.
	for _, org := range []string{"", "bankA", "bankB", "bankC"} {
		whole, err := ReadFeed(ctx, b, FeedQuery{From: Cursor{Height: 1}, Org: org, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for limit := 1; limit <= 4; limit++ {
			var walked []Movement
			for cur, pages := "1", 0; ; pages++ {
				c, err := ParseCursor(cur)
				if err != nil {
					t.Fatal(err)
				}
				p, err := ReadFeed(ctx, b, FeedQuery{From: c, Org: org, Limit: limit, MaxHeights: 3})
				if err != nil {
					t.Fatal(err)
				}
				walked = append(walked, p.Movements...)
				if cur = p.Next; cur == "41.0.0" || pages > 1000 {
					break
				}
			}
			if strings.Join(feedLines(walked), "\n") != strings.Join(feedLines(whole.Movements), "\n") {
				t.Fatalf("org %q limit %d: pages walk\n%s\nthe feed is\n%s", org, limit, strings.Join(feedLines(walked), "\n"), strings.Join(feedLines(whole.Movements), "\n"))
			}
		}
		// Resuming from any movement's cursor gives exactly the rest.
		for i, m := range whole.Movements {
			c, _ := ParseCursor(m.Cursor)
			rest, err := ReadFeed(ctx, b, FeedQuery{From: c, Org: org, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(feedLines(rest.Movements), "\n") != strings.Join(feedLines(whole.Movements[i+1:]), "\n") {
				t.Fatalf("org %q from %s: %v", org, m.Cursor, feedLines(rest.Movements))
			}
		}
	}

	b.base = 5
	b.times = b.times[4:]
	var pruned *PrunedCursorError
	if _, err := ReadFeed(ctx, b, FeedQuery{From: Cursor{Height: 4, Tx: 1}, Limit: 1}); !errors.As(err, &pruned) || pruned.Base != 5 ||
		!strings.Contains(err.Error(), "from height 5") {
		t.Fatalf("cursor below the base: %v", err)
	}
	var future *FutureCursorError
	for _, c := range []Cursor{{Height: 42}, {Height: 41, Tx: 1}, {Height: 41, Move: 1}} {
		if _, err := ReadFeed(ctx, b, FeedQuery{From: c, Limit: 1}); !errors.As(err, &future) || !strings.Contains(err.Error(), "latest height is 40") {
			t.Fatalf("cursor %s: %v", c, err)
		}
	}
	if p, err := ReadFeed(ctx, b, FeedQuery{From: Cursor{Height: 41}, Limit: 1}); err != nil || len(p.Movements) != 0 || p.Next != "41.0.0" {
		t.Fatalf("the next cursor of a caught-up feed: %+v, %v", p, err)
	}
}
