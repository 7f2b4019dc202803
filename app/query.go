package app

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/checkpoint"
	"github.com/jinlian-ledger/jinlian/contracts/custody"
	"github.com/jinlian-ledger/jinlian/contracts/payments"
	"github.com/jinlian-ledger/jinlian/contracts/pvp"
	"github.com/jinlian-ledger/jinlian/contracts/receivables"
	"github.com/jinlian-ledger/jinlian/contracts/reserves"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/errs"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// Query paths answered by the app. Request data and response values are JSON.
const (
	QueryBalance     = "/balance"     // BalanceRequest → BalanceResponse
	QueryCommitment  = "/commitment"  // BalanceRequest → CommitmentResponse
	QueryRedemptions = "/redemptions" // RedemptionsRequest → RedemptionsResponse
	QueryLedgers     = "/ledgers"     // → []LedgerInfo
	QueryTx          = "/tx"          // data = tx id (hex) → TxLocation
	QueryInvariants  = "/invariants"  // → InvariantsResponse
	QueryOrgs        = "/organisations"
	QueryValidators  = "/validators"     // → []permission.Validator (registry at the height)
	QueryRoles       = "/roles"          // data = address (optional) → []permission.Identity
	QueryNodes       = "/nodes"          // → []permission.Node
	QueryHolds       = "/holds"          // → []HoldStatus
	QueryProposals   = "/proposals"      // → []permission.Proposal
	QueryProposal    = "/proposal"       // data = id (decimal) → permission.Proposal
	QueryLedgerInfo  = "/ledger"         // data = name → permission.LedgerInfo
	QuerySanctions   = "/sanctions"      // → []permission.Sanction
	QueryEscrowKeys  = "/escrow_keys"    // → []permission.EscrowKey
	QueryAML         = "/aml_thresholds" // → []AMLThreshold
	QueryPublicKey   = "/pubkey"         // data = address → hex of the public key seen on chain
	QueryUpgrade     = "/upgrade"        // → UpgradeStatus (the scheduled upgrade; the upgrades this node's binary carries)
	QueryCertificate = "/certificate"    // data = SM3 of a certificate (hex) → CertificateStatus
	QueryCheckpoint  = "/checkpoint"     // data = epoch (decimal) → CheckpointResponse
	QueryStore       = "/store"          // StoreRequest → StoreResponse (prove: any key of a sub-ledger)
	QueryValidator   = "/validator"      // data = address → permission.Validator (prove: its registration)
	QueryTxResults   = "/txresults"      // → TxResultsResponse (prove: the block's results commitment)

	QueryCustodyAccount   = "/custody/account"   // CustodyRequest → CustodyAccountResponse
	QueryCustodyProposals = "/custody/proposals" // CustodyRequest → CustodyProposalsResponse
	QueryCustodyAccounts  = "/custody/accounts"  // CustodyAccountsRequest → CustodyAccountsResponse

	QueryPvpTrade  = "/pvp/trade"  // PvpRequest (ledger, trade) → PvpTradeResponse
	QueryPvpTrades = "/pvp/trades" // PvpRequest (ledger, party optional) → PvpTradesResponse

	QueryReceivable  = "/receivable"  // ReceivableRequest (ledger, receivable or invoice) → ReceivableResponse
	QueryReceivables = "/receivables" // ReceivablesRequest (ledger, holder optional) → ReceivablesResponse

	// CometBFT asks these when base.filter_peers is on; code 0 admits.
	filterIDPrefix   = "/p2p/filter/id/"
	filterAddrPrefix = "/p2p/filter/addr/"
)

// CheckpointResponse is what a prover reads of a checkpoint over the
// node's RPC (QueryCheckpoint): the chain's checkpoint parameters, the
// checkpoint of the epoch once defined, and, once the QC of its height is
// in the state, its signers (the set the previous checkpoint handed over
// to, in slot order) with their signatures in the same order (nil for a
// signer whose signature the QC lacks). Epoch 0 has no signers.
type CheckpointResponse struct {
	Interval   int64                  `json:"checkpoint_interval"`
	Slots      int                    `json:"checkpoint_slots"`
	Checkpoint *checkpoint.Checkpoint `json:"checkpoint,omitempty"`
	Signed     bool                   `json:"signed"`
	Signers    []checkpoint.Validator `json:"signers,omitempty"`
	Signatures [][]byte               `json:"signatures,omitempty"`
}

