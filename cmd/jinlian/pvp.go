package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/contracts/pvp"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
)

// parseLeg parses LEDGER:ASSET:AMOUNT.
func parseLeg(flag, s string) (*txpb.PvpLeg, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return nil, fmt.Errorf("--%s %q: want LEDGER:ASSET:AMOUNT", flag, s)
	}
	n, err := strconv.ParseUint(parts[2], 10, 64)
	if err != nil || n == 0 {
		return nil, fmt.Errorf("--%s %q: want LEDGER:ASSET:AMOUNT, a positive amount in the asset's smallest unit", flag, s)
	}
	return &txpb.PvpLeg{Ledger: parts[0], Asset: parts[1], Amount: n}, nil
}

// optionalAddress parses an address flag that may be empty.
func optionalAddress(flag, s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	a, err := gmcrypto.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flag, err)
	}
	return a.Bytes(), nil
}

// pvpArgs are a pvp subcommand's own flags.
type pvpArgs struct {
	counterparty, legA, legB, recvA, recvB string
	valueHeight, expiryHeight              int64
	trade, leg, memo, reason               string
}

// newTxPvpCmd is `jinlian tx pvp ...`: payment versus payment across two
// sub-ledgers (docs/pvp.md). The messages travel on the _system channel.
func newTxPvpCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "pvp", Short: "Payment versus payment: two legs on two sub-ledgers settle together or not at all (docs/pvp.md)"}
	mk := func(use, short string, flags func(c *cobra.Command, x *pvpArgs), build func(x *pvpArgs) (*txpb.Message, error)) *cobra.Command {
		return contractTxCmd(g, permission.SystemLedger, use, short, flags, build)
	}
	trade := func(c *cobra.Command, x *pvpArgs) {
		c.Flags().StringVar(&x.trade, "trade", "", "the trade's id: the id of the transaction that proposed it")
		_ = c.MarkFlagRequired("trade")
	}
	propose := mk("propose", "Propose a trade: you pay --leg-a, the --counterparty pays --leg-b; the tx id is the trade's id",
		func(c *cobra.Command, x *pvpArgs) {
			c.Flags().StringVar(&x.counterparty, "counterparty", "", "the other bank's member identity (40 hex digits), which pays leg B")
			c.Flags().StringVar(&x.legA, "leg-a", "", "what you pay: LEDGER:ASSET:AMOUNT")
			c.Flags().StringVar(&x.legB, "leg-b", "", "what the counterparty pays: LEDGER:ASSET:AMOUNT")
			c.Flags().StringVar(&x.recvA, "receiver-a", "", "who receives leg B on its ledger (default: you)")
			c.Flags().StringVar(&x.recvB, "receiver-b", "", "who receives leg A on its ledger (default: the counterparty)")
			c.Flags().Int64Var(&x.valueHeight, "value-height", 0, "settle not before this height (0: on the funding that completes the trade)")
			c.Flags().Int64Var(&x.expiryHeight, "expiry-height", 0, "from this height on the trade no longer settles and its funded legs are refundable by anyone")
			c.Flags().StringVar(&x.memo, "memo", "", "free-text memo")
			for _, n := range []string{"counterparty", "leg-a", "leg-b", "expiry-height"} {
				_ = c.MarkFlagRequired(n)
			}
		},
		func(x *pvpArgs) (*txpb.Message, error) {
			cp, err := optionalAddress("counterparty", x.counterparty)
			if err != nil {
				return nil, err
			}
			a, err := parseLeg("leg-a", x.legA)
			if err != nil {
				return nil, err
			}
			b, err := parseLeg("leg-b", x.legB)
			if err != nil {
				return nil, err
			}
			ra, err := optionalAddress("receiver-a", x.recvA)
			if err != nil {
				return nil, err
			}
			rb, err := optionalAddress("receiver-b", x.recvB)
			if err != nil {
				return nil, err
			}
			return &txpb.Message{Body: &txpb.Message_PvpPropose{PvpPropose: &txpb.PvpPropose{Counterparty: cp, LegA: a, LegB: b,
				ReceiverA: ra, ReceiverB: rb, ValueHeight: x.valueHeight, ExpiryHeight: x.expiryHeight, Memo: x.memo}}}, nil
		})
	fund := mk("fund", "Pay your leg into its escrow (A: the proposer, B: the counterparty); the funding that completes the trade settles both legs",
		func(c *cobra.Command, x *pvpArgs) {
			trade(c, x)
			c.Flags().StringVar(&x.leg, "leg", "", "A or B")
			_ = c.MarkFlagRequired("leg")
		},
		func(x *pvpArgs) (*txpb.Message, error) {
			leg := strings.ToUpper(x.leg)
			if leg != pvp.LegA && leg != pvp.LegB {
				return nil, fmt.Errorf("--leg %q: want A or B", x.leg)
			}
			return &txpb.Message{Body: &txpb.Message_PvpFund{PvpFund: &txpb.PvpFund{Trade: x.trade, Leg: leg}}}, nil
		})
	settle := mk("settle", "Settle a fully funded trade whose value height has come (anyone)",
		trade, func(x *pvpArgs) (*txpb.Message, error) {
			return &txpb.Message{Body: &txpb.Message_PvpSettle{PvpSettle: &txpb.PvpSettle{Trade: x.trade}}}, nil
		})
	refund := mk("refund", "Close an unsettled trade and return its funded legs (a party any time; anyone from the expiry height)",
		func(c *cobra.Command, x *pvpArgs) {
			trade(c, x)
			c.Flags().StringVar(&x.reason, "reason", "", "why (recorded in the event)")
		},
		func(x *pvpArgs) (*txpb.Message, error) {
			return &txpb.Message{Body: &txpb.Message_PvpRefund{PvpRefund: &txpb.PvpRefund{Trade: x.trade, Reason: x.reason}}}, nil
		})
	cmd.AddCommand(propose, fund, settle, refund)
	return cmd
}

