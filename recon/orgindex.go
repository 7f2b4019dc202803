package recon

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
)

// OrgIndex is a node's own index of movements by organisation: every row
// of every committed transaction (TxMovements), kept under the
// organisation whose account it is, in height, transaction and event
// order. A node writes it as blocks commit, from the blocks and their
// saved results (consensus.MovementIndex), so it lists a day's movements
// with one ordered read instead of the tx index's searches, and it is
// complete by construction: it does not depend on which attributes the
// tx index keeps. A Chain that also implements OrgIndex serves the
// heights it covers from it (rowsOf).
type OrgIndex interface {
	// Indexed returns the heights the index holds, both included: from
	// is 0 when it holds none. Every height in between is complete.
	Indexed() (from, to int64)
	// OrgRows calls fn with org's rows of heights from..to (both
	// included, within Indexed), in order, their times in UTC; it stops
	// at the first error fn returns and returns it.
	OrgRows(ctx context.Context, org string, from, to int64, fn func(Row) error) error
}

// BlockTail is a Chain with an OrgIndex that can also read its blocks and
// their saved results: the heights the index has not reached yet (it
// follows the block store and trails it by a block or two) are then read
// from the blocks, as the index itself reads them, instead of searched in
// the tx index, up to MaxTail heights behind. A node that keeps no tx
// index (events.index = none with the API, ADR 0028) lists statements
// this way alone.
type BlockTail interface {
	// BlockTxs returns height h's block time and its transactions with
	// their results, in block order (Blocks.BlockTxs).
	BlockTxs(h int64) (time.Time, []*abci.TxResult, error)
}

// ErrCatchingUp: a node's movement index has not reached the heights a
// statement needs, and the node keeps no tx index to search them in. It
// answers once the index has caught up.
var ErrCatchingUp = errors.New("the movement index is catching up")

// MaxTail is how many heights above an OrgIndex's last a BlockTail chain
// reads from its blocks; further behind (the index is catching up after a
// start), the heights are searched in the tx index.
const MaxTail = 16

// Encoding of a row in an OrgIndex (AppendIndexedRow, DecodeIndexedRow):
// a version byte, then the fields in Row's order, integers as varints and
// strings as a length and their bytes.
const indexedRowV1 = 1

// Flags of an indexed row.
const (
	rowHasBalance    = 1 << 0
	rowHasRedemption = 1 << 1
)

// maxIndexedString bounds one string of an indexed row.
const maxIndexedString = 1 << 16

