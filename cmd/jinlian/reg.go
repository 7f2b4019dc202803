package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/nodecfg"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/regulator"
)

type regFlags struct {
	observer string
	from     string
	pass     passphraseFlag
	key      *gmcrypto.PrivateKey
}

// loadKey opens the signing key once per command.
func (f *regFlags) loadKey(g *globals) (*gmcrypto.PrivateKey, error) {
	if f.key != nil {
		return f.key, nil
	}
	path, err := keyPath(g.home, f.from)
	if err != nil {
		return nil, err
	}
	pw, err := f.pass.read("Passphrase for " + path + ": ")
	if err != nil {
		return nil, err
	}
	if _, f.key, err = gmcrypto.LoadKey(path, pw); err != nil {
		return nil, fmt.Errorf("key %s: %w", path, err)
	}
	return f.key, nil
}

func (f *regFlags) client(g *globals) (*regulator.Client, error) {
	k, err := f.loadKey(g)
	if err != nil {
		return nil, err
	}
	c := regulator.NewClient(f.observer, k)
	if strings.HasPrefix(c.BaseURL, "https://") {
		// The same --tls-* flags as for an https:// --node.
		t := g.node.tls
		if t.CAFile == "" {
			return nil, fmt.Errorf("observer %s: an https:// observer needs --tls-ca (the CA of its certificate)", f.observer)
		}
		if t.Mode == nodecfg.APITLSGM && t.KeyFile != "" && isKeystoreFile(t.KeyFile) {
			if err := loadKeystoreTLSKey(&t); err != nil {
				return nil, fmt.Errorf("observer %s: --tls-key: %w", f.observer, err)
			}
		}
		if c.HTTP, err = api.NewHTTPClient(t); err != nil {
			return nil, fmt.Errorf("observer %s: %w", f.observer, err)
		}
	}
	return c, nil
}

func newRegCmd(g *globals) *cobra.Command {
	f := &regFlags{}
	cmd := &cobra.Command{
		Use:   "reg",
		Short: "Regulator: query an observer's index, follow and acknowledge alerts, reports, decryption, audit log",
		Long: `Talks to a regulator observer's API (--observer, env JINLIAN_OBSERVER; the
default is the localnet's observer0; an https:// observer is reached with
--tls-mode and --tls-ca). Every request is signed with --from, an identity
holding the regulator or auditor role on chain, and bound to the observer's
host and a fresh nonce; the observer records each request in its signed
audit log.`,
	}
	obs := DefaultObserver
	if v := os.Getenv("JINLIAN_OBSERVER"); v != "" {
		obs = v
	}
	cmd.PersistentFlags().StringVar(&f.observer, "observer", obs, "regulator API of the observer (env JINLIAN_OBSERVER)")
	cmd.PersistentFlags().StringVar(&f.from, "from", "regulator", "signing identity: a name in <home>/keys (or <home>/localnet/keys) or a key file")
	cmd.PersistentFlags().StringVar(&f.pass.file, "passphrase-file", "", "file holding the key passphrase (else JINLIAN_PASSPHRASE, else a prompt)")
	cmd.AddCommand(regStatusCmd(g, f), regTxsCmd(g, f), regHistoryCmd(g, f), regAlertsCmd(g, f), regAckCmd(g, f),
		regReportCmd(g, f), regVerifyReportCmd(g), regDecryptCmd(g, f), regAuditCmd(g, f), regSQLSchemaCmd(), regSQLCmd(g, f), regSetThresholdCmd(g, f), regRegisterEscrowKeyCmd(g, f),
		regSanctionsCmd(g, f), regWhatIfCmd(g, f))
	return cmd
}

func regStatusCmd(g *globals, f *regFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Indexed height, open alerts and who you are to the observer",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client(g)
			if err != nil {
				return err
			}
			st, err := c.Status(cmd.Context())
			if err != nil {
				return err
			}
			return emit(cmd.OutOrStdout(), g, st, func(w io.Writer) {
				fmt.Fprintf(w, "chain:          %s\nindexed height: %d (node at %d)\nopen alerts:    %d\ndecryption:     %v\ncaller:         %s %v\n",
					st.ChainID, st.IndexedHeight, st.LatestHeight, st.OpenAlerts, st.Decryption, st.Caller.Address, st.Caller.Roles)
				fmt.Fprintf(w, "audit signer:   %s\n", st.AuditSigner)
				if st.FollowError != "" {
					fmt.Fprintf(w, "follower:       %s\n", st.FollowError)
				}
				if st.SQL != nil {
					fmt.Fprintf(w, "sql height:     %d\n", st.SQL.Height)
					if st.SQL.Error != "" {
						fmt.Fprintf(w, "sql behind:     %s\n", st.SQL.Error)
					}
				}
			})
		},
	}
}

// pageFlags are --limit, --cursor, --all and --desc.
type pageFlags struct {
	limit  int
	cursor string
	all    bool
	desc   bool
}

