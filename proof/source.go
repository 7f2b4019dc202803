package proof

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	rpcclient "github.com/cometbft/cometbft/rpc/client"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/contracts/payments"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/wire"
)

// GetJSON reads a path of a node's API (with its query string) into out,
// as the caller: api.Node.Get with the caller's client. (proof does not
// import api; the CLI and the console hand it in.)
type GetJSON func(ctx context.Context, path string, out any) error

// NodeSource is the Source of a node reached as `jinlian query … --prove`
// and the web console reach it: rpc for headers, blocks and state proofs
// (through the node's API gate when rpc is the API), and the QC of a
// height from the API's GET /v1/qc when get is set (the gate lets members
// read no raw block), else from block h+2 over rpc. from: Source.From.
func NodeSource(rpc rpcclient.Client, get GetJSON, from int64) Source {
	return Source{RPC: rpc, From: from, API: get, QC: func(ctx context.Context, h int64) (app.QCResponse, error) {
		return FetchQC(ctx, rpc, get, h)
	}}
}

// txFromAPI asks the node's API for the bundle of transaction id in block
// h (GET /v1/proofs/tx) and checks that it is one, of that transaction
// and height.
func (s Source) txFromAPI(ctx context.Context, h int64, id string) (*Bundle, error) {
	path := fmt.Sprintf("/v1/proofs/tx?id=%s&height=%d", id, h)
	if s.From > 0 {
		path += fmt.Sprintf("&from=%d", s.From)
	}
	var raw json.RawMessage
	if err := s.API(ctx, path, &raw); err != nil {
		return nil, err
	}
	b, err := Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("the node's bundle: %w", err)
	}
	if b.Kind != KindTx || b.Tx == nil || b.Tx.ID != id || b.Height != h {
		return nil, fmt.Errorf("the node sent a %s bundle of height %d, not of transaction %s in block %d", b.Kind, b.Height, id, h)
	}
	return b, nil
}

// FetchQC reads the SM2 quorum certificate of height h: GET /v1/qc through
// get when set, else the first transaction of block h+2 over rpc.
func FetchQC(ctx context.Context, rpc rpcclient.Client, get GetJSON, h int64) (app.QCResponse, error) {
	if get != nil {
		var out app.QCResponse
		return out, get(ctx, "/v1/qc?height="+strconv.FormatInt(h, 10), &out)
	}
	qc, err := wire.QCAt(ctx, rpc, h)
	if err != nil {
		return app.QCResponse{}, err
	}
	if qc == nil {
		return app.QCResponse{}, fmt.Errorf("no quorum certificate for height %d: block %d carries none (its proposer gathered SM2 signatures of too little power)", h, h+2)
	}
	return app.NewQCResponse(qc), nil
}

// Balances builds the state bundle of account's balance records of assets
// on a sub-ledger at height h (0: StateHeight), the bundle `jinlian query
// balance|account --prove` writes: a balance never set is proven absent.
// BalanceOf reads each entry's amount.
func (s Source) Balances(ctx context.Context, h int64, ledgerName string, assets []string, account gmcrypto.Address) (*Bundle, error) {
	keys := make([]Key, len(assets))
	for i, a := range assets {
		keys[i] = Key{Ledger: ledgerName, Key: payments.BalanceKey(a, account)}
	}
	return s.State(ctx, h, keys)
}

// BalanceOf reads a proven balance record's amount (the balance, before
// its completeness commitment); a key not set is 0.
func BalanceOf(e Entry) (uint64, error) {
	if len(e.Value) == 0 {
		return 0, nil
	}
	bal, _, _, err := payments.DecodeBalanceRecord(e.Value)
	return bal, err
}
