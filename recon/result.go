package recon

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
)

// ResultFormat names the form of a reconciliation result and of its
// signature; it is part of what is signed.
const ResultFormat = "jinlian-recon-result/1"

// ChainAnchor is a block header the result was computed against: its
// app hash is the state after block Height−1, so the header of the day's
// first block holds the state before the day, and the header after its
// last block the state after it.
type ChainAnchor struct {
	Height    int64  `json:"height"`
	BlockHash string `json:"block_hash"` // upper-case hex, as CometBFT writes it
	AppHash   string `json:"app_hash"`
}

// ChainRange is the part of the chain a result covers.
type ChainRange struct {
	ChainID    string `json:"chain_id"`
	FromHeight int64  `json:"from_height"` // the day's first block (0: no block in the day)
	ToHeight   int64  `json:"to_height"`   // its last
	Complete   bool   `json:"complete"`    // no later block can fall in the day
	AsOfHeight int64  `json:"as_of_height"`
	// Before is the header of FromHeight (state before the day); After
	// the header of ToHeight+1 (state after the day), absent until that
	// block is committed.
	Before *ChainAnchor `json:"before,omitempty"`
	After  *ChainAnchor `json:"after,omitempty"`
}

// InternalSource identifies the internal file reconciled.
type InternalSource struct {
	Name     string `json:"name"`
	SM3      string `json:"sm3"` // of the file's bytes
	Encoding string `json:"encoding"`
	Records  int    `json:"records"`
}

// Result is a reconciliation of an organisation's business day, as it is
// written to a file and signed.
type Result struct {
	Format    string         `json:"format"`
	Org       string         `json:"org"`
	Date      string         `json:"date"`
	TimeZone  string         `json:"time_zone"`
	Chain     ChainRange     `json:"chain"`
	Internal  InternalSource `json:"internal"`
	Summary   Summary        `json:"summary"`
	Breaks    []Break        `json:"breaks"`
	Positions []Position     `json:"positions"`
	Totals    []DayTotal     `json:"totals"`
}

// fields are the signed parts of a result, in the order the signature
// lists them.
func (r *Result) fields() []struct {
	name string
	v    any
} {
	return []struct {
		name string
		v    any
	}{{"format", r.Format}, {"org", r.Org}, {"date", r.Date}, {"time_zone", r.TimeZone}, {"chain", r.Chain},
		{"internal", r.Internal}, {"summary", r.Summary}, {"breaks", r.Breaks}, {"positions", r.Positions}, {"totals", r.Totals}}
}

// FieldDigest is the SM3 of one field's JSON.
type FieldDigest struct {
	Field string `json:"field"`
	SM3   string `json:"sm3"`
}

// ResultSignature is an SM2 signature over a result: over the digest
// list's canonical text (SignedText), so that a verifier names the field
// that was changed.
type ResultSignature struct {
	Format    string        `json:"format"`
	Algorithm string        `json:"algorithm"` // SM2-SM3, default user ID
	Signer    string        `json:"signer"`    // address
	PublicKey string        `json:"public_key"`
	Fields    []FieldDigest `json:"fields"`
	SM3       string        `json:"sm3"` // of SignedText
	Signature string        `json:"signature"`
}

// SignedResult is the file `jinlian recon run --from KEY` writes.
type SignedResult struct {
	Result    Result          `json:"result"`
	Signature ResultSignature `json:"signature"`
}

// ErrResultSignature marks a signed result that does not verify; the
// message names the field.
var ErrResultSignature = errors.New("reconciliation result does not verify")

func digests(r *Result) ([]FieldDigest, error) {
	var out []FieldDigest
	for _, f := range r.fields() {
		b, err := json.Marshal(f.v)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", f.name, err)
		}
		h := gmcrypto.SM3(b)
		out = append(out, FieldDigest{Field: f.name, SM3: hex.EncodeToString(h[:])})
	}
	return out, nil
}

// SignedText is what the signature covers: the format, then one line
// "field sm3" per field. Anyone can rebuild it with SM3 alone: the SM3 of
// each field's compact JSON as it appears in the file's "result".
func SignedText(fields []FieldDigest) []byte {
	var b bytes.Buffer
	b.WriteString(ResultFormat + "\n")
	for _, f := range fields {
		fmt.Fprintf(&b, "%s %s\n", f.Field, f.SM3)
	}
	return b.Bytes()
}

