package recon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// indexedChain is a fakeChain with a movement index of heights lo..hi,
// built from its transactions with TxMovements and kept encoded, as a
// node keeps it.
type indexedChain struct {
	*fakeChain
	lo, hi int64
	rows   map[string][][]byte // by organisation, in order
	reads  int
}

func withIndex(c *fakeChain, lo, hi int64) *indexedChain {
	ic := &indexedChain{fakeChain: c, lo: lo, hi: hi, rows: map[string][][]byte{}}
	for _, r := range c.txs {
		if r.Height < lo || r.Height > hi {
			continue
		}
		at, err := c.BlockTime(r.Height)
		if err != nil {
			panic(err)
		}
		mv, err := TxMovements(r, at.UTC())
		if err != nil {
			panic(err)
		}
		for _, m := range mv {
			ic.rows[m.Org] = append(ic.rows[m.Org], AppendIndexedRow(nil, &m.Row))
		}
	}
	return ic
}

func (c *indexedChain) Indexed() (int64, int64) { return c.lo, c.hi }

func (c *indexedChain) OrgRows(ctx context.Context, org string, from, to int64, fn func(Row) error) error {
	if from < c.lo || to > c.hi {
		return fmt.Errorf("fake index: heights %d-%d outside %d-%d", from, to, c.lo, c.hi)
	}
	c.reads++
	for _, b := range c.rows[org] {
		r, err := DecodeIndexedRow(b)
		if err != nil {
			return err
		}
		if r.Height >= from && r.Height <= to {
			if err := fn(r); err != nil {
				return err
			}
		}
	}
	return nil
}

// tailChain is an indexedChain that reads the heights its index has not
// reached from its blocks (BlockTail).
type tailChain struct {
	*indexedChain
	blockReads []int64
}

func (c *tailChain) BlockTxs(h int64) (time.Time, []*abci.TxResult, error) {
	c.blockReads = append(c.blockReads, h)
	at, err := c.BlockTime(h)
	if err != nil {
		return time.Time{}, nil, err
	}
	var txs []*abci.TxResult
	for _, r := range c.txs {
		if r.Height == h {
			txs = append(txs, r)
		}
	}
	return at, txs, nil
}

// lateTxs is dayTxs with movements late in the day, which an index that
// trails the block store has not reached.
var lateTxs = append(slices.Clip(dayTxs),
	tx{height: 25, sender: a1, org: "bankA", events: []protoreflect.ProtoMessage{xfer("payments", "CNY", a1, b1, "bankB", 3, 804, 141, "late-1")}},
	tx{height: 33, sender: b1, org: "bankB", events: []protoreflect.ProtoMessage{xfer("payments", "CNY", b1, a2, "bankA", 4, 137, 27, "late-2")}},
)

