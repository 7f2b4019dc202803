package recon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// Accounts of the test: two of bankA, one each of bankB and bankC, and
// the issuers of CNY (bankA) and USD (bankB).
var (
	a1, a2, b1, c1 = addr(0xa1), addr(0xa2), addr(0xb1), addr(0xc1)
	issA, issB     = addr(0x1a), addr(0x1b)
	cust           = addr(0xcc) // a custody account: no organisation
)

func addr(b byte) string { return strings.Repeat(fmt.Sprintf("%02x", b), 20) }

// fakeChain is a node: block times, and an index that finds a transaction
// by an attribute only where the attribute's Index flag is set, as
// CometBFT's kv indexer does.
type fakeChain struct {
	fakeHeaders
	txs      []*abci.TxResult
	searches []string
}

func (c *fakeChain) SearchTxs(ctx context.Context, q string) ([]*abci.TxResult, error) {
	c.searches = append(c.searches, q)
	m := regexp.MustCompile(`^tx\.height >= (\d+) AND tx\.height <= (\d+) AND (\w+)\.(\w+) = '([^']*)'$`).FindStringSubmatch(q)
	if m == nil {
		return nil, fmt.Errorf("fake index: query %q", q)
	}
	lo, _ := strconv.ParseInt(m[1], 10, 64)
	hi, _ := strconv.ParseInt(m[2], 10, 64)
	var out []*abci.TxResult
	for _, r := range c.txs {
		if r.Height < lo || r.Height > hi {
			continue
		}
	events:
		for _, ev := range r.Result.Events {
			for _, at := range ev.Attributes {
				if ev.Type == m[3] && at.Key == m[4] && at.Value == m[5] && at.Index {
					out = append(out, r)
					break events
				}
			}
		}
	}
	slices.Reverse(out) // the index answers in no particular order
	return out, nil
}

func (c *fakeChain) FirstTx(from, to int64, match func(*abci.TxResult) bool) (*abci.TxResult, error) {
	for _, r := range c.txs {
		if r.Height >= from && r.Height <= to && match(r) {
			return r, nil
		}
	}
	return nil, nil
}

// tx is a committed jinlian transaction sent by an identity of org.
type tx struct {
	height int64
	sender string
	org    string
	events []protoreflect.ProtoMessage
	code   uint32 // non-zero: failed, no events
	qc     bool   // a QC transaction: no jinlian_tx event
}

var cst = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// newChain commits txs at their heights; height h has time 2026-12-03
// 00:00 CST + (h−10) hours, so heights 10..33 are the day.
func newChain(txs []tx) *fakeChain {
	c := &fakeChain{fakeHeaders: fakeHeaders{base: 1}}
	for h := int64(1); h <= 40; h++ {
		c.times = append(c.times, time.Date(2026, 12, 3, 0, 0, 0, 0, cst).Add(time.Duration(h-10)*time.Hour))
	}
	index := map[int64]uint32{}
	for n, t := range txs {
		r := &abci.TxResult{Height: t.height, Index: index[t.height], Tx: []byte(fmt.Sprintf("tx %d", n))}
		index[t.height]++
		switch {
		case t.code != 0:
			r.Result = abci.ExecTxResult{Code: t.code, Log: "insufficient funds"}
		case t.qc:
			r.Result.Events = []abci.Event{wire.Event(&txpb.EventQuorumCertificate{Height: t.height - 1, Signers: 4})}
		default:
			for _, e := range t.events {
				r.Result.Events = append(r.Result.Events, wire.Event(e))
			}
			r.Result.Events = append(r.Result.Events, wire.Event(&txpb.EventJinlianTx{Id: fmt.Sprintf("id%d", n), Ledger: "payments",
				Sender: t.sender, Org: t.org, Type: "x"}))
		}
		c.txs = append(c.txs, r)
	}
	return c
}

