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
// the result for CheckTx. The node calls it for every new transaction
// before the transaction takes the ABCI lock, so that signatures are
// verified on every core while the lock serialises only the state checks.
type Preverifier interface {
	Preverify(tx []byte)
}

// clientCreator returns CometBFT's local client creator (one mutex over
// all four ABCI connections), wrapped so that a Preverifier sees new
// transactions before that mutex.
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
	return preverifyingClient{Client: abcicli.NewLocalClient(c.mtx, c.app), pre: c.pre}, nil
}

type preverifyingClient struct {
	abcicli.Client
	pre Preverifier
}

func (c preverifyingClient) CheckTxAsync(ctx context.Context, req *abci.RequestCheckTx) (*abcicli.ReqRes, error) {
	if req.Type == abci.CheckTxType_New {
		c.pre.Preverify(req.Tx)
	}
	return c.Client.CheckTxAsync(ctx, req)
}

func (c preverifyingClient) CheckTx(ctx context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	if req.Type == abci.CheckTxType_New {
		c.pre.Preverify(req.Tx)
	}
	return c.Client.CheckTx(ctx, req)
}
