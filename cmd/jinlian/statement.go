package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/jinlian-ledger/jinlian/recon"
)

func newStatementCmd(g *globals) *cobra.Command {
	var req recon.Request
	var timeout time.Duration
	c := &cobra.Command{
		Use:   "statement",
		Short: "List an organisation's movements in a business day, from its node's API (-o text, json or csv)",
		Long: `List every movement of an organisation's accounts in one business day:
time, height, tx id, sub-ledger, asset, direction, amount, counterparty
account and organisation, memo, balance after. Days are cut at midnight in
the node's recon.timezone (default Asia/Shanghai) by block time.

The node's API serves it (GET /v1/statement), so --node is an https://
address with a client certificate (--tls-key) of a registered identity: a
member reads only its own organisation's statement (--org defaults to it),
regulators and auditors any. Without --date: the day of the latest block.
-o csv writes one line per movement (docs/reconciliation.md).`,
		Example: `  jinlian statement --node https://127.0.0.1:26680 --tls-ca api-ca.pem --tls-key bankA.json --date 2026-12-03
  jinlian statement --org bankA --date 2026-12-03 --asset CNY -o csv > bankA-20261203.csv`,
		Args:        cobra.NoArgs,
		Annotations: map[string]string{outputFormats: "text,json,csv"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			w := cmd.OutOrStdout()
			if g.output == "csv" {
				// The node writes the CSV: nothing to decode here.
				return apiNode(g.node).StatementCSV(ctx, nil, req, w)
			}
			st, err := fetchStatement(ctx, g.node, req)
			if err != nil {
				return err
			}
			return emit(w, g, st, func(w io.Writer) { printStatement(w, st) })
		},
	}
	f := c.Flags()
	f.StringVar(&req.Org, "org", "", "organisation (default: the caller's)")
	f.StringVar(&req.Date, "date", "", "business day, YYYY-MM-DD (default: the day of the latest block)")
	f.StringVar(&req.Account, "account", "", "only this account (address)")
	f.StringVar(&req.Asset, "asset", "", "only this asset")
	f.StringVar(&req.Ledger, "ledger", "", "only this sub-ledger")
	f.DurationVar(&timeout, "timeout", time.Minute, "how long to wait for the node")
	return c
}

// fetchStatement asks the node's API for a statement.
func fetchStatement(ctx context.Context, node nodeFlags, req recon.Request) (*recon.Statement, error) {
	return apiNode(node).Statement(ctx, nil, req)
}

func printStatement(w io.Writer, st *recon.Statement) {
	d := st.Day
	fmt.Fprintf(w, "statement of %s for %s (%s)", st.Org, d.Date, d.TimeZone)
	for _, f := range []struct{ k, v string }{{"account", st.Account}, {"asset", st.Asset}, {"ledger", st.Ledger}} {
		if f.v != "" {
			fmt.Fprintf(w, ", %s %s", f.k, f.v)
		}
	}
	fmt.Fprintln(w)
	switch {
	case d.FromHeight == 0 && d.Complete:
		fmt.Fprintln(w, "no block in this day")
	case d.FromHeight == 0:
		fmt.Fprintf(w, "no block in this day yet (as of height %d)\n", d.AsOfHeight)
	case d.Complete:
		fmt.Fprintf(w, "heights %d..%d, complete\n", d.FromHeight, d.ToHeight)
	default:
		fmt.Fprintf(w, "heights %d..%d so far: the day is not over (as of height %d)\n", d.FromHeight, d.ToHeight, d.AsOfHeight)
	}
	if len(st.Rows) == 0 {
		fmt.Fprintln(w, "no movements")
		return
	}
	short := func(a string) string {
		if len(a) > 10 {
			return a[:8] + "…"
		}
		return a
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tHEIGHT\tLEDGER\tASSET\tDIRECTION\tAMOUNT\tACCOUNT\tCOUNTERPARTY\tBALANCE\tMEMO")
	for _, r := range st.Rows {
		cp := short(r.Counterparty)
		if r.CounterpartyOrg != "" {
			cp += " (" + r.CounterpartyOrg + ")"
		}
		bal := ""
		if r.BalanceAfter != nil {
			bal = fmt.Sprint(*r.BalanceAfter)
		}
		dir := r.Direction
		if r.Kind != recon.KindTransfer {
			dir += " (" + r.Kind + ")"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%q\n", r.Time.Format("15:04:05"), r.Height, r.Ledger, r.Asset, dir, r.Amount,
			short(r.Account), cp, bal, r.Memo)
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, t := range st.Totals {
		fmt.Fprintf(w, "%s %s: %d rows, credits %s, debits %s, net %s", t.Ledger, t.Asset, t.Rows, t.Credits, t.Debits, t.Net)
		if t.Issued != "0" || t.Retired != "0" {
			fmt.Fprintf(w, ", issued %s, retired %s", t.Issued, t.Retired)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "accounts are shortened; -o csv or -o json gives them in full")
}