func (a *App) queryCheckpoint(v *ledger.View, epoch uint64) (CheckpointResponse, error) {
	r := CheckpointResponse{Interval: a.params.CheckpointInterval, Slots: a.params.CheckpointSlots}
	c, ok, err := LoadCheckpoint(v, epoch)
	if err != nil || !ok {
		return r, err
	}
	r.Checkpoint = &c
	if epoch == 0 {
		return r, nil
	}
	sigs, ok, err := CheckpointSignatures(v, c)
	if err != nil || !ok {
		return r, err
	}
	if r.Signers, err = CheckpointSigners(v, epoch); err != nil {
		return r, err
	}
	r.Signed = true
	r.Signatures = make([][]byte, len(r.Signers))
	for i, val := range r.Signers {
		r.Signatures[i] = sigs[strings.ToUpper(val.Address)]
	}
	return r, nil
}

// HoldStatus is a hold with whether it is in force at the query height.
type HoldStatus struct {
	permission.Hold
	Active bool `json:"active"`
}

// QCResponse is a quorum certificate as the CLI prints it (NewQCResponse).
type QCResponse struct {
	ChainID    string        `json:"chain_id"`
	Height     int64         `json:"height"`
	AppHash    string        `json:"app_hash"`
	Signatures []QCSignature `json:"signatures"`
}

// QCSignature is one signer of a QC.
type QCSignature struct {
	Validator string `json:"validator"`
	Signature string `json:"signature"`
}

// NewQCResponse renders qc (the first transaction of block h+2 holds the
// QC of height h: wire.QCAt).
func NewQCResponse(qc *txpb.QuorumCertificate) QCResponse {
	out := QCResponse{ChainID: qc.ChainId, Height: qc.Height, AppHash: fmt.Sprintf("%X", qc.AppHash), Signatures: []QCSignature{}}
	for _, s := range qc.Signatures {
		out.Signatures = append(out.Signatures, QCSignature{Validator: fmt.Sprintf("%X", s.Validator), Signature: hex.EncodeToString(s.Signature)})
	}
	return out
}

// RedemptionsRequest asks for an asset's redemption queue.
type RedemptionsRequest struct {
	Ledger string `json:"ledger"`
	Asset  string `json:"asset"`
}

// RedemptionsResponse is an asset's redemption queue at Height.
type RedemptionsResponse struct {
	RedemptionsRequest
	Pending uint64                `json:"pending,string"`
	Queue   []payments.Redemption `json:"queue"`
	Height  int64                 `json:"height"`
}

// BalanceRequest asks for one account's balance of one asset.
type BalanceRequest struct {
	Ledger  string `json:"ledger"`
	Asset   string `json:"asset"`
	Account string `json:"account"`
}

// BalanceResponse is the answer at Height.
type BalanceResponse struct {
	BalanceRequest
	Amount uint64 `json:"amount,string"`
	Height int64  `json:"height"`
}

// CommitmentResponse is an account's completeness commitment of an asset
// at Height (package movement): the SM3 chain over its movements (64 hex
// digits; zeros before its first movement), how many there were, and the
// balance after the last one. Key is the state key of the balance record
// that carries it in the sub-ledger's tree (hex), for a state proof of it
// (payments.DecodeBalanceRecord reads the proven value).
type CommitmentResponse struct {
	BalanceRequest
	Chain   string `json:"chain"`
	Count   uint64 `json:"count,string"`
	Balance uint64 `json:"balance,string"`
	Key     string `json:"key"`
	Height  int64  `json:"height"`
}

// LedgerInfo describes a sub-ledger and its assets.
type LedgerInfo struct {
	Name   string        `json:"name"`
	Assets []AssetSupply `json:"assets"`
}

// AssetSupply is an asset with its supply.
type AssetSupply struct {
	payments.Asset
	payments.Supply
}

// TxLocation says where a committed tx id was included.
type TxLocation struct {
	ID     string `json:"id"`
	Height int64  `json:"height"`
}

