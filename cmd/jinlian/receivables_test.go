package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/contracts/receivables"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/node/localnet"
)

func TestReceivableFlags(t *testing.T) {
	if due, err := parseDue("2027-03-31"); err != nil || due != time.Date(2027, 3, 31, 0, 0, 0, 0, time.UTC).Unix() {
		t.Fatalf("date: %d %v", due, err)
	}
	if due, err := parseDue("2027-03-31T17:00:00+08:00"); err != nil || due != time.Date(2027, 3, 31, 9, 0, 0, 0, time.UTC).Unix() {
		t.Fatalf("RFC 3339: %d %v", due, err)
	}
	if _, err := parseDue("31/03/2027"); err == nil || !strings.Contains(err.Error(), "--due-date") {
		t.Fatalf("bad date: %v", err)
	}
	if a, err := parseAmounts([]string{"600", " 300", "100"}); err != nil || len(a) != 3 || a[1] != 300 {
		t.Fatalf("amounts %v %v", a, err)
	}
	for _, bad := range [][]string{{"5"}, {"1", "0"}, {"1", "-2"}, {"x", "1"}} {
		if _, err := parseAmounts(bad); err == nil || !strings.Contains(err.Error(), "--amounts") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	file := filepath.Join(t.TempDir(), "invoice.pdf")
	if err := os.WriteFile(file, []byte("invoice 42"), 0o600); err != nil {
		t.Fatal(err)
	}
	want := gmcrypto.SM3([]byte("invoice 42"))
	if h, err := invoiceHash(file, ""); err != nil || string(h) != string(want[:]) {
		t.Fatalf("hash of the file: %x %v", h, err)
	}
	if h, err := invoiceHash("", fmt.Sprintf("%x", want)); err != nil || string(h) != string(want[:]) {
		t.Fatalf("hash given: %x %v", h, err)
	}
	for _, c := range [][2]string{{"", ""}, {file, "ab"}, {"", "abcd"}} {
		if _, err := invoiceHash(c[0], c[1]); err == nil {
			t.Errorf("%q: accepted", c)
		}
	}
}

// TestReceivableCLI drives a supplier chain through the CLI on a localnet
// of three validators: bankB (the supplier) registers a receivable on
// bankA (the core enterprise) for an invoice file; a second registration
// of the invoice and bankB confirming its own receivable are refused;
// bankA confirms; bankB splits it, bankC cannot; bankB transfers a part to
// bankC (tier 2) and discounts the other to bankC (the bank), which pays
// and takes it in one transaction; bankA settles at the due height, once;
// the queries and the invariants show it.
func TestReceivableCLI(t *testing.T) {
	ln, _ := startCLILocalnet(t, 3)
	keys := localnet.KeysDir(ln.Home)
	var who [3]gmcrypto.KeyInfo
	for i, org := range []string{"bankA", "bankB", "bankC"} {
		k, err := gmcrypto.ReadKeyInfo(filepath.Join(keys, org+".json"))
		if err != nil {
			t.Fatal(err)
		}
		who[i] = k
	}
	core, supplier, bank := who[0], who[1], who[2]
	node := []string{"--node", ln.Network.Nodes[0].RPCAddr}
	tx := func(from string, args ...string) (txResult, error) {
		t.Helper()
		out, err := runCLI(t, append(append(append([]string{"tx", "receivable"}, args...), "--from", filepath.Join(keys, from+".json"), "-o", "json"), node...)...)
		var res txResult
		if jerr := json.Unmarshal([]byte(out), &res); jerr != nil && err == nil {
			t.Fatalf("%v: output %q: %v", args, out, jerr)
		}
		return res, err
	}
	refused := func(res txResult, err error, want interface{ Code() uint32 }, what string) {
		t.Helper()
		if err == nil || res.Code != want.Code() || res.Codespace != "receivables" {
			t.Fatalf("%s: %v %+v", what, err, res)
		}
	}
	invoice := filepath.Join(t.TempDir(), "invoice-2026-0042.txt")
	if err := os.WriteFile(invoice, []byte("steel coil, lot 7, 1000.00 CNY"), 0o600); err != nil {
		t.Fatal(err)
	}

	res, err := tx("bankB", "register", "--payer", core.Address, "--face-value", "1000", "--due-height", "1", "--invoice", invoice)
	refused(res, err, receivables.ErrInvalidDue, "due in the past")
	// Due in 30 s of block time (the localnet's blocks carry the wall clock).
	due := time.Now().Add(30 * time.Second).UTC().Format(time.RFC3339)
	res, err = tx("bankB", "register", "--payer", core.Address, "--face-value", "1000", "--due-date", due, "--invoice", invoice, "--memo", "PO 42")
	if err != nil || res.Code != 0 {
		t.Fatalf("register: %v %+v", err, res)
	}
	id := res.TxID
	// No double financing; the payee cannot confirm its own receivable.
	res, err = tx("bankC", "register", "--payer", core.Address, "--face-value", "1000", "--due-date", due, "--invoice", invoice)
	refused(res, err, receivables.ErrDuplicateInvoice, "the invoice again")
	res, err = tx("bankB", "confirm", "--receivable", id)
	refused(res, err, receivables.ErrWrongParty, "the payee confirming")
	if res, err := tx("bankA", "confirm", "--receivable", id); err != nil {
		t.Fatalf("confirm: %v %+v", err, res)
	}
	res, err = tx("bankA", "settle", "--receivable", id, "--amount", "1000")
	refused(res, err, receivables.ErrNotDue, "settling before due")

	res, err = tx("bankC", "split", "--receivable", id, "--amounts", "600,400")
	refused(res, err, receivables.ErrWrongParty, "a non-holder splitting")
	res, err = tx("bankB", "split", "--receivable", id, "--amounts", "600,300")
	refused(res, err, receivables.ErrBadSplit, "a split not summing")
	if res, err := tx("bankB", "split", "--receivable", id, "--amounts", "600,400"); err != nil {
		t.Fatalf("split: %v %+v", err, res)
	}
	if res, err := tx("bankB", "transfer", "--receivable", id, "--part", "3", "--to", bank.Address); err != nil {
		t.Fatalf("transfer: %v %+v", err, res)
	}
	res, err = tx("bankC", "discount-accept", "--receivable", id, "--part", "2", "--price", "570")
	refused(res, err, receivables.ErrNoOffer, "accepting a discount not offered")
	if res, err := tx("bankB", "discount-offer", "--receivable", id, "--part", "2", "--bank", bank.Address, "--price", "570", "--expiry-height", "1000000"); err != nil {
		t.Fatalf("offer: %v %+v", err, res)
	}
	if res, err := tx("bankC", "discount-accept", "--receivable", id, "--part", "2", "--price", "570"); err != nil {
		t.Fatalf("accept: %v %+v", err, res)
	}
	out, err := runCLI(t, append([]string{"query", "receivable", id, "-o", "json"}, node...)...)
	var r app.ReceivableResponse
	if err != nil || json.Unmarshal([]byte(out), &r) != nil || r.Status != receivables.StatusActive || len(r.Parts) != 2 ||
		r.Parts[0].Holder != bank.Address || r.Parts[1].Holder != bank.Address || r.Memo != "PO 42" {
		t.Fatalf("receivable: %v %s", err, out)
	}
	out, err = runCLI(t, append([]string{"query", "receivables", "--holder", bank.Address}, node...)...)
	if err != nil || !strings.Contains(out, id+" active") || !strings.Contains(out, "held 1000") {
		t.Fatalf("receivables: %v %s", err, out)
	}

	// At the due date the core enterprise pays; once.
	deadline := time.Now().Add(90 * time.Second)
	for {
		res, err = tx("bankA", "settle", "--receivable", id, "--amount", "1000")
		if err == nil || res.Code != receivables.ErrNotDue.Code() || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	if err != nil || res.Code != 0 {
		t.Fatalf("settle: %v %+v", err, res)
	}
	res, err = tx("bankA", "settle", "--receivable", id, "--amount", "1")
	refused(res, err, receivables.ErrAlreadySettled, "settling twice")
	out, err = runCLI(t, append([]string{"query", "receivable", id}, node...)...)
	if err != nil || !strings.Contains(out, "receivable "+id+": settled") || !strings.Contains(out, "paid 1000, outstanding 0") {
		t.Fatalf("settled receivable: %v %s", err, out)
	}
	for _, c := range []struct {
		who    gmcrypto.KeyInfo
		amount string
	}{{supplier, fmt.Sprint(localnet.Funding + 570)}, {bank, fmt.Sprint(localnet.Funding - 570 + 1000)}, {core, fmt.Sprint(localnet.Funding - 1000)}} {
		out, err = runCLI(t, append([]string{"query", "balance", "--asset", "CNY", "--account", c.who.Address, "-o", "json"}, node...)...)
		var b app.BalanceResponse
		if err != nil || json.Unmarshal([]byte(out), &b) != nil || fmt.Sprint(b.Amount) != c.amount {
			t.Fatalf("balance of %s: %v %s, want %s", c.who.Address, err, out, c.amount)
		}
	}
	out, err = runCLI(t, append([]string{"debug", "invariants"}, node...)...)
	if err != nil || !strings.Contains(out, "receivable "+id+": settled, parts 1000 of face 1000, paid 1000") || !strings.Contains(out, "invariants hold: true") {
		t.Fatalf("invariants: %v %s", err, out)
	}
}