// newQueryPvpCmd is `jinlian query pvp trade|trades`.
func newQueryPvpCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "pvp", Short: "Payment-versus-payment trades with a leg on a sub-ledger"}
	var req app.PvpRequest
	var height int64
	flags := func(c *cobra.Command) {
		c.Flags().StringVar(&req.Ledger, "ledger", "payments", "a sub-ledger one of the trades' legs is on (members of it may read them)")
		c.Flags().Int64Var(&height, "height", 0, "height to read at (0 = latest)")
	}
	query := func(cmd *cobra.Command, path string, out any) error {
		data, _ := json.Marshal(req)
		return abciQuery(cmd.Context(), g.node, path, data, height, out)
	}
	trade := &cobra.Command{
		Use: "trade", Short: "One trade: both legs, rate, escrows, status", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out app.PvpTradeResponse
			if err := query(cmd, app.QueryPvpTrade, &out); err != nil {
				return err
			}
			return emit(cmd.OutOrStdout(), g, out, func(w io.Writer) { printTrade(w, out.Trade, out.Expired) })
		},
	}
	flags(trade)
	trade.Flags().StringVar(&req.Trade, "trade", "", "the trade's id")
	_ = trade.MarkFlagRequired("trade")
	trades := &cobra.Command{
		Use: "trades", Short: "The trades with a leg on the ledger (--party: those an address pays or receives in)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out app.PvpTradesResponse
			if err := query(cmd, app.QueryPvpTrades, &out); err != nil {
				return err
			}
			return emit(cmd.OutOrStdout(), g, out, func(w io.Writer) {
				for _, t := range out.Trades {
					fmt.Fprintf(w, "%s %-8s %d %s@%s for %d %s@%s (rate %s), expiry %d\n", t.ID, t.Status,
						t.A.Amount, t.A.Asset, t.A.Ledger, t.B.Amount, t.B.Asset, t.B.Ledger, t.Rate, t.ExpiryHeight)
				}
				fmt.Fprintf(w, "%d trades with a leg on %s at height %d\n", len(out.Trades), req.Ledger, out.Height)
			})
		},
	}
	flags(trades)
	trades.Flags().StringVar(&req.Party, "party", "", "only trades this address pays or receives in")
	cmd.AddCommand(trade, trades)
	return cmd
}

func printTrade(w io.Writer, t pvp.Trade, expired bool) {
	status := t.Status
	if expired {
		status += " (expired: refundable by anyone)"
	}
	fmt.Fprintf(w, "trade %s: %s\n", t.ID, status)
	fmt.Fprintf(w, "  leg A: %d %s on %s, paid by %s to %s; escrow %s, funded %t\n", t.A.Amount, t.A.Asset, t.A.Ledger, t.Proposer, t.ReceiverB, t.A.Escrow, t.A.Funded)
	fmt.Fprintf(w, "  leg B: %d %s on %s, paid by %s to %s; escrow %s, funded %t\n", t.B.Amount, t.B.Asset, t.B.Ledger, t.Counterparty, t.ReceiverA, t.B.Escrow, t.B.Funded)
	fmt.Fprintf(w, "  rate:  %s (B per A)\n", t.Rate)
	fmt.Fprintf(w, "  proposed at height %d; value height %d; expiry height %d\n", t.Height, t.ValueHeight, t.ExpiryHeight)
	if t.ClosedHeight != 0 {
		fmt.Fprintf(w, "  closed at height %d by %s\n", t.ClosedHeight, t.ClosedBy)
	}
	if t.Memo != "" {
		fmt.Fprintf(w, "  memo:  %s\n", t.Memo)
	}
}