// InvariantsResponse is the supply check over every asset of every
// ledger, the custody check over every custody account, the pvp check
// over every trade and the receivables check over every receivable.
type InvariantsResponse struct {
	Height      int64                         `json:"height"`
	Holds       bool                          `json:"holds"`
	Results     []payments.InvariantResult    `json:"results"`
	Custody     []custody.InvariantResult     `json:"custody"`
	Pvp         []pvp.InvariantResult         `json:"pvp"`
	Receivables []receivables.InvariantResult `json:"receivables"`
	Reserves    []reserves.InvariantResult    `json:"reserves"`
	// Commitments: every balance is its completeness commitment's.
	Commitments []payments.CommitmentResult `json:"commitments"`
}

// ReceivableRequest names a receivable of a sub-ledger by its id or by
// the SM3 hash of its invoice (64 hex digits).
type ReceivableRequest struct {
	Ledger     string `json:"ledger"`
	Receivable string `json:"receivable,omitempty"`
	Invoice    string `json:"invoice,omitempty"`
}

// ReceivableResponse is a receivable with its parts, as a transaction in
// the next block would find it (Due: payable; PastDue: may be marked
// overdue; by the next height and the last block time).
type ReceivableResponse struct {
	receivables.Receivable
	Outstanding uint64 `json:"outstanding,string"`
	Due         bool   `json:"due"`
	PastDue     bool   `json:"past_due"`
	At          int64  `json:"at_height"`
}

// ReceivablesRequest asks for a sub-ledger's receivables, or those of
// which holder holds a part.
type ReceivablesRequest struct {
	Ledger string `json:"ledger"`
	Holder string `json:"holder,omitempty"`
}

// ReceivablesResponse lists receivables in id order.
type ReceivablesResponse struct {
	Receivables []receivables.Receivable `json:"receivables"`
	Height      int64                    `json:"height"`
}

// CustodyRequest names a custody account of a sub-ledger.
type CustodyRequest struct {
	Ledger  string `json:"ledger"`
	Account string `json:"account"`
}

// CustodyAccountResponse is a custody account with its balances at Height.
type CustodyAccountResponse struct {
	custody.Account
	Balances []CustodyBalance `json:"balances"`
	// Pending counts the account's pending proposals (expired ones too,
	// until the account's next proposal removes them).
	Pending int   `json:"pending_proposals"`
	Height  int64 `json:"height"`
}

// CustodyBalance is a custody account's balance of one asset: every asset
// it holds or has a daily limit for; PaidToday is what it paid of a
// limited asset on the UTC day of the block at Height.
type CustodyBalance struct {
	Asset      string `json:"asset"`
	Amount     uint64 `json:"amount,string"`
	DailyLimit uint64 `json:"daily_limit,string,omitempty"`
	PaidToday  uint64 `json:"paid_today,string,omitempty"`
}

// CustodyProposalsResponse lists a custody account's pending proposals
// as a transaction in the next block would find them.
type CustodyProposalsResponse struct {
	CustodyRequest
	Threshold uint32                  `json:"threshold"`
	Proposals []CustodyProposalStatus `json:"proposals"`
	Height    int64                   `json:"height"`
}

// CustodyProposalStatus is a pending proposal with its status at the next
// height: awaiting_approvals, time_locked, executable or expired.
type CustodyProposalStatus struct {
	custody.Proposal
	Status           string `json:"status"`
	ExecutableHeight int64  `json:"executable_height,omitempty"`
}

// CustodyAccountsRequest asks for a sub-ledger's custody accounts, or
// those a signer is one of the signers of.
type CustodyAccountsRequest struct {
	Ledger string `json:"ledger"`
	Signer string `json:"signer,omitempty"`
}

// CustodyAccountsResponse lists custody accounts in address order.
type CustodyAccountsResponse struct {
	Accounts []custody.Account `json:"accounts"`
	Height   int64             `json:"height"`
}

// PvpRequest names a sub-ledger one of whose legs the trades are on (the
// API gate admits members of that ledger, regulators and auditors), and
// a trade (/pvp/trade) or a party or receiver to filter by (/pvp/trades).
type PvpRequest struct {
	Ledger string `json:"ledger"`
	Trade  string `json:"trade,omitempty"`
	Party  string `json:"party,omitempty"`
}

