package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/recon"
)

// reconMemoryLimit is recon run's soft memory limit (runtime/debug).
const reconMemoryLimit = 1536 << 20

func newReconCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "recon", Short: "Reconcile the bank's internal ledger file against the chain, and check signed results"}
	c.AddCommand(reconRunCmd(g), reconWatchCmd(g), reconVerifyCmd(g), reconCompareCmd(g), &cobra.Command{
		Use:   "mapping",
		Short: "Print the default column mapping (TOML), to start a bank's own from",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := io.WriteString(cmd.OutOrStdout(), recon.DefaultMappingTOML)
			return err
		},
	})
	return c
}

func reconRunCmd(g *globals) *cobra.Command {
	var req recon.Request
	var internal, mapping, encoding, from, out string
	var pass passphraseFlag
	var timeout time.Duration
	c := &cobra.Command{
		Use:   "run --org ORG --date YYYY-MM-DD --internal FILE",
		Short: "Match an internal ledger file against the organisation's statement of a day: breaks, positions, totals (-o text, json or csv)",
		Long: `Fetches the organisation's statement of the business day from its node, as
jinlian statement does, reads the internal ledger file with the column
mapping (--mapping, a TOML file; the default, which jinlian recon
mapping prints, reads the CSV that jinlian statement -o csv writes), and
lists what does not match: missing on chain, missing internally, amount /
asset / counterparty mismatches and duplicates on either side, then
per-counterparty gross and net positions and the day's totals of both
sides.

A line with a tx id is matched with the chain movement of that tx id and
direction; a line without one by its payment reference (the memo) and
direction. The file may be UTF-8 or GB18030 (detected; or --encoding).
A file none of whose lines falls in the day is refused.

-o text prints a summary, -o json the whole result, -o csv every break.
--out writes the result as JSON; with --from KEY it is signed with that
SM2 key and names the heights and app hashes it was computed against:
check it with jinlian recon verify.`,
		Example: `  jinlian recon run --node https://127.0.0.1:26680 --tls-ca api-ca.pem --tls-key bankA.json \
    --org bankA --date 2026-12-03 --internal bankA-20261203.csv
  jinlian recon run --org bankA --date 2026-12-03 --internal core-20261203.txt --mapping recon.toml \
    --from bankA-recon --out bankA-20261203-recon.json
  jinlian recon run --org bankA --date 2026-12-03 --internal bankA-20261203.csv -o csv > breaks.csv`,
		Args:        cobra.NoArgs,
		Annotations: map[string]string{outputFormats: "text,json,csv"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if internal == "" {
				return errors.New("--internal FILE is required: the bank's ledger file of the day")
			}
			if os.Getenv("GOMEMLIMIT") == "" {
				// A day of a million lines holds about 1.2 GB live; a
				// soft limit keeps the heap from doubling past 2 GB
				// (docs/performance.md). GOMEMLIMIT overrides it.
				debug.SetMemoryLimit(reconMemoryLimit)
			}
			if from != "" && out == "" {
				return errors.New("--from signs the result file: give --out FILE too")
			}
			m, err := loadMapping(mapping, encoding)
			if err != nil {
				return err
			}
			key, err := loadSigningKey(g, from, &pass)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			res, err := reconcileDay(ctx, g, req, internal, m)
			if err != nil {
				return err
			}
			if out != "" {
				if err := writeResult(out, res, key); err != nil {
					return err
				}
			}
			w := cmd.OutOrStdout()
			switch g.output {
			case "csv":
				return recon.WriteBreaksCSV(w, res.Breaks)
			case "json":
				return emit(w, g, res, nil)
			}
			printRecon(w, res)
			if out != "" {
				signed := ""
				if key != nil {
					signed = ", signed by " + key.Public().Address().String()
				}
				fmt.Fprintf(w, "result written to %s%s\n", out, signed)
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&req.Org, "org", "", "organisation (default: the caller's)")
	f.StringVar(&req.Date, "date", "", "business day, YYYY-MM-DD (default: the day of the latest block)")
	f.StringVar(&req.Account, "account", "", "only this account's movements (a file of one account)")
	f.StringVar(&req.Asset, "asset", "", "only this asset")
	f.StringVar(&req.Ledger, "ledger", "", "only this sub-ledger")
	f.StringVar(&internal, "internal", "", "the internal ledger file of the day (CSV)")
	reconFileFlags(c, &mapping, &encoding, &from, &pass)
	f.StringVar(&out, "out", "", "write the result (JSON) to FILE; signed with --from")
	f.DurationVar(&timeout, "timeout", 5*time.Minute, "how long to wait for the node")
	return c
}

// reconFileFlags adds the flags of reading internal files and signing
// results, which recon run and recon watch share.
func reconFileFlags(c *cobra.Command, mapping, encoding, from *string, pass *passphraseFlag) {
	f := c.Flags()
	f.StringVar(mapping, "mapping", "", "column mapping (TOML; default: the CSV of jinlian statement -o csv)")
	f.StringVar(encoding, "encoding", "", "the file's encoding: auto, utf-8 or gb18030 (default: the mapping's, auto)")
	f.StringVar(from, "from", "", "sign the result file with this SM2 key (name or key file)")
	pass.add(c)
}

// loadMapping reads a column mapping file ("" for the default) and
// applies an encoding given on the command line.
func loadMapping(path, encoding string) (recon.Mapping, error) {
	m := recon.DefaultMapping()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return m, err
		}
		if m, err = recon.ParseMapping(b); err != nil {
			return m, fmt.Errorf("%s: %w", path, err)
		}
	}
	if encoding != "" {
		m.Encoding = encoding
	}
	return m, m.Check()
}

