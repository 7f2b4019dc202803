package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/movement"
	"github.com/jinlian-ledger/jinlian/recon"
)

// AccountMovements is what query movements prints.
type AccountMovements struct {
	Ledger     string              `json:"ledger"`
	Asset      string              `json:"asset"`
	Account    string              `json:"account"`
	FromHeight int64               `json:"from_height"`
	ToHeight   int64               `json:"to_height"`
	Movements  []movement.Movement `json:"movements"`
	Proof      string              `json:"proof,omitempty"`
}

func newQueryMovementsCmd(g *globals) *cobra.Command {
	var ledgerName, account, asset string
	var from, to int64
	var pf proveFlags
	cmd := &cobra.Command{
		Use:   "movements --account ADDR --asset SYM --from-height H1 [--to-height H2]",
		Short: "Every movement of an account's asset in a height range; with --prove, a bundle proving the list is complete",
		Long: `Lists every movement of --account's --asset on --ledger at heights
--from-height..--to-height (both included; default: the latest height
whose SM2 quorum certificate is committed), read from the node's blocks
and results (a node's plain RPC, or its API: through the API a member
reads its own organisation's accounts, from the event feed).

With --prove FILE it writes a completeness bundle: the account's balance
record, which carries its completeness commitment (an SM3 chain over
every movement and their count), proven at --from-height − 1 and at
--to-height, and the list. jinlian verify proof checks offline that the
list reproduces one commitment from the other: a payment missing from a
verified list did not reach the account in the range
(docs/proofs.md, docs/reconciliation.md#completeness-commitments).`,
		Example: `  jinlian query movements --account 2bebc21f… --asset CNY --from-height 120 --to-height 180 --prove acct.json
  jinlian verify proof acct.json --trust genesis.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			addr, err := gmcrypto.ParseAddress(account)
			if err != nil {
				return fmt.Errorf("--account: %w", err)
			}
			ctx := cmd.Context()
			src, err := proofSource(g, pf.from)
			if err != nil {
				return err
			}
			if to == 0 {
				if to, err = src.StateHeight(ctx); err != nil {
					return err
				}
			}
			if from < 2 || to < from {
				return fmt.Errorf("heights %d..%d: want 2 ≤ --from-height ≤ --to-height (the state after --from-height − 1 is proven)", from, to)
			}
			acct := movement.Account{Ledger: ledgerName, Asset: asset, Address: addr.String()}
			ms, err := listMovements(ctx, g, acct, from, to)
			if err != nil {
				return err
			}
			out := AccountMovements{Ledger: ledgerName, Asset: asset, Account: addr.String(), FromHeight: from, ToHeight: to, Movements: ms}
			if pf.file != "" {
				b, err := src.Completeness(ctx, ledgerName, asset, addr, from, to, ms)
				if err != nil {
					return err
				}
				if err := writeBundle(pf.file, b); err != nil {
					return err
				}
				out.Proof = pf.file
			}
			return emit(cmd.OutOrStdout(), g, out, func(w io.Writer) {
				fmt.Fprintf(w, "%s %s on %s, heights %d..%d: %d movements\n", out.Account, out.Asset, out.Ledger, from, to, len(ms))
				for _, m := range ms {
					cp := m.Counterparty
					if cp == "" {
						cp = "-"
					}
					fmt.Fprintf(w, "  h=%d tx=%d.%d %s %s %d %s balance %d memo=%q\n", m.Height, m.TxIndex, m.Event, m.Kind, m.Direction, m.Amount, cp, m.BalanceAfter, m.Memo)
				}
				if out.Proof != "" {
					fmt.Fprintf(w, "completeness bundle written to %s (jinlian verify proof %s --trust genesis.json)\n", out.Proof, out.Proof)
				}
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&ledgerName, "ledger", "payments", "sub-ledger")
	f.StringVar(&account, "account", "", "account address")
	f.StringVar(&asset, "asset", "", "asset symbol")
	f.Int64Var(&from, "from-height", 0, "first height of the range (at least 2)")
	f.Int64Var(&to, "to-height", 0, "last height of the range (0: the latest with a quorum certificate)")
	pf.add(cmd)
	_ = cmd.MarkFlagRequired("account")
	_ = cmd.MarkFlagRequired("asset")
	_ = cmd.MarkFlagRequired("from-height")
	return cmd
}

// listMovements reads acct's movements at heights from..to: from the
// blocks and their results (a plain RPC, or the API for a regulator or
// auditor), else, through the API, from the event feed, which a member
// reads for its own organisation.
func listMovements(ctx context.Context, g *globals, acct movement.Account, from, to int64) ([]movement.Movement, error) {
	n := apiNode(g.node)
	cl, err := n.Dial()
	if err != nil {
		return nil, err
	}
	ms, err := recon.AccountMovements(ctx, api.RPCBlocks(ctx, cl), acct, from, to)
	if err == nil || !strings.HasPrefix(n.Addr, "https://") {
		return ms, err
	}
	hc, herr := n.HTTPClient()
	if herr != nil {
		return nil, herr
	}
	fed, ferr := feedMovements(ctx, n, hc, acct, from, to)
	if ferr != nil {
		return nil, fmt.Errorf("%w (the blocks: %v)", ferr, err)
	}
	return fed, nil
}

// feedMovements pages the node's event feed (GET /v1/events, JSON) from
// height from to height to, keeping acct's movements.
func feedMovements(ctx context.Context, n api.Node, hc *http.Client, acct movement.Account, from, to int64) ([]movement.Movement, error) {
	out := []movement.Movement{}
	cursor := strconv.FormatInt(from, 10)
	for {
		q := url.Values{"format": {"json"}, "cursor": {cursor}, "ledger": {acct.Ledger}, "limit": {"1000"}}
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
