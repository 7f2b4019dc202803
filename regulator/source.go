package regulator

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	coretypes "github.com/cometbft/cometbft/rpc/core/types"
	"github.com/cometbft/cometbft/types"

	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// BlockSource is where the observer reads committed blocks. CometBFT's
// in-process client (rpc/client/local) and its HTTP client satisfy it.
type BlockSource interface {
	Block(ctx context.Context, height *int64) (*coretypes.ResultBlock, error)
	BlockResults(ctx context.Context, height *int64) (*coretypes.ResultBlockResults, error)
	Status(ctx context.Context) (*coretypes.ResultStatus, error)
	Genesis(ctx context.Context) (*coretypes.ResultGenesis, error)
	// ABCIInfo reports the height the app last committed (ReadableHeight).
	ABCIInfo(ctx context.Context) (*coretypes.ResultABCIInfo, error)
}

// ReadableHeight is the last height whose block and results the source
// can serve. CometBFT saves a block to its block store before it executes
// it (Status's LatestBlockHeight counts it from then on) and saves the
// block's results only once FinalizeBlock returns, before the app commits:
// asking for the results in between fails, and CometBFT's RPC logs
// "failed to LoadFinalizeBlockResponse … could not find results for
// height" at error level each time. A height the app has committed has its
// results saved, so the observer reads up to min(block store, app).
func ReadableHeight(ctx context.Context, src BlockSource) (latest, earliest int64, err error) {
	st, err := src.Status(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("status: %w", err)
	}
	info, err := src.ABCIInfo(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("abci_info: %w", err)
	}
	return min(st.SyncInfo.LatestBlockHeight, info.Response.LastBlockHeight), st.SyncInfo.EarliestBlockHeight, nil
}

// QueryFunc runs an ABCI query of the app (path, data) at the latest
// height and returns the response value; a non-zero code is an error.
type QueryFunc func(ctx context.Context, path string, data []byte) ([]byte, error)

// FetchBlock reads a committed block and its results and decodes it.
func FetchBlock(ctx context.Context, src BlockSource, height int64) (*Block, error) {
	rb, err := src.Block(ctx, &height)
	if err != nil {
		return nil, fmt.Errorf("block %d: %w", height, err)
	}
	if rb.Block == nil {
		return nil, fmt.Errorf("block %d: not in the block store", height)
	}
	res, err := src.BlockResults(ctx, &height)
	if err != nil {
		return nil, fmt.Errorf("results of block %d: %w", height, err)
	}
	return DecodeBlock(rb.Block, res.TxsResults)
}

// DecodeBlock turns a CometBFT block and its tx results into a Block.
// Quorum-certificate transactions are skipped; bytes that do not decode
// as a jinlian envelope cannot be in a committed block (ProcessProposal
// rejects them) and are reported as an error.
func DecodeBlock(b *types.Block, results []*abci.ExecTxResult) (*Block, error) {
	if len(results) != len(b.Txs) {
		return nil, fmt.Errorf("block %d has %d txs but %d results", b.Height, len(b.Txs), len(results))
	}
	out := &Block{Height: b.Height, Time: b.Time.UTC()}
	for i, raw := range b.Txs {
		if wire.IsQCTx(raw) {
			continue
		}
		tx, err := DecodeTx(raw, results[i])
		if err != nil {
			return nil, fmt.Errorf("block %d tx %d: %w", b.Height, i, err)
		}
		tx.Index, tx.Height, tx.Time = i, b.Height, out.Time
		out.Txs = append(out.Txs, *tx)
	}
	return out, nil
}

