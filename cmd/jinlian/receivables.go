package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/contracts/receivables"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
)

// receivableArgs are a receivable subcommand's own flags.
type receivableArgs struct {
	receivable                  string
	part                        uint32
	payer, to, pledgee, bank    string
	asset, invoice, invoiceHash string
	due                         string
	dueHeight, expiryHeight     int64
	faceValue, price, amount    uint64
	amounts                     []string
	memo, reason                string
	reject                      bool
}

// parseDue parses --due-date: RFC 3339, or a date (midnight UTC).
func parseDue(s string) (int64, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Unix(), nil
		}
	}
	return 0, fmt.Errorf("--due-date %q: want a date (2027-03-31, midnight UTC) or an RFC 3339 time (2027-03-31T17:00:00+08:00)", s)
}

// invoiceHash is --invoice-hash (64 hex digits) or the SM3 hash of the
// file --invoice names.
func invoiceHash(file, hexHash string) ([]byte, error) {
	switch {
	case (file == "") == (hexHash == ""):
		return nil, fmt.Errorf("give --invoice FILE (hashed with SM3) or --invoice-hash HEX")
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--invoice: %w", err)
		}
		h := gmcrypto.SM3(b)
		return h[:], nil
	}
	h, err := hex.DecodeString(hexHash)
	if err != nil || len(h) != receivables.InvoiceHashSize {
		return nil, fmt.Errorf("--invoice-hash %q: want the SM3 hash of the invoice, %d hex digits", hexHash, 2*receivables.InvoiceHashSize)
	}
	return h, nil
}

// parseAmounts parses --amounts 600,300,100.
func parseAmounts(ss []string) ([]uint64, error) {
	out := make([]uint64, 0, len(ss))
	for _, s := range ss {
		n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
		if err != nil || n == 0 {
			return nil, fmt.Errorf("--amounts: %q is not a positive amount", s)
		}
		out = append(out, n)
	}
	if len(out) < 2 {
		return nil, fmt.Errorf("--amounts: want at least two parts, comma-separated")
	}
	return out, nil
}

func requiredAddress(flag, s string) ([]byte, error) {
	a, err := gmcrypto.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flag, err)
	}
	return a.Bytes(), nil
}

