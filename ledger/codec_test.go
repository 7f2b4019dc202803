package ledger

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
	"testing/quick"
)

type codecRecord struct {
	Name    string            `json:"name"`
	Amount  uint64            `json:"amount"`
	Members []string          `json:"members,omitempty"`
	Meta    map[string]string `json:"meta,omitempty"`
	Key     []byte            `json:"key,omitempty"`
	Paused  bool              `json:"paused,omitempty"`
}

// The encoding is canonical: keys by their json names, sorted length
// first then bytewise (RFC 8949 §4.2.1), integers in their shortest form,
// omitted fields absent, map keys sorted whatever Go's iteration order.
// The bytes are pinned: a change here changes every app hash.
func TestEncodeIsCanonical(t *testing.T) {
	rec := codecRecord{Name: "CNY", Amount: 500, Meta: map[string]string{"zz": "1", "a": "2", "mm": "3"}}
	want := "a3" + // a map of 3 pairs, in key order:
		"646d657461" + "a3" + "61616132" + "626d6d6133" + "627a7a6131" + // "meta": {"a": "2", "mm": "3", "zz": "1"}
		"646e616d65" + "63434e59" + // "name": "CNY" (same length as "meta", after it bytewise)
		"66616d6f756e74" + "1901f4" // "amount": 500 (a longer key sorts after)
	for i := 0; i < 20; i++ { // map iteration order varies from run to run
		b, err := Encode(rec)
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(b); got != want {
			t.Fatalf("Encode = %s\nwant      %s", got, want)
		}
	}
}

// Decoding is strict: what another schema or a damaged record holds is an
// error, never a half-read record.
func TestDecodeRefuses(t *testing.T) {
	good, err := Encode(codecRecord{Name: "CNY", Amount: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, hex, want string
	}{
		{"unknown field", "a2646e616d6563434e5965657874726101", "unknown field"},
		{"duplicate key", "a2646e616d6563434e59646e616d6563555344", "duplicate map key"},
		{"indefinite length", "bf646e616d6563434e59ff", "indefinite-length"},
		{"trailing bytes", hex.EncodeToString(good) + "00", "extraneous data"},
		{"truncated", hex.EncodeToString(good[:len(good)-1]), "EOF"},
		{"wrong type", "a1646e616d6501", "cannot unmarshal"},
		{"empty", "", "EOF"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, _ := hex.DecodeString(c.hex)
			var r codecRecord
			err := Decode(b, &r)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "ledger.codecRecord") {
				t.Fatalf("Decode(%s) = %v, want an error naming the type and %q", c.hex, err, c.want)
			}
		})
	}
}

// Property: Decode(Encode(r)) == r and the encoding of the decoded record
// is the same bytes.
func TestCodecRoundTrip(t *testing.T) {
	f := func(name string, amount uint64, members []string, key []byte, paused bool) bool {
		r := codecRecord{Name: name, Amount: amount, Members: members, Key: key, Paused: paused}
		b, err := Encode(r)
		if err != nil {
			return false
		}
		var back codecRecord
		if err := Decode(b, &back); err != nil {
			return false
		}
		b2, err := Encode(back)
		return err == nil && bytes.Equal(b, b2) && back.Name == r.Name && back.Amount == r.Amount && len(back.Members) == len(r.Members) &&
			bytes.Equal(back.Key, r.Key) && back.Paused == r.Paused
	}
	if err := quick.Check(f, nil); err != nil {
		t.Fatal(err)
	}
}

// A damaged record never panics the decoder, and what decodes re-encodes
// canonically to bytes that decode to the same record.
func FuzzDecode(f *testing.F) {
	good, _ := Encode(codecRecord{Name: "CNY", Amount: 1, Members: []string{"bankA"}, Meta: map[string]string{"k": "v"}})
	f.Add(good)
	f.Add([]byte{0xbf, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		var r codecRecord
		if Decode(b, &r) != nil {
			return
		}
		again, err := Encode(r)
		if err != nil {
			t.Fatal(err)
		}
		var r2 codecRecord
		if err := Decode(again, &r2); err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
	})
}
