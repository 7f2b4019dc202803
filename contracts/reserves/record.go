package reserves

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// Hex is bytes that JSON shows as upper-case hex (as app hashes are
// shown); state records store them as a CBOR byte string.
type Hex []byte

// MarshalJSON writes upper-case hex.
func (h Hex) MarshalJSON() ([]byte, error) {
	return json.Marshal(strings.ToUpper(hex.EncodeToString(h)))
}

// UnmarshalJSON reads hex of either case.
func (h *Hex) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a hex string: %w", err)
	}
	d, err := hex.DecodeString(s)
	if err != nil {
		return fmt.Errorf("hex %q: %w", s, err)
	}
	*h = d
	return nil
}

// Record is the committed reserves of one asset at Height: the root and
// total of the Merkle-sum tree over its positive balances, how many
// accounts are leaves, and the asset's supply at that height.
type Record struct {
	Height   int64  `json:"height"`
	Root     Hex    `json:"root"`
	Total    uint64 `json:"total,string"`
	Accounts uint64 `json:"accounts,string"`
	Issued   uint64 `json:"issued,string"`
	Burned   uint64 `json:"burned,string"`
	// Pending redemptions left their holders' balances and are not
	// burned yet; they are owed to the issuer's queue, not to an account.
	Pending uint64 `json:"pending_redemptions,string"`
}

// CheckSupply is the invariant a record states: total + pending == issued − burned.
func (r Record) CheckSupply() error {
	if r.Burned > r.Issued || r.Total > math.MaxUint64-r.Pending || r.Total+r.Pending != r.Issued-r.Burned {
		return ErrSupplyMismatch.Wrapf("total %d + pending redemptions %d, issued %d − burned %d", r.Total, r.Pending, r.Issued, r.Burned)
	}
	return nil
}

// RecordKey is where the record of asset sym lives in its sub-ledger's
// tree: rv/<len(sym)><sym>.
func RecordKey(sym string) []byte {
	k := make([]byte, 0, 4+len(sym))
	k = append(k, 'r', 'v', '/', byte(len(sym)))
	return append(k, sym...)
}

// GetRecord reads the record of sym on ledgerName (ok false if none).
func GetRecord(kv ledger.Reader, ledgerName, sym string) (Record, bool, error) {
	var r Record
	b, err := kv.Get(ledgerName, RecordKey(sym))
	if err != nil || b == nil {
		return r, false, err
	}
	if err := ledger.Decode(b, &r); err != nil {
		return r, false, err
	}
	return r, true, nil
}

// Bank is what reserves needs from the payments contract (the app adapts
// payments.Keeper to it).
type Bank interface {
	// AssetSymbols lists the assets of ledgerName in symbol order.
	AssetSymbols(kv ledger.Reader, ledgerName string) ([]string, error)
	// IterateBalances calls fn with every positive balance of sym in
	// ascending account order until fn returns false.
	IterateBalances(kv ledger.Reader, ledgerName, sym string, fn func(addr gmcrypto.Address, amount uint64) bool) error
	// Supply is what was issued and burned of sym, and the sum of its
	// pending redemptions.
	Supply(kv ledger.Reader, ledgerName, sym string) (issued, burned, pending uint64, err error)
}

// RootBank is a Bank that may compute an asset's root itself, from what it
// keeps between reserves heights (the app's leaves and their
// reserves.Chunks); ok false when it does not, and the keeper builds the
// root from IterateBalances.
type RootBank interface {
	Bank
	Root(kv ledger.Reader, ledgerName, sym string) (root Node, leaves uint64, ok bool, err error)
}

// Keeper computes and reads reserves records.
type Keeper struct{ bank Bank }

// NewKeeper returns a keeper that reads balances and supply through bank.
func NewKeeper(bank Bank) Keeper { return Keeper{bank: bank} }

// Compute builds the record of sym on ledgerName from the balances in kv,
// without storing it.
func (k Keeper) Compute(kv ledger.Reader, ledgerName, sym string, height int64) (Record, error) {
	root, leaves, err := k.root(kv, ledgerName, sym)
	if err != nil {
		return Record{}, fmt.Errorf("reserves of %s on ledger %s: %w", sym, ledgerName, err)
	}
	r := Record{Height: height, Root: Hex(root.Hash[:]), Total: root.Sum, Accounts: leaves}
	if r.Issued, r.Burned, r.Pending, err = k.bank.Supply(kv, ledgerName, sym); err != nil {
		return Record{}, err
	}
	return r, nil
}