// loadSigningKey loads the key that signs result files; nil when from is "".
func loadSigningKey(g *globals, from string, pass *passphraseFlag) (*gmcrypto.PrivateKey, error) {
	if from == "" {
		return nil, nil
	}
	path, err := keyPath(g.home, from)
	if err != nil {
		return nil, err
	}
	pw, err := pass.read("Passphrase for " + path + ": ")
	if err != nil {
		return nil, err
	}
	_, key, err := gmcrypto.LoadKey(path, pw)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", path, err)
	}
	return key, nil
}

// reconcileDay fetches the statement req asks for from the node and
// reconciles the internal file against it; the result names the day's
// chain range.
func reconcileDay(ctx context.Context, g *globals, req recon.Request, internal string, m recon.Mapping) (*recon.Result, error) {
	data, err := os.ReadFile(internal)
	if err != nil {
		return nil, err
	}
	st, err := fetchStatement(ctx, g.node, req)
	if err != nil {
		return nil, err
	}
	res, err := recon.Reconcile(st, data, filepath.Base(internal), m)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", internal, err)
	}
	cl, err := apiNode(g.node).Dial()
	if err != nil {
		return nil, err
	}
	if res.Chain, err = recon.Range(ctx, api.Anchors(cl), st.Day); err != nil {
		return nil, err
	}
	return res, nil
}

