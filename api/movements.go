package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/jinlian-ledger/jinlian/movement"
	"github.com/jinlian-ledger/jinlian/recon"
)

// Movements reads acct's movements at heights from..to, in chain order:
// from the blocks and their results (a node's plain RPC, or its API for a
// regulator or auditor, whom the gate gives raw blocks), else, through
// the API (hc its client), from the event feed, which a member reads for
// its own organisation.
func (n Node) Movements(ctx context.Context, hc *http.Client, acct movement.Account, from, to int64) ([]movement.Movement, error) {
	cl, err := n.Dial()
	if err != nil {
		return nil, err
	}
	ms, err := recon.AccountMovements(ctx, RPCBlocks(ctx, cl), acct, from, to)
	if err == nil || !strings.HasPrefix(n.Addr, "https://") || hc == nil {
		return ms, err
	}
	fed, ferr := n.feedMovements(ctx, hc, acct, from, to)
	if ferr != nil {
		return nil, fmt.Errorf("%w (the blocks: %v)", ferr, err)
	}
	return fed, nil
}

// feedMovements pages the event feed (GET /v1/events, JSON) from height
// from to height to, keeping acct's movements.
func (n Node) feedMovements(ctx context.Context, hc *http.Client, acct movement.Account, from, to int64) ([]movement.Movement, error) {
	out := []movement.Movement{}
	cursor := strconv.FormatInt(from, 10)
	for {
		q := url.Values{"format": {"json"}, "cursor": {cursor}, "ledger": {acct.Ledger}, "limit": {strconv.Itoa(MaxEventsLimit)}}
		var page recon.Page
		if err := n.Get(ctx, hc, "/v1/events?"+q.Encode(), &page); err != nil {
			return nil, err
		}
		for _, fm := range page.Movements {
			if fm.Height > to {
				return out, nil
			}
			if m, ok := fm.Row.Movement(); ok && m.Of() == acct {
				out = append(out, m)
			}
		}
		next, err := recon.ParseCursor(page.Next)
		if err != nil {
			return nil, fmt.Errorf("event feed: next cursor %q: %w", page.Next, err)
		}
		if next.Height > to {
			return out, nil
		}
		if next.Height > page.Latest {
			return nil, errors.New("event feed: the node has not saved the results of every height of the range yet")
		}
		cursor = page.Next
	}
}