func (p *pageFlags) add(c *cobra.Command) {
	c.Flags().IntVar(&p.limit, "limit", 100, "items per page (1..1000)")
	c.Flags().StringVar(&p.cursor, "cursor", "", "continue after a previous page (its next_cursor)")
	c.Flags().BoolVar(&p.all, "all", false, "follow next_cursor to the end")
	c.Flags().BoolVar(&p.desc, "desc", false, "newest first")
}

func (p *pageFlags) values(q url.Values) url.Values {
	q.Set("limit", strconv.Itoa(p.limit))
	if p.desc {
		q.Set("order", "desc")
	}
	return q
}

// pages fetches one page, or every page with --all.
func pages[T any](ctx context.Context, p *pageFlags, q url.Values, get func(context.Context, url.Values) (*regulator.Page[T], error)) (*regulator.Page[T], error) {
	out := &regulator.Page[T]{Items: []T{}}
	cursor := p.cursor
	for {
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		page, err := get(ctx, q)
		if err != nil {
			return nil, err
		}
		out.Items = append(out.Items, page.Items...)
		out.NextCursor = page.NextCursor
		if cursor = page.NextCursor; !p.all || cursor == "" {
			return out, nil
		}
	}
}

func printNext(w io.Writer, next string) {
	if next != "" {
		fmt.Fprintf(w, "more: --cursor %s\n", next)
	}
}

func regTxsCmd(g *globals, f *regFlags) *cobra.Command {
	var account, ledger, asset, kind, min, max, from, to, sort string
	var p pageFlags
	c := &cobra.Command{
		Use:   "txs",
		Short: "Indexed movements by account, sub-ledger, asset, time and amount",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := f.client(g)
			if err != nil {
				return err
			}
			q := url.Values{}
			for k, v := range map[string]string{"account": account, "ledger": ledger, "asset": asset, "kind": kind,
				"min": min, "max": max, "from": from, "to": to, "sort": sort} {
				if v != "" {
					q.Set(k, v)
				}
			}
			page, err := pages(cmd.Context(), &p, p.values(q), cl.Txs)
			if err != nil {
				return err
			}
			return emit(cmd.OutOrStdout(), g, page, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
				fmt.Fprintln(tw, "TIME\tHEIGHT\tKIND\tLEDGER/ASSET\tAMOUNT\tFROM\tTO\tTX")
				for _, e := range page.Items {
					fmt.Fprintf(tw, "%s\t%d\t%s\t%s/%s\t%d\t%s %s\t%s %s\t%s\n", e.Time.Format(time.RFC3339), e.Height, e.Kind, e.Ledger, e.Asset,
						e.Amount, short(e.From), e.FromOrg, short(e.To), e.ToOrg, short(e.TxID))
				}
				tw.Flush()
				printNext(w, page.NextCursor)
			})
		},
	}
	c.Flags().StringVar(&account, "account", "", "either side of the movement")
	c.Flags().StringVar(&ledger, "ledger", "", "sub-ledger")
	c.Flags().StringVar(&asset, "asset", "", "asset symbol")
	c.Flags().StringVar(&kind, "kind", "", "issue, transfer or burn")
	c.Flags().StringVar(&min, "min", "", "smallest amount")
	c.Flags().StringVar(&max, "max", "", "largest amount")
	c.Flags().StringVar(&from, "since", "", "block time from (RFC 3339 or YYYY-MM-DD)")
	c.Flags().StringVar(&to, "until", "", "block time before (RFC 3339 or YYYY-MM-DD)")
	c.Flags().StringVar(&sort, "sort", "", "time (default) or amount (needs --asset)")
	p.add(c)
	return c
}

func short(s string) string {
	if len(s) > 10 {
		return s[:10] + "…"
	}
	return s
}

func regHistoryCmd(g *globals, f *regFlags) *cobra.Command {
	var asset, ledger, key string
	var p pageFlags
	c := &cobra.Command{
		Use:   "history ADDRESS",
		Short: "Every change of an account's keys: balances per asset, sanctions-list entry",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := f.client(g)
			if err != nil {
				return err
			}
			q := url.Values{}
			if key != "" {
				q.Set("key", key)
			} else if asset != "" {
				q.Set("key", ledger+"/"+asset)
			}
			page, err := pages(cmd.Context(), &p, p.values(q), func(ctx context.Context, q url.Values) (*regulator.Page[regulator.HistoryEntry], error) {
				return cl.History(ctx, args[0], q)
			})
			if err != nil {
				return err
			}
			return emit(cmd.OutOrStdout(), g, page, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
				fmt.Fprintln(tw, "TIME\tHEIGHT\tKEY\tKIND\tDELTA\tVALUE\tTX")
				for _, h := range page.Items {
					fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\n", h.Time.Format(time.RFC3339), h.Height, h.Key, h.Kind, h.Delta, h.Value, short(h.TxID))
				}
				tw.Flush()
				printNext(w, page.NextCursor)
			})
		},
	}
	c.Flags().StringVar(&asset, "asset", "", "only this asset's balance")
	c.Flags().StringVar(&ledger, "ledger", "payments", "sub-ledger of --asset")
	c.Flags().StringVar(&key, "key", "", "only this key (<ledger>/<asset> or sanctions)")
	p.add(c)
	return c
}

