package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/spf13/cobra"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/contracts/custody"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// custodyOutcome is what a custody transaction did, read from its events.
type custodyOutcome struct {
	Account  string `json:"account"`
	Proposal uint64 `json:"proposal,omitempty"`
	// Status: created, awaiting_approvals, time_locked, executed or vetoed.
	Status           string `json:"status"`
	Approvals        uint32 `json:"approvals,omitempty"`
	Threshold        uint32 `json:"threshold,omitempty"`
	ExecutableHeight int64  `json:"executable_height,omitempty"`
}

// custodyOf reads a committed custody transaction's events: the account it
// created, or the proposal it opened, approved, executed or vetoed and
// where that proposal stands. Nil for other transactions.
func custodyOf(events []abci.Event) *custodyOutcome {
	var out *custodyOutcome
	for _, e := range events {
		m, _, err := wire.ParseEvent(e)
		if err != nil {
			continue
		}
		switch ev := m.(type) {
		case *txpb.EventCustodyCreated:
			out = &custodyOutcome{Account: ev.Account, Status: "created", Threshold: ev.Threshold}
		case *txpb.EventCustodyProposed:
			out = &custodyOutcome{Account: ev.Account, Proposal: ev.Proposal, Status: custody.StatusAwaiting}
		case *txpb.EventCustodyApproved:
			if out == nil || out.Proposal != ev.Proposal {
				out = &custodyOutcome{Account: ev.Account, Proposal: ev.Proposal}
			}
			out.Status, out.Approvals, out.Threshold, out.ExecutableHeight = custody.StatusAwaiting, ev.Approvals, ev.Threshold, ev.ExecutableHeight
			if ev.ExecutableHeight != 0 {
				out.Status = custody.StatusTimeLocked
			}
		case *txpb.EventCustodyExecuted:
			if out == nil || out.Proposal != ev.Proposal {
				out = &custodyOutcome{Account: ev.Account, Proposal: ev.Proposal}
			}
			out.Status, out.ExecutableHeight = "executed", 0
		case *txpb.EventCustodyClosed:
			// A proposal opening closes expired ones first, a signer change
			// the others after it: only a veto closes the one it names.
			if out == nil && ev.Status == custody.StatusVetoed {
				out = &custodyOutcome{Account: ev.Account, Proposal: ev.Proposal, Status: ev.Status}
			}
		}
	}
	return out
}

func (c *custodyOutcome) String() string {
	if c.Proposal == 0 {
		return fmt.Sprintf("account %s %s", c.Account, c.Status)
	}
	s := fmt.Sprintf("account %s proposal %d: %s", c.Account, c.Proposal, strings.ReplaceAll(c.Status, "_", " "))
	switch c.Status {
	case custody.StatusAwaiting:
		s += fmt.Sprintf(" (%d of %d)", c.Approvals, c.Threshold)
	case custody.StatusTimeLocked:
		s += fmt.Sprintf(" until height %d, then `jinlian tx custody execute`", c.ExecutableHeight)
	}
	return s
}

// addressList parses addresses given as repeated flags or comma-separated.
func addressList(flag string, vals []string) ([][]byte, error) {
	var out [][]byte
	for _, v := range vals {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			a, err := gmcrypto.ParseAddress(s)
			if err != nil {
				return nil, fmt.Errorf("--%s: %w", flag, err)
			}
			out = append(out, a.Bytes())
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--%s: give at least one address", flag)
	}
	return out, nil
}

// parseLimits parses ASSET=AMOUNT pairs.
func parseLimits(vals []string) ([]*txpb.CustodyLimit, error) {
	var out []*txpb.CustodyLimit
	for _, v := range vals {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			asset, amt, ok := strings.Cut(s, "=")
			n, err := strconv.ParseUint(amt, 10, 64)
			if !ok || asset == "" || err != nil || n == 0 {
				return nil, fmt.Errorf("--daily-limit %q: want ASSET=AMOUNT, a positive amount in the asset's smallest unit", s)
			}
			out = append(out, &txpb.CustodyLimit{Asset: asset, Amount: n})
		}
	}
	return out, nil
}