// newTxReceivableCmd is `jinlian tx receivable ...`: receivables for
// supply-chain finance on a sub-ledger (docs/receivables.md).
func newTxReceivableCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "receivable", Short: "Receivables for supply-chain finance: register, confirm, split, transfer, pledge, discount, settle (docs/receivables.md)"}
	mk := func(use, short string, flags func(c *cobra.Command, x *receivableArgs), build func(x *receivableArgs) (*txpb.Message, error)) *cobra.Command {
		return contractTxCmd(g, "", use, short, flags, build)
	}
	receivable := func(c *cobra.Command, x *receivableArgs) {
		c.Flags().StringVar(&x.receivable, "receivable", "", "the receivable's id: the id of the transaction that registered it")
		_ = c.MarkFlagRequired("receivable")
	}
	part := func(c *cobra.Command, x *receivableArgs) {
		receivable(c, x)
		c.Flags().Uint32Var(&x.part, "part", 1, "the part (1 is the whole receivable until it is split)")
	}

	register := mk("register", "Request a receivable on --payer (a core enterprise) for an invoice; the tx id is the receivable's id; the payer confirms it",
		func(c *cobra.Command, x *receivableArgs) {
			c.Flags().StringVar(&x.payer, "payer", "", "the payer's identity (40 hex digits), of another member organisation")
			c.Flags().StringVar(&x.asset, "asset", "CNY", "asset the receivable is paid in")
			c.Flags().Uint64Var(&x.faceValue, "face-value", 0, "amount owed, in the asset's smallest unit")
			c.Flags().Int64Var(&x.dueHeight, "due-height", 0, "due from this block height on")
			c.Flags().StringVar(&x.due, "due-date", "", "due from this block time on: a date (midnight UTC) or an RFC 3339 time")
			c.Flags().StringVar(&x.invoice, "invoice", "", "the invoice or contract file; its SM3 hash is registered (once only, chain-wide on this ledger)")
			c.Flags().StringVar(&x.invoiceHash, "invoice-hash", "", "the invoice's SM3 hash, 64 hex digits (instead of --invoice)")
			c.Flags().StringVar(&x.memo, "memo", "", "free-text memo")
			for _, n := range []string{"payer", "face-value"} {
				_ = c.MarkFlagRequired(n)
			}
		},
		func(x *receivableArgs) (*txpb.Message, error) {
			payer, err := requiredAddress("payer", x.payer)
			if err != nil {
				return nil, err
			}
			h, err := invoiceHash(x.invoice, x.invoiceHash)
			if err != nil {
				return nil, err
			}
			m := &txpb.ReceivableRegister{Payer: payer, Asset: x.asset, FaceValue: x.faceValue, DueHeight: x.dueHeight, InvoiceHash: h, Memo: x.memo}
			if (x.due == "") == (x.dueHeight == 0) {
				return nil, fmt.Errorf("give --due-height or --due-date")
			}
			if x.due != "" {
				if m.DueTime, err = parseDue(x.due); err != nil {
					return nil, err
				}
			}
			return &txpb.Message{Body: &txpb.Message_ReceivableRegister{ReceivableRegister: m}}, nil
		})
	confirm := mk("confirm", "Confirm (as its payer) a requested receivable, or --reject it (its invoice may then be registered again)",
		func(c *cobra.Command, x *receivableArgs) {
			receivable(c, x)
			c.Flags().BoolVar(&x.reject, "reject", false, "reject the request instead")
			c.Flags().StringVar(&x.reason, "reason", "", "why (recorded in the event)")
		},
		func(x *receivableArgs) (*txpb.Message, error) {
			return &txpb.Message{Body: &txpb.Message_ReceivableConfirm{ReceivableConfirm: &txpb.ReceivableConfirm{Receivable: x.receivable, Reject: x.reject, Reason: x.reason}}}, nil
		})
	split := mk("split", "Split a part you hold into parts of --amounts (which sum to it); you hold them all",
		func(c *cobra.Command, x *receivableArgs) {
			part(c, x)
			c.Flags().StringSliceVar(&x.amounts, "amounts", nil, "the new parts' amounts, comma-separated (600,300,100)")
			_ = c.MarkFlagRequired("amounts")
		},
		func(x *receivableArgs) (*txpb.Message, error) {
			amounts, err := parseAmounts(x.amounts)
			if err != nil {
				return nil, err
			}
			return &txpb.Message{Body: &txpb.Message_ReceivableSplit{ReceivableSplit: &txpb.ReceivableSplit{Receivable: x.receivable, Part: x.part, Amounts: amounts}}}, nil
		})
	transfer := mk("transfer", "Transfer a part you hold to another member of the ledger (down the supply chain)",
		func(c *cobra.Command, x *receivableArgs) {
			part(c, x)
			c.Flags().StringVar(&x.to, "to", "", "the new holder's identity (40 hex digits)")
			c.Flags().StringVar(&x.memo, "memo", "", "free-text memo")
			_ = c.MarkFlagRequired("to")
		},
		func(x *receivableArgs) (*txpb.Message, error) {
			to, err := requiredAddress("to", x.to)
			if err != nil {
				return nil, err
			}
			return &txpb.Message{Body: &txpb.Message_ReceivableTransfer{ReceivableTransfer: &txpb.ReceivableTransfer{Receivable: x.receivable, Part: x.part, To: to, Memo: x.memo}}}, nil
		})
	pledge := mk("pledge", "Pledge a part you hold to a creditor: it cannot move until the creditor releases it",
		func(c *cobra.Command, x *receivableArgs) {
			part(c, x)
			c.Flags().StringVar(&x.pledgee, "pledgee", "", "the creditor's identity (40 hex digits)")
			c.Flags().StringVar(&x.memo, "memo", "", "free-text memo")
			_ = c.MarkFlagRequired("pledgee")
		},
		func(x *receivableArgs) (*txpb.Message, error) {
			p, err := requiredAddress("pledgee", x.pledgee)
			if err != nil {
				return nil, err
			}
			return &txpb.Message{Body: &txpb.Message_ReceivablePledge{ReceivablePledge: &txpb.ReceivablePledge{Receivable: x.receivable, Part: x.part, Pledgee: p, Memo: x.memo}}}, nil
		})
	unpledge := mk("unpledge", "Release a part pledged to you", part,
		func(x *receivableArgs) (*txpb.Message, error) {
			return &txpb.Message{Body: &txpb.Message_ReceivableUnpledge{ReceivableUnpledge: &txpb.ReceivableUnpledge{Receivable: x.receivable, Part: x.part}}}, nil
		})
	offer := mk("discount-offer", "Offer a part you hold to --bank for --price, until --expiry-height",
		func(c *cobra.Command, x *receivableArgs) {
			part(c, x)
			c.Flags().StringVar(&x.bank, "bank", "", "the bank's identity (40 hex digits)")
			c.Flags().Uint64Var(&x.price, "price", 0, "what the bank pays you, at most the part's outstanding amount")
			c.Flags().Int64Var(&x.expiryHeight, "expiry-height", 0, "the offer lapses at this height")
			for _, n := range []string{"bank", "price", "expiry-height"} {
				_ = c.MarkFlagRequired(n)
			}
		},
		func(x *receivableArgs) (*txpb.Message, error) {
			b, err := requiredAddress("bank", x.bank)
			if err != nil {
				return nil, err
			}
			return &txpb.Message{Body: &txpb.Message_ReceivableDiscountOffer{ReceivableDiscountOffer: &txpb.ReceivableDiscountOffer{Receivable: x.receivable, Part: x.part,
				Bank: b, Price: x.price, ExpiryHeight: x.expiryHeight}}}, nil
		})
	accept := mk("discount-accept", "Accept (as the bank) a discount offered to you: pay --price and take the part, in one transaction",
		func(c *cobra.Command, x *receivableArgs) {
			part(c, x)
			c.Flags().Uint64Var(&x.price, "price", 0, "the offered price you agree to pay")
			_ = c.MarkFlagRequired("price")
		},
		func(x *receivableArgs) (*txpb.Message, error) {
			return &txpb.Message{Body: &txpb.Message_ReceivableDiscountAccept{ReceivableDiscountAccept: &txpb.ReceivableDiscountAccept{Receivable: x.receivable, Part: x.part, Price: x.price}}}, nil
		})
	settle := mk("settle", "Pay (as its payer, from the due date) --amount of a receivable: its parts' holders are paid pro rata",
		func(c *cobra.Command, x *receivableArgs) {
			receivable(c, x)
			c.Flags().Uint64Var(&x.amount, "amount", 0, "what you pay now, at most what is outstanding")
			_ = c.MarkFlagRequired("amount")
		},
		func(x *receivableArgs) (*txpb.Message, error) {
			return &txpb.Message{Body: &txpb.Message_ReceivableSettle{ReceivableSettle: &txpb.ReceivableSettle{Receivable: x.receivable, Amount: x.amount}}}, nil
		})
	overdue := mk("mark-overdue", "Record that a receivable is past due and not fully paid (anyone)", receivable,
		func(x *receivableArgs) (*txpb.Message, error) {
			return &txpb.Message{Body: &txpb.Message_ReceivableMarkOverdue{ReceivableMarkOverdue: &txpb.ReceivableMarkOverdue{Receivable: x.receivable}}}, nil
		})
	cmd.AddCommand(register, confirm, split, transfer, pledge, unpledge, offer, accept, settle, overdue)
	return cmd
}

