package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/spf13/cobra"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

type txFlags struct {
	ledger, asset, to, from, memo string
	amount                        uint64
	timeout                       time.Duration
	pass                          passphraseFlag
	confidential, toKey           string // transfer only
}

// txResult is what every tx command prints.
type txResult struct {
	TxID      string `json:"tx_id"`
	Hash      string `json:"hash"`
	Height    int64  `json:"height"`
	Code      uint32 `json:"code"`
	Codespace string `json:"codespace,omitempty"`
	Log       string `json:"log,omitempty"`
	// Proposal and ProposalStatus: the governance proposal the transaction
	// opened or voted on, and its status after it (from the block's events).
	Proposal       uint64 `json:"proposal,omitempty"`
	ProposalStatus string `json:"proposal_status,omitempty"`
	// Custody: the custody account a transaction created, or the custody
	// proposal it opened, approved, executed or vetoed (custodyOf).
	Custody *custodyOutcome `json:"custody,omitempty"`
}

func newTxCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "tx", Short: "Sign, broadcast and wait for a transaction"}
	mk := func(use, short string, withTo bool, build func(f *txFlags, to []byte) *txpb.Message) *cobra.Command {
		f := &txFlags{}
		c := &cobra.Command{
			Use:   use,
			Short: short,
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				var to []byte
				if withTo {
					a, err := gmcrypto.ParseAddress(f.to)
					if err != nil {
						return fmt.Errorf("--to: %w", err)
					}
					to = a.Bytes()
				}
				if f.amount == 0 {
					return fmt.Errorf("--amount must be a positive integer")
				}
				msg := build(f, to)
				if err := sealConfidential(cmd.Context(), g, f, msg); err != nil {
					return err
				}
				return sendTx(cmd, g, f, msg)
			},
		}
		c.Flags().StringVar(&f.ledger, "ledger", "payments", "sub-ledger")
		c.Flags().StringVar(&f.asset, "asset", "", "asset symbol")
		c.Flags().Uint64Var(&f.amount, "amount", 0, "amount in the asset's smallest unit")
		c.Flags().StringVar(&f.from, "from", "", "signing key: a name in <home>/keys (or <home>/localnet/keys) or a key file")
		c.Flags().StringVar(&f.memo, "memo", "", "free-text memo")
		c.Flags().DurationVar(&f.timeout, "timeout", 30*time.Second, "how long to wait for commit")
		if withTo {
			c.Flags().StringVar(&f.to, "to", "", "recipient address (40 hex digits)")
			_ = c.MarkFlagRequired("to")
		}
		_ = c.MarkFlagRequired("asset")
		_ = c.MarkFlagRequired("amount")
		_ = c.MarkFlagRequired("from")
		f.pass.add(c)
		if use == "transfer" {
			addConfidentialFlags(c, f)
		}
		return c
	}
	cmd.AddCommand(
		mk("issue", "Issue new units of an asset (issuer organisation only)", true, func(f *txFlags, to []byte) *txpb.Message {
			return &txpb.Message{Body: &txpb.Message_Issue{Issue: &txpb.Issue{Asset: f.asset, To: to, Amount: f.amount, Memo: f.memo}}}
		}),
		mk("transfer", "Transfer units of an asset", true, func(f *txFlags, to []byte) *txpb.Message {
			return &txpb.Message{Body: &txpb.Message_Transfer{Transfer: &txpb.Transfer{Asset: f.asset, To: to, Amount: f.amount, Memo: f.memo}}}
		}),
		mk("burn", "Burn units of an asset you hold", false, func(f *txFlags, _ []byte) *txpb.Message {
			return &txpb.Message{Body: &txpb.Message_Burn{Burn: &txpb.Burn{Asset: f.asset, Amount: f.amount, Memo: f.memo}}}
		}),
		mk("redeem", "Return units of a redeemable asset to its issuer (--memo: your payment reference); they wait in the issuer's queue", false, func(f *txFlags, _ []byte) *txpb.Message {
			return &txpb.Message{Body: &txpb.Message_Redeem{Redeem: &txpb.Redeem{Asset: f.asset, Amount: f.amount, Reference: f.memo}}}
		}),
		newSettleRedemptionCmd(g),
		newTxDecryptCmd(g),
		newTxCustodyCmd(g),
	)
	return cmd
}