// DecodeTx decodes one committed transaction with its result.
func DecodeTx(raw []byte, res *abci.ExecTxResult) (*Tx, error) {
	d, err := wire.DecodeTx(raw)
	if err != nil {
		return nil, err
	}
	tx := &Tx{
		ID: d.ID, Hash: hex.EncodeToString(types.Tx(raw).Hash()), Ledger: d.Ledger, Sender: d.Sender.String(),
		Org: d.MSPID, Type: d.Spec.Name, Code: res.Code, Codespace: res.Codespace, Log: res.Log,
		Parties: []string{d.Sender.String()},
	}
	addTo := func(to []byte) {
		if len(to) > 0 {
			tx.Parties = append(tx.Parties, hex.EncodeToString(to))
		}
	}
	switch m := d.Msg.Body.(type) {
	case *txpb.Message_Transfer:
		addTo(m.Transfer.To)
		tx.Memo, tx.Asset, tx.Amount = m.Transfer.Memo, m.Transfer.Asset, m.Transfer.Amount
		tx.Confidential = m.Transfer.Confidential != nil
	case *txpb.Message_Issue:
		addTo(m.Issue.To)
		tx.Memo, tx.Asset, tx.Amount = m.Issue.Memo, m.Issue.Asset, m.Issue.Amount
	case *txpb.Message_Burn:
		tx.Memo, tx.Asset, tx.Amount = m.Burn.Memo, m.Burn.Asset, m.Burn.Amount
	case *txpb.Message_CustodyPropose:
		// The recipient first (a sanctions attempt names Parties[1] as the
		// target), then the custody account that would pay it.
		addTo(m.CustodyPropose.To)
		addTo(m.CustodyPropose.Account)
		tx.Memo, tx.Asset, tx.Amount = m.CustodyPropose.Memo, m.CustodyPropose.Asset, m.CustodyPropose.Amount
	case *txpb.Message_CustodyCreate:
		for _, s := range m.CustodyCreate.Signers {
			addTo(s)
		}
	case *txpb.Message_CustodySetSigners:
		addTo(m.CustodySetSigners.Account)
		for _, s := range m.CustodySetSigners.Signers {
			addTo(s)
		}
	case *txpb.Message_CustodyApprove:
		addTo(m.CustodyApprove.Account)
	case *txpb.Message_CustodyVeto:
		addTo(m.CustodyVeto.Account)
	case *txpb.Message_CustodyExecute:
		addTo(m.CustodyExecute.Account)
	case *txpb.Message_ReceivableRegister:
		// The payer: a sanctioned core enterprise is a sanctions attempt's target.
		addTo(m.ReceivableRegister.Payer)
		tx.Memo, tx.Asset, tx.Amount = m.ReceivableRegister.Memo, m.ReceivableRegister.Asset, m.ReceivableRegister.FaceValue
	case *txpb.Message_ReceivableTransfer:
		addTo(m.ReceivableTransfer.To)
		tx.Memo = m.ReceivableTransfer.Memo
	case *txpb.Message_ReceivablePledge:
		addTo(m.ReceivablePledge.Pledgee)
		tx.Memo = m.ReceivablePledge.Memo
	case *txpb.Message_ReceivableDiscountOffer:
		addTo(m.ReceivableDiscountOffer.Bank)
	}
	if !tx.OK() {
		return tx, nil
	}
	for _, ev := range res.Events {
		m, ok, err := wire.ParseEvent(ev)
		if err != nil {
			return nil, fmt.Errorf("tx %s: %w", tx.ID, err)
		}
		if !ok {
			continue
		}
		switch e := m.(type) {
		case *txpb.EventIssue:
			tx.Movements = append(tx.Movements, Movement{Kind: KindIssue, Ledger: e.Ledger, Asset: e.Asset,
				From: e.From, To: e.To, Amount: e.Amount, ToBalance: e.ToBalance})
		case *txpb.EventTransfer:
			tx.Movements = append(tx.Movements, Movement{Kind: KindTransfer, Ledger: e.Ledger, Asset: e.Asset,
				From: e.From, To: e.To, Amount: e.Amount, FromBalance: e.FromBalance, ToBalance: e.ToBalance})
		case *txpb.EventBurn:
			tx.Movements = append(tx.Movements, Movement{Kind: KindBurn, Ledger: e.Ledger, Asset: e.Asset,
				From: e.From, Amount: e.Amount, FromBalance: e.FromBalance})
		case *txpb.EventRedeem:
			tx.Movements = append(tx.Movements, Movement{Kind: KindRedeem, Ledger: e.Ledger, Asset: e.Asset,
				From: e.From, Amount: e.Amount, FromBalance: e.FromBalance})
		case *txpb.EventRedemptionSettled:
			if e.Rejected {
				tx.Movements = append(tx.Movements, Movement{Kind: KindRedemptionReturned, Ledger: e.Ledger, Asset: e.Asset,
					From: tx.Sender, To: e.To, Amount: e.Amount, ToBalance: e.ToBalance})
			}
		case *txpb.EventSanction:
			tx.Sanctions = append(tx.Sanctions, SanctionChange{Account: e.Account, Entry: e.Entry, Reason: e.Reason,
				Source: e.Source, Removed: e.Removed})
		case *txpb.EventAmlThreshold:
			tx.Thresholds = append(tx.Thresholds, ThresholdChange{Ledger: e.Ledger, Asset: e.Asset, Amount: e.LargeAmount})
		case *txpb.EventRegisterIdentity:
			tx.Identities = append(tx.Identities, IdentityOrg{Address: e.Address, Org: e.Org})
		case *txpb.EventPvpFunded:
			if tx.Pvp == nil { // a settling funding's pvp_settled follows and wins
				tx.Pvp = &PvpTrade{Trade: e.Trade, Status: PvpFunded, LedgerA: e.LedgerA, AssetA: e.AssetA, AmountA: e.AmountA,
					LedgerB: e.LedgerB, AssetB: e.AssetB, AmountB: e.AmountB, Rate: e.Rate}
			}
		case *txpb.EventPvpSettled:
			tx.Pvp = &PvpTrade{Trade: e.Trade, Status: PvpSettled, LedgerA: e.LedgerA, AssetA: e.AssetA, AmountA: e.AmountA,
				LedgerB: e.LedgerB, AssetB: e.AssetB, AmountB: e.AmountB, Rate: e.Rate,
				Proposer: e.Proposer, Counterparty: e.Counterparty, ReceiverA: e.ReceiverA, ReceiverB: e.ReceiverB}
		case *txpb.EventPvpRefunded:
			tx.Pvp = &PvpTrade{Trade: e.Trade, Status: PvpRefunded, LedgerA: e.LedgerA, AssetA: e.AssetA, AmountA: e.AmountA,
				LedgerB: e.LedgerB, AssetB: e.AssetB, AmountB: e.AmountB, Rate: e.Rate}
		case *txpb.EventCustodyCreated:
			// A custody account belongs, for the rules that sum flows per
			// organisation, to the organisation that opened it.
			tx.Identities = append(tx.Identities, IdentityOrg{Address: e.Account, Org: tx.Org})
		}
	}
	return tx, nil
}

