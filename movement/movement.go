package movement

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
)

// Kinds of movement: the event that reports it (the same names as the
// statement rows of package recon).
const (
	KindIssue    = "issue"
	KindTransfer = "transfer"
	KindBurn     = "burn"
	KindRedeem   = "redeem"
	// KindRedemptionSettled is a rejected redemption's return to its
	// holder; an accepted one moves no balance (the units left the holder
	// when it redeemed).
	KindRedemptionSettled = "redemption_settled"
)

// Directions, seen from the account.
const (
	Debit  = "debit"  // units left the account
	Credit = "credit" // units arrived in the account
)

// kindCodes and directionCodes are the bytes of the encoding; a name not
// here does not encode.
var (
	kindCodes      = map[string]byte{KindIssue: 1, KindTransfer: 2, KindBurn: 3, KindRedeem: 4, KindRedemptionSettled: 5}
	directionCodes = map[string]byte{Debit: 1, Credit: 2}
)

// Movement is one movement of one account: what a statement row of the
// account says, bound to its place in the chain.
type Movement struct {
	Height  int64  `json:"height"`
	TxIndex uint32 `json:"tx_index"` // the transaction's position in its block
	// TxID is jinlian's transaction id: 64 lower-case hex digits of
	// SM3(nonce ‖ creator).
	TxID string `json:"tx_id"`
	// Event is the position of the reporting event in the transaction's
	// events.
	Event   uint32 `json:"event_index"`
	Ledger  string `json:"ledger"`
	Asset   string `json:"asset"`
	Account string `json:"account"` // 40 lower-case hex digits
	Kind    string `json:"kind"`
	// Direction is debit or credit.
	Direction    string `json:"direction"`
	Amount       uint64 `json:"amount,string"`
	BalanceAfter uint64 `json:"balance_after,string"`
	// Counterparty is the other account (40 lower-case hex digits): the
	// other side of a transfer, the issuer identity of an issue, the
	// issuer identity that rejected a redemption; "" for a burn or a
	// redemption.
	Counterparty string `json:"counterparty,omitempty"`
	// Redemption is the queue id of a redemption and of its rejection; 0
	// for other kinds.
	Redemption uint64 `json:"redemption,string,omitempty"`
	// Memo is the payment reference (a redemption's reference, a
	// rejection's reason).
	Memo string `json:"memo,omitempty"`
}

// ErrMalformed: a movement that has no canonical encoding.
var ErrMalformed = errors.New("malformed movement")

// Bounds of the encoding's strings (the chain's own: sub-ledger names are
// at most 64 bytes, asset symbols 32; a memo is bounded by the
// transaction's size).
const (
	maxLedgerLen = 64
	maxAssetLen  = 32
	maxMemoLen   = 64 << 10
)

// hexField decodes a canonical lower-case hex string of n bytes into dst.
func hexField(dst []byte, what, s string, n int) ([]byte, error) {
	if len(s) != 2*n {
		return nil, fmt.Errorf("%w: %s %q: want %d lower-case hex digits", ErrMalformed, what, s, 2*n)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return nil, fmt.Errorf("%w: %s %q: want %d lower-case hex digits", ErrMalformed, what, s, 2*n)
		}
	}
	start := len(dst)
	dst = append(dst, make([]byte, n)...)
	_, _ = hex.Decode(dst[start:], []byte(s))
	return dst, nil
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// Encode is the canonical encoding of m (docs/reconciliation.md):
//
//	be64(height) ‖ be32(tx index) ‖ tx id (32) ‖ be32(event index)
//	‖ kind (1) ‖ direction (1)
//	‖ uvarint(len(ledger)) ‖ ledger ‖ uvarint(len(asset)) ‖ asset
//	‖ account (20) ‖ 0x00 | 0x01 ‖ counterparty (20)
//	‖ be64(amount) ‖ be64(balance after) ‖ be64(redemption)
//	‖ uvarint(len(memo)) ‖ memo
//
// kind: issue 1, transfer 2, burn 3, redeem 4, redemption_settled 5;
// direction: debit 1, credit 2. It refuses what has no such form (hex not
// 40 or 64 lower-case digits, an unknown kind, a negative height).
func Encode(m Movement) ([]byte, error) {
	return m.appendTo(make([]byte, 0, 160+len(m.Ledger)+len(m.Asset)+len(m.Memo)))
}

func (m Movement) appendTo(b []byte) ([]byte, error) {
	kind, ok := kindCodes[m.Kind]
	if !ok {
		return nil, fmt.Errorf("%w: kind %q", ErrMalformed, m.Kind)
	}
	dir, ok := directionCodes[m.Direction]
	if !ok {
		return nil, fmt.Errorf("%w: direction %q", ErrMalformed, m.Direction)
	}
	switch {
	case m.Height < 1:
		return nil, fmt.Errorf("%w: height %d", ErrMalformed, m.Height)
	case m.Ledger == "" || len(m.Ledger) > maxLedgerLen:
		return nil, fmt.Errorf("%w: sub-ledger name of %d bytes", ErrMalformed, len(m.Ledger))
	case m.Asset == "" || len(m.Asset) > maxAssetLen:
		return nil, fmt.Errorf("%w: asset symbol of %d bytes", ErrMalformed, len(m.Asset))
	case len(m.Memo) > maxMemoLen:
		return nil, fmt.Errorf("%w: memo of %d bytes", ErrMalformed, len(m.Memo))
	}
	b = binary.BigEndian.AppendUint64(b, uint64(m.Height))
	b = binary.BigEndian.AppendUint32(b, m.TxIndex)
	b, err := hexField(b, "tx id", m.TxID, 32)
	if err != nil {
		return nil, err
	}
	b = binary.BigEndian.AppendUint32(b, m.Event)
	b = append(b, kind, dir)
	b = appendString(b, m.Ledger)
	b = appendString(b, m.Asset)
	if b, err = hexField(b, "account", m.Account, 20); err != nil {
		return nil, err
	}
	if m.Counterparty == "" {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		if b, err = hexField(b, "counterparty", m.Counterparty, 20); err != nil {
			return nil, err
		}
	}
	b = binary.BigEndian.AppendUint64(b, m.Amount)
	b = binary.BigEndian.AppendUint64(b, m.BalanceAfter)
	b = binary.BigEndian.AppendUint64(b, m.Redemption)
	return appendString(b, m.Memo), nil
}

// Account names whose movements a commitment covers: one account's
// movements of one asset on one sub-ledger.
type Account struct {
	Ledger  string `json:"ledger"`
	Asset   string `json:"asset"`
	Address string `json:"account"` // 40 lower-case hex digits
}

// Of is the account a movement belongs to.
func (m Movement) Of() Account { return Account{Ledger: m.Ledger, Asset: m.Asset, Address: m.Account} }

func (a Account) String() string { return a.Address + " " + a.Asset + " on " + a.Ledger }

// selfTransfer: a transfer from an account to itself touches the balance
// twice (debit, then credit, in the same event) and changes nothing.
func (m Movement) selfTransfer() bool {
	return m.Kind == KindTransfer && m.Counterparty == m.Account
}