// PvpTradeResponse is a trade with its status at Height.
type PvpTradeResponse struct {
	pvp.Trade
	// Expired: open at Height but past its expiry height (refundable by anyone).
	Expired bool  `json:"expired,omitempty"`
	At      int64 `json:"at_height"`
}

// PvpTradesResponse lists the trades with a leg on the ledger, in id order.
type PvpTradesResponse struct {
	Trades []pvp.Trade `json:"trades"`
	Height int64       `json:"height"`
}

// Query answers read requests against a committed height (0 = latest).
func (a *App) Query(_ context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	if strings.HasPrefix(req.Path, "/p2p/filter/") {
		return a.filterPeer(req.Path), nil
	}
	v, err := a.store.View(req.Height)
	if err != nil {
		return queryError(ErrBadQuery.Wrapf("%v", err), req.Height), nil
	}
	out, err := a.query(v, req.Path, req.Data)
	if err != nil {
		return queryError(err, v.Height()), nil
	}
	b, err := json.Marshal(out)
	if err != nil {
		return queryError(err, v.Height()), nil
	}
	res := &abci.ResponseQuery{Code: abci.CodeTypeOK, Value: b, Height: v.Height()}
	if req.Prove {
		ledgerName, key, err := proofKey(req.Path, req.Data)
		if err == nil {
			res.Key = key
			res.ProofOps, err = ProveKey(v, ledgerName, key)
		}
		if err != nil {
			return queryError(err, v.Height()), nil
		}
	}
	return res, nil
}

func queryError(err error, height int64) *abci.ResponseQuery {
	space, code, log := errs.ABCIInfo(err)
	return &abci.ResponseQuery{Code: code, Codespace: space, Log: log, Height: height}
}

// accountRequest reads a (ledger, asset, account) request of a user
// ledger's known asset, the account in canonical form.
func (a *App) accountRequest(v *ledger.View, what string, data []byte) (BalanceRequest, gmcrypto.Address, error) {
	var req BalanceRequest
	if err := json.Unmarshal(data, &req); err != nil {
		return req, gmcrypto.Address{}, ErrBadQuery.Wrapf("%s request: %v", what, err)
	}
	addr, err := gmcrypto.ParseAddress(req.Account)
	if err != nil {
		return req, addr, ErrBadQuery.Wrapf("%v", err)
	}
	if err := checkUserLedger(v, req.Ledger); err != nil {
		return req, addr, err
	}
	if _, err := a.payments.GetAsset(v, req.Ledger, req.Asset); err != nil {
		return req, addr, err
	}
	req.Account = addr.String()
	return req, addr, nil
}

