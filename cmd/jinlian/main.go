package main

import (
	_ "github.com/cometbft/cometbft/abci/example/kvstore"
	_ "github.com/cometbft/cometbft/node"
	_ "github.com/cometbft/cometbft/rpc/client/http"
	_ "github.com/cometbft/cometbft/rpc/client/local"
	_ "github.com/cosmos/iavl"
	_ "github.com/dgraph-io/badger/v4"
	_ "github.com/emmansun/gmsm/sm2"
	_ "github.com/emmansun/gmsm/sm3"
	_ "github.com/emmansun/gmsm/sm4"
	_ "github.com/emmansun/gmsm/smx509"
	_ "github.com/hyperledger/fabric-protos-go-apiv2/common"
	_ "github.com/hyperledger/fabric-protos-go-apiv2/msp"
	_ "github.com/spf13/cobra"
	_ "github.com/spf13/viper"
	_ "pgregory.net/rapid"
)

func main() {}