// Sign signs r with key.
func Sign(r *Result, key *gmcrypto.PrivateKey) (*SignedResult, error) {
	r.Format = ResultFormat
	ds, err := digests(r)
	if err != nil {
		return nil, err
	}
	text := SignedText(ds)
	sig, err := key.Sign(text)
	if err != nil {
		return nil, err
	}
	h := gmcrypto.SM3(text)
	return &SignedResult{Result: *r, Signature: ResultSignature{Format: ResultFormat, Algorithm: "SM2-SM3",
		Signer: key.Public().Address().String(), PublicKey: hex.EncodeToString(key.Public().Bytes()), Fields: ds,
		SM3: hex.EncodeToString(h[:]), Signature: hex.EncodeToString(sig)}}, nil
}

// Verify checks a signed result file and returns it with its signer's
// address. Every failure wraps ErrResultSignature and names the field:
// a result field changed after signing, or signature.<field>. Unknown
// fields are refused: what is not signed must not be in the file.
func Verify(file []byte) (*SignedResult, string, error) {
	var sr SignedResult
	dec := json.NewDecoder(bytes.NewReader(file))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sr); err != nil {
		return nil, "", fmt.Errorf("%w: not a signed result: %v", ErrResultSignature, err)
	}
	if dec.More() {
		return nil, "", fmt.Errorf("%w: data after the signed result", ErrResultSignature)
	}
	s := &sr.Signature
	bad := func(field, format string, a ...any) (*SignedResult, string, error) {
		return nil, "", fmt.Errorf("%w: %s: %s", ErrResultSignature, field, fmt.Sprintf(format, a...))
	}
	if s.Format != ResultFormat {
		return bad("signature.format", "%q, want %q", s.Format, ResultFormat)
	}
	if s.Algorithm != "SM2-SM3" {
		return bad("signature.algorithm", "%q, want SM2-SM3", s.Algorithm)
	}
	pb, err := hex.DecodeString(s.PublicKey)
	if err != nil {
		return bad("signature.public_key", "%v", err)
	}
	pub, err := gmcrypto.ParsePublicKey(pb)
	if err != nil {
		return bad("signature.public_key", "%v", err)
	}
	if pub.Address().String() != s.Signer {
		return bad("signature.signer", "the public key is of %s, the signature claims %s", pub.Address(), s.Signer)
	}
	if sr.Result.Format != ResultFormat {
		return bad("result.format", "%q, want %q", sr.Result.Format, ResultFormat)
	}
	ds, err := digests(&sr.Result)
	if err != nil {
		return nil, "", err
	}
	if len(s.Fields) != len(ds) {
		return bad("signature.fields", "%d digests, want %d", len(s.Fields), len(ds))
	}
	for i, d := range ds {
		if s.Fields[i].Field != d.Field {
			return bad("signature.fields", "digest %d is of %q, want %q", i, s.Fields[i].Field, d.Field)
		}
	}
	text := SignedText(s.Fields)
	h := gmcrypto.SM3(text)
	sm3OK := hex.EncodeToString(h[:]) == strings.ToLower(s.SM3)
	sig, err := hex.DecodeString(s.Signature)
	switch sigOK := err == nil && pub.Verify(text, sig); {
	case !sigOK && !sm3OK:
		return bad("signature.fields", "the digest list's SM3 is %x, signature.sm3 gives %s, and the SM2 signature by %s does not cover it", h, s.SM3, s.Signer)
	case !sigOK:
		return bad("signature.signature", "the SM2 signature by %s does not verify", s.Signer)
	case !sm3OK:
		return bad("signature.sm3", "the digest list's SM3 is %x, not %s", h, s.SM3)
	}
	for i, d := range ds {
		if s.Fields[i].SM3 != d.SM3 {
			return bad("result."+d.Field, "changed after signing (SM3 %s, signed %s)", d.SM3, s.Fields[i].SM3)
		}
	}
	return &sr, s.Signer, nil
}