// lean clears the index flags as a validator's lean index does (app's
// leanIndex), or, old, as one before statements did (no org, no to_org).
func (c *fakeChain) lean(old bool) {
	keep := []string{"id", "sender", "org", "to", "to_org"}
	if old {
		keep = []string{"id", "sender", "to"}
	}
	for _, r := range c.txs {
		for i := range r.Result.Events {
			ev := &r.Result.Events[i]
			switch ev.Type {
			case "jinlian_tx", "transfer", "issue", "burn":
				for j := range ev.Attributes {
					ev.Attributes[j].Index = slices.Contains(keep, ev.Attributes[j].Key)
				}
			}
		}
	}
}

func xfer(ledger, asset, from, to, toOrg string, amount, fromBal, toBal uint64, memo string) *txpb.EventTransfer {
	return &txpb.EventTransfer{Ledger: ledger, Asset: asset, From: from, To: to, Amount: amount, FromBalance: fromBal, ToBalance: toBal, ToOrg: toOrg, Memo: memo}
}

// dayTxs is one business day (2026-12-03, heights 10..33) and its edges.
var dayTxs = []tx{
	{height: 9, sender: a1, org: "bankA", events: []protoreflect.ProtoMessage{xfer("payments", "CNY", a1, b1, "bankB", 100, 900, 100, "yesterday")}},
	{height: 11, qc: true},
	{height: 11, sender: a1, org: "bankA", events: []protoreflect.ProtoMessage{xfer("payments", "CNY", a1, b1, "bankB", 30, 870, 130, "INV-1")}},
	{height: 11, sender: b1, org: "bankB", events: []protoreflect.ProtoMessage{xfer("payments", "CNY", b1, a2, "bankA", 20, 110, 20, "REF-2")}},
	{height: 12, sender: issA, org: "bankA", events: []protoreflect.ProtoMessage{&txpb.EventIssue{Ledger: "payments", Asset: "CNY", From: issA, To: c1, Amount: 500, ToBalance: 500, ToOrg: "bankC", Memo: "mint"}}},
	{height: 12, sender: issB, org: "bankB", events: []protoreflect.ProtoMessage{&txpb.EventIssue{Ledger: "payments", Asset: "USD", From: issB, To: a1, Amount: 70, ToBalance: 70, ToOrg: "bankA"}}},
	{height: 12, sender: a1, org: "bankA", code: 4},
	{height: 13, sender: a1, org: "bankA", events: []protoreflect.ProtoMessage{xfer("payments", "CNY", a1, a2, "bankA", 5, 865, 25, "sweep")}},
	{height: 13, sender: a2, org: "bankA", events: []protoreflect.ProtoMessage{&txpb.EventBurn{Ledger: "payments", Asset: "CNY", From: a2, Amount: 1, FromBalance: 24}}},
	{height: 13, sender: a1, org: "bankA", events: []protoreflect.ProtoMessage{&txpb.EventRedeem{Ledger: "payments", Asset: "USD", From: a1, Amount: 7, FromBalance: 63, Id: 3, Reference: "R-3"}}},
	{height: 14, sender: issB, org: "bankB", events: []protoreflect.ProtoMessage{&txpb.EventRedemptionSettled{Ledger: "payments", Asset: "USD", Id: 3, To: a1, Amount: 7, Rejected: true, ToBalance: 70, Reason: "closed", ToOrg: "bankA"}}},
	{height: 14, sender: issA, org: "bankA", events: []protoreflect.ProtoMessage{&txpb.EventRedemptionSettled{Ledger: "payments", Asset: "CNY", Id: 4, To: b1, Amount: 9, ToBalance: 0, ToOrg: "bankB"}}},
	{height: 15, sender: c1, org: "bankC", events: []protoreflect.ProtoMessage{xfer("custody", "GOLD", c1, b1, "bankB", 2, 0, 2, "")}},
	// Custody: bankA pays a custody account (no organisation), and a
	// bankA signer executes the account's payment to bankB.
	{height: 16, sender: a1, org: "bankA", events: []protoreflect.ProtoMessage{xfer("payments", "CNY", a1, cust, "", 50, 815, 50, "into custody")}},
	{height: 17, sender: a2, org: "bankA", events: []protoreflect.ProtoMessage{
		&txpb.EventCustodyExecuted{Ledger: "payments", Account: cust, Proposal: 1, Kind: "transfer", Approvers: a2, Executor: a2, Asset: "CNY", To: b1, Amount: 8},
		xfer("payments", "CNY", cust, b1, "bankB", 8, 42, 138, "custody payout")}},
	{height: 34, sender: b1, org: "bankB", events: []protoreflect.ProtoMessage{xfer("payments", "CNY", b1, a1, "bankA", 1, 1, 1, "tomorrow")}},
}

