package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/spf13/cobra"

	"github.com/jinlian-ledger/jinlian/app"
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
	// signOnly, when set, is where the signed transaction goes instead of
	// a node (offline signing); chainID is then the chain to sign for.
	signOnly, chainID string
	// certificate is how a key with a certificate signs: auto (the
	// default, also when empty), whole or named.
	certificate string
}

// addSigning registers the offline-signing flags of a command that sends a
// transaction.
func (f *txFlags) addSigning(c *cobra.Command) {
	c.Flags().StringVar(&f.signOnly, "sign-only", "", "sign without a node and write the signed transaction to this file (- for stdout); send it later with `jinlian tx broadcast FILE`")
	c.Flags().StringVar(&f.chainID, "chain-id", "", "with --sign-only: the chain to sign for (the node is not asked)")
	c.Flags().StringVar(&f.certificate, "certificate", "auto", "for a key with a certificate: whole (carry it), named (carry its SM3 hash, about 450 bytes less; the chain must have recorded it), or auto (named once the node says the chain has recorded it, whole otherwise and with --sign-only)")
}

// certSigner picks how signer identifies itself when its key has a
// certificate (docs/adr/0025-certificate-references.md): form is auto
// (also when empty), whole or named; ask says whether the chain accepts
// named certificates and has recorded this one (nil offline: auto then
// carries it).
func certSigner(form string, signer wire.Signer, ask func(hash string) (app.CertificateStatus, error)) (wire.Signer, error) {
	switch form {
	case "", "auto", "whole", "named":
	default:
		return signer, fmt.Errorf("--certificate %q: want auto, whole or named", form)
	}
	switch {
	case len(signer.CertPEM) == 0 && form == "named":
		return signer, errors.New("--certificate named: the key has no certificate")
	case len(signer.CertPEM) == 0, form == "whole", ask == nil && form != "named":
		return signer, nil
	}
	named, err := signer.NamingCert()
	if err != nil || ask == nil {
		return named, err
	}
	st, err := ask(hex.EncodeToString(named.CertRef))
	switch {
	case err == nil && st.References && st.Recorded:
		return named, nil
	case form != "named":
		return signer, nil // not recorded yet, or a node of an older release: the whole certificate
	case err != nil:
		return signer, err
	case !st.References:
		return signer, fmt.Errorf("--certificate named: the chain does not accept named certificates before upgrade %q; send with --certificate whole", app.CertRefsUpgrade)
	default:
		return signer, fmt.Errorf("--certificate named: the chain has not recorded certificate %x; send one transaction with --certificate whole (or auto) first", named.CertRef)
	}
}

// SignedTxFormat names the file `--sign-only` writes and `tx broadcast` reads.
const SignedTxFormat = "jinlian-signed-tx/v1"

