package app

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// VoteExtension is what a validator attaches to its precommit: the SM2
// signature of the quorum certificate and, at checkpoint heights, its
// checkpoint signature (docs/checkpoints.md).
//
// Wire format, backward compatible with the SM2-only extension. Without a
// checkpoint signature it is the raw SM2 signature (ASN.1 DER, so its first
// byte is 0x30), exactly what earlier versions send. With one it is the
// protobuf message VoteExtension { bytes sm2_signature = 1; bytes
// checkpoint_signature = 2; }, whose first byte is 0x0a (field 1,
// length-delimited).
//
// Earlier versions cannot read the second form, so a chain emits it only
// once checkpoints are switched on for it (checkpoint_interval > 0), which
// all its validators must run a version for.
type VoteExtension struct {
	SM2Signature        []byte
	CheckpointSignature []byte
}

const (
	derSequence          = 0x30
	maxExtensionFieldLen = 1 << 10
)

// ErrVoteExtension is a vote extension that does not decode.
var ErrVoteExtension = errors.New("malformed vote extension")

// EncodeVoteExtension encodes e in the shortest form that carries it. The
// raw form is used only when it cannot be mistaken for the message: an SM2
// signature is DER and always starts with 0x30.
func EncodeVoteExtension(e VoteExtension) []byte {
	if len(e.CheckpointSignature) == 0 && (len(e.SM2Signature) == 0 || e.SM2Signature[0] == derSequence) {
		return append([]byte(nil), e.SM2Signature...)
	}
	b := protowire.AppendTag(nil, 1, protowire.BytesType)
	b = protowire.AppendBytes(b, e.SM2Signature)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	return protowire.AppendBytes(b, e.CheckpointSignature)
}

// DecodeVoteExtension reads either form. An empty extension is valid (a
// validator without an SM2 key).
func DecodeVoteExtension(b []byte) (VoteExtension, error) {
	var e VoteExtension
	if len(b) == 0 || b[0] == derSequence {
		e.SM2Signature = b
		return e, nil
	}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return e, fmt.Errorf("%w: %v", ErrVoteExtension, protowire.ParseError(n))
		}
		b = b[n:]
		if typ != protowire.BytesType || (num != 1 && num != 2) {
			return e, fmt.Errorf("%w: unexpected field %d of wire type %d", ErrVoteExtension, num, typ)
		}
		v, m := protowire.ConsumeBytes(b)
		if m < 0 {
			return e, fmt.Errorf("%w: %v", ErrVoteExtension, protowire.ParseError(m))
		}
		if len(v) > maxExtensionFieldLen {
			return e, fmt.Errorf("%w: field %d of %d bytes", ErrVoteExtension, num, len(v))
		}
		b = b[m:]
		switch {
		case num == 1 && e.SM2Signature == nil:
			e.SM2Signature = v
		case num == 2 && e.CheckpointSignature == nil:
			e.CheckpointSignature = v
		default:
			return e, fmt.Errorf("%w: field %d repeated", ErrVoteExtension, num)
		}
	}
	return e, nil
}
