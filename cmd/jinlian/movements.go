package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/movement"
	"github.com/jinlian-ledger/jinlian/proof"
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
and results: by the node itself through its API (GET /v1/movements; a
member reads its own organisation's accounts, regulators and auditors
any), else over its plain RPC.

With --prove FILE it writes a completeness bundle: the account's balance
record, which carries its completeness commitment (an SM3 chain over
every movement and their count), proven at --from-height − 1 (from
height 1: the genesis's opening balance, which the verifier reads from
the genesis file it trusts) and at --to-height, and the list. jinlian
verify proof checks offline that the list reproduces one commitment from
the other: a payment missing from a verified list did not reach the
account in the range
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
			acct := movement.Account{Ledger: ledgerName, Asset: asset, Address: addr.String()}
			res, err := src.ListMovements(ctx, acct, from, to, nodeMovements(g), pf.file != "")
			if br := (*proof.ErrRange)(nil); errors.As(err, &br) {
				return fmt.Errorf("heights %d..%d: want 1 ≤ --from-height ≤ --to-height", br.From, br.To)
			}
			if err != nil {
				return err
			}
			out := AccountMovements{Ledger: ledgerName, Asset: asset, Account: addr.String(), FromHeight: res.FromHeight, ToHeight: res.ToHeight, Movements: res.Movements}
			if pf.file != "" {
				if err := writeBundle(pf.file, res.Bundle); err != nil {
					return err
				}
				out.Proof = pf.file
			}
			return emit(cmd.OutOrStdout(), g, out, func(w io.Writer) {
				fmt.Fprintf(w, "%s %s on %s, heights %d..%d: %d movements\n", out.Account, out.Asset, out.Ledger, out.FromHeight, out.ToHeight, len(out.Movements))
				for _, m := range out.Movements {
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
	f.Int64Var(&from, "from-height", 0, "first height of the range (1: from the genesis)")
	f.Int64Var(&to, "to-height", 0, "last height of the range (0: the latest with a quorum certificate)")
	pf.add(cmd)
	_ = cmd.MarkFlagRequired("account")
	_ = cmd.MarkFlagRequired("asset")
	_ = cmd.MarkFlagRequired("from-height")
	return cmd
}

// nodeMovements lists an account's movements from --node
// (api.Node.Movements: through the API the node reads them, GET
// /v1/movements).
func nodeMovements(g *globals) proof.MovementLister {
	return func(ctx context.Context, acct movement.Account, from, to int64) ([]movement.Movement, error) {
		n, hc, err := apiClient(g.node)
		if err != nil {
			return nil, err
		}
		return n.Movements(ctx, hc, acct, from, to)
	}
}
