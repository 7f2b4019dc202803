package consensus

import (
	"context"

	abcicli "github.com/cometbft/cometbft/abci/client"
	abci "github.com/cometbft/cometbft/abci/types"
	cmtsync "github.com/cometbft/cometbft/libs/sync"
	"github.com/cometbft/cometbft/proxy"
)

// Preverifier is implemented by apps that can do the stateless part of
// CheckTx (decoding, signature verification) on any goroutine, remembering
// the result for CheckTx, and whose CheckTx may run concurrently with the
// other ABCI methods but Commit. The node calls Preverify for every new
// transaction before it takes the ABCI lock, so that signatures are
// verified on every core, and runs CheckTx under a lock of its own, so that
// the mempool keeps admitting transactions while a block executes.
// CometBFT itself keeps CheckTx out of Commit: it holds the mempool lock
// from Commit to the end of the mempool's update.
type Preverifier interface {
	Preverify(tx []byte)
}

// clientCreator returns CometBFT's local client creator (one mutex over
// all four ABCI connections) for most apps. A Preverifier gets clients
// that share one mutex for every method but CheckTx, which takes a mutex
// of its own after Preverify.
func clientCreator(app abci.Application) proxy.ClientCreator {
	pre, ok := app.(Preverifier)
	if !ok {
		return proxy.NewLocalClientCreator(app)
	}
	return preverifyingCreator{mtx: new(cmtsync.Mutex), app: app, pre: pre}
}

type preverifyingCreator struct {
	mtx *cmtsync.Mutex
	app abci.Application
	pre Preverifier
}

func (c preverifyingCreator) NewABCIClient() (abcicli.Client, error) {
	return preverifyingClient{
		Client: abcicli.NewLocalClient(c.mtx, c.app),
		check:  abcicli.NewLocalClient(nil, c.app), // a mutex of its own
		pre:    c.pre,
	}, nil
}

// preverifyingClient is CometBFT's local client but for CheckTx, which
// goes to check. Only the mempool connection calls CheckTx, so in effect
// the mempool connection has its own mutex and the other three share one.
type preverifyingClient struct {
	abcicli.Client
	check abcicli.Client
	pre   Preverifier
}

func (c preverifyingClient) SetResponseCallback(cb abcicli.Callback) {
	c.Client.SetResponseCallback(cb)
	c.check.SetResponseCallback(cb)
}

func (c preverifyingClient) CheckTxAsync(ctx context.Context, req *abci.RequestCheckTx) (*abcicli.ReqRes, error) {
	if req.Type == abci.CheckTxType_New {
		c.pre.Preverify(req.Tx)
	}
	return c.check.CheckTxAsync(ctx, req)
}

func (c preverifyingClient) CheckTx(ctx context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	if req.Type == abci.CheckTxType_New {
		c.pre.Preverify(req.Tx)
	}
	return c.check.CheckTx(ctx, req)
}
