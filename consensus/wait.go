package consensus

import (
	"context"
	"fmt"
	"time"

	"github.com/cometbft/cometbft/rpc/client"
)

// heightPollInterval is how often WaitForHeight asks for the node's status.
const heightPollInterval = 50 * time.Millisecond

// WaitForHeight blocks until the node behind c has committed height h or ctx
// ends. Any client.Client (local or HTTP) will do.
func WaitForHeight(ctx context.Context, c client.StatusClient, h int64) error {
	t := time.NewTicker(heightPollInterval)
	defer t.Stop()
	var last int64
	for {
		st, err := c.Status(ctx)
		if err == nil {
			last = st.SyncInfo.LatestBlockHeight
			if last >= h {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return fmt.Errorf("wait for height %d: %w (last status error: %v)", h, ctx.Err(), err)
			}
			return fmt.Errorf("wait for height %d (at %d): %w", h, last, ctx.Err())
		case <-t.C:
		}
	}
}
