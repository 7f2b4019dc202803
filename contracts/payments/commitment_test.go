package payments

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/movement"
)

// TestBalanceRecordKeepsCommitment: the commitment rides in the balance
// record, survives the contract's balance writes (a zero balance
// included, whose record stays), is invisible to balance readers, and the
// completeness check sees a balance written without a movement.
func TestBalanceRecordKeepsCommitment(t *testing.T) {
	store, err := ledger.Open("", ledger.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.CreateLedger(testLedger); err != nil {
		t.Fatal(err)
	}
	k := NewKeeper(allowAll{})
	if err := k.CreateAsset(store, testLedger, Asset{Symbol: "CNY", Issuer: "bankA"}); err != nil {
		t.Fatal(err)
	}
	var a, b gmcrypto.Address
	a[0], b[0] = 0xa1, 0xb2
	check := func(wantHolds bool, wantMovements uint64) {
		t.Helper()
		res, err := k.CheckCommitments(store, testLedger)
		if err != nil || len(res) != 1 || res[0].Holds != wantHolds || res[0].Movements != wantMovements {
			t.Fatalf("CheckCommitments = %+v %v, want holds %v over %d movements", res, err, wantHolds, wantMovements)
		}
		sup, err := k.CheckSupply(store, testLedger)
		if err != nil || !sup[0].Holds {
			t.Fatalf("supply: %+v %v", sup, err)
		}
	}
	// Genesis: a is funded and opened.
	if err := k.Mint(store, testLedger, "CNY", a, 100); err != nil {
		t.Fatal(err)
	}
	check(false, 0) // a balance without a commitment
	if err := k.OpenCommitment(store, testLedger, "CNY", a); err != nil {
		t.Fatal(err)
	}
	check(true, 0)
	// a pays b everything; both movements recorded.
	if _, err := k.Move(store, testLedger, a, "CNY", b, 100, "R-1"); err != nil {
		t.Fatal(err)
	}
	check(false, 0) // the contract moved the balances; the movements are not recorded yet
	tx := strings.Repeat("0f", 32)
	for _, m := range []movement.Movement{
		{Height: 2, TxID: tx, Ledger: testLedger, Asset: "CNY", Account: a.String(), Kind: movement.KindTransfer, Direction: movement.Debit, Amount: 100, BalanceAfter: 0, Counterparty: b.String()},
		{Height: 2, TxID: tx, Ledger: testLedger, Asset: "CNY", Account: b.String(), Kind: movement.KindTransfer, Direction: movement.Credit, Amount: 100, BalanceAfter: 100, Counterparty: a.String()},
	} {
		if err := k.RecordMovement(store, m); err != nil {
			t.Fatal(err)
		}
	}
	check(true, 2)
	// a's zero balance keeps its record and commitment; readers see 0 and
	// no holder.
	raw, _ := store.Get(testLedger, BalanceKey("CNY", a))
	bal, c, ok, err := DecodeBalanceRecord(raw)
	if err != nil || !ok || bal != 0 || c.Count != 1 || c.Balance != 0 {
		t.Fatalf("a's record %x: %d %+v %v %v", raw, bal, c, ok, err)
	}
	if got, _ := k.Balance(store, testLedger, "CNY", a); got != 0 {
		t.Fatalf("a's balance %d", got)
	}
	var holders []gmcrypto.Address
	if err := k.IterateBalances(store, testLedger, "CNY", func(addr gmcrypto.Address, _ uint64) bool { holders = append(holders, addr); return true }); err != nil {
		t.Fatal(err)
	}
	if len(holders) != 1 || holders[0] != b {
		t.Fatalf("holders %v, want only b", holders)
	}
	if got, err := k.Commitment(store, testLedger, "CNY", a); err != nil || got != c {
		t.Fatalf("Commitment(a) = %+v %v, want %+v", got, err, c)
	}
	// A balance written without a movement is caught, naming the account.
	if _, err := k.Burn(store, testLedger, b, "CNY", 1, ""); err != nil {
		t.Fatal(err)
	}
	res, _ := k.CheckCommitments(store, testLedger)
	if res[0].Holds || res[0].First != b.String() {
		t.Fatalf("an unrecorded burn: %+v", res)
	}
}

func TestDecodeBalanceRecord(t *testing.T) {
	c := movement.Commitment{Count: 2, Balance: 7}
	c.Chain[0] = 1
	rec := encodeBalanceRecord(7, c)
	for _, tc := range []struct {
		name    string
		b       []byte
		bal     uint64
		ok      bool
		wantErr bool
	}{
		{"absent", nil, 0, false, false},
		{"balance only", binary.BigEndian.AppendUint64(nil, 9), 9, false, false},
		{"with commitment", rec, 7, true, false},
		{"empty, not absent", []byte{}, 0, false, true},
		{"short", rec[:20], 0, false, true},
		{"long", append(bytes.Clone(rec), 0), 0, false, true},
		{"count without chain", encodeBalanceRecord(7, movement.Commitment{Count: 1}), 0, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bal, got, ok, err := DecodeBalanceRecord(tc.b)
			if tc.wantErr {
				if !errors.Is(err, ErrBadBalanceRecord) {
					t.Fatalf("err = %v, want ErrBadBalanceRecord", err)
				}
				return
			}
			if err != nil || bal != tc.bal || ok != tc.ok || ok && got != c {
				t.Fatalf("= %d %+v %v %v", bal, got, ok, err)
			}
		})
	}
}

// FuzzDecodeBalanceRecord: a balance record as a state proof delivers it.
func FuzzDecodeBalanceRecord(f *testing.F) {
	f.Add(encodeBalanceRecord(7, movement.Commitment{Count: 1, Chain: [32]byte{1}}))
	f.Add(binary.BigEndian.AppendUint64(nil, 9))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		bal, c, ok, err := DecodeBalanceRecord(b)
		if err != nil || b == nil {
			return
		}
		var again []byte
		if ok {
			again = encodeBalanceRecord(bal, c)
		} else {
			again = binary.BigEndian.AppendUint64(nil, bal)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("%x decodes to %d %+v %v, which encodes as %x", b, bal, c, ok, again)
		}
	})
}
