package main

import (
	"encoding/hex"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
)

func newQueryQCCmd(g *globals) *cobra.Command {
	var height int64
	cmd := &cobra.Command{
		Use:   "qc",
		Short: "The SM2 quorum certificate of a height",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out app.QCResponse
			if err := abciQuery(cmd.Context(), g.node, app.QueryQC, []byte(strconv.FormatInt(height, 10)), 0, &out); err != nil {
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

func newVerifyCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "verify", Short: "Independent checks with national-standard algorithms"}
	var height int64
	qc := &cobra.Command{
		Use:   "qc",
		Short: "Check a height's SM2 quorum certificate: signatures and > 2/3 of voting power",
		Long: `Fetches the certificate of --height, the validator registry (SM2 node keys
and powers) at height−1, whose set signed it (CometBFT applies validator
updates two heights later), and the app hash of that height from the header
of block height+1, then checks every SM2 signature and that the signers hold
more than 2/3 of the voting power. Only SM2 and SM3 are used.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			var resp app.QCResponse
			if err := abciQuery(ctx, g.node, app.QueryQC, []byte(strconv.FormatInt(height, 10)), 0, &resp); err != nil {
				return err
			}
			// The QC of height h is signed by the set drawn from the
			// registry after h−1 (updates apply two heights later).
			regAt := max(height-1, 1)
			var vals []permission.Validator
			if err := abciQuery(ctx, g.node, app.QueryValidators, nil, regAt, &vals); err != nil {
				return err
			}
			c, err := dial(g.node)
			if err != nil {
				return err
			}
			next := height + 1
			blk, err := c.Block(ctx, &next)
			if err != nil {
				return fmt.Errorf("block %d: %w", next, err)
			}
			qc := &txpb.QuorumCertificate{ChainId: resp.ChainID, Height: resp.Height}
			if qc.AppHash, err = hex.DecodeString(resp.AppHash); err != nil {
				return err
			}
			for _, s := range resp.Signatures {
				v, err1 := hex.DecodeString(s.Validator)
				sig, err2 := hex.DecodeString(s.Signature)
				if err1 != nil || err2 != nil {
					return fmt.Errorf("malformed signature entry %+v", s)
				}
				qc.Signatures = append(qc.Signatures, &txpb.QCSignature{Validator: v, Signature: sig})
			}
			rep, verr := app.VerifyQC(qc, blk.Block.ChainID, blk.Block.AppHash, vals)
			if err := emit(cmd.OutOrStdout(), g, map[string]any{"report": rep, "valid": verr == nil, "error": errString(verr)}, func(w io.Writer) {
				fmt.Fprintf(w, "height %d app hash %s (from header of block %d)\n", height, blk.Block.AppHash, next)
				fmt.Fprintf(w, "signers %d of %d registered validators, power %d of %d\n", len(rep.Signers), len(vals), rep.SignedPower, rep.TotalPower)
				if verr == nil {
					fmt.Fprintln(w, "OK: every SM2 signature verifies and signers hold more than 2/3 of the voting power")
				}
			}); err != nil {
				return err
			}
			return verr
		},
	}
	qc.Flags().Int64Var(&height, "height", 0, "state height to verify")
	_ = qc.MarkFlagRequired("height")
	cmd.AddCommand(qc)
	return cmd
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
