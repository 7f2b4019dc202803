package regulator

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq" // the postgres driver, as CometBFT's psql sink uses
)

// The regulator's SQL tables (jinlian.sql) are written by the regulator
// service from its own index, as a downstream consumer with its own cursor
// (jinlian_sql_cursor: the highest height loaded, committed in the same SQL
// transaction as the rows): an outage of PostgreSQL delays them, never the
// index, the rules or the alerts; when the database answers again they
// catch up from the cursor with no gap; a database with no cursor yet gets
// the whole history. CometBFT's psql event sink (cometbft_schema.sql, and
// the views over it in cometbft_views.sql) is optional and independent.
//
// PsqlCometBFTSchema is CometBFT's event-sink schema (tx_index.indexer =
// "psql"); PsqlCometBFTViews jinlian's views over it; PsqlJinlianSchema the
// regulator's own tables and views, which the service installs itself
// (every statement is idempotent). `jinlian reg sql-schema` prints them.
var (
	//go:embed sql/cometbft_schema.sql
	PsqlCometBFTSchema string
	//go:embed sql/cometbft_views.sql
	PsqlCometBFTViews string
	//go:embed sql/jinlian.sql
	PsqlJinlianSchema string
)

// SQL tables the sink writes, and their columns in COPY order.
var (
	movementColumns = []string{"chain_id", "height", "tx_index", "event", "tx_id", "block_time", "kind", "ledger", "asset",
		"sender", "sender_org", "recipient", "recipient_org", "amount", "memo", "sender_balance", "recipient_balance", "refund"}
	alertColumns     = []string{"chain_id", "id", "seq", "height", "block_time", "rule", "severity", "subject", "tx_ids", "reason"}
	blockTimeColumns = []string{"chain_id", "height", "time"}
)

// movementRow is the jinlian_movements row of an indexed movement. A
// column that does not apply to the kind is NULL: an issue has no sender
// balance (the issuer's is not moved), a burn or redemption no recipient.
// refund is never NULL: false but for the refund of a PvP trade.
func movementRow(chain string, e *Entry, memo string) []any {
	str := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	num := func(v uint64) any { return strconv.FormatUint(v, 10) }
	var fromBal, toBal any
	switch e.Kind {
	case KindIssue, KindRedemptionReturned:
		toBal = num(e.ToBalance)
	case KindBurn, KindRedeem:
		fromBal = num(e.FromBalance)
	default:
		fromBal, toBal = num(e.FromBalance), num(e.ToBalance)
	}
	if e.To == "" {
		toBal = nil
	}
	return []any{chain, e.Height, int64(e.Index), int64(e.Event), e.TxID, e.Time.UTC(), e.Kind, e.Ledger, e.Asset,
		e.From, str(e.FromOrg), str(e.To), str(e.ToOrg), num(e.Amount), str(memo), fromBal, toBal, e.Refund}
}

// alertRow is the jinlian_alerts row of an alert (its deterministic part:
// acknowledgements are the operator's and stay in the observer).
func alertRow(chain string, a *Alert) []any {
	ids := a.TxIDs
	if ids == nil {
		ids = []string{}
	}
	return []any{chain, a.ID, int64(a.Seq), a.Height, a.Time.UTC(), a.Rule, a.Severity, a.Subject, pq.StringArray(ids), a.Reason}
}

// batchLimits bound one SQL transaction of the sink: at most rows
// movements (a single block with more is still loaded whole, streamed by
// COPY, so memory stays bounded) and at most heights blocks.
type batchLimits struct {
	rows    int
	heights int64
}

var defaultBatch = batchLimits{rows: 20_000, heights: 1_000}

// countFunc reports the movements of each height in [from, to] that has
// any, in height order, until fn returns false.
type countFunc func(from, to int64, fn func(h int64, n int) bool) error

