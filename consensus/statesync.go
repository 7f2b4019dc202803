package consensus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	cfg "github.com/cometbft/cometbft/config"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
)

// StateSyncTrust is what a node joining by state sync needs from a node it
// trusts: a recent height and that block's hash (the light client's root of
// trust), and the RPC servers it verifies headers against.
type StateSyncTrust struct {
	Height     int64
	Hash       string // block hash, hex
	RPCServers []string
}

// TrustBack is how many heights below the trusted node's latest the trust
// height is taken, so that the block is final on every node.
const TrustBack = 2

// TrustFrom asks the node at rpcURL (the trusted node; give a second node
// in others, CometBFT's light client needs two RPC servers) for the hash of
// its latest height less TrustBack.
func TrustFrom(ctx context.Context, rpcURL string, others ...string) (StateSyncTrust, error) {
	c, err := rpchttp.New(rpcURL, "/websocket")
	if err != nil {
		return StateSyncTrust{}, fmt.Errorf("rpc %s: %w", rpcURL, err)
	}
	st, err := c.Status(ctx)
	if err != nil {
		return StateSyncTrust{}, fmt.Errorf("status of %s: %w", rpcURL, err)
	}
	h := st.SyncInfo.LatestBlockHeight - TrustBack
	if h < 1 {
		return StateSyncTrust{}, fmt.Errorf("node %s is at height %d: no block to trust yet", rpcURL, st.SyncInfo.LatestBlockHeight)
	}
	b, err := c.Block(ctx, &h)
	if err != nil {
		return StateSyncTrust{}, fmt.Errorf("block %d of %s: %w", h, rpcURL, err)
	}
	servers := append([]string{rpcURL}, others...)
	if len(servers) == 1 {
		servers = append(servers, rpcURL) // CometBFT wants two entries
	}
	return StateSyncTrust{Height: h, Hash: b.BlockID.Hash.String(), RPCServers: servers}, nil
}

// ApplyStateSync turns state sync on in c with t as the root of trust.
// trustPeriod 0 keeps CometBFT's default (168 h); it must be shorter than
// the chain's unbonding time, which a consortium chain without staking
// does not have, so a week is the habit.
func ApplyStateSync(c *cfg.Config, t StateSyncTrust, trustPeriod time.Duration) error {
	if len(t.RPCServers) < 2 {
		return errors.New("state sync needs two rpc_servers")
	}
	c.StateSync.Enable = true
	c.StateSync.TrustHeight = t.Height
	c.StateSync.TrustHash = strings.ToLower(t.Hash)
	c.StateSync.RPCServers = t.RPCServers
	if trustPeriod > 0 {
		c.StateSync.TrustPeriod = trustPeriod
	}
	if err := c.StateSync.ValidateBasic(); err != nil {
		return fmt.Errorf("[statesync]: %w", err)
	}
	return nil
}
