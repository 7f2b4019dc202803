package recon

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
)

func testResult(t *testing.T) *Result {
	t.Helper()
	chain, file := dayRows(t), dayRows(t)
	file[3].Amount++
	f, err := ParseInternal(bytes.NewReader(statementCSV(t, file)), DefaultMapping(), shanghaiTZ)
	if err != nil {
		t.Fatal(err)
	}
	rec := Match(chain, f.Records)
	day := reconDay(t)
	return &Result{Org: "bankA", Date: day.Date, TimeZone: day.TimeZone,
		Chain: ChainRange{ChainID: "jinlian-test", FromHeight: 11, ToHeight: 22, Complete: true, AsOfHeight: 40,
			Before: &ChainAnchor{Height: 11, BlockHash: strings.Repeat("AB", 32), AppHash: strings.Repeat("CD", 32)},
			After:  &ChainAnchor{Height: 23, BlockHash: strings.Repeat("EF", 32), AppHash: strings.Repeat("12", 32)}},
		Internal: InternalSource{Name: "bankA-20261203.csv", SM3: strings.Repeat("34", 32), Encoding: f.Encoding, Records: len(f.Records)},
		Summary:  rec.Summary, Breaks: rec.Breaks, Positions: rec.Positions, Totals: rec.Totals}
}

// TestSignedResult: a signed result verifies and names its signer; any
// field changed, in the result or in the signature, fails naming it.
func TestSignedResult(t *testing.T) {
	key, err := gmcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	other, err := gmcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	sr, err := Sign(testResult(t), key)
	if err != nil {
		t.Fatal(err)
	}
	file, err := json.MarshalIndent(sr, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got, signer, err := Verify(file)
	if err != nil {
		t.Fatal(err)
	}
	if signer != key.Public().Address().String() || got.Result.Summary.ByKind[BreakAmountMismatch] != 1 || got.Result.Chain.After.Height != 23 {
		t.Fatalf("round trip: signer %s, result %+v", signer, got.Result.Summary)
	}

	// Change each field in turn, through the file's JSON as an editor would.
	edit := func(path string, change func(any) any) []byte {
		var doc map[string]any
		if err := json.Unmarshal(file, &doc); err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(path, ".")
		m := doc
		for _, p := range parts[:len(parts)-1] {
			m = m[p].(map[string]any)
		}
		m[parts[len(parts)-1]] = change(m[parts[len(parts)-1]])
		b, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	str := func(v any) any {
		s := v.(string)
		if s == "" {
			return "x"
		}
		r := []byte(s)
		if r[len(r)-1] == '0' {
			r[len(r)-1] = '1'
		} else {
			r[len(r)-1] = '0'
		}
		return string(r)
	}
	cases := map[string]func(any) any{
		"result.format":    str,
		"result.org":       func(any) any { return "bankB" },
		"result.date":      func(any) any { return "2026-12-04" },
		"result.time_zone": func(any) any { return "UTC" },
		"result.chain": func(v any) any {
			v.(map[string]any)["to_height"] = 23
			return v
		},
		"result.internal": func(v any) any {
			v.(map[string]any)["records"] = 11
			return v
		},
		"result.summary": func(v any) any {
			v.(map[string]any)["matched"] = 12
			return v
		},
		"result.breaks":    func(any) any { return []any{} },
		"result.positions": func(v any) any { return v.([]any)[1:] },
		"result.totals": func(v any) any {
			v.([]any)[0].(map[string]any)["agree"] = true
			return v
		},
		"signature.format":     str,
		"signature.algorithm":  func(any) any { return "SM2" },
		"signature.signer":     func(any) any { return other.Public().Address().String() },
		"signature.public_key": func(any) any { return "04" + strings.Repeat("00", 64) },
		"signature.fields": func(v any) any {
			v.([]any)[7].(map[string]any)["sm3"] = strings.Repeat("00", 32)
			return v
		},
		"signature.sm3":       str,
		"signature.signature": str,
	}
	var r Result
	for _, f := range r.fields() {
		if cases["result."+f.name] == nil {
			t.Errorf("no case changes result.%s", f.name)
		}
	}
	for path, change := range cases {
		_, _, err := Verify(edit(path, change))
		if !errors.Is(err, ErrResultSignature) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s changed: %v", path, err)
		}
	}
	// The signature with a signed field list of another result of the
	// same key: the digests agree with the signature, not with the result.
	sr2, _ := Sign(testResult(t), key)
	sr2.Result.Org = "bankC"
	b2, _ := json.Marshal(sr2)
	if _, _, err := Verify(b2); err == nil || !strings.Contains(err.Error(), "result.org") {
		t.Errorf("result changed after signing: %v", err)
	}
	// A key that signs a result is its signer: another key's valid
	// signature names the other key (the CLI then refuses it unless it
	// is the expected signer).
	sr3, _ := Sign(testResult(t), other)
	b3, _ := json.Marshal(sr3)
	if _, who, err := Verify(b3); err != nil || who != other.Public().Address().String() || who == signer {
		t.Errorf("other signer: %s %v", who, err)
	}
	// Unknown fields are refused: they would not be signed.
	if _, _, err := Verify(edit("result", func(v any) any { v.(map[string]any)["note"] = "approved"; return v })); err == nil {
		t.Error("an unsigned field was accepted")
	}
}

// FuzzVerify: a signed result file is outside bytes; Verify never panics
// and accepts nothing but the file it signed.
func FuzzVerify(f *testing.F) {
	key, err := gmcrypto.GenerateKey()
	if err != nil {
		f.Fatal(err)
	}
	r := &Result{Org: "bankA", Date: "2026-12-03", Breaks: []Break{{Kind: BreakMissingOnChain, Reference: "INV-1", Internal: &Record{Line: 2, Direction: Debit, Amount: 1}}}}
	sr, err := Sign(r, key)
	if err != nil {
		f.Fatal(err)
	}
	good, _ := json.Marshal(sr)
	f.Add(good)
	f.Add([]byte(`{"result":{},"signature":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, _, err := Verify(data)
		if err == nil && got.Result.Org != "bankA" {
			t.Fatalf("a file never signed verifies: %s", data)
		}
	})
}