// newTxCustodyCmd is `jinlian tx custody ...`: custody accounts with dual
// control (docs/custody.md).
func newTxCustodyCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "custody", Short: "Custody accounts whose funds move only with M of N signers' approvals (docs/custody.md)"}
	// mk makes a subcommand with the flags every custody transaction has;
	// flags adds its own, into x, and build turns x into the message.
	mk := func(use, short string, flags func(c *cobra.Command, x *custodyArgs), build func(x *custodyArgs) (*txpb.Message, error)) *cobra.Command {
		return contractTxCmd(g, "", use, short, flags, build)
	}
	account := func(c *cobra.Command, p *string) {
		c.Flags().StringVar(p, "account", "", "the custody account's address (40 hex digits)")
		_ = c.MarkFlagRequired("account")
	}
	parseAccount := func(s string) ([]byte, error) {
		a, err := gmcrypto.ParseAddress(s)
		if err != nil {
			return nil, fmt.Errorf("--account: %w", err)
		}
		return a.Bytes(), nil
	}

	create := mk("create", "Open a custody account: --signer (each, or comma-separated) and --threshold M of them; prints its address",
		func(c *cobra.Command, x *custodyArgs) {
			c.Flags().StringSliceVar(&x.signers, "signer", nil, "a signer's address (member identities of the ledger; repeat, or comma-separate)")
			c.Flags().Uint32Var(&x.threshold, "threshold", 2, "approvals a payment needs (1 ≤ M ≤ signers; 1 is single control)")
			c.Flags().Uint64Var(&x.timelock, "timelock", 0, "blocks a fully approved proposal waits before it may execute (any signer may veto meanwhile); 0: it executes on the last approval")
			c.Flags().Uint64Var(&x.expiry, "expiry", 0, fmt.Sprintf("blocks a proposal lives (0: %d)", custody.DefaultExpiryBlocks))
			c.Flags().StringSliceVar(&x.limits, "daily-limit", nil, "ASSET=AMOUNT paid at most per UTC day of the block time (repeat for several assets)")
			c.Flags().StringVar(&x.memo, "memo", "", "what the account is for")
			_ = c.MarkFlagRequired("signer")
		},
		func(x *custodyArgs) (*txpb.Message, error) {
			ss, err := addressList("signer", x.signers)
			if err != nil {
				return nil, err
			}
			ls, err := parseLimits(x.limits)
			if err != nil {
				return nil, err
			}
			return &txpb.Message{Body: &txpb.Message_CustodyCreate{CustodyCreate: &txpb.CustodyCreate{
				Signers: ss, Threshold: x.threshold, TimelockBlocks: x.timelock, ExpiryBlocks: x.expiry, DailyLimits: ls, Memo: x.memo}}}, nil
		})
	propose := mk("propose", "Propose a payment out of a custody account (a signer; counts as your approval)",
		func(c *cobra.Command, x *custodyArgs) {
			account(c, &x.acct)
			c.Flags().StringVar(&x.asset, "asset", "", "asset symbol")
			c.Flags().StringVar(&x.to, "to", "", "recipient address (40 hex digits)")
			c.Flags().Uint64Var(&x.amount, "amount", 0, "amount in the asset's smallest unit")
			c.Flags().StringVar(&x.memo, "memo", "", "free-text memo")
			for _, n := range []string{"asset", "to", "amount"} {
				_ = c.MarkFlagRequired(n)
			}
		},
		func(x *custodyArgs) (*txpb.Message, error) {
			a, err := parseAccount(x.acct)
			if err != nil {
				return nil, err
			}
			t, err := gmcrypto.ParseAddress(x.to)
			if err != nil {
				return nil, fmt.Errorf("--to: %w", err)
			}
			if x.amount == 0 {
				return nil, fmt.Errorf("--amount must be a positive integer")
			}
			return &txpb.Message{Body: &txpb.Message_CustodyPropose{CustodyPropose: &txpb.CustodyPropose{
				Account: a, Asset: x.asset, To: t.Bytes(), Amount: x.amount, Memo: x.memo}}}, nil
		})
	byID := func(c *cobra.Command, x *custodyArgs) {
		account(c, &x.acct)
		c.Flags().Uint64Var(&x.proposal, "proposal", 0, "the proposal's id (jinlian query custody proposals)")
		_ = c.MarkFlagRequired("proposal")
	}
	approve := mk("approve", "Approve a pending proposal (a signer, once); the approval reaching the threshold executes it when there is no time lock",
		byID, func(x *custodyArgs) (*txpb.Message, error) {
			a, err := parseAccount(x.acct)
			return &txpb.Message{Body: &txpb.Message_CustodyApprove{CustodyApprove: &txpb.CustodyApprove{Account: a, Proposal: x.proposal}}}, err
		})
	veto := mk("veto", "Cancel a pending proposal (a signer, before it becomes executable)",
		func(c *cobra.Command, x *custodyArgs) {
			byID(c, x)
			c.Flags().StringVar(&x.reason, "reason", "", "why (recorded in the event)")
		},
		func(x *custodyArgs) (*txpb.Message, error) {
			a, err := parseAccount(x.acct)
			return &txpb.Message{Body: &txpb.Message_CustodyVeto{CustodyVeto: &txpb.CustodyVeto{Account: a, Proposal: x.proposal, Reason: x.reason}}}, err
		})
	execute := mk("execute", "Execute an approved proposal whose time lock has run out (any member of the ledger)",
		byID, func(x *custodyArgs) (*txpb.Message, error) {
			a, err := parseAccount(x.acct)
			return &txpb.Message{Body: &txpb.Message_CustodyExecute{CustodyExecute: &txpb.CustodyExecute{Account: a, Proposal: x.proposal}}}, err
		})
	setSigners := mk("set-signers", "Propose a new signer set and threshold (a signer; approved, vetoed and executed like a payment)",
		func(c *cobra.Command, x *custodyArgs) {
			account(c, &x.acct)
			c.Flags().StringSliceVar(&x.signers, "signer", nil, "a signer's address of the new set (repeat, or comma-separate)")
			c.Flags().Uint32Var(&x.threshold, "threshold", 2, "approvals a payment will need")
			c.Flags().StringVar(&x.memo, "memo", "", "why")
			_ = c.MarkFlagRequired("signer")
		},
		func(x *custodyArgs) (*txpb.Message, error) {
			a, err := parseAccount(x.acct)
			if err != nil {
				return nil, err
			}
			ss, err := addressList("signer", x.signers)
			if err != nil {
				return nil, err
			}
			return &txpb.Message{Body: &txpb.Message_CustodySetSigners{CustodySetSigners: &txpb.CustodySetSigners{
				Account: a, Signers: ss, Threshold: x.threshold, Memo: x.memo}}}, nil
		})
	cmd.AddCommand(create, propose, approve, veto, execute, setSigners)
	return cmd
}