// TestBuildFromTheMovementIndex: a statement read from a node's movement
// index, whole or in part, with the heights it has not reached read from
// the blocks or searched in the tx index, is the statement the tx index
// gives; the index is read where it covers the day, and the blocks for at
// most MaxTail heights above it.
func TestBuildFromTheMovementIndex(t *testing.T) {
	reqs := []Request{{Org: "bankA"}, {Org: "bankB"}, {Org: "bankC"}, {Org: "bankA", Account: a2}, {Org: "bankA", Asset: "USD"},
		{Org: "bankB", Ledger: "custody"}, {Org: "bankZ"}}
	cases := []struct {
		name   string
		lo, hi int64
		// searches: the tx index is searched too; with the blocks, a
		// chain that reads them (BlockTail), which reads blocks.
		searches, withBlocks bool
		blocks               []int64
	}{
		{"the index holds the whole chain", 1, 40, false, false, nil},
		{"the index holds the day exactly", 10, 33, false, false, nil},
		{"the index trails the block store by a height", 1, 32, true, false, []int64{33}},
		{"the index trails the block store by MaxTail heights", 1, 33 - MaxTail, true, false, []int64{18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33}},
		{"the index trails the block store by MaxTail+1 heights", 1, 32 - MaxTail, true, true, nil},
		{"the index trails the block store further", 1, 13, true, true, nil},
		{"the index starts inside the day", 12, 40, true, true, nil},
		{"the index holds nothing yet", 0, 0, true, true, nil},
	}
	for _, c := range cases {
		for _, req := range reqs {
			for _, tail := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/blocks %v/%+v", c.name, tail, req), func(t *testing.T) {
					req.Date = "2026-12-03"
					want, err := Build(context.Background(), newChain(lateTxs), cst, req)
					if err != nil {
						t.Fatal(err)
					}
					idx := withIndex(newChain(lateTxs), c.lo, c.hi)
					chain := Chain(idx)
					tc := &tailChain{indexedChain: idx}
					wantSearches, wantBlocks := c.searches, []int64(nil)
					if tail {
						chain, wantSearches, wantBlocks = tc, c.withBlocks, c.blocks
					}
					got, err := Build(context.Background(), chain, cst, req)
					if err != nil {
						t.Fatal(err)
					}
					if g, w := jsonOf(t, got), jsonOf(t, want); g != w {
						t.Fatalf("from the index:\n%s\nfrom the tx index:\n%s", g, w)
					}
					if searched := len(idx.searches) > 0; searched != wantSearches {
						t.Fatalf("tx index searched: %v (%q), want %v", searched, idx.searches, wantSearches)
					}
					if !slices.Equal(tc.blockReads, wantBlocks) {
						t.Fatalf("blocks read %v, want %v", tc.blockReads, wantBlocks)
					}
					if used := idx.reads > 0; used != (c.lo != 0 && c.lo <= 10) {
						t.Fatalf("index read %d times", idx.reads)
					}
				})
			}
		}
	}
}

// The movement index is complete by construction: a day that an old lean
// tx index cannot list is listed from it.
func TestBuildFromTheIndexOverALeanTxIndex(t *testing.T) {
	c := newChain(dayTxs)
	c.lean(true)
	if _, err := Build(context.Background(), c, cst, Request{Org: "bankA", Date: "2026-12-03"}); err == nil {
		t.Fatal("the old lean index listed the day")
	}
	st, err := Build(context.Background(), withIndex(c, 1, 40), cst, Request{Org: "bankA", Date: "2026-12-03"})
	if err != nil || len(st.Rows) != 11 {
		t.Fatalf("%v, %d rows", err, len(st.Rows))
	}
	// Nor do the blocks the index has not reached.
	late := newChain(lateTxs)
	late.lean(true)
	st, err = Build(context.Background(), &tailChain{indexedChain: withIndex(late, 1, 24)}, cst, Request{Org: "bankA", Date: "2026-12-03"})
	if err != nil || len(st.Rows) != 13 || st.Rows[11].Memo != "late-1" || st.Rows[12].Memo != "late-2" {
		t.Fatalf("with the blocks: %v, %d rows", err, len(st.Rows))
	}
}

