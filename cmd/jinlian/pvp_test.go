package main

import (
	"strings"
	"testing"
)

func TestPvpFlags(t *testing.T) {
	l, err := parseLeg("leg-a", "payments:CNY:700")
	if err != nil || l.Ledger != "payments" || l.Asset != "CNY" || l.Amount != 700 {
		t.Fatalf("leg %v %v", l, err)
	}
	for _, bad := range []string{"", "payments:CNY", "payments:CNY:0", ":CNY:5", "payments::5", "payments:CNY:-1", "a:b:c:d"} {
		if _, err := parseLeg("leg-a", bad); err == nil || !strings.Contains(err.Error(), "LEDGER:ASSET:AMOUNT") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if b, err := optionalAddress("receiver-a", ""); b != nil || err != nil {
		t.Fatalf("empty: %v %v", b, err)
	}
	if _, err := optionalAddress("receiver-a", "xyz"); err == nil || !strings.Contains(err.Error(), "--receiver-a") {
		t.Fatalf("bad address: %v", err)
	}
}