// signedTx is a transaction signed offline.
type signedTx struct {
	Format   string    `json:"format"`
	TxID     string    `json:"tx_id"`
	ChainID  string    `json:"chain_id"`
	Ledger   string    `json:"ledger"`
	Type     string    `json:"type"`
	Sender   string    `json:"sender"`
	Org      string    `json:"org"`
	SignedAt time.Time `json:"signed_at"`
	// Envelope is the signed Fabric envelope, base64.
	Envelope []byte `json:"envelope"`
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
				if f.signOnly != "" && f.confidential != "" {
					return errors.New("--confidential needs the node (the regulators' escrow keys); sign confidential transfers online")
				}
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
		f.addSigning(c)
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
		newTxBroadcastCmd(g),
		newTxStatusCmd(g),
		newTxDecryptCmd(g),
		newTxCustodyCmd(g),
		newTxPvpCmd(g),
		newTxReceivableCmd(g),
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
	signer := wire.Signer{Key: key, MSPID: info.Org, CertPEM: []byte(info.Certificate)}
	if f.signOnly != "" {
		if signer, err = certSigner(f.certificate, signer, nil); err != nil {
			return err
		}
		return signOffline(cmd, g, f, signer, msg)
	}
	if f.chainID != "" {
		return errors.New("--chain-id goes with --sign-only; online the node's chain is used")
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
	signer, err = certSigner(f.certificate, signer, func(hash string) (st app.CertificateStatus, err error) {
		return st, abciQuery(ctx, g.node, app.QueryCertificate, []byte(hash), 0, &st)
	})
	if err != nil {
		return err
	}
	raw, id, err := wire.BuildTx(signer, chain, f.ledger, time.Now(), msg)
	if err != nil {
		return err
	}
	return broadcastSigned(cmd, g, f.timeout, raw, id)
}

// signOffline signs msg for f.chainID and writes the signed transaction to
// f.signOnly: nothing is sent, no node is asked.
func signOffline(cmd *cobra.Command, g *globals, f *txFlags, signer wire.Signer, msg *txpb.Message) error {
	if f.chainID == "" {
		return errors.New("--sign-only needs --chain-id: offline, the node cannot be asked which chain to sign for")
	}
	now := time.Now()
	raw, id, err := wire.BuildTx(signer, f.chainID, f.ledger, now, msg)
	if err != nil {
		return err
	}
	st := signedTx{Format: SignedTxFormat, TxID: id, ChainID: f.chainID, Ledger: f.ledger, Type: wire.MessageName(msg),
		Sender: signer.Key.Public().Address().String(), Org: signer.MSPID, SignedAt: now.UTC(), Envelope: raw}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if f.signOnly == "-" {
		_, err := cmd.OutOrStdout().Write(b)
		return err
	}
	if err := os.WriteFile(f.signOnly, b, 0o600); err != nil {
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "signed %s tx %s for chain %s into %s; send it with `jinlian tx broadcast %s` (the chain accepts it within its tx_time_window_seconds of %s)\n",
		st.Type, id, f.chainID, f.signOnly, f.signOnly, now.UTC().Format(time.RFC3339))
	return nil
}

// broadcastSigned sends a signed transaction and waits for its commit.
func broadcastSigned(cmd *cobra.Command, g *globals, timeout time.Duration, raw []byte, id string) error {
	ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
	defer cancel()
	c, err := dial(g.node)
	if err != nil {
		return err
	}
	res, err := c.BroadcastTxCommit(ctx, raw)
	// A full mempool refuses the transaction before CheckTx and keeps
	// nothing of it, so the same signed bytes (the same id) go again,
	// backing off, until --timeout.
	for wait := mempoolRetryFirst; mempoolFull(err); wait = min(2*wait, mempoolRetryMax) {
		if wait == mempoolRetryFirst {
			fmt.Fprintf(cmd.ErrOrStderr(), "the node's mempool is full (it took nothing); sending tx %s again until --timeout %s\n", id, timeout)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("tx %s: the node's mempool stayed full for --timeout %s and refused it each time (%w); nothing was taken: send it again later (`jinlian tx broadcast` of a signed file sends the same transaction) or to another node", id, timeout, err)
		case <-time.After(wait):
		}
		res, err = c.BroadcastTxCommit(ctx, raw)
	}
	if err != nil && strings.Contains(err.Error(), "tx already exists in cache") {
		return fmt.Errorf("tx %s was sent before: the node has it (committed or pending), so it is not sent again; see `jinlian query tx %s`", id, id)
	}
	if err != nil {
		// The node may have taken the transaction before the wait ended:
		// a new `tx` command signs a new transaction (new id) that could
		// execute twice; `tx broadcast` of a signed file cannot.
		return fmt.Errorf("tx %s: no commit seen within --timeout %s (%w); it may still commit: check with `jinlian query tx %s` before sending it again", id, timeout, err, id)
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

// The back-off of a transaction a full mempool refused: the first wait,
// doubling up to the last.
const (
	mempoolRetryFirst = 100 * time.Millisecond
	mempoolRetryMax   = 2 * time.Second
)

// mempoolFull reports whether err is CometBFT's refusal of a transaction
// by a full mempool (`mempool is full: number of txs …`).
func mempoolFull(err error) bool {
	return err != nil && strings.Contains(err.Error(), "mempool is full")
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
	f.addSigning(c)
	for _, name := range []string{"asset", "id", "from"} {
		_ = c.MarkFlagRequired(name)
	}
	return c
}

// newTxBroadcastCmd is `jinlian tx broadcast FILE`: it sends a transaction
// signed offline (`--sign-only`) and waits for its commit.
func newTxBroadcastCmd(g *globals) *cobra.Command {
	var timeout time.Duration
	c := &cobra.Command{
		Use:   "broadcast FILE",
		Short: "Send a transaction signed offline (--sign-only) and wait for its commit",
		Long: `Reads a signed transaction file (` + SignedTxFormat + `, from a tx or gov
command run with --sign-only --chain-id), checks that it is well formed,
that its SM2 signature verifies and that it is for the node's chain, then
sends it. Sending the same file twice is safe: the chain refuses the second
as a duplicate (the tx id is in the file), so a timed-out broadcast can be
retried without paying twice.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			var st signedTx
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&st); err != nil {
				return fmt.Errorf("%s: not a signed transaction file: %w", args[0], err)
			}
			if st.Format != SignedTxFormat {
				return fmt.Errorf("%s: format %q, want %q", args[0], st.Format, SignedTxFormat)
			}
			t, err := wire.DecodeTx(st.Envelope)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if err := t.VerifySignature(); err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if t.ID != st.TxID || t.ChainID != st.ChainID {
				return fmt.Errorf("%s: the file says tx %s for chain %s, its envelope is tx %s for chain %s", args[0], st.TxID, st.ChainID, t.ID, t.ChainID)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			cl, err := dial(g.node)
			if err != nil {
				return err
			}
			chain, err := chainID(ctx, cl, g.node)
			if err != nil {
				return err
			}
			if chain != t.ChainID {
				return fmt.Errorf("%s was signed for chain %s; the node at %s runs %s", args[0], t.ChainID, g.node, chain)
			}
			return broadcastSigned(cmd, g, timeout, st.Envelope, t.ID)
		},
	}
	c.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "how long to wait for commit")
	return c
}

// txStatus is what `jinlian tx status` prints.
type txStatus struct {
	TxID   string `json:"tx_id"`
	Status string `json:"status"` // committed, or not_committed
	// AsOf is the node's latest height when it was not (yet) committed.
	AsOf   int64     `json:"as_of_height,omitempty"`
	Result *txLookup `json:"result,omitempty"`
}

// newTxStatusCmd is `jinlian tx status TXID`: whether a transaction
// committed, for deciding whether to send it again.
func newTxStatusCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "status TXID",
		Short: "Whether a transaction committed (and its result), before deciding to send it again",
		Long: `Asks the node whether the transaction id committed. committed: its height and
result, as jinlian query tx prints them. not_committed: not as of the node's
latest height; it may still be pending. A transaction commits only within
the chain's tx_time_window_seconds of its signing time, so once that much
time has passed since it was signed it can never commit, and signing a new
one cannot pay twice. To retry earlier, send the same signed file again
(jinlian tx broadcast): the chain never executes one id twice.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := strings.ToLower(args[0])
			out := txStatus{TxID: id}
			res, err := lookupTx(cmd.Context(), g.node, id)
			switch {
			case err == nil:
				out.Status, out.Result = "committed", res
			case strings.Contains(err.Error(), "not found at height"):
				c, derr := dial(g.node)
				if derr != nil {
					return derr
				}
				st, serr := c.Status(cmd.Context())
				if serr != nil {
					return serr
				}
				out.Status, out.AsOf = "not_committed", st.SyncInfo.LatestBlockHeight
			default:
				return err
			}
			return emit(cmd.OutOrStdout(), g, out, func(w io.Writer) {
				if out.Result != nil {
					fmt.Fprintf(w, "tx %s: committed at height %d, code %d %s\n", id, out.Result.Height, out.Result.Code, out.Result.Log)
					return
				}
				fmt.Fprintf(w, "tx %s: not committed as of height %d; it may still be pending, and can commit only within tx_time_window_seconds of its signing time\n", id, out.AsOf)
			})
		},
	}
}

// contractTxCmd makes a `jinlian tx <contract> <use>` command with the
// flags every contract transaction has (--from, --timeout, the passphrase,
// --sign-only/--chain-id, and --ledger unless ledger is fixed); flags adds
// the command's own into x, and build turns x into the message.
func contractTxCmd[T any](g *globals, ledger, use, short string, flags func(*cobra.Command, *T), build func(*T) (*txpb.Message, error)) *cobra.Command {
	f, x := &txFlags{ledger: ledger}, new(T)
	c := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			msg, err := build(x)
			if err != nil {
				return err
			}
			return sendTx(cmd, g, f, msg)
		},
	}
	if ledger == "" {
		c.Flags().StringVar(&f.ledger, "ledger", "payments", "sub-ledger")
	}
	c.Flags().StringVar(&f.from, "from", "", "signing key: a name in <home>/keys (or <home>/localnet/keys) or a key file")
	c.Flags().DurationVar(&f.timeout, "timeout", 30*time.Second, "how long to wait for commit")
	_ = c.MarkFlagRequired("from")
	f.pass.add(c)
	f.addSigning(c)
	flags(c, x)
	return c
}
