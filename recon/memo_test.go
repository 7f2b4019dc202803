package recon

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/jinlian-ledger/jinlian/proto/txpb"
)

// TestTxMemos: what a search by memo keeps of a transaction is its
// transfers' memos and the organisations that may read it (TxParties's
// rule): the sender's, also where it moved none of its own units (a
// custody payment), and each movement's; an issue's or a redemption's
// reference is no transfer memo; a failed transaction, an app-made one,
// an empty memo and one longer than a search may ask for are in no memo
// index.
func TestTxMemos(t *testing.T) {
	long := strings.Repeat("x", MaxMemoQuery)
	at := time.Date(2026, 12, 3, 1, 0, 0, 0, cst)
	cases := []struct {
		name           string
		tx             tx
		memos, parties string
		err            string
	}{
		{"a payment to another bank", tx{sender: a1, org: "bankA", events: []protoreflect.ProtoMessage{xfer("payments", "CNY", a1, b1, "bankB", 1, 1, 1, "INV-1")}}, "INV-1", "bankA bankB", ""},
		{"within one bank", tx{sender: a1, org: "bankA", events: []protoreflect.ProtoMessage{xfer("payments", "CNY", a1, a2, "bankA", 1, 1, 1, "sweep")}}, "sweep", "bankA", ""},
		{"into custody", tx{sender: a1, org: "bankA", events: []protoreflect.ProtoMessage{xfer("payments", "CNY", a1, cust, "", 1, 1, 1, "into custody")}}, "into custody", "bankA", ""},
		{"a custody payment its signer executes", tx{sender: a2, org: "bankA", events: []protoreflect.ProtoMessage{
			&txpb.EventCustodyExecuted{Ledger: "payments", Account: cust, Proposal: 1, Kind: "transfer", Approvers: a2, Executor: a2, Asset: "CNY", To: c1, Amount: 8},
			xfer("payments", "CNY", cust, c1, "bankC", 8, 1, 1, "payout")}}, "payout", "bankA bankC", ""},
		{"two transfers, a memo twice and a long one", tx{sender: b1, org: "bankB", events: []protoreflect.ProtoMessage{
			xfer("payments", "CNY", b1, a1, "bankA", 1, 1, 1, "B"), xfer("payments", "CNY", b1, c1, "bankC", 1, 1, 1, "A"),
			xfer("payments", "CNY", b1, c1, "bankC", 1, 1, 1, "B"), xfer("payments", "CNY", b1, c1, "bankC", 1, 1, 1, long),
			xfer("payments", "CNY", b1, c1, "bankC", 1, 1, 1, long+"y")}}, "B A " + long, "bankA bankB bankC", ""},
		{"no memo", tx{sender: a1, org: "bankA", events: []protoreflect.ProtoMessage{xfer("payments", "CNY", a1, b1, "bankB", 1, 1, 1, "")}}, "", "", ""},
		{"an issue's memo", tx{sender: issA, org: "bankA", events: []protoreflect.ProtoMessage{&txpb.EventIssue{Ledger: "payments", Asset: "CNY", From: issA, To: c1, Amount: 5, ToOrg: "bankC", Memo: "mint"}}}, "", "", ""},
		{"a redemption's reference", tx{sender: a1, org: "bankA", events: []protoreflect.ProtoMessage{&txpb.EventRedeem{Ledger: "payments", Asset: "USD", From: a1, Amount: 7, Id: 3, Reference: "R-3"}}}, "", "", ""},
		{"failed", tx{sender: a1, org: "bankA", code: 5}, "", "", ""},
		{"app-made", tx{qc: true}, "", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.tx.height = 11
			r := newChain([]tx{c.tx}).txs[0]
			memos, parties, err := TxMemos(r)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(memos, " "); got != c.memos || strings.Join(parties, " ") != c.parties {
				t.Fatalf("memos %.40q parties %q, want %.40q %q", got, parties, c.memos, c.parties)
			}
			// The movement index's one decoding gives the same.
			rows, memos2, parties2, err := TxIndexEntries(r, at)
			want, err2 := TxMovements(r, at)
			if err != nil || err2 != nil || !reflect.DeepEqual(rows, want) || !slices.Equal(memos2, memos) || !slices.Equal(parties2, parties) {
				t.Fatalf("TxIndexEntries: %v %v\n%+v %q %q\nwant %+v", err, err2, rows, memos2, parties2, want)
			}
		})
	}
	// Every transaction of the statements' day, too.
	for _, r := range newChain(lateTxs).txs {
		rows, memos, parties, err := TxIndexEntries(r, at)
		want, err2 := TxMovements(r, at)
		wantMemos, wantParties, err3 := TxMemos(r)
		if err != nil || err2 != nil || err3 != nil || !reflect.DeepEqual(rows, want) || !slices.Equal(memos, wantMemos) || !slices.Equal(parties, wantParties) {
			t.Fatalf("height %d tx %d: TxIndexEntries %v %+v %q %q, want %v %v %+v %q %q", r.Height, r.Index, err, rows, memos, parties, err2, err3, want, wantMemos, wantParties)
		}
	}
	// Transfers without the jinlian_tx event that names their sender's
	// organisation are refused, not kept for nobody.
	r := newChain([]tx{{height: 11, qc: true}}).txs[0]
	r.Result.Events = append(r.Result.Events, newChain([]tx{{height: 11, sender: a1, org: "bankA", events: []protoreflect.ProtoMessage{
		xfer("payments", "CNY", a1, b1, "bankB", 1, 1, 1, "INV-1")}}}).txs[0].Result.Events[0])
	if _, _, err := TxMemos(r); err == nil || !strings.Contains(err.Error(), "without a jinlian_tx event") {
		t.Fatalf("transfers without their sender: %v", err)
	}
	if _, _, _, err := TxIndexEntries(r, at); err == nil || !strings.Contains(err.Error(), "without a jinlian_tx event") {
		t.Fatalf("TxIndexEntries of transfers without their sender: %v", err)
	}
}
