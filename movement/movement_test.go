package movement

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
)

var (
	alice = strings.Repeat("a1", 20)
	bob   = strings.Repeat("b2", 20)
	txA   = strings.Repeat("0f", 32)
)

// TestEncodeByHand builds the encoding of docs/reconciliation.md byte by
// byte, apart from Encode, and pins the chain's first step, so that the
// page, the code and a counterparty's own implementation agree.
func TestEncodeByHand(t *testing.T) {
	m := Movement{Height: 258, TxIndex: 3, TxID: txA, Event: 1, Ledger: "payments", Asset: "CNY", Account: alice,
		Kind: KindTransfer, Direction: Credit, Amount: 500, BalanceAfter: 1500, Counterparty: bob, Memo: "R-42"}
	hexs := func(s string) []byte { b, _ := hex.DecodeString(s); return b }
	var want []byte
	want = append(want, 0, 0, 0, 0, 0, 0, 1, 2) // height 258
	want = append(want, 0, 0, 0, 3)             // tx index
	want = append(want, hexs(txA)...)
	want = append(want, 0, 0, 0, 1) // event
	want = append(want, 2, 2)       // transfer, credit
	want = append(want, 8)
	want = append(want, "payments"...)
	want = append(want, 3)
	want = append(want, "CNY"...)
	want = append(want, hexs(alice)...)
	want = append(want, 1)
	want = append(want, hexs(bob)...)
	want = append(want, 0, 0, 0, 0, 0, 0, 1, 0xf4) // 500
	want = append(want, 0, 0, 0, 0, 0, 0, 5, 0xdc) // 1500
	want = append(want, 0, 0, 0, 0, 0, 0, 0, 0)    // no redemption
	want = append(want, 4)
	want = append(want, "R-42"...)
	got, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Encode\n got %x\nwant %x", got, want)
	}
	c, err := Commitment{}.Next(m)
	if err != nil {
		t.Fatal(err)
	}
	wantChain := gmcrypto.SM3([]byte("jinlian/movement/v1"), make([]byte, 32), want)
	if c.Chain != wantChain || c.Count != 1 || c.Balance != 1500 {
		t.Fatalf("first step %x/%d/%d, want %x/1/1500", c.Chain, c.Count, c.Balance, wantChain)
	}
	const golden = "d49bafb65f4b1cc9546bf7c96417228e329edf0b558c67ff0d5c1fb6645b7a3e"
	if got := hex.EncodeToString(c.Chain[:]); got != golden {
		t.Fatalf("chain after the example movement is %s, pinned %s: the encoding changed (a new tag version is needed)", got, golden)
	}
}

