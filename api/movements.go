package api

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/movement"
	"github.com/jinlian-ledger/jinlian/recon"
)

// Movements reads acct's movements at heights from..to, in chain order.
// Through a node's API (hc its client) the node reads them itself (GET
// /v1/movements): what a member may read of its own organisation's
// accounts, any account for a regulator or auditor; a refusal is returned
// as it is. Only where the API answers 404 (an older node without the
// endpoint, or one that serves no blocks), and from a plain RPC: from the
// blocks and their results (a node's plain RPC, or its API for a
// regulator or auditor, whom the gate gives raw blocks), else from the
// event feed, which a member reads for its own organisation.
func (n Node) Movements(ctx context.Context, hc *http.Client, acct movement.Account, from, to int64) ([]movement.Movement, error) {
	if n.IsAPI() {
		ms, err := n.apiMovements(ctx, hc, acct, from, to)
		var apiErr *Error
		if !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound {
			return ms, err
		}
	}
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

// maxMovementsHeights bounds the heights one GET /v1/movements reads: the
// client pages a longer range (Node.Movements).
const maxMovementsHeights = 1000

// movementsParams are the query parameters of GET /v1/movements.
var movementsParams = []string{"ledger", "asset", "account", "from", "to"}

// movementsPage is GET /v1/movements's answer.
type movementsPage struct {
	Movements []movement.Movement `json:"movements"`
}

// movements serves GET /v1/movements?ledger=&asset=&account=&from=&to=:
// every movement of the account at heights from..to (at most
// maxMovementsHeights of them), in chain order, read by the node from its
// blocks and saved results with recon.AccountMovements, the reading a
// client would do over the RPC, without shipping every block's results.
// With the gate on, a member reads the accounts of its organisation's
// registered identities; regulators and auditors (of the sub-ledger) any
// account, custody accounts included.
func (s *Server) movements(w http.ResponseWriter, r *http.Request) {
	fail := func(code int, err error) { writeJSON(w, code, map[string]string{"error": err.Error()}) }
	if s.opts.Events == nil {
		fail(http.StatusNotFound, errors.New("this node serves no movements"))
		return
	}
	acct, from, to, err := parseMovementsQuery(r.URL.RawQuery)
	if err != nil {
		fail(http.StatusBadRequest, fmt.Errorf("GET /v1/movements: %w", err))
		return
	}
	if s.gated() {
		c, err := s.caller(r)
		if err == nil {
			err = s.mayReadAccount(c, acct)
		}
		if err != nil {
			s.opts.Logger.Warn("api: movements refused", "caller", cmp.Or(c.desc, connectionInfo(r).Client), "account", acct.Address,
				"ledger", acct.Ledger, "remote", r.RemoteAddr, "err", err)
			fail(http.StatusForbidden, err)
			return
		}
	}
	ms, err := recon.AccountMovements(r.Context(), s.opts.Events, acct, from, to)
	var heights *recon.HeightsError
	switch {
	case errors.As(err, &heights) && heights.From < heights.Base:
		fail(http.StatusGone, err)
	case errors.As(err, &heights):
		fail(http.StatusNotFound, err)
	case errors.Is(err, recon.ErrInvalid):
		fail(http.StatusBadRequest, err)
	case err != nil:
		fail(http.StatusInternalServerError, err)
	default:
		writeCompactJSON(w, http.StatusOK, movementsPage{Movements: ms})
	}
}

// mayReadAccount: regulators and auditors (of acct's sub-ledger) read any
// account; a member only an identity of its own organisation.
func (s *Server) mayReadAccount(c caller, acct movement.Account) error {
	if c.privileged || slices.Contains(c.audits, acct.Ledger) {
		return nil
	}
	addr, err := gmcrypto.ParseAddress(acct.Address)
	if err != nil {
		return err
	}
	org, _, ok, err := s.opts.Registry.Identity(addr)
	switch {
	case err != nil:
		return err
	case !ok || org != c.org:
		return fmt.Errorf("%s may not read the movements of account %s: a member reads only its organisation's identities' accounts; regulators and auditors any", c.desc, acct.Address)
	}
	return nil
}

// parseMovementsQuery reads GET /v1/movements's query string strictly:
// every parameter known, given once and not empty; the account checked
// and canonical (recon.CheckAccount).
func parseMovementsQuery(raw string) (acct movement.Account, from, to int64, err error) {
	vals, err := strictQuery(raw, movementsParams)
	if err != nil {
		return acct, 0, 0, err
	}
	for _, k := range movementsParams {
		if vals.Get(k) == "" {
			return acct, 0, 0, fmt.Errorf("parameter %s is missing", k)
		}
	}
	acct = movement.Account{Ledger: vals.Get("ledger"), Asset: vals.Get("asset"), Address: vals.Get("account")}
	if err := recon.CheckAccount(&acct); err != nil {
		return acct, 0, 0, err
	}
	if from, err = strconv.ParseInt(vals.Get("from"), 10, 64); err != nil || from < 1 {
		return acct, 0, 0, fmt.Errorf("from %q: want a positive height", vals.Get("from"))
	}
	if to, err = strconv.ParseInt(vals.Get("to"), 10, 64); err != nil || to < from {
		return acct, 0, 0, fmt.Errorf("to %q: want a height from %d on", vals.Get("to"), from)
	}
	if to-from >= maxMovementsHeights {
		return acct, 0, 0, fmt.Errorf("heights %d..%d: at most %d heights a request", from, to, maxMovementsHeights)
	}
	return acct, from, to, nil
}

// apiMovements reads acct's movements at heights from..to from the node's
// GET /v1/movements, maxMovementsHeights heights a request.
func (n Node) apiMovements(ctx context.Context, hc *http.Client, acct movement.Account, from, to int64) ([]movement.Movement, error) {
	out := []movement.Movement{}
	for lo := from; lo <= to; lo += maxMovementsHeights {
		hi := min(to, lo+maxMovementsHeights-1)
		q := url.Values{"ledger": {acct.Ledger}, "asset": {acct.Asset}, "account": {acct.Address},
			"from": {strconv.FormatInt(lo, 10)}, "to": {strconv.FormatInt(hi, 10)}}
		var page movementsPage
		if err := n.Get(ctx, hc, "/v1/movements?"+q.Encode(), &page); err != nil {
			return nil, err
		}
		out = append(out, page.Movements...)
	}
	return out, nil
}