// custodyArgs are a custody subcommand's own flags.
type custodyArgs struct {
	signers, limits          []string
	threshold                uint32
	timelock, expiry, amount uint64
	proposal                 uint64
	acct, asset, to, memo    string
	reason                   string
}

// newQueryCustodyCmd is `jinlian query custody ...`.
func newQueryCustodyCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "custody", Short: "Custody accounts: one account, its pending proposals, a ledger's accounts"}
	var req app.CustodyRequest
	var height int64
	flags := func(c *cobra.Command, withAccount bool) {
		c.Flags().StringVar(&req.Ledger, "ledger", "payments", "sub-ledger")
		c.Flags().Int64Var(&height, "height", 0, "height to read at (0 = latest)")
		if withAccount {
			c.Flags().StringVar(&req.Account, "account", "", "the custody account's address")
			_ = c.MarkFlagRequired("account")
		}
	}
	query := func(cmd *cobra.Command, path string, r, out any) error {
		data, _ := json.Marshal(r)
		return abciQuery(cmd.Context(), g.node, path, data, height, out)
	}
	account := &cobra.Command{
		Use: "account", Short: "A custody account: signers, threshold, time lock, limits and balances", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out app.CustodyAccountResponse
			if err := query(cmd, app.QueryCustodyAccount, req, &out); err != nil {
				return err
			}
			return emit(cmd.OutOrStdout(), g, out, func(w io.Writer) { printCustodyAccount(w, out) })
		},
	}
	flags(account, true)
	proposals := &cobra.Command{
		Use: "proposals", Short: "A custody account's pending proposals, their approvals and status", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out app.CustodyProposalsResponse
			if err := query(cmd, app.QueryCustodyProposals, req, &out); err != nil {
				return err
			}
			return emit(cmd.OutOrStdout(), g, out, func(w io.Writer) { printCustodyProposals(w, out) })
		},
	}
	flags(proposals, true)
	var signer string
	accounts := &cobra.Command{
		Use: "accounts", Short: "A sub-ledger's custody accounts (--signer: those an address signs for)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out app.CustodyAccountsResponse
			if err := query(cmd, app.QueryCustodyAccounts, app.CustodyAccountsRequest{Ledger: req.Ledger, Signer: signer}, &out); err != nil {
				return err
			}
			return emit(cmd.OutOrStdout(), g, out, func(w io.Writer) {
				for _, a := range out.Accounts {
					fmt.Fprintf(w, "%s %d of %d, time lock %d %s\n", a.Address, a.Threshold, len(a.Signers), a.TimelockBlocks, a.Memo)
				}
				fmt.Fprintf(w, "%d custody accounts on %s at height %d\n", len(out.Accounts), req.Ledger, out.Height)
			})
		},
	}
	flags(accounts, false)
	accounts.Flags().StringVar(&signer, "signer", "", "only accounts this address is a signer of")
	cmd.AddCommand(account, proposals, accounts)
	return cmd
}