func printAlert(w io.Writer, a regulator.Alert) {
	fmt.Fprintf(w, "[%s] %s %-8s %-16s %s  %s\n    %s\n    txs: %s\n", a.Time.Format(time.RFC3339), a.ID, a.Severity, a.Rule, a.Status, a.Subject, a.Reason, strings.Join(a.TxIDs, " "))
	if a.Ack != nil {
		fmt.Fprintf(w, "    acknowledged by %s at %s: %s\n", a.Ack.By, a.Ack.At.Format(time.RFC3339), a.Ack.Note)
	}
}

func regAlertsCmd(g *globals, f *regFlags) *cobra.Command {
	var status, rule, severity, subject, account string
	var follow bool
	var since uint64
	var p pageFlags
	c := &cobra.Command{
		Use:   "alerts",
		Short: "List alerts, or follow them live (--follow)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := f.client(g)
			if err != nil {
				return err
			}
			if follow {
				return followAlerts(cmd, g, cl, since)
			}
			q := url.Values{}
			for k, v := range map[string]string{"status": status, "rule": rule, "severity": severity, "subject": subject, "account": account} {
				if v != "" {
					q.Set(k, v)
				}
			}
			if since > 0 {
				q.Set("since", strconv.FormatUint(since, 10))
			}
			page, err := pages(cmd.Context(), &p, p.values(q), cl.Alerts)
			if err != nil {
				return err
			}
			return emit(cmd.OutOrStdout(), g, page, func(w io.Writer) {
				if len(page.Items) == 0 {
					fmt.Fprintln(w, "no alerts")
				}
				for _, a := range page.Items {
					printAlert(w, a)
				}
				printNext(w, page.NextCursor)
			})
		},
	}
	c.Flags().StringVar(&status, "status", "", "open or acknowledged")
	c.Flags().StringVar(&rule, "rule", "", "rule id (large_amount, structuring, velocity, fast_in_fast_out, sanctioned, sanctions_attempt, cross_border)")
	c.Flags().StringVar(&severity, "severity", "", "low, medium, high or critical")
	c.Flags().StringVar(&subject, "subject", "", "subject contains (account, org pair)")
	c.Flags().StringVar(&account, "account", "", "only alerts whose subject names this account (an index read, not a filter of every alert)")
	c.Flags().BoolVar(&follow, "follow", false, "stream alerts as they are raised (server-sent events); reconnects after a drop")
	c.Flags().Uint64Var(&since, "since", 0, "only alerts after this seq (with --follow: replay from it)")
	p.add(c)
	return c
}

// followAlerts prints the stream until interrupted, resuming after the
// last alert seen whenever the connection drops.
func followAlerts(cmd *cobra.Command, g *globals, cl *regulator.Client, since uint64) error {
	ctx, stop := signalContext(cmd.Context())
	defer stop()
	w := cmd.OutOrStdout()
	enc := json.NewEncoder(w)
	last := since
	for {
		err := cl.Stream(ctx, last, func(e regulator.StreamEvent) error {
			if e.Kind == "alert" {
				last = e.Alert.Seq
			}
			if g.output == "json" {
				return enc.Encode(map[string]any{"event": e.Kind, "alert": e.Alert})
			}
			if e.Kind == "ack" {
				fmt.Fprintf(w, "acknowledged %s by %s: %s\n", e.Alert.ID, e.Alert.Ack.By, e.Alert.Ack.Note)
				return nil
			}
			printAlert(w, e.Alert)
			return nil
		})
		if ctx.Err() != nil {
			return nil
		}
		var ae *regulator.APIError
		if errors.As(err, &ae) {
			return err
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "alert stream interrupted (%v); reconnecting after seq %d\n", err, last)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(2 * time.Second):
		}
	}
}

func regAckCmd(g *globals, f *regFlags) *cobra.Command {
	var note string
	c := &cobra.Command{
		Use:   "ack ALERT_ID",
		Short: "Acknowledge an alert with a note (regulator role)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := f.client(g)
			if err != nil {
				return err
			}
			a, err := cl.Ack(cmd.Context(), args[0], note)
			if err != nil {
				return err
			}
			return emit(cmd.OutOrStdout(), g, a, func(w io.Writer) { printAlert(w, *a) })
		},
	}
	c.Flags().StringVar(&note, "note", "", "why the alert is closed (required)")
	_ = c.MarkFlagRequired("note")
	return c
}

func parseWhen(flag, v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--%s %q: want RFC 3339 or YYYY-MM-DD", flag, v)
}