// genesisAppState is the part of jinlian's genesis app_state the index
// starts from.
type genesisAppState struct {
	Identities []struct {
		Address string `json:"address"`
		Org     string `json:"org"`
	} `json:"identities"`
	Sanctions []struct {
		Account string `json:"account"`
		Entry   string `json:"entry"`
		Reason  string `json:"reason"`
		Source  string `json:"source"`
	} `json:"sanctions"`
	Ledgers []struct {
		Name     string `json:"name"`
		Balances []struct {
			Asset   string `json:"asset"`
			Account string `json:"account"`
			Amount  uint64 `json:"amount,string"`
		} `json:"balances"`
	} `json:"ledgers"`
}

// GenesisFromDoc extracts what the index needs from a genesis document.
func GenesisFromDoc(doc *types.GenesisDoc) (Genesis, error) {
	g := Genesis{ChainID: doc.ChainID, Time: doc.GenesisTime.UTC()}
	var st genesisAppState
	if len(doc.AppState) > 0 {
		if err := json.Unmarshal(doc.AppState, &st); err != nil {
			return g, fmt.Errorf("genesis app_state: %w", err)
		}
	}
	for _, id := range st.Identities {
		g.Identities = append(g.Identities, IdentityOrg{Address: id.Address, Org: id.Org})
	}
	for _, s := range st.Sanctions {
		g.Sanctions = append(g.Sanctions, SanctionChange{Account: s.Account, Entry: s.Entry, Reason: s.Reason, Source: s.Source})
	}
	for _, l := range st.Ledgers {
		for _, b := range l.Balances {
			g.Balances = append(g.Balances, GenesisBalance{Ledger: l.Name, Asset: b.Asset, Account: b.Account, Amount: b.Amount})
		}
	}
	return g, nil
}

// ABCIQuerier is the query half of CometBFT's RPC clients.
type ABCIQuerier interface {
	ABCIQuery(ctx context.Context, path string, data cmtbytes.HexBytes) (*coretypes.ResultABCIQuery, error)
}

// QueryFromClient makes a QueryFunc of an RPC client.
func QueryFromClient(c ABCIQuerier) QueryFunc {
	return func(ctx context.Context, path string, data []byte) ([]byte, error) {
		res, err := c.ABCIQuery(ctx, path, data)
		if err != nil {
			return nil, fmt.Errorf("query %s: %w", path, err)
		}
		if res.Response.Code != 0 {
			return nil, fmt.Errorf("query %s: code %d (%s): %s", path, res.Response.Code, res.Response.Codespace, res.Response.Log)
		}
		return res.Response.Value, nil
	}
}
