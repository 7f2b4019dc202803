package relay

import (
	"context"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/crypto"
)

// ChainIDReader is the part of an Ethereum client KeyedTransactor needs.
type ChainIDReader interface {
	ChainID(ctx context.Context) (*big.Int, error)
}

// KeyedTransactor signs Ethereum transactions with the hex secp256k1 key
// in keyFile, for the chain c is connected to.
func KeyedTransactor(ctx context.Context, c ChainIDReader, keyFile string) (*bind.TransactOpts, error) {
	if keyFile == "" {
		return nil, errors.New("--eth-key FILE (hex secp256k1 key) pays for the transactions")
	}
	key, err := crypto.LoadECDSA(keyFile)
	if err != nil {
		return nil, fmt.Errorf("--eth-key: %w", err)
	}
	id, err := c.ChainID(ctx)
	if err != nil {
		return nil, fmt.Errorf("chain id of the Ethereum endpoint: %w", err)
	}
	return bind.NewKeyedTransactorWithChainID(key, id)
}
