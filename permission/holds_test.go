package permission

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckHolds(t *testing.T) {
	kv := newKV(t)
	place := func(h Hold) uint64 {
		t.Helper()
		id, err := PlaceHold(kv, h)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	acct := place(Hold{Ledger: "payments", Account: "AA", Reason: "court order"})
	asset := place(Hold{Ledger: "payments", Asset: "USD", Reason: "sanctions review"})
	place(Hold{Ledger: "scf", Reason: "migration", ExpiryHeight: 50})
	lifted := place(Hold{Ledger: "payments", Asset: "CNY", Reason: "lifted later"})
	if err := LiftHold(kv, lifted); err != nil {
		t.Fatal(err)
	}
	if err := LiftHold(kv, lifted); err == nil {
		t.Fatal("lifting a lifted hold succeeded")
	}
	if err := LiftHold(kv, 99); err == nil {
		t.Fatal("lifting an unknown hold succeeded")
	}

	for _, tc := range []struct {
		name            string
		ledger, asset   string
		account         string
		height          int64
		wantHold        uint64 // 0 = not held
		wantDescription string
	}{
		{"held account, any asset", "payments", "CNY", "AA", 10, acct, "court order"},
		{"other account", "payments", "CNY", "BB", 10, 0, ""},
		{"held asset", "payments", "USD", "BB", 10, asset, "sanctions review"},
		{"lifted hold no longer applies", "payments", "CNY", "CC", 10, 0, ""},
		{"whole ledger before expiry", "scf", "CNY", "BB", 49, 3, "migration"},
		{"whole ledger at expiry", "scf", "CNY", "BB", 50, 0, ""},
		{"ledger without holds", "custody", "CNY", "AA", 10, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckHolds(kv, tc.ledger, tc.asset, tc.account, tc.height)
			if tc.wantHold == 0 {
				if err != nil {
					t.Fatalf("held: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrHeld) {
				t.Fatalf("got %v, want ErrHeld", err)
			}
			h, _, _ := GetHold(kv, tc.wantHold)
			if !strings.Contains(err.Error(), h.String()) || !strings.Contains(err.Error(), tc.wantDescription) {
				t.Fatalf("error %q does not name %s", err, h)
			}
		})
	}

	all, err := Holds(kv)
	if err != nil || len(all) != 4 {
		t.Fatalf("Holds: %d holds, %v; want all 4, lifted ones included", len(all), err)
	}
	if ids, _ := activeHoldIDs(kv, "payments"); len(ids) != 2 || ids[0] != acct || ids[1] != asset {
		t.Fatalf("payments index %v, want [%d %d]", ids, acct, asset)
	}
}