// AppendIndexedRow appends r's encoding to b. Result is not kept: every
// indexed row is a committed, successful transaction's (ResultOK).
func AppendIndexedRow(b []byte, r *Row) []byte {
	b = append(b, indexedRowV1)
	b = binary.AppendVarint(b, r.Time.UnixNano())
	b = binary.AppendVarint(b, r.Height)
	b = binary.AppendUvarint(b, uint64(r.TxIndex))
	b = binary.AppendUvarint(b, uint64(r.EventIndex))
	b = appendHex(b, r.TxID, false)
	b = appendHex(b, r.TxHash, true)
	for _, s := range []string{r.Ledger, r.Asset, r.Kind, r.Direction} {
		b = appendString(b, s)
	}
	b = binary.AppendUvarint(b, r.Amount)
	b = appendHex(b, r.Account, false)
	b = appendHex(b, r.Counterparty, false)
	for _, s := range []string{r.CounterpartyOrg, r.Memo} {
		b = appendString(b, s)
	}
	var flags byte
	if r.BalanceAfter != nil {
		flags |= rowHasBalance
	}
	if r.Redemption != nil {
		flags |= rowHasRedemption
	}
	b = append(b, flags)
	if r.BalanceAfter != nil {
		b = binary.AppendUvarint(b, *r.BalanceAfter)
	}
	if r.Redemption != nil {
		b = binary.AppendUvarint(b, *r.Redemption)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendHex appends s, an id, hash or address written in hex (upper or
// lower case, as the row has it), as its bytes when it is hex in that
// case, which halves the largest fields of a row, else as a string: a
// length shifted left with the low bit telling which.
func appendHex(b []byte, s string, upper bool) []byte {
	if raw, ok := packedHex(s, upper); ok {
		b = binary.AppendUvarint(b, uint64(len(raw))<<1|1)
		return append(b, raw...)
	}
	b = binary.AppendUvarint(b, uint64(len(s))<<1)
	return append(b, s...)
}

// packedHex returns s's bytes when s is non-empty hex in the given case.
func packedHex(s string, upper bool) ([]byte, bool) {
	if s == "" || len(s)%2 != 0 {
		return nil, false
	}
	raw, err := hex.DecodeString(s)
	if err != nil || hexOf(raw, upper) != s {
		return nil, false
	}
	return raw, true
}

func hexOf(raw []byte, upper bool) string {
	digits := "0123456789abcdef"
	if upper {
		digits = "0123456789ABCDEF"
	}
	out := make([]byte, 2*len(raw))
	for i, c := range raw {
		out[2*i], out[2*i+1] = digits[c>>4], digits[c&15]
	}
	return string(out)
}

// errIndexedRow is the cause of every decoding failure.
var errIndexedRow = errors.New("malformed indexed row")

// DecodeIndexedRow decodes what AppendIndexedRow wrote, with its time in
// UTC; any other input is an error, never a panic.
func DecodeIndexedRow(b []byte) (Row, error) {
	return decodeIndexedRow(rowDecoder{b: b})
}

// RowDecoder decodes indexed rows as DecodeIndexedRow does, sharing one
// string among its rows for each value of the fields that repeat
// (sub-ledger, asset, kind, direction, accounts, counterparty's
// organisation): a day's statement decodes a hundred thousand rows of a
// few accounts. It keeps at most maxInterned strings. The zero value is
// ready; not for concurrent use.
type RowDecoder struct {
	interned map[string]string
	key      []byte
}

// maxInterned bounds a RowDecoder's shared strings (past it, new values
// are decoded as they come).
const maxInterned = 4096

// Decode decodes one row.
func (rd *RowDecoder) Decode(b []byte) (Row, error) {
	return decodeIndexedRow(rowDecoder{b: b, rd: rd})
}

func decodeIndexedRow(d rowDecoder) (Row, error) {
	if v := d.byte(); v != indexedRowV1 && d.err == nil {
		return Row{}, fmt.Errorf("%w: version %d (this build reads %d)", errIndexedRow, v, indexedRowV1)
	}
	var r Row
	r.Time = time.Unix(0, d.varint()).UTC()
	r.Height = d.varint()
	r.TxIndex = uint32(d.uvarint(1<<32 - 1))
	r.EventIndex = int(d.uvarint(1<<31 - 1))
	r.TxID = d.hex(false)
	r.TxHash = d.hex(true)
	for _, s := range []*string{&r.Ledger, &r.Asset, &r.Kind, &r.Direction} {
		*s = d.shared(false, false)
	}
	r.Amount = d.uvarint(^uint64(0))
	r.Account = d.shared(true, false)
	r.Counterparty = d.shared(true, false)
	r.CounterpartyOrg = d.shared(false, false)
	r.Memo = d.string()
	flags := d.byte()
	if flags&^(rowHasBalance|rowHasRedemption) != 0 && d.err == nil {
		d.err = fmt.Errorf("%w: unknown flags %#x", errIndexedRow, flags)
	}
	if flags&rowHasBalance != 0 {
		r.BalanceAfter = ptr(d.uvarint(^uint64(0)))
	}
	if flags&rowHasRedemption != 0 {
		r.Redemption = ptr(d.uvarint(^uint64(0)))
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%w: %d trailing bytes", errIndexedRow, len(d.b))
	}
	if d.err != nil {
		return Row{}, d.err
	}
	r.Result = ResultOK
	return r, nil
}

// rowDecoder reads an indexed row; the first failure sticks and later
// reads return zero values.
type rowDecoder struct {
	b   []byte
	err error
	rd  *RowDecoder // nil: nothing shared
}

// shared reads a string (hex: as d.hex reads it) through the decoder's
// shared strings.
func (d *rowDecoder) shared(isHex, upper bool) string {
	var tag uint64
	if isHex {
		tag = d.uvarint(maxIndexedString<<1 | 1)
	} else {
		tag = d.uvarint(maxIndexedString) << 1
	}
	v := d.bytes(tag >> 1)
	if d.rd == nil || d.err != nil {
		if isHex {
			return d.hexValue(tag, v, upper)
		}
		return string(v)
	}
	// The key says how the bytes were read (a plain string, hex as a
	// string, packed hex; lower or upper case), so that a value is
	// shared only with one read, and checked, the same way.
	kind := byte(tag & 1)
	if isHex {
		kind |= 2
	}
	if upper {
		kind |= 4
	}
	d.rd.key = append(append(d.rd.key[:0], kind), v...)
	if s, ok := d.rd.interned[string(d.rd.key)]; ok {
		return s
	}
	var s string
	if isHex {
		s = d.hexValue(tag, v, upper)
	} else {
		s = string(v)
	}
	if d.err == nil && len(d.rd.interned) < maxInterned {
		if d.rd.interned == nil {
			d.rd.interned = map[string]string{}
		}
		d.rd.interned[string(d.rd.key)] = s
	}
	return s
}

func (d *rowDecoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", errIndexedRow, what)
	}
	d.b = nil
}

func (d *rowDecoder) byte() byte {
	if len(d.b) == 0 {
		d.fail("truncated")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *rowDecoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 || n != len(binary.AppendVarint(nil, v)) { // canonical only: one encoding per row
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *rowDecoder) uvarint(max uint64) uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 || v > max || n != len(binary.AppendUvarint(nil, v)) {
		d.fail("bad unsigned varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *rowDecoder) string() string {
	return string(d.bytes(d.uvarint(maxIndexedString)))
}

func (d *rowDecoder) bytes(n uint64) []byte {
	if d.err != nil || uint64(len(d.b)) < n {
		d.fail("truncated string")
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

// hex reads what appendHex wrote; a string that appendHex would have
// packed is refused, so that a row has one encoding.
func (d *rowDecoder) hex(upper bool) string {
	tag := d.uvarint(maxIndexedString<<1 | 1)
	return d.hexValue(tag, d.bytes(tag>>1), upper)
}

// hexValue is the string of a hex field of tag whose bytes are v.
func (d *rowDecoder) hexValue(tag uint64, v []byte, upper bool) string {
	if tag&1 == 1 {
		if len(v) == 0 && d.err == nil {
			d.fail("empty packed hex")
		}
		return hexOf(v, upper)
	}
	if _, packed := packedHex(string(v), upper); packed && d.err == nil {
		d.fail("hex not packed")
	}
	return string(v)
}

// indexedRows lists req's rows of heights from..to from idx, in loc.
func indexedRows(ctx context.Context, idx OrgIndex, loc *time.Location, req Request, from, to int64) ([]Row, error) {
	// In chunks, copied once into a slice of the right size: a busy
	// day's rows (some 30 MB for 100,000) grown by append were copied
	// twice over, and that was a third of the statement's time.
	const chunk = 4096
	var full [][]Row
	cur, n := make([]Row, 0, chunk), 0
	err := idx.OrgRows(ctx, req.Org, from, to, func(r Row) error {
		if keep(req, &r) {
			if len(cur) == chunk {
				full, cur = append(full, cur), make([]Row, 0, chunk)
			}
			r.Time = r.Time.In(loc)
			cur = append(cur, r)
			n++
		}
		return nil
	})
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return nil, fmt.Errorf("movement index of %s, heights %d-%d: %w", req.Org, from, to, err)
	}
	if full == nil {
		return cur, nil
	}
	rows := make([]Row, 0, n)
	for _, c := range append(full, cur) {
		rows = append(rows, c...)
	}
	return rows, nil
}

// keep reports whether row passes req's filters (account, asset,
// sub-ledger).
func keep(req Request, r *Row) bool {
	return (req.Account == "" || r.Account == req.Account) && (req.Asset == "" || r.Asset == req.Asset) && (req.Ledger == "" || r.Ledger == req.Ledger)
}
