package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/jinlian-ledger/jinlian/api"
)

// newQueryTxsCmd is `jinlian query txs --memo M`: the transfers with a
// memo, from the node's API (GET /v1/txs).
func newQueryTxsCmd(g *globals) *cobra.Command {
	var memo string
	var page, limit int
	cmd := &cobra.Command{
		Use:   "txs --memo MEMO [--page N] [--limit N]",
		Short: "The transfers whose memo is exactly MEMO, newest first, a page at a time, from the node's API",
		Long: `Finds the committed transfers whose memo (payment reference) is exactly
--memo, newest first, --limit a page, through the node's API (GET
/v1/txs): with mutual TLS a member finds the transfers its organisation
sent or received, regulators and auditors every one. The node reads its
own memo index (beside the movement index; a validator, which keeps no
tx index by default, answers too), else its tx index. --node must be the
node's API (https://HOST:PORT, or http:// without TLS); a plain CometBFT
RPC has no such endpoint (its tx_search reads every match of a query:
tx_search "transfer.memo='MEMO'").`,
		Example: `  jinlian query txs --memo INV-2026-1203-001 --node https://127.0.0.1:26660 --tls-ca ca.pem --tls-key bankA.key
  jinlian query txs --memo batch-042 --page 2 -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !strings.HasPrefix(g.node.addr, "https://") && !strings.HasPrefix(g.node.addr, "http://") {
				return fmt.Errorf("--node %s: a search by memo needs the node's API (https://HOST:PORT, api.listen in its config.toml), not its RPC", g.node.addr)
			}
			node, hc, err := apiClient(g.node)
			if err != nil {
				return err
			}
			out, err := node.TxsByMemo(cmd.Context(), hc, memo, page, limit)
			if err != nil {
				return err
			}
			return emit(cmd.OutOrStdout(), g, out, func(w io.Writer) { printTxPage(w, out) })
		},
	}
	f := cmd.Flags()
	f.StringVar(&memo, "memo", "", "the exact memo (payment reference) to find")
	f.IntVar(&page, "page", 1, "page number, from 1")
	f.IntVar(&limit, "limit", api.DefaultTxsLimit, fmt.Sprintf("transfers a page, 1 to %d", api.MaxTxsLimit))
	_ = cmd.MarkFlagRequired("memo")
	return cmd
}

// printTxPage writes a page of a search by memo as text: a line of counts,
// then a line per transaction.
func printTxPage(w io.Writer, p *api.TxPage) {
	shown := ""
	if len(p.Txs) > 0 {
		first := (p.Page-1)*p.Limit + 1
		shown = fmt.Sprintf(", %d–%d shown", first, first+len(p.Txs)-1)
	}
	fmt.Fprintf(w, "memo %q: %d transfers%s (page %d, %d a page)\n", p.Memo, p.Total, shown, p.Page, p.Limit)
	for _, t := range p.Txs {
		fmt.Fprintf(w, "  h=%d tx=%d %s %s %s code=%d", t.Height, t.Index, t.ID, t.Org, t.Type, t.Result.Code)
		for _, m := range t.Movements {
			fmt.Fprintf(w, " %s:%s %d %s", m.Org, m.Direction, m.Amount, m.Asset)
		}
		fmt.Fprintln(w)
	}
}
