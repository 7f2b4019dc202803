package main

import (
	"context"
	"fmt"
	"strings"

	rpcclient "github.com/cometbft/cometbft/rpc/client"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
)

// dial returns an RPC client for --node. Accepts tcp://, http:// or host:port.
func dial(node string) (rpcclient.Client, error) {
	addr := node
	if !strings.Contains(addr, "://") {
		addr = "tcp://" + addr
	}
	c, err := rpchttp.New(addr, "/websocket")
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", node, err)
	}
	return c, nil
}

// chainID asks the node which chain it runs.
func chainID(ctx context.Context, c rpcclient.Client, node string) (string, error) {
	st, err := c.Status(ctx)
	if err != nil {
		return "", fmt.Errorf("node %s unreachable: %w (is the localnet running? start it with: go run ./cmd/jinlian localnet)", node, err)
	}
	return st.NodeInfo.Network, nil
}