func regReportCmd(g *globals, f *regFlags) *cobra.Command {
	var from, to, format, out string
	c := &cobra.Command{
		Use:   "report",
		Short: "Write a compliance report for a period, signed with the regulator's SM2 key (FILE and FILE.sig)",
		Long: `Fetches the period's totals per asset and organisation and its alerts with their
status from the observer, renders them as CSV or JSON and signs the exact bytes
with --key (SM2 with SM3). The signature is written next to the report as
FILE.sig; check it with jinlian reg verify-report FILE.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f0, err := parseWhen("from", from)
			if err != nil {
				return err
			}
			t0, err := parseWhen("to", to)
			if err != nil {
				return err
			}
			if format != "csv" && format != "json" {
				return fmt.Errorf("--format %q: want csv or json", format)
			}
			cl, err := f.client(g)
			if err != nil {
				return err
			}
			rep, err := cl.Report(cmd.Context(), f0, t0)
			if err != nil {
				return err
			}
			body := rep.CSV()
			if format == "json" {
				body = rep.JSON()
			}
			sig, err := regulator.SignReport(body, f.key)
			if err != nil {
				return err
			}
			sigb, _ := json.MarshalIndent(sig, "", "  ")
			if err := os.WriteFile(out, body, 0o644); err != nil {
				return err
			}
			if err := os.WriteFile(out+".sig", append(sigb, '\n'), 0o644); err != nil {
				return err
			}
			res := map[string]any{"report": out, "signature": out + ".sig", "signer": sig.Signer, "sm3": sig.SM3,
				"movements": rep.Movements, "alerts": len(rep.Alerts)}
			return emit(cmd.OutOrStdout(), g, res, func(w io.Writer) {
				fmt.Fprintf(w, "wrote %s (%d movements, %d alerts, %d totals) and %s, signed by %s\n", out, rep.Movements, len(rep.Alerts), len(rep.Totals), out+".sig", sig.Signer)
			})
		},
	}
	c.Flags().StringVar(&from, "from", "", "period start, block time (RFC 3339 or YYYY-MM-DD)")
	c.Flags().StringVar(&to, "to", "", "period end, exclusive")
	c.Flags().StringVar(&format, "format", "csv", "csv or json")
	c.Flags().StringVar(&out, "out", "", "report file (its signature goes to FILE.sig)")
	// --from names the period here, so the signing key is --key.
	c.Flags().StringVar(&f.from, "key", "regulator", "signing identity (the regulator's key)")
	_ = c.MarkFlagRequired("from")
	_ = c.MarkFlagRequired("to")
	_ = c.MarkFlagRequired("out")
	return c
}

func regVerifyReportCmd(g *globals) *cobra.Command {
	var sigFile, signer string
	var anySigner bool
	c := &cobra.Command{
		Use:   "verify-report FILE --signer ADDRESS",
		Short: "Check a report against its SM2 signature (FILE.sig) by the expected signer",
		Long: `Recomputes the report file's SM3, checks the SM2 signature in FILE.sig and
that the signer is --signer (the observer's report key, as the regulator
published it). A valid signature by someone else proves nothing, so
--signer is required; --any-signer accepts any valid signature and prints
who made it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if signer == "" && !anySigner {
				return fmt.Errorf("give --signer ADDRESS (the expected signer of the report) or --any-signer")
			}
			if sigFile == "" {
				sigFile = args[0] + ".sig"
			}
			body, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			sb, err := os.ReadFile(sigFile)
			if err != nil {
				return err
			}
			var sig regulator.ReportSignature
			if err := json.Unmarshal(sb, &sig); err != nil {
				return fmt.Errorf("%s: %w", sigFile, err)
			}
			who, err := regulator.VerifyReport(body, &sig)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if signer != "" {
				want, err := gmcrypto.ParseAddress(signer)
				if err != nil {
					return fmt.Errorf("--signer: %w", err)
				}
				if want.String() != who {
					return fmt.Errorf("%s: %w: signed by %s, not by %s", args[0], regulator.ErrBadReportSignature, who, want)
				}
			}
			res := map[string]any{"report": args[0], "valid": true, "signer": who, "sm3": sig.SM3}
			return emit(cmd.OutOrStdout(), g, res, func(w io.Writer) {
				fmt.Fprintf(w, "%s: valid SM2 signature by %s\n", args[0], who)
			})
		},
	}
	c.Flags().StringVar(&sigFile, "sig", "", "signature file (default FILE.sig)")
	c.Flags().StringVar(&signer, "signer", "", "the expected signer's address (required unless --any-signer)")
	c.Flags().BoolVar(&anySigner, "any-signer", false, "accept a valid signature by anyone and print who signed")
	return c
}