func (a *App) query(v *ledger.View, path string, data []byte) (any, error) {
	switch path {
	case QueryBalance:
		req, addr, err := a.accountRequest(v, "balance", data)
		if err != nil {
			return nil, err
		}
		amt, err := a.payments.Balance(v, req.Ledger, req.Asset, addr)
		if err != nil {
			return nil, err
		}
		return BalanceResponse{BalanceRequest: req, Amount: amt, Height: v.Height()}, nil
	case QueryCommitment:
		req, addr, err := a.accountRequest(v, "commitment", data)
		if err != nil {
			return nil, err
		}
		c, err := a.payments.Commitment(v, req.Ledger, req.Asset, addr)
		if err != nil {
			return nil, err
		}
		return CommitmentResponse{BalanceRequest: req, Chain: hex.EncodeToString(c.Chain[:]), Count: c.Count, Balance: c.Balance,
			Key: hex.EncodeToString(payments.BalanceKey(req.Asset, addr)), Height: v.Height()}, nil
	case QueryRedemptions:
		var req RedemptionsRequest
		if err := json.Unmarshal(data, &req); err != nil {
			return nil, ErrBadQuery.Wrapf("redemptions request: %v", err)
		}
		if err := checkUserLedger(v, req.Ledger); err != nil {
			return nil, err
		}
		if _, err := a.payments.GetAsset(v, req.Ledger, req.Asset); err != nil {
			return nil, err
		}
		sup, err := a.payments.GetSupply(v, req.Ledger, req.Asset)
		if err != nil {
			return nil, err
		}
		q, err := a.payments.Redemptions(v, req.Ledger, req.Asset)
		if err != nil {
			return nil, err
		}
		return RedemptionsResponse{RedemptionsRequest: req, Pending: sup.Pending, Queue: q, Height: v.Height()}, nil
	case QueryCustodyAccount, QueryCustodyProposals, QueryCustodyAccounts:
		return a.queryCustody(v, path, data)
	case QueryPvpTrade, QueryPvpTrades:
		return a.queryPvp(v, path, data)
	case QueryReceivable, QueryReceivables:
		return a.queryReceivables(v, path, data)
	case QueryReserves:
		return a.queryReserves(v, data)
	case QueryLedgers:
		out := []LedgerInfo{}
		for _, name := range v.Ledgers() {
			if strings.HasPrefix(name, "_") {
				continue
			}
			assets, err := a.payments.Assets(v, name)
			if err != nil {
				return nil, err
			}
			li := LedgerInfo{Name: name, Assets: []AssetSupply{}}
			for _, as := range assets {
				sup, err := a.payments.GetSupply(v, name, as.Symbol)
				if err != nil {
					return nil, err
				}
				li.Assets = append(li.Assets, AssetSupply{Asset: as, Supply: sup})
			}
			out = append(out, li)
		}
		return out, nil
	case QueryTx:
		id := strings.ToLower(string(data))
		if !validTxID(id) {
			return nil, ErrBadQuery.Wrapf("tx id %q: want 64 hex digits", data)
		}
		h, err := spentAt(a.store, id, v.Height(), anyStamp)
		if err != nil {
			return nil, err
		}
		if h == 0 {
			return nil, ErrBadQuery.Wrapf("tx %s not found at height %d", id, v.Height())
		}
		return TxLocation{ID: id, Height: h}, nil
	case QueryInvariants:
		return a.Invariants(v)
	case QueryCheckpoint:
		epoch, err := strconv.ParseUint(string(data), 10, 64)
		if err != nil {
			return nil, ErrBadQuery.Wrapf("checkpoint epoch %q: want a decimal number", data)
		}
		return a.queryCheckpoint(v, epoch)
	case QueryOrgs:
		return permission.Organisations(v)
	case QueryValidators:
		return permission.Validators(v)
	case QueryStore:
		return queryStore(v, data)
	case QueryValidator:
		val, ok, err := permission.GetValidator(v, string(data))
		if err == nil && !ok {
			err = ErrBadQuery.Wrapf("validator %q is not registered at height %d", data, v.Height())
		}
		return val, err
	case QueryTxResults:
		return queryTxResults(v)
	case QueryRoles:
		ids, err := permission.Identities(v)
		if err != nil || len(data) == 0 {
			return ids, err
		}
		addr, err := gmcrypto.ParseAddress(string(data))
		if err != nil {
			return nil, ErrBadQuery.Wrapf("%v", err)
		}
		id, ok, err := permission.GetIdentity(v, addr)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, ErrBadQuery.Wrapf("identity %s is not registered", addr)
		}
		return []permission.Identity{id}, nil
	case QueryNodes:
		return permission.Nodes(v)
	case QueryHolds:
		holds, err := permission.Holds(v)
		out := make([]HoldStatus, 0, len(holds))
		for _, h := range holds {
			out = append(out, HoldStatus{Hold: h, Active: h.Active(v.Height() + 1)})
		}
		return out, err
	case QueryProposals:
		return permission.Proposals(v)
	case QueryProposal:
		id, err := strconv.ParseUint(string(data), 10, 64)
		if err != nil {
			return nil, ErrBadQuery.Wrapf("proposal id %q: want a positive integer", data)
		}
		return permission.GetProposal(v, id)
	case QuerySanctions:
		return permission.Sanctions(v)
	case QueryUpgrade:
		return upgradeStatus(v)
	case QueryEscrowKeys:
		return permission.EscrowKeys(v)
	case QueryAML:
		out := []AMLThreshold{}
		var derr error
		err := v.Iterate(permission.SystemLedger, []byte("aml/"), []byte("aml0"), func(_, b []byte) bool {
			var t AMLThreshold
			if derr = ledger.Decode(b, &t); derr == nil {
				out = append(out, t)
			}
			return derr == nil
		})
		if err == nil {
			err = derr
		}
		return out, err
	case QueryCertificate:
		return queryCertificate(v, string(data))
	case QueryPublicKey:
		addr, err := gmcrypto.ParseAddress(string(data))
		if err != nil {
			return nil, ErrBadQuery.Wrapf("%v", err)
		}
		pub, err := permission.PublicKeyOf(v, addr.String())
		if err != nil {
			return nil, err
		}
		if pub == nil {
			return nil, ErrBadQuery.Wrapf("no public key of %s on chain: it has not signed a transaction yet", addr)
		}
		return hex.EncodeToString(pub.Bytes()), nil
	case QueryLedgerInfo:
		li, ok, err := permission.GetLedgerInfo(v, string(data))
		if err == nil && !ok {
			err = ErrUnknownLedger.Wrapf("%q", data)
		}
		return li, err
	default:
		return nil, ErrBadQuery.Wrapf("unknown path %q", path)
	}
}