func TestEncodeRefusesNonCanonical(t *testing.T) {
	ok := Movement{Height: 1, TxID: txA, Ledger: "payments", Asset: "CNY", Account: alice, Kind: KindBurn, Direction: Debit, Amount: 1}
	if _, err := Encode(ok); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		edit func(*Movement)
	}{
		{"upper-case account", func(m *Movement) { m.Account = strings.ToUpper(alice) }},
		{"short account", func(m *Movement) { m.Account = alice[:38] }},
		{"0x account", func(m *Movement) { m.Account = "0x" + alice[:38] }},
		{"upper-case tx id", func(m *Movement) { m.TxID = strings.ToUpper(strings.Repeat("ab", 32)) }},
		{"short tx id", func(m *Movement) { m.TxID = txA[:62] }},
		{"bad counterparty", func(m *Movement) { m.Counterparty = "xyz" }},
		{"unknown kind", func(m *Movement) { m.Kind = "mint" }},
		{"unknown direction", func(m *Movement) { m.Direction = "sideways" }},
		{"height 0", func(m *Movement) { m.Height = 0 }},
		{"no ledger", func(m *Movement) { m.Ledger = "" }},
		{"long asset", func(m *Movement) { m.Asset = strings.Repeat("A", 33) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := ok
			c.edit(&m)
			if _, err := Encode(m); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Encode = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestCommitmentCodec(t *testing.T) {
	c := Commitment{Count: 7, Balance: 1 << 40}
	c.Chain[0] = 9
	got, err := DecodeCommitment(c.Encode())
	if err != nil || got != c {
		t.Fatalf("round trip %+v %v", got, err)
	}
	if z, err := DecodeCommitment(Commitment{Balance: 5}.Encode()); err != nil || z.Balance != 5 {
		t.Fatalf("opening commitment: %+v %v", z, err)
	}
	for _, b := range [][]byte{nil, make([]byte, 47), make([]byte, 49), Commitment{Count: 1}.Encode(), Commitment{Chain: c.Chain}.Encode()} {
		if _, err := DecodeCommitment(b); !errors.Is(err, ErrBadCommitment) {
			t.Fatalf("DecodeCommitment(%x) = %v, want ErrBadCommitment", b, err)
		}
	}
}

// history is alice's movements of CNY at heights 10..14 with the
// commitments before and after: an opening balance of 100, then a credit,
// a debit, a transfer to herself and a burn.
func history(t *testing.T) (from, to Commitment, ms []Movement) {
	t.Helper()
	mv := func(h int64, tx, ev uint32, kind, dir, cp string, amount, after uint64, memo string) Movement {
		return Movement{Height: h, TxIndex: tx, TxID: strings.Repeat(string("0123456789abcdef"[h%16]), 64), Event: ev, Ledger: "payments", Asset: "CNY",
			Account: alice, Kind: kind, Direction: dir, Counterparty: cp, Amount: amount, BalanceAfter: after, Memo: memo}
	}
	ms = []Movement{
		mv(10, 0, 0, KindTransfer, Credit, bob, 50, 150, "R-1"),
		mv(11, 2, 0, KindTransfer, Debit, bob, 30, 120, "R-2"),
		mv(13, 0, 1, KindTransfer, Debit, alice, 20, 120, "self"),
		mv(13, 0, 1, KindTransfer, Credit, alice, 20, 120, "self"),
		mv(14, 1, 0, KindBurn, Debit, "", 20, 100, ""),
	}
	from = Commitment{Count: 4, Balance: 100}
	from.Chain[31] = 1
	to, err := Replay(from, ms)
	if err != nil {
		t.Fatal(err)
	}
	return from, to, ms
}

var aliceCNY = Account{Ledger: "payments", Asset: "CNY", Address: alice}

// TestVerifyTamper pins the named error of each way a list can differ
// from what the chain committed.
func TestVerifyTamper(t *testing.T) {
	from, to, honest := history(t)
	if err := Verify(aliceCNY, 10, 14, from, to, honest); err != nil {
		t.Fatalf("honest list: %v", err)
	}
	if err := Verify(aliceCNY, 5, 20, from, to, honest); err != nil {
		t.Fatalf("honest list in a wider range: %v", err)
	}
	for _, c := range []struct {
		name     string
		edit     func([]Movement) []Movement
		from, to Commitment
		h1, h2   int64
		want     error
	}{
		{name: "dropped", edit: func(ms []Movement) []Movement { return append(ms[:1:1], ms[2:]...) }, want: ErrCount},
		{name: "dropped last", edit: func(ms []Movement) []Movement { return ms[:4] }, want: ErrCount},
		{name: "empty list claimed", edit: func([]Movement) []Movement { return nil }, want: ErrCount},
		{name: "added", edit: func(ms []Movement) []Movement {
			extra := ms[4]
			extra.Height, extra.Kind, extra.Direction, extra.Amount, extra.BalanceAfter = 14, KindIssue, Credit, 1, 101
			extra.TxIndex = 5
			return append(ms, extra)
		}, want: ErrCount},
		{name: "duplicated", edit: func(ms []Movement) []Movement { return append(ms[:2:2], ms[1:]...) }, want: ErrOrder},
		{name: "reordered", edit: func(ms []Movement) []Movement { ms[0], ms[1] = ms[1], ms[0]; return ms }, want: ErrOrder},
		{name: "self transfer halves swapped", edit: func(ms []Movement) []Movement { ms[2], ms[3] = ms[3], ms[2]; return ms }, want: ErrOrder},
		{name: "amount altered", edit: func(ms []Movement) []Movement { ms[0].Amount = 5000; return ms }, want: ErrBalance},
		{name: "amount and balances altered", edit: func(ms []Movement) []Movement {
			ms[0].Amount, ms[0].BalanceAfter, ms[1].BalanceAfter = 49, 149, 119
			ms[2].BalanceAfter, ms[3].BalanceAfter, ms[4].BalanceAfter = 119, 119, 99
			return ms
		}, want: ErrBalance},
		{name: "memo altered", edit: func(ms []Movement) []Movement { ms[1].Memo = "R-3"; return ms }, want: ErrChain},
		{name: "counterparty altered", edit: func(ms []Movement) []Movement { ms[0].Counterparty = strings.Repeat("cc", 20); return ms }, want: ErrChain},
		{name: "tx id altered", edit: func(ms []Movement) []Movement { ms[4].TxID = txA; return ms }, want: ErrChain},
		{name: "moved to another height", edit: func(ms []Movement) []Movement { ms[1].Height = 12; return ms }, want: ErrChain},
		{name: "kind altered", edit: func(ms []Movement) []Movement { ms[4].Kind = KindRedeem; return ms }, want: ErrChain},
		{name: "replaced by another with the same effect", edit: func(ms []Movement) []Movement {
			ms[1].TxIndex, ms[1].Memo = 3, "forged"
			return ms
		}, want: ErrChain},
		{name: "another account's movement", edit: func(ms []Movement) []Movement { ms[0].Account = bob; return ms }, want: ErrForeign},
		{name: "another asset", edit: func(ms []Movement) []Movement { ms[0].Asset = "USD"; return ms }, want: ErrForeign},
		{name: "outside the range", h1: 11, want: ErrOutOfRange},
		{name: "malformed", edit: func(ms []Movement) []Movement { ms[2].TxID = "zz"; return ms }, want: ErrMalformed},
		{name: "wrong start commitment", from: Commitment{Count: 4, Balance: 100}, want: ErrChain},
		{name: "wrong start balance", from: Commitment{Chain: from.Chain, Count: 4, Balance: 90}, want: ErrBalance},
		{name: "wrong end count", to: Commitment{Chain: to.Chain, Count: to.Count + 1, Balance: to.Balance}, want: ErrCount},
		{name: "count went down", to: Commitment{Count: 1}, want: ErrRange},
		{name: "heights reversed", h1: 14, h2: 10, want: ErrRange},
	} {
		t.Run(c.name, func(t *testing.T) {
			ms := append([]Movement(nil), honest...)
			if c.edit != nil {
				ms = c.edit(ms)
			}
			f, tt := from, to
			if c.from != (Commitment{}) {
				f = c.from
			}
			if c.to != (Commitment{}) {
				tt = c.to
			}
			h1, h2 := int64(10), int64(14)
			if c.h1 != 0 {
				h1 = c.h1
			}
			if c.h2 != 0 {
				h2 = c.h2
			}
			err := Verify(aliceCNY, h1, h2, f, tt, ms)
			if !errors.Is(err, c.want) {
				t.Fatalf("Verify = %v, want %v", err, c.want)
			}
		})
	}
}