// planBatch is the last height of the batch after height after, given the
// index's last height: whole blocks only, as many as the limits allow, and
// at least one.
func planBatch(after, last int64, lim batchLimits, counts countFunc) (int64, error) {
	if last <= after {
		return after, nil
	}
	end := min(last, after+max(lim.heights, 1))
	rows := 0
	err := counts(after+1, end, func(h int64, n int) bool {
		if rows > 0 && rows+n > lim.rows {
			end = h - 1
			return false
		}
		rows += n
		if rows >= lim.rows {
			end = h
			return false
		}
		return true
	})
	return end, err
}

// ErrSQLConfig is a connection string the driver cannot parse.
var ErrSQLConfig = errors.New("malformed SQL connection string")

var (
	dsnPassword = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)
	urlPassword = regexp.MustCompile(`(://[^:/@]*:)[^@]*@`)
)

// RedactConn hides the password of a connection string (URL or
// key=value form), for logs and errors.
func RedactConn(conn string) string {
	if u, err := url.Parse(conn); err == nil && u.Scheme != "" && u.User != nil {
		return u.Redacted()
	}
	conn = urlPassword.ReplaceAllString(conn, "${1}xxxxx@") // a URL that does not parse
	return dsnPassword.ReplaceAllString(conn, "${1}xxxxx")
}

// sqlSink is the regulator's PostgreSQL database.
type sqlSink struct {
	db        *sql.DB
	conn      string // redacted
	chain     string
	installed bool
	lim       batchLimits
}

// openSQLSink checks the connection string; it does not connect (a server
// that is down is the sink's ordinary state, retried).
func openSQLSink(conn, chain string) (*sqlSink, error) {
	c, err := pq.NewConnector(conn)
	if err != nil {
		// The driver's message quotes the string: hide its password too.
		msg := urlPassword.ReplaceAllString(err.Error(), "${1}xxxxx@")
		return nil, fmt.Errorf("regulator SQL %s: %w: %s", RedactConn(conn), ErrSQLConfig, dsnPassword.ReplaceAllString(msg, "${1}xxxxx"))
	}
	return &sqlSink{db: sql.OpenDB(c), conn: RedactConn(conn), chain: chain, lim: defaultBatch}, nil
}

func (k *sqlSink) close() error { return k.db.Close() }

// batchTimeout bounds one SQL transaction of the loader; pingTimeout how
// long a server that does not answer (a dropped route, not a refusal) holds
// the loader before it reports the outage.
const (
	batchTimeout = 10 * time.Minute
	pingTimeout  = 10 * time.Second
)

// ping checks that the server answers.
func (k *sqlSink) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if err := k.db.PingContext(ctx); err != nil {
		return fmt.Errorf("regulator SQL %s: %w", k.conn, err)
	}
	return nil
}