func checkUserLedger(v *ledger.View, name string) error {
	if strings.HasPrefix(name, "_") {
		return ErrUnknownLedger.Wrapf("%q", name)
	}
	for _, l := range v.Ledgers() {
		if l == name {
			return nil
		}
	}
	return ErrUnknownLedger.Wrapf("%q", name)
}

// Invariants checks the supply invariant over every asset at a view.
func (a *App) Invariants(v *ledger.View) (InvariantsResponse, error) {
	resp := InvariantsResponse{Height: v.Height(), Holds: true, Results: []payments.InvariantResult{}, Custody: []custody.InvariantResult{},
		Receivables: []receivables.InvariantResult{}, Reserves: []reserves.InvariantResult{}, Commitments: []payments.CommitmentResult{}}
	for _, name := range v.Ledgers() {
		if strings.HasPrefix(name, "_") {
			continue
		}
		res, err := a.payments.CheckSupply(v, name)
		if err != nil {
			return resp, err
		}
		for _, r := range res {
			resp.Holds = resp.Holds && r.Holds
		}
		resp.Results = append(resp.Results, res...)
		mres, err := a.payments.CheckCommitments(v, name)
		if err != nil {
			return resp, err
		}
		for _, r := range mres {
			resp.Holds = resp.Holds && r.Holds
		}
		resp.Commitments = append(resp.Commitments, mres...)
		cres, err := a.custody.CheckAccounts(v, name)
		if err != nil {
			return resp, err
		}
		for _, r := range cres {
			resp.Holds = resp.Holds && r.Holds
		}
		resp.Custody = append(resp.Custody, cres...)
		rres, err := a.recv.CheckReceivables(v, name)
		if err != nil {
			return resp, err
		}
		for _, r := range rres {
			resp.Holds = resp.Holds && r.Holds
		}
		resp.Receivables = append(resp.Receivables, rres...)
		vres, err := a.reservesInvariants(v, name)
		if err != nil {
			return resp, err
		}
		for _, r := range vres {
			resp.Holds = resp.Holds && r.Holds
		}
		resp.Reserves = append(resp.Reserves, vres...)
	}
	pres, err := a.pvp.CheckTrades(v)
	if err != nil {
		return resp, err
	}
	for _, r := range pres {
		resp.Holds = resp.Holds && r.Holds
	}
	resp.Pvp = pres
	return resp, nil
}

func (a *App) queryPvp(v *ledger.View, path string, data []byte) (any, error) {
	var req PvpRequest
	if err := json.Unmarshal(data, &req); err != nil {
		return nil, ErrBadQuery.Wrapf("pvp request: %v", err)
	}
	if err := checkUserLedger(v, req.Ledger); err != nil {
		return nil, err
	}
	if path == QueryPvpTrade {
		t, err := a.pvp.GetTrade(v, req.Trade)
		if err != nil {
			return nil, err
		}
		if !t.OnLedger(req.Ledger) {
			// Asked through a ledger it is not on: as unknown, so that
			// members of other ledgers learn nothing of it.
			return nil, pvp.ErrUnknownTrade.Wrapf("no trade %s with a leg on ledger %s", req.Trade, req.Ledger)
		}
		next := v.Height() + 1
		return PvpTradeResponse{Trade: t, Expired: t.Status == pvp.StatusOpen && next >= t.ExpiryHeight, At: v.Height()}, nil
	}
	var party string
	if req.Party != "" {
		p, err := gmcrypto.ParseAddress(req.Party)
		if err != nil {
			return nil, ErrBadQuery.Wrapf("party: %v", err)
		}
		party = p.String()
	}
	trades, err := a.pvp.Trades(v)
	if err != nil {
		return nil, err
	}
	trades = slices.DeleteFunc(trades, func(t pvp.Trade) bool {
		return !t.OnLedger(req.Ledger) || (party != "" && !t.Involves(party))
	})
	return PvpTradesResponse{Trades: trades, Height: v.Height()}, nil
}