func regDecryptCmd(g *globals, f *regFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "decrypt TXID",
		Short: "Decrypt a transaction's confidential payload with the observer's escrow key (audited)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := f.client(g)
			if err != nil {
				return err
			}
			d, err := cl.Decrypt(cmd.Context(), strings.ToLower(args[0]))
			if err != nil {
				return err
			}
			return emit(cmd.OutOrStdout(), g, d, func(w io.Writer) {
				if d.Plaintext != "" {
					fmt.Fprint(w, strings.TrimSuffix(d.Plaintext, "\n")+"\n")
				} else {
					fmt.Fprintln(w, d.PlaintextBase64)
				}
			})
		},
	}
}

func regAuditCmd(g *globals, f *regFlags) *cobra.Command {
	var who string
	var p pageFlags
	c := &cobra.Command{
		Use:   "audit",
		Short: "The observer's audit log: who queried or decrypted what, when",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := f.client(g)
			if err != nil {
				return err
			}
			q := url.Values{}
			if who != "" {
				q.Set("who", who)
			}
			page, err := pages(cmd.Context(), &p, p.values(q), cl.Audit)
			if err != nil {
				return err
			}
			return emit(cmd.OutOrStdout(), g, page, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
				fmt.Fprintln(tw, "SEQ\tAT\tWHO\tACTION\tSTATUS\tTARGET")
				for _, e := range page.Items {
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\n", e.Seq, e.At.Format(time.RFC3339), e.Who, e.Action, e.Status, e.Target)
				}
				tw.Flush()
				printNext(w, page.NextCursor)
			})
		},
	}
	c.Flags().StringVar(&who, "who", "", "only this caller's requests (address)")
	p.add(c)
	c.AddCommand(regAuditExportCmd(g, f), regAuditVerifyCmd(g))
	return c
}

func regAuditExportCmd(g *globals, f *regFlags) *cobra.Command {
	var out, store string
	c := &cobra.Command{
		Use:   "export --out FILE",
		Short: "Write the whole audit log, with its hash chain and SM2 signatures, as JSON lines",
		Long: `Reads every entry through the observer's API (or, with --store, straight from
the operator store of a stopped observer: <home>/data/regulator_operator.badger)
and writes one JSON object per line. Check it anywhere with
jinlian reg audit verify FILE --pubkey <the observer's SM2 public key>.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var entries []regulator.AuditEntry
			if store != "" {
				var err error
				if entries, err = regulator.ReadAuditStore(store); err != nil {
					return err
				}
			} else {
				cl, err := f.client(g)
				if err != nil {
					return err
				}
				page, err := pages(cmd.Context(), &pageFlags{limit: regulator.MaxPageSize, all: true}, url.Values{"limit": {strconv.Itoa(regulator.MaxPageSize)}}, cl.Audit)
				if err != nil {
					return err
				}
				entries = page.Items
			}
			fh, err := os.Create(out)
			if err != nil {
				return err
			}
			if err := regulator.WriteAuditJSONL(fh, entries); err != nil {
				fh.Close()
				return err
			}
			if err := fh.Close(); err != nil {
				return err
			}
			res := map[string]any{"file": out, "entries": len(entries)}
			if n := len(entries); n > 0 {
				res["head_seq"], res["head_hash"], res["signer"] = entries[n-1].Seq, entries[n-1].Hash, entries[n-1].Signer
			}
			return emit(cmd.OutOrStdout(), g, res, func(w io.Writer) {
				fmt.Fprintf(w, "wrote %d audit entries to %s\n", len(entries), out)
				if n := len(entries); n > 0 {
					fmt.Fprintf(w, "head: seq %d hash %s\nsigner: %s\n", entries[n-1].Seq, entries[n-1].Hash, entries[n-1].Signer)
				}
			})
		},
	}
	c.Flags().StringVar(&out, "out", "", "file to write (JSON lines)")
	c.Flags().StringVar(&store, "store", "", "read the operator store directory of a stopped observer instead of its API")
	_ = c.MarkFlagRequired("out")
	return c
}

func regAuditVerifyCmd(g *globals) *cobra.Command {
	var pubkeys []string
	c := &cobra.Command{
		Use:   "verify FILE",
		Short: "Check an exported audit log offline (SM3 hash chain, SM2 signatures) and name the first broken seq",
		Long: `Recomputes every entry's SM3 hash, checks that each entry's prev is the hash
of the one before (the first: the fixed genesis tag) and that seqs run 1, 2,
3… without a gap, and checks each SM2 signature. With --pubkey (hex public
key, a PEM public key or a jinlian key file; repeatable) every entry must be
signed by one of those keys: without it, a forger could re-sign the chain.
An entry edited, deleted, inserted or moved fails at its seq. Entries cut
off the end are not detectable from the file alone: compare the head it
prints with one recorded earlier.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var trusted []*gmcrypto.PublicKey
			for _, p := range pubkeys {
				k, err := parsePubKeyArg(p)
				if err != nil {
					return fmt.Errorf("--pubkey %s: %w", p, err)
				}
				trusted = append(trusted, k)
			}
			fh, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer fh.Close()
			entries, err := regulator.ReadAuditJSONL(fh)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			sum, err := regulator.VerifyAudit(entries, trusted)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			res := map[string]any{"file": args[0], "valid": true, "entries": sum.Entries, "head_seq": sum.HeadSeq,
				"head_hash": sum.HeadHash, "signers": sum.Signers, "pinned": len(trusted) > 0}
			return emit(cmd.OutOrStdout(), g, res, func(w io.Writer) {
				fmt.Fprintf(w, "%s: %d entries, chain and SM2 signatures valid\nhead: seq %d hash %s\n", args[0], sum.Entries, sum.HeadSeq, sum.HeadHash)
				for _, s := range sum.Signers {
					fmt.Fprintf(w, "signer: %s\n", s)
				}
				if len(trusted) == 0 {
					fmt.Fprintln(w, "warning: no --pubkey: the signer is not checked against the observer's key")
				}
			})
		},
	}
	c.Flags().StringSliceVar(&pubkeys, "pubkey", nil, "the observer's SM2 public key (hex, PEM file or jinlian key file); repeatable")
	return c
}