// install creates the regulator's tables and views if they are missing.
func (k *sqlSink) install(ctx context.Context) error {
	if k.installed {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	fail := func(err error) error {
		return fmt.Errorf("regulator SQL %s: install jinlian's tables (jinlian reg sql-schema --jinlian-only): %w", k.conn, err)
	}
	tx, err := k.db.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	// Two observers starting on one database install one after the other
	// (concurrent CREATE ... IF NOT EXISTS can still collide).
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7365183421)`); err != nil {
		return fail(err)
	}
	if _, err := tx.ExecContext(ctx, PsqlJinlianSchema); err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	k.installed = true
	return nil
}

// blockTimeFunc is the consensus time of a block the index holds.
type blockTimeFunc func(ctx context.Context, h int64) (time.Time, error)

// loadBatch loads one batch in one SQL transaction, with the cursor. With
// fromCursor it loads the batch after the cursor (read under a row lock,
// so two loaders never interleave); else the batch after height after,
// replacing whatever rows the heights had. Either way the batch's rows are
// deleted and inserted together and the cursor becomes the highest height
// loaded, so a retry or a crash never duplicates or skips a row. It
// returns the batch's last height (the start height when there was
// nothing to load) and the number of movements loaded.
func (k *sqlSink) loadBatch(ctx context.Context, ix *Index, times blockTimeFunc, after int64, fromCursor bool) (int64, int, error) {
	last, err := ix.LastHeight()
	if err != nil {
		return after, 0, err
	}
	tx, err := k.db.BeginTx(ctx, nil)
	if err != nil {
		return after, 0, fmt.Errorf("regulator SQL %s: %w", k.conn, err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	if _, err := tx.ExecContext(ctx, `INSERT INTO jinlian_sql_cursor (chain_id, height, loaded_at) VALUES ($1, 0, now()) ON CONFLICT DO NOTHING`, k.chain); err != nil {
		return after, 0, fmt.Errorf("regulator SQL %s: cursor: %w", k.conn, err)
	}
	var cur int64
	if err := tx.QueryRowContext(ctx, `SELECT height FROM jinlian_sql_cursor WHERE chain_id = $1 FOR UPDATE`, k.chain).Scan(&cur); err != nil {
		return after, 0, fmt.Errorf("regulator SQL %s: cursor: %w", k.conn, err)
	}
	if fromCursor || after > cur {
		after = cur // a reload never starts above the cursor: that would leave a gap
	}
	end, err := planBatch(after, last, k.lim, ix.movementCounts)
	if err != nil || end == after {
		return after, 0, err
	}
	for _, table := range []string{"jinlian_movements", "jinlian_alerts", "jinlian_block_times"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE chain_id = $1 AND height > $2 AND height <= $3`, k.chain, after, end); err != nil {
			return after, 0, fmt.Errorf("regulator SQL %s: clear heights %d..%d of %s: %w", k.conn, after+1, end, table, err)
		}
	}
	n := 0
	err = k.copyRows(ctx, tx, "jinlian_movements", movementColumns, func(put func(...any) error) error {
		return ix.eachMovement(after+1, end, func(e *Entry, memo string) error {
			n++
			return put(movementRow(k.chain, e, memo)...)
		})
	})
	if err != nil {
		return after, 0, err
	}
	err = k.copyRows(ctx, tx, "jinlian_alerts", alertColumns, func(put func(...any) error) error {
		return ix.eachAlert(after+1, end, func(a *Alert) error { return put(alertRow(k.chain, a)...) })
	})
	if err != nil {
		return after, 0, err
	}
	err = k.copyRows(ctx, tx, "jinlian_block_times", blockTimeColumns, func(put func(...any) error) error {
		for h := after + 1; h <= end; h++ {
			t, err := times(ctx, h)
			if err != nil {
				return err
			}
			if err := put(k.chain, h, t.UTC()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return after, 0, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE jinlian_sql_cursor SET height = GREATEST(height, $2), loaded_at = now() WHERE chain_id = $1`, k.chain, end); err != nil {
		return after, 0, fmt.Errorf("regulator SQL %s: cursor: %w", k.conn, err)
	}
	if err := tx.Commit(); err != nil {
		return after, 0, fmt.Errorf("regulator SQL %s: commit heights %d..%d: %w", k.conn, after+1, end, err)
	}
	return end, n, nil
}

// copyRows streams rows into table with COPY: lib/pq sends them in
// buffers of a few tens of KiB, so a block of any size loads in bounded memory.
func (k *sqlSink) copyRows(ctx context.Context, tx *sql.Tx, table string, cols []string, rows func(put func(...any) error) error) error {
	stmt, err := tx.PrepareContext(ctx, "COPY "+table+" ("+strings.Join(cols, ", ")+") FROM STDIN")
	if err != nil {
		return fmt.Errorf("regulator SQL %s: copy into %s: %w", k.conn, table, err)
	}
	defer stmt.Close()
	err = rows(func(v ...any) error {
		_, err := stmt.ExecContext(ctx, v...)
		return err
	})
	if err == nil {
		_, err = stmt.ExecContext(ctx)
	}
	if err != nil {
		return fmt.Errorf("regulator SQL %s: copy into %s: %w", k.conn, table, err)
	}
	return nil
}