// line is a row in short: height/tx/event kind direction amount account
// counterparty@org memo =balance.
func line(r Row) string {
	bal := "-"
	if r.BalanceAfter != nil {
		bal = strconv.FormatUint(*r.BalanceAfter, 10)
	}
	short := func(a string) string {
		if len(a) == 40 {
			return a[:2]
		}
		return a
	}
	return fmt.Sprintf("%d/%d/%d %s %s %d %s %s %s@%s %q =%s", r.Height, r.TxIndex, r.EventIndex, r.Kind, r.Direction, r.Amount, r.Asset,
		short(r.Account), short(r.Counterparty), r.CounterpartyOrg, r.Memo, bal)
}

func TestBuild(t *testing.T) {
	bankA := []string{
		`11/1/0 transfer debit 30 CNY a1 b1@bankB "INV-1" =870`,
		`11/2/0 transfer credit 20 CNY a2 b1@bankB "REF-2" =20`,
		`12/0/0 issue issued 500 CNY 1a c1@bankC "mint" =-`,
		`12/1/0 issue credit 70 USD a1 1b@bankB "" =70`,
		`13/0/0 transfer debit 5 CNY a1 a2@bankA "sweep" =865`,
		`13/0/0 transfer credit 5 CNY a2 a1@bankA "sweep" =25`,
		`13/1/0 burn debit 1 CNY a2 @ "" =24`,
		`13/2/0 redeem debit 7 USD a1 @ "R-3" =63`,
		`14/0/0 redemption_settled credit 7 USD a1 1b@bankB "closed" =70`,
		`14/1/0 redemption_settled retired 9 CNY 1a b1@bankB "" =-`,
		`16/0/0 transfer debit 50 CNY a1 cc@ "into custody" =815`,
	}
	cases := []struct {
		name string
		req  Request
		want []string
	}{
		{"every movement of bankA, in height, tx and event order", Request{Org: "bankA"}, bankA},
		{"bankB sees its side of the same transfers", Request{Org: "bankB"}, []string{
			`11/1/0 transfer credit 30 CNY b1 a1@bankA "INV-1" =130`,
			`11/2/0 transfer debit 20 CNY b1 a2@bankA "REF-2" =110`,
			`12/1/0 issue issued 70 USD 1b a1@bankA "" =-`,
			`15/0/0 transfer credit 2 GOLD b1 c1@bankC "" =2`,
			`17/0/1 transfer credit 8 CNY b1 cc@ "custody payout" =138`,
		}},
		{"one account", Request{Org: "bankA", Account: "0x" + strings.ToUpper(a2)}, []string{bankA[1], bankA[5], bankA[6]}},
		{"a custody account is no organisation's", Request{Org: "bankA", Account: cust}, nil},
		{"one asset", Request{Org: "bankA", Asset: "USD"}, []string{bankA[3], bankA[7], bankA[8]}},
		{"one sub-ledger with nothing of bankA", Request{Org: "bankA", Ledger: "custody"}, nil},
		{"an account of another organisation lists nothing", Request{Org: "bankA", Account: b1}, nil},
		{"an organisation without movements", Request{Org: "bankZ"}, nil},
	}
	for _, lean := range []bool{false, true} {
		for _, c := range cases {
			t.Run(fmt.Sprintf("lean=%v/%s", lean, c.name), func(t *testing.T) {
				chain := newChain(dayTxs)
				if lean {
					chain.lean(false)
				}
				c.req.Date = "2026-12-03"
				st, err := Build(context.Background(), chain, cst, c.req)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, r := range st.Rows {
					got = append(got, line(r))
					if r.Result != ResultOK || r.Time.Location() != cst || r.TxHash == "" || !strings.HasPrefix(r.TxID, "id") {
						t.Errorf("row %+v", r)
					}
				}
				if !slices.Equal(got, c.want) {
					t.Fatalf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
				}
				if st.Day.FromHeight != 10 || st.Day.ToHeight != 33 || !st.Day.Complete {
					t.Fatalf("day %+v", st.Day)
				}
			})
		}
	}
}