func (a *App) queryReceivables(v *ledger.View, path string, data []byte) (any, error) {
	if path == QueryReceivables {
		var req ReceivablesRequest
		if err := json.Unmarshal(data, &req); err != nil {
			return nil, ErrBadQuery.Wrapf("receivables request: %v", err)
		}
		if err := checkUserLedger(v, req.Ledger); err != nil {
			return nil, err
		}
		list, err := a.recv.Receivables(v, req.Ledger)
		if err != nil {
			return nil, err
		}
		if req.Holder != "" {
			h, err := gmcrypto.ParseAddress(req.Holder)
			if err != nil {
				return nil, ErrBadQuery.Wrapf("holder: %v", err)
			}
			list = slices.DeleteFunc(list, func(r receivables.Receivable) bool { return !r.HeldBy(h.String()) })
		}
		return ReceivablesResponse{Receivables: list, Height: v.Height()}, nil
	}
	var req ReceivableRequest
	if err := json.Unmarshal(data, &req); err != nil {
		return nil, ErrBadQuery.Wrapf("receivable request: %v", err)
	}
	if err := checkUserLedger(v, req.Ledger); err != nil {
		return nil, err
	}
	id := req.Receivable
	if (id == "") == (req.Invoice == "") {
		return nil, ErrBadQuery.Wrapf("receivable request: give a receivable id or an invoice hash")
	}
	if req.Invoice != "" {
		h, err := hex.DecodeString(req.Invoice)
		if err != nil || len(h) != receivables.InvoiceHashSize {
			return nil, ErrBadQuery.Wrapf("invoice %q: want %d hex digits", req.Invoice, 2*receivables.InvoiceHashSize)
		}
		if id, err = a.recv.InvoiceOwner(v, req.Ledger, h); err != nil {
			return nil, err
		}
		if id == "" {
			return nil, receivables.ErrUnknownReceivable.Wrapf("no receivable of invoice %s on ledger %s", req.Invoice, req.Ledger)
		}
	}
	r, err := a.recv.GetReceivable(v, req.Ledger, id)
	if err != nil {
		return nil, err
	}
	at, err := loadBlockTime(v)
	if err != nil {
		return nil, err
	}
	next := v.Height() + 1
	open := r.Status == receivables.StatusActive || r.Status == receivables.StatusOverdue
	return ReceivableResponse{Receivable: r, Outstanding: r.Outstanding(), Due: open && r.Due(next, at),
		PastDue: open && r.PastDue(next, at), At: v.Height()}, nil
}