func printCustodyAccount(w io.Writer, a app.CustodyAccountResponse) {
	fmt.Fprintf(w, "custody account %s on %s at height %d\n", a.Address, a.Ledger, a.Height)
	if a.Memo != "" {
		fmt.Fprintf(w, "  memo:      %s\n", a.Memo)
	}
	fmt.Fprintf(w, "  threshold: %d of %d\n", a.Threshold, len(a.Signers))
	for _, s := range a.Signers {
		fmt.Fprintf(w, "  signer:    %s\n", s)
	}
	fmt.Fprintf(w, "  time lock: %d blocks; proposals expire after %d blocks; %d pending\n", a.TimelockBlocks, a.ExpiryBlocks, a.Pending)
	for _, b := range a.Balances {
		fmt.Fprintf(w, "  %-8s %d", b.Asset, b.Amount)
		if b.DailyLimit != 0 {
			fmt.Fprintf(w, " (daily limit %d, paid today %d)", b.DailyLimit, b.PaidToday)
		}
		fmt.Fprintln(w)
	}
}

func printCustodyProposals(w io.Writer, out app.CustodyProposalsResponse) {
	fmt.Fprintf(w, "%d pending proposals of %s on %s at height %d (threshold %d)\n", len(out.Proposals), out.Account, out.Ledger, out.Height, out.Threshold)
	for _, p := range out.Proposals {
		what := fmt.Sprintf("pay %d %s to %s", p.Amount, p.Asset, p.To)
		if p.Kind == custody.KindSetSigners {
			what = fmt.Sprintf("signers %s, threshold %d", strings.Join(p.Signers, ","), p.Threshold)
		}
		status := strings.ReplaceAll(p.Status, "_", " ")
		if p.Status == custody.StatusTimeLocked {
			status += fmt.Sprintf(" until height %d", p.ExecutableHeight)
		}
		fmt.Fprintf(w, "  %d: %s; %d approvals (%s); %s; expires at height %d", p.ID, what, len(p.Approvals), strings.Join(p.Approvals, ","), status, p.ExpiryHeight)
		if p.Memo != "" {
			fmt.Fprintf(w, "; %s", p.Memo)
		}
		fmt.Fprintln(w)
	}
}