// writeResult writes res as JSON to path, signed when key is not nil,
// through a temporary file renamed into place.
func writeResult(path string, res *recon.Result, key *gmcrypto.PrivateKey) error {
	var v any = res
	if key != nil {
		sr, err := recon.Sign(res, key)
		if err != nil {
			return err
		}
		v = sr
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func printRecon(w io.Writer, r *recon.Result) {
	c := r.Chain
	fmt.Fprintf(w, "reconciliation of %s for %s (%s): %s (%d lines, %s) against the chain", r.Org, r.Date, r.TimeZone, r.Internal.Name,
		r.Internal.Records, r.Internal.Encoding)
	switch {
	case c.FromHeight == 0:
		fmt.Fprintf(w, ", no block in the day (as of height %d)\n", c.AsOfHeight)
	default:
		fmt.Fprintf(w, ", heights %d..%d", c.FromHeight, c.ToHeight)
		if !c.Complete {
			fmt.Fprint(w, " so far: the day is not over")
		}
		fmt.Fprintln(w)
	}
	s := r.Summary
	fmt.Fprintf(w, "%d chain movements, %d internal lines: %d matched, %d breaks\n", s.ChainMovements, s.InternalRecords, s.Matched, s.Breaks)
	for _, k := range recon.BreakKinds {
		if n := s.ByKind[k]; n > 0 {
			fmt.Fprintf(w, "  %-22s %d\n", strings.ReplaceAll(k, "_", " "), n)
		}
	}
	const shown = 50
	if len(r.Breaks) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "BREAK\tREFERENCE\tLINE\tINTERNAL\tHEIGHT\tCHAIN")
		for i, b := range r.Breaks {
			if i == shown {
				break
			}
			line, in, height, ch := "", "", "", ""
			if x := b.Internal; x != nil {
				line = fmt.Sprint(x.Line)
				cp := x.Counterparty
				if len(cp) > 20 {
					cp = cp[:8] + "…"
				}
				in = fmt.Sprintf("%s %d %s %s", x.Direction, x.Amount, x.Asset, cp)
			}
			if x := b.Chain; x != nil {
				height = fmt.Sprint(x.Height)
				cp := x.CounterpartyOrg
				if cp == "" && len(x.Counterparty) > 10 {
					cp = x.Counterparty[:8] + "…"
				}
				ch = fmt.Sprintf("%s %d %s %s", x.Direction, x.Amount, x.Asset, cp)
			}
			kind := strings.ReplaceAll(b.Kind, "_", " ")
			if len(b.Fields) > 1 {
				kind += " (" + strings.Join(b.Fields, ", ") + ")"
			}
			fmt.Fprintf(tw, "%s\t%q\t%s\t%s\t%s\t%s\n", kind, b.Reference, line, strings.TrimSpace(in), height, strings.TrimSpace(ch))
		}
		tw.Flush()
		if len(r.Breaks) > shown {
			fmt.Fprintf(w, "… and %d more: -o csv or -o json lists every break\n", len(r.Breaks)-shown)
		}
	}
	if len(r.Positions) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "ASSET\tCOUNTERPARTY\tCHAIN CREDITS\tCHAIN DEBITS\tCHAIN NET\tINTERNAL CREDITS\tINTERNAL DEBITS\tINTERNAL NET\t\t")
		row := func(asset, cp string, f recon.Flows) {
			mark := ""
			if !f.Agree {
				mark = "differs"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", asset, cp, f.ChainCredits, f.ChainDebits, f.ChainNet,
				f.InternalCredits, f.InternalDebits, f.InternalNet, mark)
		}
		for _, p := range r.Positions {
			cp := p.Counterparty
			if len(cp) > 20 {
				cp = cp[:8] + "…"
			}
			row(p.Asset, cp, p.Flows)
		}
		for _, t := range r.Totals {
			row(t.Asset, "day total", t.Flows)
		}
		tw.Flush()
	}
}