func (a *App) queryCustody(v *ledger.View, path string, data []byte) (any, error) {
	if path == QueryCustodyAccounts {
		var req CustodyAccountsRequest
		if err := json.Unmarshal(data, &req); err != nil {
			return nil, ErrBadQuery.Wrapf("custody accounts request: %v", err)
		}
		if err := checkUserLedger(v, req.Ledger); err != nil {
			return nil, err
		}
		accounts, err := a.custody.Accounts(v, req.Ledger)
		if err != nil {
			return nil, err
		}
		if req.Signer != "" {
			s, err := gmcrypto.ParseAddress(req.Signer)
			if err != nil {
				return nil, ErrBadQuery.Wrapf("signer: %v", err)
			}
			accounts = slices.DeleteFunc(accounts, func(acc custody.Account) bool { return !acc.IsSigner(s.String()) })
		}
		return CustodyAccountsResponse{Accounts: accounts, Height: v.Height()}, nil
	}
	var req CustodyRequest
	if err := json.Unmarshal(data, &req); err != nil {
		return nil, ErrBadQuery.Wrapf("custody request: %v", err)
	}
	addr, err := gmcrypto.ParseAddress(req.Account)
	if err != nil {
		return nil, ErrBadQuery.Wrapf("account: %v", err)
	}
	if err := checkUserLedger(v, req.Ledger); err != nil {
		return nil, err
	}
	acc, err := a.custody.GetAccount(v, req.Ledger, addr)
	if err != nil {
		return nil, err
	}
	ps, err := a.custody.Proposals(v, req.Ledger, addr)
	if err != nil {
		return nil, err
	}
	if path == QueryCustodyProposals {
		out := CustodyProposalsResponse{CustodyRequest: CustodyRequest{Ledger: req.Ledger, Account: acc.Address}, Threshold: acc.Threshold,
			Proposals: []CustodyProposalStatus{}, Height: v.Height()}
		for _, p := range ps {
			out.Proposals = append(out.Proposals, CustodyProposalStatus{Proposal: p, Status: p.Status(acc, v.Height()+1), ExecutableHeight: p.ExecutableHeight(acc)})
		}
		return out, nil
	}
	at, err := loadBlockTime(v)
	if err != nil {
		return nil, err
	}
	assets, err := a.payments.Assets(v, req.Ledger)
	if err != nil {
		return nil, err
	}
	out := CustodyAccountResponse{Account: acc, Balances: []CustodyBalance{}, Pending: len(ps), Height: v.Height()}
	for _, as := range assets {
		b := CustodyBalance{Asset: as.Symbol}
		if b.Amount, err = a.payments.Balance(v, req.Ledger, as.Symbol, addr); err != nil {
			return nil, err
		}
		if l, ok := acc.Limit(as.Symbol); ok {
			b.DailyLimit = l
			if b.PaidToday, err = a.custody.Spent(v, req.Ledger, addr, as.Symbol, custody.Day(at)); err != nil {
				return nil, err
			}
		} else if b.Amount == 0 {
			continue
		}
		out.Balances = append(out.Balances, b)
	}
	return out, nil
}

// filterPeer answers CometBFT's peer-filter queries from the node registry
// of the last committed state: a node id that is not registered cannot
// connect (while the registry is empty, admission is off).
func (a *App) filterPeer(path string) *abci.ResponseQuery {
	if strings.HasPrefix(path, filterAddrPrefix) {
		return &abci.ResponseQuery{Code: abci.CodeTypeOK} // admission is by node id
	}
	id, ok := strings.CutPrefix(path, filterIDPrefix)
	if !ok {
		return queryError(ErrBadQuery.Wrapf("unknown path %q", path), 0)
	}
	if a.store.LastHeight() == 0 {
		// The genesis registry is not committed until block 1, which needs
		// peers to be made: admit everyone until then.
		return &abci.ResponseQuery{Code: abci.CodeTypeOK}
	}
	v, err := a.store.View(0)
	if err != nil {
		return queryError(err, 0)
	}
	admitted, err := permission.AdmitNode(v, id)
	if err != nil {
		return queryError(err, v.Height())
	}
	if !admitted {
		return queryError(permission.ErrUnauthorized.Wrapf("node %s is not registered", id), v.Height())
	}
	return &abci.ResponseQuery{Code: abci.CodeTypeOK, Height: v.Height()}
}

// CertificateStatus answers QueryCertificate: whether the chain accepts
// envelopes that name their certificate by hash (ADR 0025), and whether it
// has recorded the certificate asked about, so that such an envelope of it
// would authenticate.
type CertificateStatus struct {
	References bool `json:"references"`
	Recorded   bool `json:"recorded"`
}

func queryCertificate(v *ledger.View, hashHex string) (CertificateStatus, error) {
	h, ok := wire.ParseTxID(hashHex) // the same form: 64 lowercase hex digits
	if !ok {
		return CertificateStatus{}, ErrBadQuery.Wrapf("certificate hash %q: want the 64 lowercase hex digits of its SM3", hashHex)
	}
	var st CertificateStatus
	var err error
	if st.References, err = permission.CertRefsOn(v); err != nil {
		return st, err
	}
	c, err := permission.RecordedCertificate(v, h)
	st.Recorded = c != nil
	return st, err
}