// parsePubKeyArg reads a public key: hex, a PEM file or a jinlian key file.
func parsePubKeyArg(v string) (*gmcrypto.PublicKey, error) {
	if b, err := hex.DecodeString(strings.TrimPrefix(v, "0x")); err == nil {
		return gmcrypto.ParsePublicKey(b)
	}
	if info, err := gmcrypto.ReadKeyInfo(v); err == nil && info.PublicKey != "" {
		return gmcrypto.ParsePublicKeyPEM([]byte(info.PublicKey))
	}
	b, err := os.ReadFile(v)
	if err != nil {
		return nil, err
	}
	return gmcrypto.ParsePublicKeyPEM(b)
}

// signalContext ends at SIGINT or SIGTERM.
func signalContext(parent context.Context) (context.Context, context.CancelFunc) {
	if parent == nil {
		parent = context.Background()
	}
	return signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
}

func regSQLSchemaCmd() *cobra.Command {
	var jinlianOnly bool
	c := &cobra.Command{
		Use:   "sql-schema",
		Short: "Print the PostgreSQL schema: CometBFT's psql event sink, the regulator's tables and views, jinlian's view over the sink",
		Long: `The regulator service creates its own tables (jinlian_movements,
jinlian_alerts, jinlian_block_times, jinlian_sql_cursor and the analyst
views) when regulator.sql is set; --jinlian-only prints just those, for a DBA
who installs schemas by hand. Without it the output also holds CometBFT's
psql event-sink tables and the jinlian_txs view over them: install it in an
empty database before an observer with
  [tx_index]
  indexer = "psql"
  psql-conn = "postgres://USER:PASS@HOST:5432/DB?sslmode=disable"
starts, e.g. jinlian reg sql-schema | psql "postgres://..."; see docs/regulator.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := cmd.OutOrStdout()
			if jinlianOnly {
				fmt.Fprintln(w, regulator.PsqlJinlianSchema)
				return nil
			}
			fmt.Fprintln(w, regulator.PsqlCometBFTSchema)
			fmt.Fprintln(w, regulator.PsqlJinlianSchema)
			fmt.Fprintln(w, regulator.PsqlCometBFTViews)
			return nil
		},
	}
	c.Flags().BoolVar(&jinlianOnly, "jinlian-only", false, "only the regulator's tables and views (no CometBFT event sink)")
	return c
}

func regSQLCmd(g *globals, f *regFlags) *cobra.Command {
	c := &cobra.Command{
		Use:   "sql",
		Short: "The observer's PostgreSQL tables for analysts (regulator.sql)",
	}
	c.AddCommand(regSQLBackfillCmd(g, f))
	return c
}

func regSQLBackfillCmd(g *globals, f *regFlags) *cobra.Command {
	var from int64
	c := &cobra.Command{
		Use:   "backfill --from-height HEIGHT",
		Short: "Reload the observer's SQL tables from a height to the last indexed one (regulator role)",
		Long: `Asks the running observer (POST /v1/sql/backfill) to reload its PostgreSQL
tables from --from-height to its last indexed height, from its own index: each batch
of blocks is deleted and inserted again in one SQL transaction with the
cursor, so the tables never miss a row while it runs and running it twice
changes nothing. Use it after rebuilding the index under new rules, or after
rows were edited by hand. Enabling SQL needs no backfill: an empty database
gets the whole history by itself. The request is in the audit log, signed
with --from like every reg command.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := f.client(g)
			if err != nil {
				return err
			}
			out, err := cl.SQLBackfill(cmd.Context(), from)
			if err != nil {
				return err
			}
			return emit(cmd.OutOrStdout(), g, out, func(w io.Writer) {
				fmt.Fprintf(w, "reloaded heights %d..%d: %d movements\n", out.From, out.To, out.Movements)
			})
		},
	}
	// Not --from: that is the signing identity of every command.
	c.Flags().Int64Var(&from, "from-height", 1, "first height to reload (1: the whole history)")
	return c
}

