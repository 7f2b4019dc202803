package ledger

import (
	"fmt"
	"reflect"

	"github.com/fxamacker/cbor/v2"
)

// State records (an account, an asset, a proposal, a checkpoint, ...) are
// stored in CBOR (RFC 8949) in its core deterministic encoding (§4.2.1):
// one encoding per value, so every node writes the same bytes and the app
// hash depends on the values alone (docs/adr/0009-state-encoding.md).
// Struct fields are keyed by their "cbor" tag, else their "json" tag, as
// in the JSON the API serves. Decoding is strict: an unknown field, a
// duplicate key, an indefinite length or trailing bytes is an error, so a
// record written by another schema is never half read.

var (
	encMode cbor.EncMode
	decMode cbor.DecMode
)

func init() {
	var err error
	if encMode, err = cbor.CoreDetEncOptions().EncMode(); err != nil {
		panic(err)
	}
	if decMode, err = (cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
	}).DecMode(); err != nil {
		panic(err)
	}
}

// Encode returns the canonical encoding of state record v.
func Encode(v any) ([]byte, error) {
	b, err := encMode.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", reflect.TypeOf(v), err)
	}
	return b, nil
}

// Decode reads state record b into v (a pointer).
func Decode(b []byte, v any) error {
	if err := decMode.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", reflect.TypeOf(v), err)
	}
	return nil
}
