package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/recon"
)

func newEventsCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "events",
		Short: "The node's durable event feed of movements (GET /v1/events)",
	}
	c.AddCommand(newEventsFollowCmd(g))
	return c
}

func newEventsFollowCmd(g *globals) *cobra.Command {
	var since, org, ledger string
	var retryMax time.Duration
	c := &cobra.Command{
		Use:   "follow",
		Short: "Print movements as they commit, one line each, resuming after errors from the last cursor printed",
		Long: `Follow the node's event feed (GET /v1/events on its API): every movement
of the caller's organisation (regulators and auditors: every
organisation's, or --org's; an auditor of a sub-ledger, with --ledger,
every organisation's on it), from --since on, then each new one as its
block commits. Each line starts with the movement's cursor; pass the last
one printed as --since to resume with nothing skipped and nothing
repeated. Without --since: from the next block.

When the connection breaks or the node restarts, it reconnects (after
1 s, doubling up to --retry-max) from the last cursor it saw. A cursor
the node refuses (malformed, from the future, or below its earliest
stored block) ends the command with the node's reason. -o json prints one
JSON object per line (docs/api.md).`,
		Example: `  jinlian events follow --node https://127.0.0.1:26680 --tls-ca api-ca.pem --tls-key bankA.json --since 120.3.1
  jinlian events follow --since 1 -o json > movements.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if since != "" {
				if _, err := recon.ParseCursor(since); err != nil {
					return fmt.Errorf("--since: %w", err)
				}
			}
			node, hc, err := apiClient(g.node) // the key loaded once, not at each reconnect
			if err != nil {
				return err
			}
			return followEvents(cmd.Context(), node, hc, org, ledger, since, retryMax, cmd.OutOrStdout(), cmd.ErrOrStderr(), g.output == "json")
		},
	}
	f := c.Flags()
	f.StringVar(&since, "since", "", "start at this cursor: the last one printed (the next movement follows), or a height")
	f.StringVar(&org, "org", "", "one organisation (regulators and auditors; a member may name only its own)")
	f.StringVar(&ledger, "ledger", "", "one sub-ledger (an auditor of a sub-ledger reads every organisation's movements on it)")
	f.DurationVar(&retryMax, "retry-max", 30*time.Second, "longest wait between reconnections")
	return c
}

// followEvents prints the feed until ctx ends or the node refuses the
// request; a broken stream is retried from the last cursor seen.
func followEvents(ctx context.Context, node api.Node, hc *http.Client, org, ledger, cursor string, retryMax time.Duration, out, errOut io.Writer, asJSON bool) error {
	wait := time.Second
	for {
		err := node.FollowEvents(ctx, hc, org, ledger, cursor, func(c string, m *recon.Movement) error {
			cursor = c
			wait = time.Second
			if m == nil {
				return nil
			}
			if asJSON {
				b, err := json.Marshal(m)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(out, "%s\n", b)
				return err
			}
			_, err := fmt.Fprintln(out, movementLine(m))
			return err
		})
		if ctx.Err() != nil {
			return nil
		}
		var refused *api.Error
		if errors.As(err, &refused) && refused.Status >= 400 && refused.Status < 500 {
			return err
		}
		fmt.Fprintf(errOut, "events: %v; reconnecting in %s from cursor %q\n", err, wait, cursor)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, max(retryMax, time.Second))
	}
}

// movementLine is one movement on one line: cursor, time, height, tx id,
// organisation, sub-ledger, asset, direction, amount, account,
// counterparty (organisation), memo, result.
func movementLine(m *recon.Movement) string {
	cp := m.Counterparty
	if cp == "" {
		cp = "-"
	}
	if m.CounterpartyOrg != "" {
		cp += "(" + m.CounterpartyOrg + ")"
	}
	dir := m.Direction
	if m.Kind != recon.KindTransfer {
		dir += "/" + m.Kind
	}
	return fmt.Sprintf("%s %s h=%d tx=%s %s %s %s %s %d %s %s memo=%q %s", m.Cursor, m.Time.Format(time.RFC3339), m.Height, m.TxID,
		m.Org, m.Ledger, m.Asset, dir, m.Amount, m.Account, cp, m.Memo, m.Result)
}