func regWhatIfCmd(g *globals, f *regFlags) *cobra.Command {
	var rules string
	var from, to int64
	var limit int
	c := &cobra.Command{
		Use:   "whatif --rules FILE",
		Short: "Replay the observer's chain under another rule file and compare the alerts with the live ones (regulator role)",
		Long: `Asks the running observer (POST /v1/whatif) to replay its chain from genesis
under the rule file --rules, into an index of its own that it deletes
afterwards, and prints the alerts those rules raise at heights
--from-height..--to-height, each marked new (the live index has no such
alert), same (it has; its id and status are shown), or gone (a live alert
these rules would not raise). Alerts are the same when rule, height, subject
and transactions agree. The live index, its alerts and acknowledgements are
not touched; the request is in the audit log. The replay always
starts at genesis, so windows and daily totals that began before
--from-height count as they do live. The rule file is checked here first: a
bad one is refused with the key it names.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := regulator.LoadRules(rules); err != nil {
				return err
			}
			b, err := os.ReadFile(rules)
			if err != nil {
				return err
			}
			cl, err := f.client(g)
			if err != nil {
				return err
			}
			out, err := cl.WhatIf(cmd.Context(), regulator.WhatIfRequest{Rules: string(b), From: from, To: to, Limit: limit})
			if err != nil {
				return err
			}
			return emit(cmd.OutOrStdout(), g, out, func(w io.Writer) {
				fmt.Fprintf(w, "what-if under %s (SM3 %s), heights %d..%d (replayed from genesis): %d alerts, live %d: %d new, %d gone, %d same\n",
					rules, out.RulesSM3, out.From, out.To, out.Raised, out.Live, out.New, out.Gone, out.Same)
				for _, a := range out.Alerts {
					live := ""
					if a.LiveID != "" {
						live = fmt.Sprintf("  (live %s, %s)", a.LiveID, a.LiveStatus)
					}
					fmt.Fprintf(w, "%-4s [%s] %s %-8s %-16s %s%s\n    %s\n    txs: %s\n", a.Change, a.Time.Format(time.RFC3339), a.ID, a.Severity, a.Rule, a.Subject, live,
						a.Reason, strings.Join(a.TxIDs, " "))
				}
				if out.Truncated {
					fmt.Fprintln(w, "(not every alert is listed: --limit bounds each change; the counts above are complete)")
				}
			})
		},
	}
	c.Flags().StringVar(&rules, "rules", "", "the rule file (TOML) to replay under")
	c.Flags().Int64Var(&from, "from-height", 1, "first height whose alerts are compared")
	c.Flags().Int64Var(&to, "to-height", 0, "last height replayed (0: the observer's last indexed height)")
	c.Flags().IntVar(&limit, "limit", regulator.MaxPageSize, fmt.Sprintf("alerts listed per change (new, gone, same; at most %d)", regulator.MaxPageSize))
	_ = c.MarkFlagRequired("rules")
	return c
}

func regRegisterEscrowKeyCmd(g *globals, f *regFlags) *cobra.Command {
	var keyName string
	var keyPass passphraseFlag
	tf := &txFlags{timeout: 30 * time.Second}
	c := &cobra.Command{
		Use:   "register-escrow-key",
		Short: "Register on chain the SM2 public key that confidential payloads must be readable by (regulator role)",
		Long: `Sends a RegisterEscrowKey transaction on the system channel: from then on
every confidential transfer must carry a key share for this public key, and
the observer holding its private key (regulator.key) can decrypt them.
--key names the key (default: the --from key itself); only its public half
goes on chain. Registering again replaces the sender's key; payloads sealed
before stay readable only with the old private key.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tf.from, tf.pass, tf.ledger = f.from, f.pass, permission.SystemLedger
			name, pass := f.from, f.pass
			if keyName != "" {
				name, pass = keyName, keyPass
			}
			path, err := keyPath(g.home, name)
			if err != nil {
				return err
			}
			pw, err := pass.read("Passphrase for " + path + ": ")
			if err != nil {
				return err
			}
			_, key, err := gmcrypto.LoadKey(path, pw)
			if err != nil {
				return fmt.Errorf("escrow key %s: %w", path, err)
			}
			return sendTx(cmd, g, tf, &txpb.Message{Body: &txpb.Message_RegisterEscrowKey{RegisterEscrowKey: &txpb.RegisterEscrowKey{
				PublicKey: key.Public().Bytes()}}})
		},
	}
	c.Flags().StringVar(&keyName, "key", "", "the escrow key: a key name or file (default: the --from key)")
	c.Flags().StringVar(&keyPass.file, "key-passphrase-file", "", "file holding the passphrase of --key (else JINLIAN_PASSPHRASE, else a prompt)")
	return c
}

