package consensus

import (
	"context"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
)

type preverifyApp struct {
	abci.BaseApplication
	preverified, checked [][]byte
}

func (a *preverifyApp) Preverify(tx []byte) { a.preverified = append(a.preverified, tx) }

func (a *preverifyApp) CheckTx(_ context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	a.checked = append(a.checked, req.Tx)
	return &abci.ResponseCheckTx{}, nil
}

func TestClientCreatorPreverifiesNewTransactions(t *testing.T) {
	app := &preverifyApp{}
	c, err := clientCreator(app).NewABCIClient()
	if err != nil {
		t.Fatal(err)
	}
	c.SetResponseCallback(func(*abci.Request, *abci.Response) {}) // as the mempool does
	ctx := context.Background()
	if _, err := c.CheckTxAsync(ctx, &abci.RequestCheckTx{Tx: []byte("a"), Type: abci.CheckTxType_New}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CheckTx(ctx, &abci.RequestCheckTx{Tx: []byte("b"), Type: abci.CheckTxType_New}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CheckTxAsync(ctx, &abci.RequestCheckTx{Tx: []byte("a"), Type: abci.CheckTxType_Recheck}); err != nil {
		t.Fatal(err)
	}
	if string(join(app.preverified)) != "ab" || string(join(app.checked)) != "aba" {
		t.Fatalf("preverified %q, checked %q; want new transactions preverified once (ab), all checked (aba)", app.preverified, app.checked)
	}

	// An app without Preverify gets CometBFT's plain local client.
	if _, ok := clientCreator(&abci.BaseApplication{}).(preverifyingCreator); ok {
		t.Fatal("plain app wrapped")
	}
}

func join(bs [][]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}