func sendTx(cmd *cobra.Command, g *globals, f *txFlags, msg *txpb.Message) error {
	path, err := keyPath(g.home, f.from)
	if err != nil {
		return err
	}
	info, err := gmcrypto.ReadKeyInfo(path)
	if err != nil {
		return err
	}
	pw, err := f.pass.read("Passphrase for " + path + ": ")
	if err != nil {
		return err
	}
	_, key, err := gmcrypto.LoadKey(path, pw)
	if err != nil {
		return fmt.Errorf("key %s: %w", path, err)
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), f.timeout)
	defer cancel()
	c, err := dial(g.node)
	if err != nil {
		return err
	}
	chain, err := chainID(ctx, c, g.node)
	if err != nil {
		return err
	}
	raw, id, err := wire.BuildTx(wire.Signer{Key: key, MSPID: info.Org, CertPEM: []byte(info.Certificate)}, chain, f.ledger, time.Now(), msg)
	if err != nil {
		return err
	}
	res, err := c.BroadcastTxCommit(ctx, raw)
	if err != nil {
		// The node may have taken the transaction before the wait ended:
		// a retry with a new `tx` command signs a new transaction (new id)
		// and could execute twice.
		return fmt.Errorf("tx %s: no commit seen within --timeout %s (%w); it may still commit: check with `jinlian query tx %s` before sending it again", id, f.timeout, err, id)
	}
	out := txResult{TxID: id, Hash: hex.EncodeToString(res.Hash)}
	switch {
	case res.CheckTx.Code != 0:
		out.Code, out.Codespace, out.Log = res.CheckTx.Code, res.CheckTx.Codespace, res.CheckTx.Log
	default:
		out.Height = res.Height
		out.Code, out.Codespace, out.Log = res.TxResult.Code, res.TxResult.Codespace, res.TxResult.Log
		out.Proposal, out.ProposalStatus = proposalOf(res.TxResult.Events)
		out.Custody = custodyOf(res.TxResult.Events)
	}
	if err := emit(cmd.OutOrStdout(), g, out, func(w io.Writer) {
		fmt.Fprintf(w, "tx id:  %s\nheight: %d\ncode:   %d", out.TxID, out.Height, out.Code)
		if out.Codespace != "" {
			fmt.Fprintf(w, " (%s)", out.Codespace)
		}
		fmt.Fprintln(w)
		if out.Log != "" {
			fmt.Fprintf(w, "log:    %s\n", out.Log)
		}
		if out.Proposal != 0 {
			fmt.Fprintf(w, "proposal: %d (%s)\n", out.Proposal, out.ProposalStatus)
		}
		if out.Custody != nil {
			fmt.Fprintf(w, "custody: %s\n", out.Custody)
		}
	}); err != nil {
		return err
	}
	if out.Code != 0 {
		return fmt.Errorf("transaction rejected: %s", out.Log)
	}
	return nil
}

// proposalOf finds, in a committed transaction's events, the proposal it
// opened or voted on and the proposal's status after it.
func proposalOf(events []abci.Event) (id uint64, status string) {
	for _, e := range events {
		m, _, err := wire.ParseEvent(e)
		if err != nil {
			continue
		}
		switch ev := m.(type) {
		case *txpb.EventProposal: // opened (voting) or decided; the last one counts
			id, status = ev.Proposal, ev.Status
		case *txpb.EventProposalVote:
			id = ev.Proposal
			if status == "" {
				status = "voting"
			}
		}
	}
	return id, status
}

// newSettleRedemptionCmd is `jinlian tx settle-redemption`: the issuer
// burns a queued redemption it paid out, or rejects it back to the holder.
func newSettleRedemptionCmd(g *globals) *cobra.Command {
	f := &txFlags{timeout: 30 * time.Second}
	var id uint64
	var reject bool
	var reason string
	c := &cobra.Command{
		Use:   "settle-redemption",
		Short: "Settle a queued redemption (issuer role): burn it, or --reject it back to the holder",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return sendTx(cmd, g, f, &txpb.Message{Body: &txpb.Message_SettleRedemption{SettleRedemption: &txpb.SettleRedemption{
				Asset: f.asset, Id: id, Reject: reject, Reason: reason}}})
		},
	}
	c.Flags().StringVar(&f.ledger, "ledger", "payments", "sub-ledger")
	c.Flags().StringVar(&f.asset, "asset", "", "asset symbol")
	c.Flags().Uint64Var(&id, "id", 0, "the redemption's id (jinlian query redemptions)")
	c.Flags().BoolVar(&reject, "reject", false, "return the units to the holder instead of burning them")
	c.Flags().StringVar(&reason, "reason", "", "why (recorded in the event)")
	c.Flags().StringVar(&f.from, "from", "", "signing key of an issuer of the asset")
	c.Flags().DurationVar(&f.timeout, "timeout", 30*time.Second, "how long to wait for commit")
	f.pass.add(c)
	for _, name := range []string{"asset", "id", "from"} {
		_ = c.MarkFlagRequired(name)
	}
	return c
}
