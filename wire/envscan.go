package wire

import (
	"unicode/utf8"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/jinlian-ledger/jinlian/proto/txpb"
)

// envelopeParts are the fields of an envelope's Fabric messages (Envelope,
// Payload, Header, ChannelHeader and its Timestamp, SignatureHeader,
// SerializedIdentity) and of jinlian's HeaderExtension that DecodeTx
// reads. Absent fields are zero, as protobuf decodes them.
type envelopeParts struct {
	payload, signature []byte
	hasHeader          bool // the payload has a header, if an empty one
	data               []byte
	chType             int32
	hasTimestamp       bool
	seconds            int64
	nanos              int32
	channelID, txID    string
	chainID            string
	creator, nonce     []byte
	mspid              string
	idBytes            []byte
}

// scanEnvelope reads b's parts without protobuf's reflection and without
// copying: every byte slice of the result points into b. It reads only the
// envelopes clients write (each field of these messages at most once, with
// the wire type of its declaration, no unknown fields, strings of valid
// UTF-8) and reports false for anything else, which DecodeTx then decodes
// with proto.Unmarshal. On the envelopes it accepts, both give the same
// parts (FuzzScanEnvelope compares them), so the shortcut cannot change
// what a transaction means. Decoding an envelope is a tenth of a
// validator's own work per transfer; protobuf's reflection was half of it
// (docs/performance.md).
func scanEnvelope(b []byte) (p envelopeParts, ok bool) {
	var header, channelHeader, signatureHeader, timestamp, extension, mspid []byte
	if p.payload, p.signature, _, ok = scanPair(b); !ok {
		return p, false
	}
	if header, p.data, p.hasHeader, ok = scanPair(p.payload); !ok {
		return p, false
	}
	if channelHeader, signatureHeader, _, ok = scanPair(header); !ok {
		return p, false
	}
	if p.creator, p.nonce, _, ok = scanPair(signatureHeader); !ok {
		return p, false
	}
	if mspid, p.idBytes, _, ok = scanPair(p.creator); !ok || !utf8.Valid(mspid) {
		return p, false
	}
	p.mspid = string(mspid)
	ok = scanMessage(channelHeader, func(n protowire.Number, t protowire.Type, v []byte, x uint64) bool {
		switch {
		case n == 1 && t == protowire.VarintType:
			p.chType = int32(x)
		case n == 2 && t == protowire.VarintType: // version, not read
		case n == 3 && t == protowire.BytesType:
			timestamp, p.hasTimestamp = v, true
		case n == 4 && t == protowire.BytesType && utf8.Valid(v):
			p.channelID = string(v)
		case n == 5 && t == protowire.BytesType && utf8.Valid(v):
			p.txID = string(v)
		case n == 6 && t == protowire.VarintType: // epoch, not read
		case n == 7 && t == protowire.BytesType:
			extension = v
		case n == 8 && t == protowire.BytesType: // tls_cert_hash, not read
		default:
			return false
		}
		return true
	}) && scanMessage(timestamp, func(n protowire.Number, t protowire.Type, _ []byte, x uint64) bool {
		switch {
		case n == 1 && t == protowire.VarintType:
			p.seconds = int64(x)
		case n == 2 && t == protowire.VarintType:
			p.nanos = int32(x)
		default:
			return false
		}
		return true
	}) && scanMessage(extension, func(n protowire.Number, t protowire.Type, v []byte, _ uint64) bool {
		if n != 1 || t != protowire.BytesType || !utf8.Valid(v) {
			return false
		}
		p.chainID = string(v)
		return true
	})
	return p, ok
}

// scanPair reads a message of two length-delimited fields, numbers 1 and
// 2, as Envelope, Payload, Header, SignatureHeader and SerializedIdentity
// are: their values, and whether field 1 was present (a message field
// present but empty is not absent).
func scanPair(b []byte) (f1, f2 []byte, has1, ok bool) {
	ok = scanMessage(b, func(n protowire.Number, t protowire.Type, v []byte, _ uint64) bool {
		switch {
		case t != protowire.BytesType:
			return false
		case n == 1:
			f1, has1 = v, true
		case n == 2:
			f2 = v
		default:
			return false
		}
		return true
	})
	return f1, f2, has1, ok
}

// scanMessage calls field for each field of the protobuf message b, with
// its value (a length-delimited field's bytes, or a varint); it reports
// false when b is malformed, holds a field number twice, holds a wire type
// other than these two, or when field does.
func scanMessage(b []byte, field func(n protowire.Number, t protowire.Type, v []byte, x uint64) bool) bool {
	var seen uint64
	for len(b) > 0 {
		n, t, l := protowire.ConsumeTag(b)
		if l < 0 || n < 1 || n > 63 || seen&(1<<n) != 0 {
			return false
		}
		seen |= 1 << n
		b = b[l:]
		var v []byte
		var x uint64
		switch t {
		case protowire.BytesType:
			v, l = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			x, l = protowire.ConsumeVarint(b)
		default:
			return false
		}
		if l < 0 || !field(n, t, v, x) {
			return false
		}
		b = b[l:]
	}
	return true
}

// unmarshalEnvelope reads b's parts with proto.Unmarshal: every envelope
// protobuf accepts, in any encoding. Its errors name the message that
// does not decode.
func unmarshalEnvelope(b []byte) (envelopeParts, error) {
	var p envelopeParts
	var env common.Envelope
	if err := proto.Unmarshal(b, &env); err != nil {
		return p, ErrTxDecode.Wrapf("envelope: %v", err)
	}
	p.payload, p.signature = env.Payload, env.Signature
	var payload common.Payload
	if err := proto.Unmarshal(env.Payload, &payload); err != nil {
		return p, ErrTxDecode.Wrapf("payload: %v", err)
	}
	p.hasHeader, p.data = payload.Header != nil, payload.Data
	var ch common.ChannelHeader
	if err := proto.Unmarshal(payload.GetHeader().GetChannelHeader(), &ch); err != nil {
		return p, ErrTxDecode.Wrapf("channel header: %v", err)
	}
	p.chType, p.channelID, p.txID = ch.Type, ch.ChannelId, ch.TxId
	if ch.Timestamp != nil {
		p.hasTimestamp, p.seconds, p.nanos = true, ch.Timestamp.Seconds, ch.Timestamp.Nanos
	}
	var ext txpb.HeaderExtension
	if err := proto.Unmarshal(ch.Extension, &ext); err != nil {
		return p, ErrTxDecode.Wrapf("channel header extension: %v", err)
	}
	p.chainID = ext.ChainId
	var sh common.SignatureHeader
	if err := proto.Unmarshal(payload.GetHeader().GetSignatureHeader(), &sh); err != nil {
		return p, ErrTxDecode.Wrapf("signature header: %v", err)
	}
	p.creator, p.nonce = sh.Creator, sh.Nonce
	var id msp.SerializedIdentity
	if err := proto.Unmarshal(sh.Creator, &id); err != nil {
		return p, ErrTxDecode.Wrapf("creator identity: %v", err)
	}
	p.mspid, p.idBytes = id.Mspid, id.IdBytes
	return p, nil
}