// newQueryReceivableCmd is `jinlian query receivable ID`.
func newQueryReceivableCmd(g *globals) *cobra.Command {
	var req app.ReceivableRequest
	var height int64
	c := &cobra.Command{
		Use: "receivable [ID]", Short: "One receivable: terms, status, parts with holders, pledges and offers (by id, or --invoice-hash)",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				req.Receivable = args[0]
			}
			if (req.Receivable == "") == (req.Invoice == "") {
				return fmt.Errorf("give the receivable's id or --invoice-hash")
			}
			data, _ := json.Marshal(req)
			var out app.ReceivableResponse
			if err := abciQuery(cmd.Context(), g.node, app.QueryReceivable, data, height, &out); err != nil {
				return err
			}
			return emit(cmd.OutOrStdout(), g, out, func(w io.Writer) { printReceivable(w, out) })
		},
	}
	c.Flags().StringVar(&req.Ledger, "ledger", "payments", "sub-ledger")
	c.Flags().StringVar(&req.Invoice, "invoice-hash", "", "find it by its invoice's SM3 hash instead")
	c.Flags().Int64Var(&height, "height", 0, "height to read at (0 = latest)")
	return c
}

// newQueryReceivablesCmd is `jinlian query receivables [--holder ADDR]`.
func newQueryReceivablesCmd(g *globals) *cobra.Command {
	var req app.ReceivablesRequest
	var height int64
	c := &cobra.Command{
		Use: "receivables", Short: "The receivables of a sub-ledger (--holder: those of which an address holds a part)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			data, _ := json.Marshal(req)
			var out app.ReceivablesResponse
			if err := abciQuery(cmd.Context(), g.node, app.QueryReceivables, data, height, &out); err != nil {
				return err
			}
			return emit(cmd.OutOrStdout(), g, out, func(w io.Writer) {
				for _, r := range out.Receivables {
					held := ""
					if req.Holder != "" {
						var sum uint64
						for _, p := range r.Parts {
							if p.Holder == req.Holder {
								sum += p.Amount
							}
						}
						held = fmt.Sprintf(", held %d", sum)
					}
					fmt.Fprintf(w, "%s %-9s %d %s payer %s, paid %d, %d parts%s\n", r.ID, r.Status, r.FaceValue, r.Asset, r.Payer, r.Paid, len(r.Parts), held)
				}
				fmt.Fprintf(w, "%d receivables on %s at height %d\n", len(out.Receivables), req.Ledger, out.Height)
			})
		},
	}
	c.Flags().StringVar(&req.Ledger, "ledger", "payments", "sub-ledger")
	c.Flags().StringVar(&req.Holder, "holder", "", "only receivables of which this address holds a part")
	c.Flags().Int64Var(&height, "height", 0, "height to read at (0 = latest)")
	return c
}