func regSetThresholdCmd(g *globals, f *regFlags) *cobra.Command {
	var ledgerName, asset string
	var amount uint64
	tf := &txFlags{timeout: 30 * time.Second}
	c := &cobra.Command{
		Use:   "set-threshold",
		Short: "Set on chain the large-amount threshold every observer's rule engine applies to an asset (0 clears it)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tf.from, tf.pass, tf.ledger = f.from, f.pass, permission.SystemLedger
			return sendTx(cmd, g, tf, &txpb.Message{Body: &txpb.Message_SetAmlThreshold{SetAmlThreshold: &txpb.SetAMLThreshold{
				Ledger: ledgerName, Asset: asset, LargeAmount: amount}}})
		},
	}
	c.Flags().StringVar(&ledgerName, "ledger", "payments", "sub-ledger")
	c.Flags().StringVar(&asset, "asset", "", "asset symbol")
	c.Flags().Uint64Var(&amount, "amount", 0, "threshold in the asset's smallest unit (0 clears the on-chain value)")
	_ = c.MarkFlagRequired("asset")
	return c
}

func regSanctionsCmd(g *globals, f *regFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sanctions",
		Short: "Maintain the consortium sanctions list on chain (regulator role) and read it",
		Long: `add and remove send a SetSanction transaction on the system channel,
signed with --from (an identity holding the regulator role), to --node; the
chain records the entry with its reason, its list source, the regulator and
the height. list reads the app's /sanctions query from --node (regulator or
auditor, through a node API that gates queries).

A transfer, issue or burn naming a listed account passes the mempool if
nothing else is wrong with it and fails in its block with code 10
(permission): the attempt is on chain, and every observer raises a
sanctions_attempt alert naming sender, target, amount and height.`,
	}
	tf := &txFlags{timeout: 30 * time.Second}
	send := func(cmd *cobra.Command, m *txpb.SetSanction) error {
		tf.from, tf.pass, tf.ledger = f.from, f.pass, permission.SystemLedger
		return sendTx(cmd, g, tf, &txpb.Message{Body: &txpb.Message_SetSanction{SetSanction: m}})
	}
	account := func(arg string) ([]byte, error) {
		a, err := gmcrypto.ParseAddress(arg)
		if err != nil {
			return nil, fmt.Errorf("account %q: %w", arg, err)
		}
		return a.Bytes(), nil
	}
	var entry, reason, source string
	add := &cobra.Command{
		Use:   "add ADDRESS --entry ID --reason TEXT --source LIST",
		Short: "List an account: transfers, issues and burns naming it fail in their block and raise sanctions_attempt alerts",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			acct, err := account(args[0])
			if err != nil {
				return err
			}
			for _, f := range [][2]string{{"--entry", entry}, {"--reason", reason}, {"--source", source}} {
				if strings.TrimSpace(f[1]) == "" {
					return fmt.Errorf("%s must not be empty", f[0])
				}
			}
			return send(cmd, &txpb.SetSanction{Account: acct, Entry: entry, Reason: reason, Source: source})
		},
	}
	add.Flags().StringVar(&entry, "entry", "", "the entry's id in its list, e.g. SDN-12345")
	add.Flags().StringVar(&reason, "reason", "", "why the account is listed (recorded on chain)")
	add.Flags().StringVar(&source, "source", "", "the list the entry comes from, e.g. \"OFAC SDN 2026-03-01\" (recorded on chain)")
	for _, n := range []string{"entry", "reason", "source"} {
		_ = add.MarkFlagRequired(n)
	}
	var removeReason string
	remove := &cobra.Command{
		Use:   "remove ADDRESS --reason TEXT",
		Short: "Take an account off the list (the reason goes into the transaction's sanction event)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			acct, err := account(args[0])
			if err != nil {
				return err
			}
			if strings.TrimSpace(removeReason) == "" {
				return errors.New("--reason must not be empty")
			}
			return send(cmd, &txpb.SetSanction{Account: acct, Remove: true, Reason: removeReason})
		},
	}
	remove.Flags().StringVar(&removeReason, "reason", "", "why the account is taken off the list")
	_ = remove.MarkFlagRequired("reason")
	for _, c := range []*cobra.Command{add, remove} {
		c.Flags().DurationVar(&tf.timeout, "timeout", tf.timeout, "how long to wait for the transaction's block")
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "The sanctions list as the chain holds it (the app's /sanctions query on --node)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out []permission.Sanction
			if err := abciQuery(cmd.Context(), g.node, app.QuerySanctions, nil, 0, &out); err != nil {
				return err
			}
			if out == nil {
				out = []permission.Sanction{}
			}
			return emit(cmd.OutOrStdout(), g, out, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "ACCOUNT\tENTRY\tSOURCE\tREASON\tBY\tHEIGHT")
				for _, s := range out {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", s.Account, s.Entry, s.Source, s.Reason, s.By, s.Height)
				}
				_ = tw.Flush()
			})
		},
	}
	cmd.AddCommand(add, remove, list)
	return cmd
}
