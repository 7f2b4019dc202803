package app

import (
	"encoding/json"
	"strings"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/contracts/payments"
	"github.com/jinlian-ledger/jinlian/contracts/reserves"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
)

// Proof of reserves (docs/reserves.md). With an interval N > 0
// (params.reserves_interval) the block of every height that is a multiple
// of N ends, after its transactions, by committing per asset of every
// sub-ledger the root and total of a Merkle-sum tree over its balances
// (package reserves). The records are state of that height, so its app hash
// (certified by the SM2 QC of that height and, when N is a multiple of
// checkpoint_interval, the app hash of a checkpoint anchored on Ethereum)
// covers them.

// QueryReserves is the path of a holder's proof of reserves:
// ReservesRequest → reserves.Bundle (Prove) or ReservesResponse.
const QueryReserves = "/reserves"

// ReservesRequest asks for an asset's latest reserves record and, with
// Account, the account's inclusion proof in it.
type ReservesRequest struct {
	Ledger  string `json:"ledger"`
	Asset   string `json:"asset"`
	Account string `json:"account,omitempty"`
}

// ReservesResponse is an asset's latest reserves record, without a proof.
type ReservesResponse struct {
	Ledger string          `json:"ledger"`
	Asset  string          `json:"asset"`
	Record reserves.Record `json:"record"`
	// Next is the next reserves height after the query height.
	Next int64 `json:"next_height,omitempty"`
}

// reservesInterval is the number of blocks between reserves records (0:
// none).
func (p Params) reservesInterval() int64 { return p.ReservesInterval }

// commitReserves runs at the end of the block of height: at a reserves
// height it records the reserves of every asset of every sub-ledger, and
// returns the block events that announce them.
func (a *App) commitReserves(kv ledger.KV, height int64) ([]abci.Event, error) {
	n := a.params.reservesInterval()
	if n <= 0 || height <= 0 {
		return nil, nil
	}
	names := userLedgers(a.store)
	if err := a.leaves.follow(a.store, height, names); err != nil {
		return nil, err
	}
	if height%n != 0 {
		return nil, nil
	}
	events, err := reserves.NewKeeper(leavesBank{reservesBank{a.payments}, &a.leaves, height}).Commit(kv, names, height)
	if err != nil {
		a.leaves.reset()
		return nil, err
	}
	a.leaves.done(height)
	return events, nil
}

// userLedgers are the store's sub-ledgers, without the reserved ones.
func userLedgers(store *ledger.Store) []string {
	var names []string
	for _, l := range store.Ledgers() {
		if !strings.HasPrefix(l, "_") {
			names = append(names, l)
		}
	}
	return names
}

// reservesBank adapts payments.Keeper to reserves.Bank.
type reservesBank struct{ p payments.Keeper }

func (b reservesBank) AssetSymbols(kv ledger.Reader, ledgerName string) ([]string, error) {
	assets, err := b.p.Assets(kv, ledgerName)
	out := make([]string, 0, len(assets))
	for _, as := range assets {
		out = append(out, as.Symbol)
	}
	return out, err
}

func (b reservesBank) IterateBalances(kv ledger.Reader, ledgerName, sym string, fn func(gmcrypto.Address, uint64) bool) error {
	return b.p.IterateBalances(kv, ledgerName, sym, fn)
}

func (b reservesBank) Supply(kv ledger.Reader, ledgerName, sym string) (uint64, uint64, uint64, error) {
	s, err := b.p.GetSupply(kv, ledgerName, sym)
	return s.Issued, s.Burned, s.Pending, err
}

// queryReserves answers QueryReserves from v: the asset's record in force
// at v's height and, for an account, the bundle that proves its balance
// in it, built from the state of the record's height.
func (a *App) queryReserves(v *ledger.View, data []byte) (any, error) {
	var req ReservesRequest
	if err := json.Unmarshal(data, &req); err != nil {
		return nil, ErrBadQuery.Wrapf("reserves request: %v", err)
	}
	if err := checkUserLedger(v, req.Ledger); err != nil {
		return nil, err
	}
	if _, err := a.payments.GetAsset(v, req.Ledger, req.Asset); err != nil {
		return nil, err
	}
	rec, ok, err := reserves.GetRecord(v, req.Ledger, req.Asset)
	if err != nil {
		return nil, err
	}
	// Parameters and chain id from the view: queries run beside
	// FinalizeBlock, which may change the App's.
	params, err := loadParams(v)
	if err != nil {
		return nil, err
	}
	chainID, err := loadString(v, keyChainID)
	if err != nil {
		return nil, err
	}
	n := params.reservesInterval()
	if !ok {
		if n <= 0 {
			return nil, reserves.ErrNoRecord.Wrapf("this chain records no reserves (params.reserves_interval is 0)")
		}
		return nil, reserves.ErrNoRecord.Wrapf("no reserves record of %s on ledger %s at height %d yet; the next is at height %d", req.Asset, req.Ledger, v.Height(), (v.Height()/n+1)*n)
	}
	if req.Account == "" {
		resp := ReservesResponse{Ledger: req.Ledger, Asset: req.Asset, Record: rec}
		if n > 0 {
			resp.Next = (v.Height()/n + 1) * n
		}
		return resp, nil
	}
	addr, err := gmcrypto.ParseAddress(req.Account)
	if err != nil {
		return nil, ErrBadQuery.Wrapf("account: %v", err)
	}
	at := v
	if rec.Height != v.Height() {
		if at, err = a.store.View(rec.Height); err != nil {
			return nil, ErrBadQuery.Wrapf("the state of reserves height %d: %v", rec.Height, err)
		}
	}
	return a.reserves.Prove(at, chainID, req.Ledger, req.Asset, addr)
}

// reservesInvariants checks every asset's latest record of ledgerName
// against the state of its height, where this node still keeps it.
func (a *App) reservesInvariants(v *ledger.View, ledgerName string) ([]reserves.InvariantResult, error) {
	syms, err := reservesBank{a.payments}.AssetSymbols(v, ledgerName)
	if err != nil {
		return nil, err
	}
	var out []reserves.InvariantResult
	views := map[int64]*ledger.View{v.Height(): v} // looked up only
	for _, sym := range syms {
		rec, ok, err := reserves.GetRecord(v, ledgerName, sym)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		at, ok := views[rec.Height]
		if !ok {
			if at, err = a.store.View(rec.Height); err == nil {
				views[rec.Height] = at
			} else {
				// Pruned: the record's own figures are all there is to check.
				r := reserves.InvariantResult{Ledger: ledgerName, Asset: sym, Height: rec.Height, Total: rec.Total, Accounts: rec.Accounts, Holds: true}
				if err := rec.CheckSupply(); err != nil {
					r.Holds, r.Problem = false, err.Error()
				}
				out = append(out, r)
				continue
			}
		}
		r, err := a.reserves.Check(at, ledgerName, sym, rec)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