// root is the root over sym's balances and the number of its leaves.
func (k Keeper) root(kv ledger.Reader, ledgerName, sym string) (Node, uint64, error) {
	if rb, ok := k.bank.(RootBank); ok {
		if root, n, ok, err := rb.Root(kv, ledgerName, sym); ok || err != nil {
			return root, n, err
		}
	}
	var b Builder
	var addErr error
	err := k.bank.IterateBalances(kv, ledgerName, sym, func(addr gmcrypto.Address, amount uint64) bool {
		addErr = b.Add(addr, amount)
		return addErr == nil
	})
	if err == nil {
		err = addErr
	}
	if err != nil {
		return Node{}, 0, err
	}
	root, err := b.Root()
	return root, b.Len(), err
}

// Commit writes, for every asset of each ledger in ledgers, the record of
// its balances as they stand in kv at height (the end of that height's
// block), and returns an EventReserves per record, in ledger and symbol
// order. A record that breaks the supply invariant is committed as the
// balances give it, not refused: halting every node over it would stop
// the chain, while the record shows the breach to everyone who checks it
// (Verify's ErrSupplyMismatch, the invariant of debug invariants). Cost: per asset, one ordered IAVL iteration of its
// balances and about two SM3 compressions per account, in memory
// logarithmic in the number of accounts.
func (k Keeper) Commit(kv ledger.KV, ledgers []string, height int64) ([]abci.Event, error) {
	var events []abci.Event
	for _, name := range ledgers {
		syms, err := k.bank.AssetSymbols(kv, name)
		if err != nil {
			return nil, err
		}
		for _, sym := range syms {
			r, err := k.Compute(kv, name, sym, height)
			if err != nil {
				return nil, err
			}
			b, err := ledger.Encode(r)
			if err != nil {
				return nil, err
			}
			if err := kv.Set(name, RecordKey(sym), b); err != nil {
				return nil, err
			}
			events = append(events, wire.Event(&txpb.EventReserves{Ledger: name, Asset: sym, Height: height,
				Root: strings.ToUpper(hex.EncodeToString(r.Root)), Total: r.Total, Accounts: r.Accounts}))
		}
	}
	return events, nil
}

// Entries lists the positive balances of sym on ledgerName in account
// order: the tree's leaves.
func (k Keeper) Entries(kv ledger.Reader, ledgerName, sym string) ([]Entry, error) {
	var out []Entry
	err := k.bank.IterateBalances(kv, ledgerName, sym, func(addr gmcrypto.Address, amount uint64) bool {
		out = append(out, Entry{Account: addr, Balance: amount})
		return true
	})
	return out, err
}

// InvariantResult is the check of one asset's record against the state
// of its height.
type InvariantResult struct {
	Ledger   string `json:"ledger"`
	Asset    string `json:"asset"`
	Height   int64  `json:"height"`
	Total    uint64 `json:"total,string"`
	Accounts uint64 `json:"accounts,string"`
	Holds    bool   `json:"holds"`
	// Problem names the broken rule, if any.
	Problem string `json:"problem,omitempty"`
}

// Check verifies rec, the record of sym on ledgerName, against kv, the
// state at rec.Height: the tree recomputed from the balances has rec's
// root, total and account count; the supply is rec's; and total + pending
// redemptions == issued − burned.
func (k Keeper) Check(kv ledger.Reader, ledgerName, sym string, rec Record) (InvariantResult, error) {
	res := InvariantResult{Ledger: ledgerName, Asset: sym, Height: rec.Height, Total: rec.Total, Accounts: rec.Accounts, Holds: true}
	got, err := k.Compute(kv, ledgerName, sym, rec.Height)
	switch {
	case err != nil:
		res.Holds, res.Problem = false, err.Error()
	case string(got.Root) != string(rec.Root) || got.Total != rec.Total || got.Accounts != rec.Accounts:
		res.Holds, res.Problem = false, fmt.Sprintf("recomputed root %X total %d over %d accounts; the record says %X, %d, %d",
			[]byte(got.Root), got.Total, got.Accounts, []byte(rec.Root), rec.Total, rec.Accounts)
	case got.Issued != rec.Issued || got.Burned != rec.Burned || got.Pending != rec.Pending:
		res.Holds, res.Problem = false, "the record's supply differs from the supply at its height"
	default:
		if err := rec.CheckSupply(); err != nil {
			res.Holds, res.Problem = false, err.Error()
		}
	}
	return res, nil
}