func reconVerifyCmd(g *globals) *cobra.Command {
	var signer string
	var anySigner bool
	c := &cobra.Command{
		Use:   "verify RESULT.json --signer ADDRESS",
		Short: "Check a signed reconciliation result: its SM2 signature, every field, and the expected signer",
		Long: `Recomputes the SM3 of each field of the result, checks them against the
signed digest list and the SM2 signature, and that the signer is --signer
(the bank's published reconciliation key). A valid signature by someone
else proves nothing, so --signer is required; --any-signer accepts any
valid signature and prints who made it. A changed field is named.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if signer == "" && !anySigner {
				return errors.New("give --signer ADDRESS (the expected signer of the result) or --any-signer")
			}
			sr, who, err := verifyResultFile(args[0], signer)
			if err != nil {
				return err
			}
			r := sr.Result
			res := map[string]any{"result": args[0], "valid": true, "signer": who, "org": r.Org, "date": r.Date, "chain": r.Chain,
				"summary": r.Summary, "sm3": sr.Signature.SM3}
			return emit(cmd.OutOrStdout(), g, res, func(w io.Writer) {
				fmt.Fprintf(w, "%s: valid SM2 signature by %s\n", args[0], who)
				fmt.Fprintf(w, "reconciliation of %s for %s: heights %d..%d (chain %s), %d matched, %d breaks\n", r.Org, r.Date,
					r.Chain.FromHeight, r.Chain.ToHeight, r.Chain.ChainID, r.Summary.Matched, r.Summary.Breaks)
				for _, a := range []*recon.ChainAnchor{r.Chain.Before, r.Chain.After} {
					if a != nil {
						fmt.Fprintf(w, "  header %d: app hash %s, block %s\n", a.Height, a.AppHash, a.BlockHash)
					}
				}
			})
		},
	}
	c.Flags().StringVar(&signer, "signer", "", "the expected signer's address (required unless --any-signer)")
	c.Flags().BoolVar(&anySigner, "any-signer", false, "accept a valid signature by anyone and print who signed")
	return c
}

// verifyResultFile reads and verifies a signed result file; signer, when
// not "", is the address that must have signed it.
func verifyResultFile(path, signer string) (*recon.SignedResult, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	sr, who, err := recon.Verify(b)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	if signer != "" {
		want, err := gmcrypto.ParseAddress(signer)
		if err != nil {
			return nil, "", fmt.Errorf("signer of %s: %w", path, err)
		}
		if want.String() != who {
			return nil, "", fmt.Errorf("%s: %w: signed by %s, not by %s", path, recon.ErrResultSignature, who, want)
		}
	}
	return sr, who, nil
}

// errDisagree is recon compare's exit status 1 when the results disagree.
var errDisagree = errors.New("the results disagree")

func reconCompareCmd(g *globals) *cobra.Command {
	var signerA, signerB string
	var anySigner bool
	c := &cobra.Command{
		Use:   "compare A.json B.json --signer-a ADDRESS --signer-b ADDRESS",
		Short: "Bilateral T+0 confirmation: check two banks' signed results of a day against each other for their pair",
		Long: `Verifies both signed results (as jinlian recon verify does, each against
its bank's published reconciliation key) and compares them for the pair
of banks: that they cover the same heights with the same block and app
hashes and that the day was over for both; that what each result says
the chain moved between the two banks mirrors the other's (A's credits
from B are B's debits to A, per asset); that the two banks' books agree
about the pair; and lists every break either bank reported that is with
the other.

Exit status 0 when the results agree, 1 when they disagree (every
disagreement is listed first) or cannot be compared (different days,
time zones or chains, or both of one bank).`,
		Example: `  jinlian recon compare bankA-20261203-recon.json bankB-20261203-recon.json \
    --signer-a 1c0ddad0f42edb0cd9f10b48292a458b40e00114 --signer-b 5c3f3fd53d9f12532b1776bee772ef39201a000e`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (signerA == "" || signerB == "") && !anySigner {
				return errors.New("give --signer-a and --signer-b (each bank's published reconciliation key) or --any-signer")
			}
			a, whoA, err := verifyResultFile(args[0], signerA)
			if err != nil {
				return err
			}
			b, whoB, err := verifyResultFile(args[1], signerB)
			if err != nil {
				return err
			}
			cmp, err := recon.Compare(&a.Result, &b.Result)
			if err != nil {
				return err
			}
			res := struct {
				*recon.Comparison
				SignerA string `json:"signer_a"`
				SignerB string `json:"signer_b"`
			}{cmp, whoA, whoB}
			if err := emit(cmd.OutOrStdout(), g, res, func(w io.Writer) { printCompare(w, cmp, whoA, whoB) }); err != nil {
				return err
			}
			if !cmp.Agree {
				return fmt.Errorf("%w: %s and %s, %s: %d disagreements", errDisagree, cmp.A, cmp.B, cmp.Date, len(cmp.Disagreements))
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&signerA, "signer-a", "", "the expected signer of the first result (its bank's reconciliation key)")
	f.StringVar(&signerB, "signer-b", "", "the expected signer of the second result")
	f.BoolVar(&anySigner, "any-signer", false, "accept valid signatures by anyone for a result whose --signer-* is not given")
	return c
}

func printCompare(w io.Writer, c *recon.Comparison, whoA, whoB string) {
	fmt.Fprintf(w, "%s (signed by %s) and %s (signed by %s), %s (%s), chain %s\n", c.A, whoA, c.B, whoB, c.Date, c.TimeZone, c.ChainID)
	if len(c.Pairs) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "ASSET\tCHAIN %s→%s\tCHAIN %s→%s\tBOOKS %s→%s (%s / %s)\tBOOKS %s→%s (%s / %s)\t\t\n",
			c.A, c.B, c.B, c.A, c.A, c.B, c.A, c.B, c.B, c.A, c.A, c.B)
		for _, p := range c.Pairs {
			mark := ""
			if !p.Agree {
				mark = "differs"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s / %s\t%s / %s\t%s\t\n", p.Asset, p.A.ChainDebits, p.A.ChainCredits,
				p.A.InternalDebits, p.B.InternalCredits, p.A.InternalCredits, p.B.InternalDebits, mark)
		}
		tw.Flush()
	}
	if c.Agree {
		fmt.Fprintln(w, "the results agree: same heights and hashes, the chain's flows mirror, both books agree, no open break between them")
		return
	}
	fmt.Fprintf(w, "%d disagreements:\n", len(c.Disagreements))
	for _, d := range c.Disagreements {
		fmt.Fprintf(w, "  %-12s %s\n", strings.ReplaceAll(d.Kind, "_", " "), d.Detail)
	}
}
