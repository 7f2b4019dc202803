package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	rpcclient "github.com/cometbft/cometbft/rpc/client"
	"github.com/spf13/cobra"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/proof"
)

func newQueryQCCmd(g *globals) *cobra.Command {
	var height int64
	cmd := &cobra.Command{
		Use:   "qc",
		Short: "The SM2 quorum certificate of a height",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := dial(g.node)
			if err != nil {
				return err
			}
			out, err := fetchQC(cmd.Context(), g.node, c, height)
			if err != nil {
				return err
			}
			return emit(cmd.OutOrStdout(), g, out, func(w io.Writer) {
				fmt.Fprintf(w, "chain:    %s\nheight:   %d\napp hash: %s\n", out.ChainID, out.Height, out.AppHash)
				for _, s := range out.Signatures {
					fmt.Fprintf(w, "signer:   %s  %s\n", s.Validator, s.Signature)
				}
			})
		},
	}
	cmd.Flags().Int64Var(&height, "height", 0, "state height certified")
	_ = cmd.MarkFlagRequired("height")
	return cmd
}

const verifyQCLong = `Checks the SM2 quorum certificate of --height: that more than 2/3 of the
voting power signed, with SM2 over SM3, the app hash of that height. It
trusts nothing the node says: it reads a qc proof bundle from --node and
checks it as jinlian verify proof does (docs/proofs.md), from a point you
trust:

  - the header chain from --trust genesis.json (or --trust-height and
    --trust-hash) to block height+1, with CometBFT's light-client rules;
    the app hash of height is in that header;
  - the SM2 node key of each validator of block height+1's verified set,
    proven (ICS-23 and the SM3 app hash) in the state of height; voting
    power from the verified set (CometBFT applies validator updates two
    heights later, so the set of height+1 is the one that signed);
  - each SM2 signature of the certificate (read from block height+2, or the
    API's /v1/qc) against those keys, and more than 2/3 of the power.
With --guomi (and --trust genesis.json) no CometBFT header is checked: the
certificate is checked with SM2/SM3 against the genesis validators' SM2 keys
and powers. --save FILE keeps the bundle for jinlian verify proof.`

func newVerifyCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "verify", Short: "Independent checks with national-standard algorithms"}
	var height int64
	var tf trustFlags
	var save string
	qc := &cobra.Command{
		Use:   "qc",
		Short: "Check a height's SM2 quorum certificate from a trusted genesis or block: signatures and > 2/3 of voting power",
		Long:  verifyQCLong,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if height < 1 {
				return fmt.Errorf("--height %d: want a positive height", height)
			}
			trust, err := tf.load()
			if err != nil {
				return err
			}
			from := int64(0)
			if trust.Height > 0 {
				from = trust.Height
			}
			src, err := proofSource(g, from)
			if err != nil {
				return err
			}
			b, err := src.QCBundle(cmd.Context(), height)
			if err != nil {
				return err
			}
			if save != "" {
				if err := writeBundle(save, b); err != nil {
					return err
				}
			}
			rep, verr := proof.Verify(b, trust)
			if err := emit(cmd.OutOrStdout(), g, map[string]any{"report": rep.Certificate, "valid": verr == nil, "error": errString(verr),
				"headers_verified": rep.Headers, "header_height": rep.Header}, func(w io.Writer) {
				fmt.Fprintf(w, "height %d app hash %s\n", height, rep.AppHash)
				if rep.Headers {
					fmt.Fprintf(w, "header %d verified from the trusted point (CometBFT light-client rules); SM2 node keys proven in the state of %d\n", rep.Header, height)
				}
				if c := rep.Certificate; verr == nil {
					fmt.Fprintf(w, "signers %d, power %d of %d\n", len(c.Signers), c.SignedPower, c.TotalPower)
					fmt.Fprintln(w, "OK: every SM2 signature verifies and signers hold more than 2/3 of the voting power")
				}
			}); err != nil {
				return err
			}
			return verr
		},
	}
	qc.Flags().Int64Var(&height, "height", 0, "state height to verify")
	qc.Flags().StringVar(&save, "save", "", "also write the qc bundle to this file")
	tf.add(qc)
	_ = qc.MarkFlagRequired("height")
	cmd.AddCommand(qc, newVerifyReservesCmd(g), newVerifyProofCmd(g))
	return cmd
}

// isAPI reports whether --node is a node's client API (https://), not
// CometBFT's RPC: members then read no raw block, and what needs one is
// asked of the API's own endpoints.
func isAPI(nf nodeFlags) bool { return strings.HasPrefix(nf.addr, "https://") }

// fetchQC reads the QC of height: from the node's API (GET /v1/qc) when
// --node is one, for the gate lets members read no raw block; else from
// block height+2 over CometBFT's RPC (proof.FetchQC).
func fetchQC(ctx context.Context, nf nodeFlags, c rpcclient.Client, height int64) (app.QCResponse, error) {
	return proof.FetchQC(ctx, c, apiGetter(nf), height)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