func printReceivable(w io.Writer, r app.ReceivableResponse) {
	status := r.Status
	switch {
	case r.PastDue && r.Status == receivables.StatusActive:
		status += " (past due: may be marked overdue)"
	case r.Due && r.Status == receivables.StatusActive:
		status += " (due)"
	}
	fmt.Fprintf(w, "receivable %s: %s\n", r.ID, status)
	fmt.Fprintf(w, "  %d %s owed by %s to %s (payee); paid %d, outstanding %d\n", r.FaceValue, r.Asset, r.Payer, r.Payee, r.Paid, r.Outstanding)
	if r.DueHeight > 0 {
		fmt.Fprintf(w, "  due at height %d\n", r.DueHeight)
	} else {
		fmt.Fprintf(w, "  due at %s (block time)\n", time.Unix(r.DueTime, 0).UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(w, "  invoice SM3 %s; requested at height %d\n", r.InvoiceHash, r.Height)
	for _, p := range r.Parts {
		fmt.Fprintf(w, "  part %d: %d held by %s, paid %d", p.ID, p.Amount, p.Holder, p.Paid)
		if p.Pledgee != "" {
			fmt.Fprintf(w, ", pledged to %s", p.Pledgee)
		}
		if p.Offer != nil {
			fmt.Fprintf(w, ", offered to %s for %d until height %d", p.Offer.Bank, p.Offer.Price, p.Offer.ExpiryHeight)
		}
		fmt.Fprintln(w)
	}
	if r.Memo != "" {
		fmt.Fprintf(w, "  memo: %s\n", r.Memo)
	}
}