// An index that fails, or a cancelled read, gives no statement.
func TestBuildFromAFailingIndex(t *testing.T) {
	c := withIndex(newChain(dayTxs), 1, 40)
	c.rows["bankA"] = append(c.rows["bankA"], []byte{indexedRowV1, 0x80})
	if _, err := Build(context.Background(), c, cst, Request{Org: "bankA", Date: "2026-12-03"}); !errors.Is(err, errIndexedRow) {
		t.Fatalf("a malformed row: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Build(ctx, withIndex(newChain(dayTxs), 1, 40), cst, Request{Org: "bankA", Date: "2026-12-03"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

func TestIndexedRowRoundTrip(t *testing.T) {
	at := time.Date(2026, 12, 5, 9, 30, 0, 123, time.UTC)
	rows := []Row{
		{Time: at, Height: 7, TxIndex: 3, EventIndex: 2, TxID: "ab", TxHash: "CD", Ledger: "payments", Asset: "CNY", Kind: KindTransfer,
			Direction: Debit, Amount: ^uint64(0), Account: a1, Counterparty: b1, CounterpartyOrg: "bankB", Memo: "发票 INV-1", BalanceAfter: ptr(uint64(0)), Result: ResultOK},
		{Time: at, Height: 1 << 40, Kind: KindRedemptionSettled, Direction: Retired, Redemption: ptr(uint64(9)), Result: ResultOK},
		{Time: time.Unix(0, 0).UTC(), Result: ResultOK},
	}
	for _, r := range rows {
		b := AppendIndexedRow(nil, &r)
		got, err := DecodeIndexedRow(b)
		if err != nil {
			t.Fatal(err)
		}
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(r)
		if string(g) != string(w) {
			t.Fatalf("decoded\n%s\nwant\n%s", g, w)
		}
		for n := range b { // every strict prefix is refused
			if _, err := DecodeIndexedRow(b[:n]); !errors.Is(err, errIndexedRow) {
				t.Fatalf("%d of %d bytes: %v", n, len(b), err)
			}
		}
		if _, err := DecodeIndexedRow(append(slices.Clone(b), 0)); !errors.Is(err, errIndexedRow) {
			t.Fatalf("a trailing byte: %v", err)
		}
	}
}

// FuzzDecodeIndexedRow: any bytes decode to a row that encodes back to
// them, or to an error; never a panic.
func FuzzDecodeIndexedRow(f *testing.F) {
	f.Add(AppendIndexedRow(nil, &Row{Time: time.Unix(5, 0), Height: 3, Memo: "m", BalanceAfter: ptr(uint64(4))}))
	f.Add([]byte{indexedRowV1})
	f.Add([]byte{2, 0})
	// A RowDecoder shares strings across its rows (and so across the
	// inputs): it must decode, and refuse, exactly as DecodeIndexedRow.
	var rd RowDecoder
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeIndexedRow(b)
		shared, serr := rd.Decode(b)
		if (err == nil) != (serr == nil) || !reflect.DeepEqual(r, shared) {
			t.Fatalf("%x: DecodeIndexedRow %+v, %v; RowDecoder %+v, %v", b, r, err, shared, serr)
		}
		if err != nil {
			return
		}
		if again := AppendIndexedRow(nil, &r); string(again) != string(b) {
			t.Fatalf("decoded %x, encodes to %x", b, again)
		}
	})
}

// TestExtendFromTheBlocks: a statement built and extended as the chain
// grows, on a node whose movement index trails its block store by a
// height or two and that reads the rest from its blocks (a node without a
// tx index), is the statement the tx index gives at every height, and
// never searches the tx index: not when the day began at a height the
// index has not reached yet.
func TestExtendFromTheBlocks(t *testing.T) {
	ctx := context.Background()
	full := newChain(lateTxs)
	at := func(top int) *fakeChain {
		c := newChain(lateTxs)
		c.times = full.times[:top]
		return c
	}
	for _, req := range []Request{{Org: "bankA"}, {Org: "bankB"}, {Org: "bankA", Asset: "USD"}, {Org: "bankZ"}} {
		req.Date = "2026-12-03"
		var st *Statement
		for _, top := range []int{9, 10, 11, 12, 13, 16, 25, 26, 33, 34, 40} {
			for _, behind := range []int{2, 1, 0} {
				chain := &tailChain{indexedChain: withIndex(at(top), 1, int64(top-behind))}
				var err error
				if st == nil {
					st, err = Build(ctx, chain, cst, req)
				} else {
					st, err = Extend(ctx, chain, cst, st)
				}
				if err != nil {
					t.Fatalf("%+v at %d, the index %d behind: %v", req, top, behind, err)
				}
				want, err := Build(ctx, at(top), cst, req)
				if err != nil {
					t.Fatal(err)
				}
				if st.Day.Complete {
					want.Day.AsOfHeight = st.Day.AsOfHeight // Extend returns a day that is over as it was
				}
				if g, w := jsonOf(t, st), jsonOf(t, want); g != w {
					t.Fatalf("%+v at %d, the index %d behind:\n%s\nfrom the tx index:\n%s", req, top, behind, g, w)
				}
				if len(chain.searches) != 0 {
					t.Fatalf("%+v at %d, the index %d behind: searched the tx index %q", req, top, behind, chain.searches)
				}
			}
		}
	}
}
