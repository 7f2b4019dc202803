package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/contracts/reserves"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/proof"
)

func newQueryReservesCmd(g *globals) *cobra.Command {
	var req app.ReservesRequest
	var height int64
	var prove bool
	cmd := &cobra.Command{
		Use:   "reserves",
		Short: "An asset's committed proof of reserves; with --account --prove, the holder's inclusion bundle",
		Long: `Shows the latest reserves record of an asset (root and total of the
Merkle-sum tree over its balances, committed every params.reserves_interval
blocks), or with --account --prove the bundle that proves the account's
balance in it, for jinlian verify reserves:

  jinlian query reserves --ledger payments --asset CNY --account ADDR --prove -o json > bundle.json
  jinlian verify reserves bundle.json --node NODE --trust genesis.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if prove && req.Account == "" {
				return fmt.Errorf("--prove needs --account")
			}
			if req.Account != "" {
				if _, err := gmcrypto.ParseAddress(req.Account); err != nil {
					return fmt.Errorf("--account: %w", err)
				}
			}
			data, _ := json.Marshal(req)
			if req.Account == "" {
				var out app.ReservesResponse
				if err := abciQuery(cmd.Context(), g.node, app.QueryReserves, data, height, &out); err != nil {
					return err
				}
				return emit(cmd.OutOrStdout(), g, out, func(w io.Writer) {
					r := out.Record
					fmt.Fprintf(w, "%s on %s at height %d: total %d over %d accounts, root %X\n", out.Asset, out.Ledger, r.Height, r.Total, r.Accounts, []byte(r.Root))
					fmt.Fprintf(w, "supply: issued %d, burned %d, pending redemptions %d\n", r.Issued, r.Burned, r.Pending)
					if out.Next > 0 {
						fmt.Fprintf(w, "next record at height %d\n", out.Next)
					}
				})
			}
			var b reserves.Bundle
			if err := abciQuery(cmd.Context(), g.node, app.QueryReserves, data, height, &b); err != nil {
				return err
			}
			return emit(cmd.OutOrStdout(), g, &b, func(w io.Writer) {
				fmt.Fprintf(w, "%s holds %d %s on %s at height %d (leaf %d of %d, path of %d steps)\n", b.Account, b.Balance, b.Asset, b.Ledger, b.Height, b.Index, b.Record.Accounts, len(b.Path))
				fmt.Fprintf(w, "total %d, root %X, app hash %X\n", b.Record.Total, []byte(b.Record.Root), []byte(b.AppHash))
				if prove {
					fmt.Fprintln(w, "use -o json to write the bundle for jinlian verify reserves")
				}
			})
		},
	}
	cmd.Flags().StringVar(&req.Ledger, "ledger", "payments", "sub-ledger")
	cmd.Flags().StringVar(&req.Asset, "asset", "", "asset symbol")
	cmd.Flags().StringVar(&req.Account, "account", "", "account address: its inclusion proof")
	cmd.Flags().BoolVar(&prove, "prove", false, "the full bundle (with -o json) for jinlian verify reserves")
	cmd.Flags().Int64Var(&height, "height", 0, "the record in force at this height (default latest)")
	_ = cmd.MarkFlagRequired("asset")
	return cmd
}

const verifyReservesLong = `Checks a proof-of-reserves bundle (jinlian query reserves --prove -o json)
offline, with SM3 (and SHA-256 inside the sub-ledger's IAVL tree, which IAVL
hard-codes):
  - the holder's leaf SM3(0x00 ‖ account ‖ balance) and the sibling path lead
    to the committed root, every node's sum recomputed as its children's sum
    without overflow (no subtree can carry a negative balance), the path's
    shape the one the leaf index and account count fix, and the root's sum the
    committed total;
  - the record shown is the record proven, and its total plus pending
    redemptions equals issued minus burned;
  - the record is the value of the asset's key in the sub-ledger's IAVL tree
    (ICS-23 existence proof), and the sub-ledger roots hash (SM3) to the app
    hash of the record's height.
With --node (or JINLIAN_NODE) and --trust genesis.json (or --trust-height and
--trust-hash) it also checks, as jinlian verify qc does, that more than 2/3 of
the voting power signed that app hash with SM2: the header chain from the
trusted point verified with CometBFT's light-client rules, the SM2 node keys
proven in the state, and the SM2 quorum certificate against them. Without, the app hash is as trusted as the bundle's
source; compare it with a checkpoint anchored on Ethereum or a QC you trust.`

func newVerifyReservesCmd(g *globals) *cobra.Command {
	var tf trustFlags
	cmd := &cobra.Command{
		Use:   "reserves BUNDLE",
		Short: "Check a proof-of-reserves bundle: inclusion, sums, record in the app hash, and (--node) the SM2 QC",
		Long:  verifyReservesLong,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			raw, err := readBundle(cmd.InOrStdin(), args[0])
			if err != nil {
				return err
			}
			b, err := reserves.DecodeBundle(raw)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			rep, verr := reserves.Verify(b)
			certified := false
			if verr == nil && (cmd.Flags().Changed("node") || os.Getenv("JINLIAN_NODE") != "") {
				trust, err := tf.load()
				if err != nil {
					return fmt.Errorf("--node certifies the app hash from a trusted point: %w", err)
				}
				verr = certifyAppHash(cmd, g, b, trust)
				certified = verr == nil
			}
			if err := emit(cmd.OutOrStdout(), g, map[string]any{"report": rep, "valid": verr == nil, "certified": certified, "error": errString(verr)}, func(w io.Writer) {
				if verr != nil {
					fmt.Fprintf(w, "FAILED: %v\n", verr)
					return
				}
				fmt.Fprintf(w, "OK: %s holds %d %s on %s, included in the reserves tree of height %d (total %d over %d accounts)\n",
					rep.Account, rep.Balance, rep.Asset, rep.Ledger, rep.Height, rep.Total, rep.Accounts)
				fmt.Fprintf(w, "every sum on the path is its children's; the record is in app hash %s\n", rep.AppHash)
				if certified {
					fmt.Fprintf(w, "app hash %s certified by an SM2 quorum certificate of more than 2/3 of the voting power\n", rep.AppHash)
				} else {
					fmt.Fprintln(w, "app hash not checked against a quorum certificate (give --node)")
				}
			}); err != nil {
				return err
			}
			return verr
		},
	}
	tf.add(cmd)
	return cmd
}

func readBundle(stdin io.Reader, path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(io.LimitReader(stdin, 2<<20))
	}
	return os.ReadFile(path)
}

// certifyAppHash checks that the bundle's app hash is the one the SM2
// quorum certificate of its height signs, with verify qc's checks from
// the trusted point t.
func certifyAppHash(cmd *cobra.Command, g *globals, b *reserves.Bundle, t proof.Trust) error {
	src, err := proofSource(g, t.Height)
	if err != nil {
		return err
	}
	qb, err := src.QCBundle(cmd.Context(), b.Height)
	if err != nil {
		return reserves.ErrNotCertified.Wrapf("the certificate of height %d: %v", b.Height, err)
	}
	if _, err := proof.Verify(qb, t); err != nil {
		return reserves.ErrNotCertified.Wrapf("the certificate of height %d: %v", b.Height, err)
	}
	if b.ChainID != "" && qb.ChainID != b.ChainID {
		return reserves.ErrNotCertified.Wrapf("the bundle is of chain %s, the certified header of chain %s", b.ChainID, qb.ChainID)
	}
	if !bytes.Equal(qb.AppHash, b.AppHash) {
		return reserves.ErrNotCertified.Wrapf("the certified app hash of height %d is %X, the bundle's %X", b.Height, []byte(qb.AppHash), []byte(b.AppHash))
	}
	return nil
}