func TestBuildTotalsAndJSON(t *testing.T) {
	st, err := Build(context.Background(), newChain(dayTxs), cst, Request{Org: "bankA", Date: "2026-12-03"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Total{
		{Ledger: "payments", Asset: "CNY", Rows: 8, Credits: "25", Debits: "86", Net: "-61", Issued: "500", Retired: "9"},
		{Ledger: "payments", Asset: "USD", Rows: 3, Credits: "77", Debits: "7", Net: "70", Issued: "0", Retired: "0"},
	}
	if !slices.Equal(st.Totals, want) {
		t.Fatalf("totals %+v, want %+v", st.Totals, want)
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"amount":"30"`, `"balance_after":"870"`, `"redemption":"3"`, `"time":"2026-12-03T01:00:00+08:00"`, `"counterparty_org":"bankB"`} {
		if !strings.Contains(string(b), s) {
			t.Errorf("JSON lacks %s: %s", s, b)
		}
	}
	var back Statement
	if err := json.Unmarshal(b, &back); err != nil || len(back.Rows) != len(st.Rows) || *back.Rows[0].BalanceAfter != 870 || back.Rows[2].BalanceAfter != nil {
		t.Fatalf("round trip: %v %+v", err, back.Rows)
	}
}

func TestBuildRefuses(t *testing.T) {
	cases := []struct {
		name  string
		req   Request
		chain func() *fakeChain
		want  string
	}{
		{"a quote in the organisation", Request{Org: "bankA' OR jinlian_tx.org = 'bankB", Date: "2026-12-03"}, nil, "organisation"},
		{"an empty organisation", Request{Date: "2026-12-03"}, nil, "organisation"},
		{"a bad account", Request{Org: "bankA", Date: "2026-12-03", Account: "a1"}, nil, "account"},
		{"a bad asset", Request{Org: "bankA", Date: "2026-12-03", Asset: "C'NY"}, nil, "asset"},
		{"a bad sub-ledger", Request{Org: "bankA", Date: "2026-12-03", Ledger: "pay ments"}, nil, "sub-ledger"},
		{"a bad date", Request{Org: "bankA", Date: "03/12/2026"}, nil, "YYYY-MM-DD"},
		{"a day an old lean index cannot list", Request{Org: "bankA", Date: "2026-12-03"},
			func() *fakeChain { c := newChain(dayTxs); c.lean(true); return c }, "jinlian_tx.org is not indexed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			chain := newChain(dayTxs)
			if c.chain != nil {
				chain = c.chain()
			}
			st, err := Build(context.Background(), chain, cst, c.req)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("statement %+v, error %v: want one naming %q", st, err, c.want)
			}
			if c.chain == nil && !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			if c.chain == nil && len(chain.searches) > 0 {
				t.Fatalf("bad input reached the index: %q", chain.searches)
			}
		})
	}
	// An old lean index still serves a day after the upgrade.
	old := newChain(append(slices.Clone(dayTxs[:1]), tx{height: 9, sender: b1, org: "bankB", events: []protoreflect.ProtoMessage{xfer("payments", "CNY", b1, a1, "bankA", 1, 0, 1, "")}}))
	old.lean(true)
	if _, err := Build(context.Background(), old, cst, Request{Org: "bankA", Date: "2026-12-03"}); err != nil {
		t.Fatalf("a day without transactions: %v", err)
	}
}

// A statement is never partial: CometBFT's indexer answers a cancelled
// search with what it found so far and no error.
func TestBuildCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Build(ctx, newChain(dayTxs), cst, Request{Org: "bankA", Date: "2026-12-03"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}

// Days without blocks, or before them, are empty, and say whether more
// can come.
func TestBuildEmptyDays(t *testing.T) {
	for date, complete := range map[string]bool{"2026-12-01": true, "2026-12-09": false} {
		st, err := Build(context.Background(), newChain(dayTxs), cst, Request{Org: "bankA", Date: date})
		if err != nil || len(st.Rows) != 0 || st.Rows == nil || st.Day.Complete != complete {
			t.Errorf("%s: %+v %v", date, st, err)
		}
	}
}

// TestExtend: today's statement, asked for again as the chain grows, is
// the statement built afresh, while only the new heights are searched; a
// day that is over comes back as it is.
func TestExtend(t *testing.T) {
	ctx := context.Background()
	full := newChain(dayTxs)
	chain := newChain(dayTxs)
	at := func(top int) { chain.times = full.times[:top] } // heights 1..top
	for _, req := range []Request{{Org: "bankA"}, {Org: "bankB"}, {Org: "bankA", Asset: "USD"}} {
		req.Date = "2026-12-03"
		at(9) // the day has no block yet
		st, err := Build(ctx, chain, cst, req)
		if err != nil || st.Day.FromHeight != 0 {
			t.Fatalf("%+v before the day: %v, %+v", req, err, st.Day)
		}
		for _, top := range []int{11, 12, 12, 14, 16, 33, 34, 40} {
			at(top)
			chain.searches = nil
			prevRows := slices.Clone(st.Rows)
			prevTo := st.Day.ToHeight
			next, err := Extend(ctx, chain, cst, st)
			if err != nil {
				t.Fatalf("%+v at %d: %v", req, top, err)
			}
			if st.Day.Complete {
				if next != st || len(chain.searches) != 0 {
					t.Fatalf("%+v at %d: a day that is over was read again (%q)", req, top, chain.searches)
				}
				continue
			}
			if !slices.EqualFunc(st.Rows, prevRows, func(a, b Row) bool { return line(a) == line(b) }) {
				t.Fatalf("%+v at %d: Extend changed the statement it extended", req, top)
			}
			want, err := Build(ctx, newChainTop(top), cst, req)
			if err != nil {
				t.Fatal(err)
			}
			gotJSON, _ := json.Marshal(next)
			wantJSON, _ := json.Marshal(want)
			if string(gotJSON) != string(wantJSON) {
				t.Fatalf("%+v at %d: extended\n%s\nbuilt\n%s", req, top, gotJSON, wantJSON)
			}
			if prevTo > 0 {
				for _, q := range chain.searches {
					if !strings.HasPrefix(q, fmt.Sprintf("tx.height >= %d AND", prevTo+1)) {
						t.Fatalf("%+v at %d: searched %q, want only the heights after %d", req, top, q, prevTo)
					}
				}
			}
			st = next
		}
		if !st.Day.Complete {
			t.Fatalf("%+v: day not complete at height 40: %+v", req, st.Day)
		}
	}
}

// newChainTop is newChain(dayTxs) with heights 1..top.
func newChainTop(top int) *fakeChain {
	c := newChain(dayTxs)
	c.times = c.times[:top]
	return c
}
