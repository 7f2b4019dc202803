package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/recon"
)

// watchState is what recon watch keeps in its output folder: the next
// day to reconcile. It is written after a day's files, so a restart
// redoes at most the day it was working on and never skips one.
type watchState struct {
	Org  string `json:"org"`
	Next string `json:"next"` // YYYY-MM-DD
}

func watchStatePath(dir, org string) string {
	return filepath.Join(dir, ".recon-watch-"+org+".json")
}

func readWatchState(dir, org string) (*watchState, error) {
	b, err := os.ReadFile(watchStatePath(dir, org))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var st watchState
	if err := json.Unmarshal(b, &st); err != nil || st.Org != org {
		return nil, fmt.Errorf("%s: not recon watch's state of %s (remove it to start again with --since): %v", watchStatePath(dir, org), org, err)
	}
	if _, err := time.Parse(recon.DateLayout, st.Next); err != nil {
		return nil, fmt.Errorf("%s: next day %q: %w", watchStatePath(dir, org), st.Next, err)
	}
	return &st, nil
}

func writeWatchState(dir string, st watchState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	path := watchStatePath(dir, st.Org)
	if err := os.WriteFile(path+".tmp", append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

// internalFileOf names a day's internal file from a pattern with {date}
// (2026-12-03) or {yyyymmdd} (20261203).
func internalFileOf(pattern, date string) string {
	return strings.NewReplacer("{date}", date, "{yyyymmdd}", strings.ReplaceAll(date, "-", "")).Replace(pattern)
}

func nextDate(date string) string {
	d, _ := time.Parse(recon.DateLayout, date)
	return d.AddDate(0, 0, 1).Format(recon.DateLayout)
}

// watcher reconciles one organisation's days in order.
type watcher struct {
	g        *globals
	org      string
	internal string // pattern
	outDir   string
	mapping  recon.Mapping
	key      *gmcrypto.PrivateKey
	poll     time.Duration
	once     bool
	out, log io.Writer
	said     string // the last wait reported, said once
}

// errWaiting ends a --once run at a day that cannot be done yet.
var errWaiting = errors.New("waiting")

// run reconciles from next on until ctx ends (or, with once, until a
// day cannot be done yet).
func (w *watcher) run(ctx context.Context, next string) error {
	for {
		err := w.day(ctx, next)
		if ctx.Err() != nil {
			return nil // stopped: what was cut short is done again next time
		}
		switch {
		case err == nil:
			next = nextDate(next)
			if err := writeWatchState(w.outDir, watchState{Org: w.org, Next: next}); err != nil {
				return err
			}
			continue
		case errors.Is(err, errWaiting):
			if w.once {
				return nil
			}
		case w.once:
			return err
		default:
			w.wait(err.Error())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(w.poll):
		}
	}
}

// wait reports why the watch waits, once per reason.
func (w *watcher) wait(why string) {
	if why != w.said {
		fmt.Fprintln(w.log, "recon watch: "+why)
		w.said = why
	}
}

// day reconciles one day once it is over and its file is there, and
// writes its files: the result (signed with --from) and its breaks.
func (w *watcher) day(ctx context.Context, date string) error {
	path := internalFileOf(w.internal, date)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		// The day must be over first: check on the chain before asking
		// for a file the bank exports after its cutoff.
		if over, err := w.over(ctx, date); err != nil || !over {
			return err
		}
		w.wait(fmt.Sprintf("%s is over; waiting for the internal file %s", date, path))
		return errWaiting
	} else if err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	res, err := reconcileDay(rctx, w.g, recon.Request{Org: w.org, Date: date}, path, w.mapping)
	if err != nil {
		return fmt.Errorf("%s: %w", date, err)
	}
	if !res.Chain.Complete {
		w.wait(fmt.Sprintf("%s is not over yet: waiting for its last block", date))
		return errWaiting
	}
	stem := filepath.Join(w.outDir, w.org+"-"+strings.ReplaceAll(date, "-", ""))
	if err := writeResult(stem+"-recon.json", res, w.key); err != nil {
		return err
	}
	if err := writeBreaksCSV(stem+"-breaks.csv", res.Breaks); err != nil {
		return err
	}
	signed, heights := "", "no block"
	if w.key != nil {
		signed = " (signed by " + w.key.Public().Address().String() + ")"
	}
	if res.Chain.FromHeight > 0 {
		heights = fmt.Sprintf("heights %d..%d", res.Chain.FromHeight, res.Chain.ToHeight)
	}
	fmt.Fprintf(w.out, "%s (%s): %d chain movements, %d internal lines: %d matched, %d breaks → %s-recon.json%s, %s-breaks.csv\n",
		date, heights, res.Summary.ChainMovements, res.Summary.InternalRecords, res.Summary.Matched, res.Summary.Breaks, stem, signed, stem)
	w.said = ""
	return nil
}

// over reports whether the chain has a block after the day, from its
// statement (which says so without the internal file).
func (w *watcher) over(ctx context.Context, date string) (bool, error) {
	rctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	st, err := fetchStatement(rctx, w.g.node, recon.Request{Org: w.org, Date: date})
	if err != nil {
		return false, fmt.Errorf("%s: %w", date, err)
	}
	if !st.Day.Complete {
		w.wait(fmt.Sprintf("%s is not over yet: waiting for its last block", date))
		return false, errWaiting
	}
	return true, nil
}

func writeBreaksCSV(path string, breaks []recon.Break) error {
	f, err := os.Create(path + ".tmp")
	if err != nil {
		return err
	}
	if err := recon.WriteBreaksCSV(f, breaks); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

func reconWatchCmd(g *globals) *cobra.Command {
	var w watcher
	var since, mapping, encoding, from string
	var pass passphraseFlag
	c := &cobra.Command{
		Use:   "watch --org ORG --internal 'DIR/ORG-{yyyymmdd}.csv' --out-dir DIR [--from KEY]",
		Short: "Reconcile every business day as it ends: what recon run does, on a schedule, resuming after a restart without skipping a day",
		Long: `Runs recon run for each business day in turn, from --since (or, after
the first run, from the day after the last one it finished, kept in
DIR/.recon-watch-ORG.json). A day is reconciled once the chain has a
block after it (the day cut of recon.timezone) and its internal file is
there: --internal names it with {date} (2026-12-03) or {yyyymmdd}
(20261203). For each day it writes ORG-YYYYMMDD-recon.json (signed with
--from) and ORG-YYYYMMDD-breaks.csv into --out-dir, then prints one line.

It waits, saying why once, while the day is not over, while the file is
missing, while the node cannot be reached, and while the file cannot be
reconciled (a malformed file, one of another day): it never skips a day.
A restart resumes with the day it was working on. --once does every day
it can and exits (for cron); it exits 1 on a file it cannot reconcile.`,
		Example: `  jinlian recon watch --node https://127.0.0.1:26680 --tls-ca api-ca.pem --tls-key bankA.json \
    --org bankA --internal '/data/core/bankA-{yyyymmdd}.csv' --out-dir /data/recon --from bankA-recon --since 2026-12-01
  jinlian recon watch --org bankA --internal 'in/{date}.csv' --out-dir out --once`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case w.org == "":
				return errors.New("--org ORG is required: it names the files")
			case !strings.Contains(w.internal, "{date}") && !strings.Contains(w.internal, "{yyyymmdd}"):
				return fmt.Errorf("--internal %q names no day: put {date} or {yyyymmdd} where the day goes", w.internal)
			case w.outDir == "":
				return errors.New("--out-dir DIR is required: where the results and the watch's state go")
			case w.poll <= 0:
				return fmt.Errorf("--poll %s: want a positive duration", w.poll)
			}
			if since != "" {
				if _, err := time.Parse(recon.DateLayout, since); err != nil {
					return fmt.Errorf("--since %q: want YYYY-MM-DD", since)
				}
			}
			var err error
			if w.mapping, err = loadMapping(mapping, encoding); err != nil {
				return err
			}
			if w.key, err = loadSigningKey(g, from, &pass); err != nil {
				return err
			}
			if err := os.MkdirAll(w.outDir, 0o755); err != nil {
				return err
			}
			st, err := readWatchState(w.outDir, w.org)
			if err != nil {
				return err
			}
			next := since
			switch {
			case st != nil:
				if since != "" && since != st.Next {
					fmt.Fprintf(cmd.ErrOrStderr(), "recon watch: resuming at %s from %s; --since %s is ignored (remove that file to start again)\n",
						st.Next, watchStatePath(w.outDir, w.org), since)
				}
				next = st.Next
			case since == "":
				return errors.New("--since YYYY-MM-DD is required on the first run: the first day to reconcile")
			}
			w.g, w.out, w.log = g, cmd.OutOrStdout(), cmd.ErrOrStderr()
			return w.run(cmd.Context(), next)
		},
	}
	f := c.Flags()
	f.StringVar(&w.org, "org", "", "organisation (required)")
	f.StringVar(&w.internal, "internal", "", "the internal ledger files: a path with {date} or {yyyymmdd}")
	f.StringVar(&w.outDir, "out-dir", "", "where to write each day's result and breaks, and the watch's state")
	f.StringVar(&since, "since", "", "the first day to reconcile, YYYY-MM-DD (required on the first run)")
	reconFileFlags(c, &mapping, &encoding, &from, &pass)
	f.DurationVar(&w.poll, "poll", 30*time.Second, "how often to look again while waiting")
	f.BoolVar(&w.once, "once", false, "reconcile every day that can be done now, then exit (for cron)")
	return c
}
