package permission

import (
	"encoding/binary"
	"fmt"

	"github.com/jinlian-ledger/jinlian/internal/errs"
	"github.com/jinlian-ledger/jinlian/ledger"
)

// ErrHeld is returned for a transaction that a hold blocks; the message
// names the hold.
var ErrHeld = errs.Register(codespace, 6, "blocked by a hold")

// Hold freezes an account, an asset or a whole sub-ledger. It lifts by
// itself at ExpiryHeight or when lifted by governance. Holds placed since
// 2026-12 always have an expiry; 0 (no expiry) remains readable.
type Hold struct {
	ID       uint64 `json:"id"`
	Ledger   string `json:"ledger"`
	Asset    string `json:"asset,omitempty"`   // "" = every asset
	Account  string `json:"account,omitempty"` // "" = every account
	Reason   string `json:"reason"`
	PlacedBy string `json:"placed_by"` // e.g. "proposal 7 of bankA, approved by the regulator"
	// ByRegulator: the regulator approved the hold, so only the regulator
	// or the wide threshold lifts it (app's hold policy).
	ByRegulator  bool  `json:"by_regulator,omitempty"`
	PlacedHeight int64 `json:"placed_height"`
	ExpiryHeight int64 `json:"expiry_height,omitempty"`
	Lifted       bool  `json:"lifted,omitempty"`
}

// Active reports whether the hold applies at height h.
func (h Hold) Active(height int64) bool {
	return !h.Lifted && (h.ExpiryHeight == 0 || height < h.ExpiryHeight)
}

func (h Hold) String() string {
	target := "ledger " + h.Ledger
	if h.Asset != "" {
		target += " asset " + h.Asset
	}
	if h.Account != "" {
		target += " account " + h.Account
	}
	exp := "no expiry"
	if h.ExpiryHeight > 0 {
		exp = fmt.Sprintf("until height %d", h.ExpiryHeight)
	}
	return fmt.Sprintf("hold %d on %s (%s, placed by %s, %s)", h.ID, target, h.Reason, h.PlacedBy, exp)
}

func holdKey(id uint64) []byte { return binary.BigEndian.AppendUint64([]byte("hold/"), id) }

// holdIndexKey lists the ids of a ledger's unlifted holds (8 bytes each,
// ascending), so that checking a transaction against holds reads one key
// instead of every hold ever placed.
func holdIndexKey(ledgerName string) []byte { return []byte("holdidx/" + ledgerName) }

var keyNextHold = []byte("meta/next_hold")

// PlaceHold stores a new hold and returns its id.
func PlaceHold(kv ledger.KV, h Hold) (uint64, error) {
	id, err := nextID(kv, keyNextHold)
	if err != nil {
		return 0, err
	}
	h.ID = id
	b, err := ledger.Encode(h)
	if err != nil {
		return 0, err
	}
	if err := kv.Set(SystemLedger, holdKey(id), b); err != nil {
		return 0, err
	}
	idx, err := kv.Get(SystemLedger, holdIndexKey(h.Ledger))
	if err != nil {
		return 0, err
	}
	// Ids only grow, so appending keeps the index ascending.
	return id, kv.Set(SystemLedger, holdIndexKey(h.Ledger), binary.BigEndian.AppendUint64(idx, id))
}

// LiftHold marks a hold lifted.
func LiftHold(kv ledger.KV, id uint64) error {
	h, ok, err := GetHold(kv, id)
	if err != nil {
		return err
	}
	if !ok {
		return ErrInvalid.Wrapf("no hold %d", id)
	}
	if h.Lifted {
		return ErrInvalid.Wrapf("hold %d is already lifted", id)
	}
	h.Lifted = true
	b, err := ledger.Encode(h)
	if err != nil {
		return err
	}
	if err := kv.Set(SystemLedger, holdKey(id), b); err != nil {
		return err
	}
	ids, err := activeHoldIDs(kv, h.Ledger)
	if err != nil {
		return err
	}
	rest := make([]byte, 0, 8*len(ids))
	for _, other := range ids {
		if other != id {
			rest = binary.BigEndian.AppendUint64(rest, other)
		}
	}
	if len(rest) == 0 {
		return kv.Delete(SystemLedger, holdIndexKey(h.Ledger))
	}
	return kv.Set(SystemLedger, holdIndexKey(h.Ledger), rest)
}

// activeHoldIDs returns the ids of ledgerName's unlifted holds, ascending.
func activeHoldIDs(kv Reader, ledgerName string) ([]uint64, error) {
	b, err := kv.Get(SystemLedger, holdIndexKey(ledgerName))
	if err != nil {
		return nil, err
	}
	if len(b)%8 != 0 {
		return nil, fmt.Errorf("hold index of ledger %s: %d bytes, not a multiple of 8", ledgerName, len(b))
	}
	ids := make([]uint64, len(b)/8)
	for i := range ids {
		ids[i] = binary.BigEndian.Uint64(b[8*i:])
	}
	return ids, nil
}

// GetHold loads a hold.
func GetHold(kv Reader, id uint64) (Hold, bool, error) {
	var h Hold
	b, err := kv.Get(SystemLedger, holdKey(id))
	if err != nil || b == nil {
		return h, false, err
	}
	return h, true, ledger.Decode(b, &h)
}

// Holds lists every hold in id order.
func Holds(kv Reader) ([]Hold, error) { return list[Hold](kv, "hold/") }

// CheckHolds returns ErrHeld naming the first active hold at height that
// covers sending asset from account on ledgerName. It reads the ledger's
// hold index, so its cost does not grow with the holds ever placed.
func CheckHolds(kv Reader, ledgerName, asset, account string, height int64) error {
	ids, err := activeHoldIDs(kv, ledgerName)
	if err != nil {
		return err
	}
	for _, id := range ids {
		h, ok, err := GetHold(kv, id)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("hold index of ledger %s names hold %d, which does not exist", ledgerName, id)
		}
		if !h.Active(height) {
			continue
		}
		if (h.Asset == "" || h.Asset == asset) && (h.Account == "" || h.Account == account) {
			return ErrHeld.Wrapf("%s", h)
		}
	}
	return nil
}

// nextID returns the counter at key and increments it; ids start at 1.
func nextID(kv ledger.KV, key []byte) (uint64, error) {
	b, err := kv.Get(SystemLedger, key)
	if err != nil {
		return 0, err
	}
	id := uint64(1)
	if len(b) == 8 {
		id = binary.BigEndian.Uint64(b)
	}
	return id, kv.Set(SystemLedger, key, binary.BigEndian.AppendUint64(nil, id+1))
}
