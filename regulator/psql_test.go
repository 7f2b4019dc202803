package regulator

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/jinlian-ledger/jinlian/internal/heavytest"
	"github.com/jinlian-ledger/jinlian/internal/pgtest"
)

// TestMovementRow pins the jinlian_movements row of each kind of movement:
// NULL where the kind moves no balance of a party or names no recipient.
func TestMovementRow(t *testing.T) {
	at := time.Date(2026, 12, 3, 9, 30, 0, 0, time.FixedZone("CST", 8*3600))
	base := Entry{TxID: "ab12", Height: 7, Index: 3, Event: 1, Time: at, Ledger: "payments", Asset: "CNY",
		From: "a1", FromOrg: "bankA", To: "b1", ToOrg: "bankB", Amount: 18_446_744_073_709_551_615, FromBalance: 5, ToBalance: 9}
	with := func(f func(e *Entry)) *Entry { e := base; f(&e); return &e }
	cases := []struct {
		name string
		e    *Entry
		memo string
		want []any
	}{
		{"transfer: both parties and balances, the largest amount exact", with(func(e *Entry) { e.Kind = KindTransfer }), "invoice 7",
			[]any{"c", int64(7), int64(3), int64(1), "ab12", at.UTC(), "transfer", "payments", "CNY", "a1", "bankA", "b1", "bankB", "18446744073709551615", "invoice 7", "5", "9", false}},
		{"issue: the issuer's balance does not move", with(func(e *Entry) { e.Kind = KindIssue }), "",
			[]any{"c", int64(7), int64(3), int64(1), "ab12", at.UTC(), "issue", "payments", "CNY", "a1", "bankA", "b1", "bankB", "18446744073709551615", nil, nil, "9", false}},
		{"burn: no recipient", with(func(e *Entry) { e.Kind, e.To, e.ToOrg, e.ToBalance = KindBurn, "", "", 0 }), "",
			[]any{"c", int64(7), int64(3), int64(1), "ab12", at.UTC(), "burn", "payments", "CNY", "a1", "bankA", nil, nil, "18446744073709551615", nil, "5", nil, false}},
		{"redeem: the holder's balance only", with(func(e *Entry) { e.Kind = KindRedeem }), "r",
			[]any{"c", int64(7), int64(3), int64(1), "ab12", at.UTC(), "redeem", "payments", "CNY", "a1", "bankA", "b1", "bankB", "18446744073709551615", "r", "5", nil, false}},
		{"redemption returned: the holder's balance only", with(func(e *Entry) { e.Kind = KindRedemptionReturned }), "",
			[]any{"c", int64(7), int64(3), int64(1), "ab12", at.UTC(), "redemption_returned", "payments", "CNY", "a1", "bankA", "b1", "bankB", "18446744073709551615", nil, nil, "9", false}},
		{"unknown organisations are NULL, not empty", with(func(e *Entry) { e.Kind, e.FromOrg, e.ToOrg = KindTransfer, "", "" }), "",
			[]any{"c", int64(7), int64(3), int64(1), "ab12", at.UTC(), "transfer", "payments", "CNY", "a1", nil, "b1", nil, "18446744073709551615", nil, "5", "9", false}},
		{"a PvP refund: marked", with(func(e *Entry) { e.Kind, e.Refund = KindTransfer, true }), "",
			[]any{"c", int64(7), int64(3), int64(1), "ab12", at.UTC(), "transfer", "payments", "CNY", "a1", "bankA", "b1", "bankB", "18446744073709551615", nil, "5", "9", true}},
	}
	for _, c := range cases {
		got := movementRow("c", c.e, c.memo)
		if len(got) != len(movementColumns) {
			t.Fatalf("%s: %d values for %d columns", c.name, len(got), len(movementColumns))
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s:\n got %v\nwant %v", c.name, got, c.want)
		}
	}
	a := alertRow("c", &Alert{ID: "7-1", Seq: 3, Height: 7, Time: at, Rule: RuleLarge, Severity: SeverityHigh, Subject: "a1", Reason: "r"})
	if len(a) != len(alertColumns) || fmt.Sprint(a[8]) != "[]" {
		t.Errorf("alert row %v: want %d columns and an empty tx id array", a, len(alertColumns))
	}
}

// TestPlanBatch pins where a batch of the SQL loader ends: whole blocks,
// within the limits, at least one block, never past the index.
func TestPlanBatch(t *testing.T) {
	counts := func(perHeight map[int64]int) countFunc {
		return func(from, to int64, fn func(h int64, n int) bool) error {
			for h := from; h <= to; h++ {
				if n := perHeight[h]; n > 0 && !fn(h, n) {
					return nil
				}
			}
			return nil
		}
	}
	lim := batchLimits{rows: 100, heights: 10}
	cases := []struct {
		name        string
		after, last int64
		rows        map[int64]int
		want        int64
	}{
		{"caught up: nothing to load", 5, 5, nil, 5},
		{"cursor above the index (index rebuilding): nothing", 9, 5, nil, 9},
		{"empty blocks: up to the height limit", 0, 50, nil, 10},
		{"empty blocks: up to the index", 0, 4, nil, 4},
		{"rows fit: up to the height limit", 0, 50, map[int64]int{1: 30, 5: 30, 10: 40}, 10},
		{"exactly the row limit: full", 0, 50, map[int64]int{1: 60, 2: 40, 3: 1}, 2},
		{"one row over: stop before the block that overflows", 0, 50, map[int64]int{1: 60, 3: 41}, 2},
		{"a block bigger than the limit alone is loaded whole", 0, 50, map[int64]int{1: 10_000}, 1},
		{"a big block after others waits for the next batch", 3, 50, map[int64]int{4: 5, 6: 10_000}, 5},
		{"then goes alone", 5, 50, map[int64]int{6: 10_000, 7: 1}, 6},
	}
	for _, c := range cases {
		got, err := planBatch(c.after, c.last, lim, counts(c.rows))
		if err != nil || got != c.want {
			t.Errorf("%s: batch after %d ends at %d (%v), want %d", c.name, c.after, got, err, c.want)
		}
	}
	if _, err := planBatch(0, 5, lim, func(int64, int64, func(int64, int) bool) error { return errors.New("disk") }); err == nil {
		t.Error("an index read error was swallowed")
	}
}

// TestSQLConnBadInput: a connection string that does not parse is refused
// naming the problem, with the password hidden.
func TestSQLConnBadInput(t *testing.T) {
	for _, conn := range []string{
		"postgres://u:s3cret@db:notaport/x",
		"host=db password=s3cret sslmode=bogus",
		"postgres://u:s3cret@db/x?sslmode=bogus",
	} {
		_, err := openSQLSink(conn, "c")
		if err == nil || !errors.Is(err, ErrSQLConfig) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: %v", RedactConn(conn), err)
		}
	}
	for in, want := range map[string]string{
		"postgres://u:s3cret@db:5432/x":           "postgres://u:xxxxx@db:5432/x",
		"host=db user=u password=s3cret dbname=x": "host=db user=u password=xxxxx dbname=x",
		"host=db password='s3 cret' dbname=x":     "host=db password=xxxxx dbname=x",
		"postgres://db/x?sslmode=disable":         "postgres://db/x?sslmode=disable",
	} {
		if got := RedactConn(in); got != want {
			t.Errorf("RedactConn(%q) = %q, want %q", in, got, want)
		}
	}
}

// sqlFixture is an index fed from the synthetic workload and a Service
// around it that loads a real PostgreSQL (no block source: the index
// keeps every block's time).
type sqlFixture struct {
	pg  *pgtest.Server
	db  *sql.DB
	ix  *Index
	svc *Service
	w   *workload
	eng *Engine
}

func newSQLFixture(t *testing.T) *sqlFixture {
	heavytest.Begin(t, "starts PostgreSQL")
	pg := pgtest.Start(t)
	db, err := sql.Open("postgres", pg.Conn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	w := newWorkload(20260302)
	ix, err := OpenIndex("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	if err := ix.InitGenesis(w.genesis); err != nil {
		t.Fatal(err)
	}
	sink, err := openSQLSink(pg.Conn, w.genesis.ChainID)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.close() })
	svc := &Service{ix: ix, sql: sink, chain: w.genesis.ChainID, log: slog.New(slog.DiscardHandler), sqlState: SQLStatus{Enabled: true}}
	return &sqlFixture{pg: pg, db: db, ix: ix, svc: svc, w: w, eng: testEngine(t)}
}

// indexTotals are count and sum per kind and asset of the index's
// movements, and its alerts, up to its last height.
func (fx *sqlFixture) indexTotals(t *testing.T) (map[string]string, int) {
	t.Helper()
	last, _ := fx.ix.LastHeight()
	type acc struct {
		n   int
		sum big.Int
	}
	m := map[string]*acc{}
	err := fx.ix.eachMovement(1, last, func(e *Entry, _ string) error {
		k := e.Kind + "/" + e.Asset
		if m[k] == nil {
			m[k] = &acc{}
		}
		m[k].n++
		m[k].sum.Add(&m[k].sum, new(big.Int).SetUint64(e.Amount))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for k, a := range m {
		out[k] = fmt.Sprintf("%d:%s", a.n, a.sum.String())
	}
	alerts := 0
	if err := fx.ix.eachAlert(1, last, func(*Alert) error { alerts++; return nil }); err != nil {
		t.Fatal(err)
	}
	return out, alerts
}

// sameAsIndex checks that PostgreSQL holds exactly what the index holds:
// counts and amount sums per kind and asset, alerts, one block time per
// height, no duplicate, and the cursor at the index's last height.
func (fx *sqlFixture) sameAsIndex(t *testing.T) {
	t.Helper()
	last, _ := fx.ix.LastHeight()
	want, wantAlerts := fx.indexTotals(t)
	rows, err := fx.db.Query(`SELECT kind || '/' || asset, count(*), sum(amount)::text FROM jinlian_movements GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for rows.Next() {
		var k, sum string
		var n int
		if err := rows.Scan(&k, &n, &sum); err != nil {
			t.Fatal(err)
		}
		got[k] = fmt.Sprintf("%d:%s", n, sum)
	}
	rows.Close()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("movements in PostgreSQL %v, in the index %v", got, want)
	}
	var alerts, times, timeTop, dupMoves, cursor int64
	q := `SELECT (SELECT count(*) FROM jinlian_alerts),
	             (SELECT count(*) FROM jinlian_block_times), (SELECT COALESCE(max(height), 0) FROM jinlian_block_times),
	             (SELECT count(*) - count(DISTINCT (tx_id, event)) FROM jinlian_movements),
	             (SELECT height FROM jinlian_sql_cursor)`
	if err := fx.db.QueryRow(q).Scan(&alerts, &times, &timeTop, &dupMoves, &cursor); err != nil {
		t.Fatal(err)
	}
	if int(alerts) != wantAlerts || times != last || timeTop != last || dupMoves != 0 || cursor != last {
		t.Fatalf("PostgreSQL: %d alerts (index %d), %d block times up to %d (index at %d), %d duplicate movements, cursor %d",
			alerts, wantAlerts, times, timeTop, last, dupMoves, cursor)
	}
}

func (fx *sqlFixture) apply(t *testing.T, from, to int) {
	t.Helper()
	runWorkload(t, fx.ix, fx.w, fx.eng, from, to)
}

// TestSQLTablesFollowTheIndex runs the SQL loader against a real
// PostgreSQL: enabled on an index that already has history, it loads it
// all; through an outage the index goes on and the tables catch up with
// no gap; a failure mid-batch leaves neither rows nor cursor; a backfill
// reloads idempotently; a block of 10,000 transfers loads.
func TestSQLTablesFollowTheIndex(t *testing.T) {
	fx := newSQLFixture(t)
	ctx := context.Background()

	// An observer with history, SQL enabled afterwards.
	fx.apply(t, 0, 400)
	if err := fx.svc.SQLSyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	fx.sameAsIndex(t)
	if st := fx.svc.SQL(); st.Height != 400 || st.Error != "" {
		t.Fatalf("status %+v", st)
	}

	// Outage: the index advances, the loader fails naming the database.
	if err := fx.pg.Stop(); err != nil {
		t.Fatal(err)
	}
	fx.apply(t, 400, 700)
	err := fx.svc.SQLSyncOnce(ctx)
	if err == nil || !strings.Contains(err.Error(), "regulator SQL postgres://jinlian@127.0.0.1:") {
		t.Fatalf("sync during the outage: %v", err)
	}
	if st := fx.svc.SQL(); st.Height != 400 || st.Error == "" {
		t.Fatalf("status during the outage %+v", st)
	}
	if err := fx.pg.Start(); err != nil {
		t.Fatal(err)
	}
	if err := fx.svc.SQLSyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	fx.sameAsIndex(t)

	// A batch that fails half-way (here: a block time that cannot be read,
	// after the movements were copied) commits nothing, cursor included.
	fx.apply(t, 700, 800)
	fail := func(context.Context, int64) (time.Time, error) { return time.Time{}, errors.New("planted failure") }
	if _, _, err := fx.svc.sql.loadBatch(ctx, fx.ix, fail, 0, true); err == nil || !strings.Contains(err.Error(), "planted failure") {
		t.Fatalf("failing batch: %v", err)
	}
	var cursor, above int64
	if err := fx.db.QueryRow(`SELECT (SELECT height FROM jinlian_sql_cursor), (SELECT count(*) FROM jinlian_movements WHERE height > 700)`).Scan(&cursor, &above); err != nil {
		t.Fatal(err)
	}
	if cursor != 700 || above != 0 {
		t.Fatalf("after a failed batch: cursor %d, %d rows above it", cursor, above)
	}
	if err := fx.svc.SQLSyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	fx.sameAsIndex(t)

	// Backfill from a height, twice, in small batches: the same tables.
	fx.svc.sql.lim = batchLimits{rows: 50, heights: 7}
	for range 2 {
		got, err := fx.svc.BackfillSQL(ctx, 123)
		if err != nil || got.From != 123 || got.To != 800 {
			t.Fatalf("backfill: %+v %v", got, err)
		}
		fx.sameAsIndex(t)
	}
	for _, from := range []int64{0, 802} {
		if _, err := fx.svc.BackfillSQL(ctx, from); !errors.Is(err, ErrBadBackfill) || !strings.Contains(err.Error(), "1..800") {
			t.Errorf("backfill from %d: %v", from, err)
		}
	}
	fx.svc.sql.lim = defaultBatch

	// A block of 10,000 transfers, an issue and a burn in one: loaded whole.
	fx.apply(t, 800, len(fx.w.blocks))
	accts := slices.Sorted(func(yield func(string) bool) {
		for a := range fx.w.ordinary {
			if !yield(a) {
				return
			}
		}
	})
	last, _ := fx.ix.LastHeight()
	full := &Block{Height: last + 1, Time: fx.w.blocks[len(fx.w.blocks)-1].Time.Add(wlInterval)}
	bal := map[string]uint64{}
	for _, a := range accts {
		bal[a], _ = fx.ix.Balance("payments", "CNY", a)
	}
	issuer := accts[0]
	bal[issuer] += 1_000_000
	full.Txs = append(full.Txs, Tx{ID: "issue-1", Index: 0, Ledger: "payments", Sender: issuer, Org: fx.w.orgs[issuer], Type: "issue",
		Movements: []Movement{{Kind: KindIssue, Ledger: "payments", Asset: "CNY", From: issuer, To: issuer, Amount: 1_000_000, ToBalance: bal[issuer]}}})
	for i := range 10_000 {
		from, to := accts[i%len(accts)], accts[(i*7+3)%len(accts)]
		if from == to {
			to = accts[(i+1)%len(accts)]
		}
		bal[from] -= 7
		bal[to] += 7
		full.Txs = append(full.Txs, Tx{ID: fmt.Sprintf("big-%05d", i), Index: len(full.Txs), Ledger: "payments", Sender: from, Org: fx.w.orgs[from],
			Type: "transfer", Memo: fmt.Sprintf("batch\tpay %d", i),
			Movements: []Movement{{Kind: KindTransfer, Ledger: "payments", Asset: "CNY", From: from, To: to, Amount: 7, FromBalance: bal[from], ToBalance: bal[to]}}})
	}
	bal[issuer] -= 500
	full.Txs = append(full.Txs, Tx{ID: "burn-1", Index: len(full.Txs), Ledger: "payments", Sender: issuer, Org: fx.w.orgs[issuer], Type: "burn",
		Movements: []Movement{{Kind: KindBurn, Ledger: "payments", Asset: "CNY", From: issuer, Amount: 500, FromBalance: bal[issuer]}}})
	if _, err := fx.ix.ApplyBlock(full, nil); err != nil {
		t.Fatal(err)
	}
	if err := fx.svc.SQLSyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	fx.sameAsIndex(t)
	var memo, recipient sql.NullString
	var toBal sql.NullInt64
	if err := fx.db.QueryRow(`SELECT memo, recipient, recipient_balance FROM jinlian_movements WHERE tx_id = 'big-00042'`).Scan(&memo, &recipient, &toBal); err != nil {
		t.Fatal(err)
	}
	if memo.String != "batch\tpay 42" || !recipient.Valid || !toBal.Valid {
		t.Fatalf("big block row: memo %q recipient %v balance %v", memo.String, recipient, toBal)
	}
	if err := fx.db.QueryRow(`SELECT recipient, recipient_balance FROM jinlian_movements WHERE tx_id = 'burn-1'`).Scan(&recipient, &toBal); err != nil {
		t.Fatal(err)
	}
	if recipient.Valid || toBal.Valid {
		t.Fatalf("burn row has a recipient %v or its balance %v", recipient, toBal)
	}

	fx.viewsMatchIndex(t)
}

// viewsMatchIndex checks the analyst views against figures computed from
// the index's movements and alerts.
func (fx *sqlFixture) viewsMatchIndex(t *testing.T) {
	t.Helper()
	last, _ := fx.ix.LastHeight()
	fx.db.SetMaxOpenConns(1) // one session: its time zone holds for every query below
	if _, err := fx.db.Exec(`SET TIME ZONE 'UTC'`); err != nil {
		t.Fatal(err)
	}
	day := func(at time.Time) string { return at.UTC().Format("2006-01-02") }
	gross, count := map[string]uint64{}, map[string]int{}
	net := map[string]int64{}
	pairs := map[string]uint64{}
	_ = fx.ix.eachMovement(1, last, func(e *Entry, _ string) error {
		if e.Kind != KindTransfer {
			return nil
		}
		k := day(e.Time) + " " + e.Asset + " " + e.FromOrg + ">" + e.ToOrg
		gross[k] += e.Amount
		count[k]++
		a, b, sign := e.FromOrg, e.ToOrg, int64(1)
		if a > b {
			a, b, sign = b, a, -1
		}
		if a == b {
			sign = 0
		}
		net[day(e.Time)+" "+e.Asset+" "+a+"|"+b] += sign * int64(e.Amount)
		pairs[e.From+">"+e.To] += e.Amount
		return nil
	})
	rows, err := fx.db.Query(`SELECT to_char(day, 'YYYY-MM-DD'), asset, sender_org, recipient_org, transfers, gross FROM jinlian_daily_flows`)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var d, asset, from, to string
		var c int
		var g uint64
		if err := rows.Scan(&d, &asset, &from, &to, &c, &g); err != nil {
			t.Fatal(err)
		}
		k := d + " " + asset + " " + from + ">" + to
		if gross[k] != g || count[k] != c {
			t.Fatalf("daily flows %s: %d transfers, %d gross; the index: %d, %d", k, c, g, count[k], gross[k])
		}
		n++
	}
	rows.Close()
	if n != len(gross) {
		t.Fatalf("daily flows: %d rows, the index has %d day/asset/bank pairs", n, len(gross))
	}
	rows, err = fx.db.Query(`SELECT to_char(day, 'YYYY-MM-DD'), asset, org_a, org_b, net FROM jinlian_daily_net_flows`)
	if err != nil {
		t.Fatal(err)
	}
	n = 0
	for rows.Next() {
		var d, asset, a, b string
		var v int64
		if err := rows.Scan(&d, &asset, &a, &b, &v); err != nil {
			t.Fatal(err)
		}
		if k := d + " " + asset + " " + a + "|" + b; net[k] != v || a > b {
			t.Fatalf("net flows %s: %d, the index %d", k, v, net[k])
		}
		n++
	}
	rows.Close()
	if n != len(net) {
		t.Fatalf("net flows: %d rows, the index has %d", n, len(net))
	}
	var top string
	var total uint64
	if err := fx.db.QueryRow(`SELECT sender || '>' || recipient, sum(total) AS t FROM jinlian_daily_counterparties GROUP BY 1 ORDER BY t DESC, 1 LIMIT 1`).Scan(&top, &total); err != nil {
		t.Fatal(err)
	}
	if pairs[top] != total || slices.ContainsFunc(slices.Collect(func(yield func(uint64) bool) {
		for _, v := range pairs {
			if !yield(v) {
				return
			}
		}
	}), func(v uint64) bool { return v > total }) {
		t.Fatalf("top counterparties %s %d, the index %d", top, total, pairs[top])
	}
	perRule := map[string]int{}
	_ = fx.ix.eachAlert(1, last, func(a *Alert) error { perRule[day(a.Time)+" "+a.Rule]++; return nil })
	rows, err = fx.db.Query(`SELECT to_char(day, 'YYYY-MM-DD'), rule, sum(alerts) FROM jinlian_daily_alerts GROUP BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	n = 0
	for rows.Next() {
		var d, rule string
		var c int
		if err := rows.Scan(&d, &rule, &c); err != nil {
			t.Fatal(err)
		}
		if perRule[d+" "+rule] != c {
			t.Fatalf("alerts %s %s: %d, the index %d", d, rule, c, perRule[d+" "+rule])
		}
		n++
	}
	rows.Close()
	if n != len(perRule) || n == 0 {
		t.Fatalf("alerts per rule per day: %d rows, the index %d", n, len(perRule))
	}
}

// TestSQLDownNeverStopsIndexing: with a database that does not answer, or
// a connection string that does not parse, the observer indexes and
// raises alerts as ever, and says why its SQL tables are behind, with the
// password hidden. A backfill needs the regulator role, and an observer
// without SQL answers that it has none.
func TestSQLDownNeverStopsIndexing(t *testing.T) {
	fx := newAPIFixture(t, false)
	ctx := context.Background()
	for _, c := range []struct{ conn, want string }{
		{"postgres://jinlian:pw0rd@127.0.0.1:1/x?sslmode=disable&connect_timeout=2", "regulator SQL postgres://jinlian:xxxxx@127.0.0.1:1/x"},
		{"host=db password=pw0rd sslmode=sometimes", "malformed SQL connection string"},
	} {
		cfg := fx.cfg
		cfg.SQLConn = c.conn
		fx.cfg = cfg
		svc := fx.another(t)
		fx.chain.add(t, fx.start.Add(time.Minute), xfer{from: fx.bank, to: fx.bankB, amount: 6_000_000})
		st, _ := fx.chain.Status(ctx)
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := svc.WaitForHeight(wctx, st.SyncInfo.LatestBlockHeight); err != nil {
			t.Fatal(err)
		}
		cancel()
		if page, err := svc.Index().Alerts(AlertFilter{Rule: RuleLarge}, "", 10); err != nil || len(page.Items) == 0 {
			t.Fatalf("%s: no large-amount alert while SQL is down: %v", c.want, err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for s := svc.SQL(); !strings.Contains(s.Error, c.want); s = svc.SQL() {
			if time.Now().After(deadline) {
				t.Fatalf("SQL status %+v, want an error with %q", s, c.want)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if s := svc.SQL(); strings.Contains(s.Error, "pw0rd") || !s.Enabled {
			t.Fatalf("SQL status %+v shows the password", s)
		}
		// Through the API: the regulator's backfill fails naming the problem.
		_, err := NewClient(svc.URL(), fx.regulator.key).SQLBackfill(ctx, 1)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("backfill against %s: %v", c.want, err)
		}
		var status Status
		if err := NewClient(svc.URL(), fx.auditor.key).Do(ctx, "GET", "/v1/status", nil, nil, &status); err != nil || status.SQL == nil || status.SQL.Error == "" {
			t.Fatalf("status %+v %v: want the SQL error", status.SQL, err)
		}
	}
	if _, err := NewClient(fx.svc.URL(), fx.auditor.key).SQLBackfill(ctx, 1); statusErr(err) != 403 {
		t.Fatalf("backfill by an auditor: %v", err)
	}
	if _, err := NewClient(fx.svc.URL(), fx.regulator.key).SQLBackfill(ctx, 1); statusErr(err) != 501 || !strings.Contains(err.Error(), "set regulator.sql") {
		t.Fatalf("backfill on an observer without SQL: %v", err)
	}
}

// TestSQLSchemaInstallsAndUpgrades: what `reg sql-schema` prints installs
// in an empty database; a database made with the earlier schema (where
// jinlian_movements was a view over CometBFT's sink) takes the regulator's
// tables when the service starts, and loads.
func TestSQLSchemaInstallsAndUpgrades(t *testing.T) {
	heavytest.Begin(t, "starts PostgreSQL")
	pg := pgtest.Start(t)
	admin, err := sql.Open("postgres", pg.Conn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	old, err := os.ReadFile("testdata/jinlian_view_schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		install []string
	}{
		{"fresh", []string{PsqlCometBFTSchema, PsqlJinlianSchema, PsqlCometBFTViews}},
		{"upgrade", []string{PsqlCometBFTSchema, string(old)}},
	} {
		if _, err := admin.Exec("CREATE DATABASE " + c.name); err != nil {
			t.Fatal(err)
		}
		conn := strings.Replace(pg.Conn, "/jinlian?", "/"+c.name+"?", 1)
		db, err := sql.Open("postgres", conn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, s := range c.install {
			if _, err := db.Exec(s); err != nil {
				t.Fatalf("%s: install: %v", c.name, err)
			}
		}
		ix, err := OpenIndex("")
		if err != nil {
			t.Fatal(err)
		}
		defer ix.Close()
		w := newWorkload(7)
		if err := ix.InitGenesis(w.genesis); err != nil {
			t.Fatal(err)
		}
		runWorkload(t, ix, w, testEngine(t), 0, 50)
		sink, err := openSQLSink(conn, w.genesis.ChainID)
		if err != nil {
			t.Fatal(err)
		}
		defer sink.close()
		svc := &Service{ix: ix, sql: sink, chain: w.genesis.ChainID, log: slog.New(slog.DiscardHandler)}
		if err := svc.SQLSyncOnce(context.Background()); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		// The service installs its tables again at every start: harmless.
		sink.installed = false
		if err := svc.SQLSyncOnce(context.Background()); err != nil {
			t.Fatalf("%s: second install: %v", c.name, err)
		}
		if _, err := db.Exec(PsqlCometBFTViews); err != nil {
			t.Fatalf("%s: views over CometBFT's sink: %v", c.name, err)
		}
		var moves, txs int
		if err := db.QueryRow(`SELECT (SELECT count(*) FROM jinlian_movements), (SELECT count(*) FROM jinlian_txs)`).Scan(&moves, &txs); err != nil || moves == 0 {
			t.Fatalf("%s: %d movements loaded, %d txs in CometBFT's view: %v", c.name, moves, txs, err)
		}
	}
}

// TestBlockTimeOfAnOlderIndex: a block indexed before the index kept block
// times gets its time from the node.
func TestBlockTimeOfAnOlderIndex(t *testing.T) {
	fx := newAPIFixture(t, false)
	at := fx.start.Add(3 * time.Minute)
	fx.chain.add(t, at, xfer{from: fx.bank, to: fx.bankB, amount: 10})
	fx.wait(t)
	ctx := context.Background()
	if got, err := fx.svc.blockTime(ctx, 1); err != nil || !got.Equal(at) {
		t.Fatalf("time of block 1 from the index: %v %v, want %v", got, err, at)
	}
	if err := fx.svc.ix.db.Update(func(txn *badger.Txn) error { return txn.Delete(cat(prefixBlockT, u64(1))) }); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := fx.svc.ix.BlockTime(1); ok {
		t.Fatal("the block time is still in the index")
	}
	if got, err := fx.svc.blockTime(ctx, 1); err != nil || !got.Equal(at) {
		t.Fatalf("time of block 1 from the node: %v %v, want %v", got, err, at)
	}
	if _, err := fx.svc.blockTime(ctx, 99); err == nil || !strings.Contains(err.Error(), "time of block 99") {
		t.Fatalf("time of a block the node lacks: %v", err)
	}
}

// TestSQLRefundColumn: jinlian_movements.refund is true for the refund
// of a PvP trade and false for any other movement, in a database the
// service installs and in one whose table predates the column (its rows
// read false, the column's default, and new rows carry the flag).
func TestSQLRefundColumn(t *testing.T) {
	heavytest.Begin(t, "starts PostgreSQL")
	pg := pgtest.Start(t)
	admin, err := sql.Open("postgres", pg.Conn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	old, err := os.ReadFile("testdata/jinlian_no_refund_schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	const oldRow = `INSERT INTO jinlian_movements (chain_id, height, tx_index, event, tx_id, block_time, kind, ledger, asset, sender, amount)
		VALUES ('older', 1, 0, 0, 'old', now(), 'transfer', 'payments', 'CNY', 'a', 1)`
	blocks := balancedChain(t, map[string]uint64{"p": 1000}, []move{
		mvXfer(0, "p", "E", 600),
		{at: time.Minute, kind: KindTransfer, from: "E", to: "p", amount: 600, refund: true},
		mvXfer(2*time.Minute, "p", "q", 500),
	})
	for _, c := range []struct {
		name    string
		install []string
		want    string
	}{
		{"fresh", nil, "[rules/t0:false rules/t1:true rules/t2:false]"},
		{"before_refund", []string{string(old), oldRow}, "[older/old:false rules/t0:false rules/t1:true rules/t2:false]"},
	} {
		if _, err := admin.Exec("CREATE DATABASE " + c.name); err != nil {
			t.Fatal(err)
		}
		conn := strings.Replace(pg.Conn, "/jinlian?", "/"+c.name+"?", 1)
		db, err := sql.Open("postgres", conn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, s := range c.install {
			if _, err := db.Exec(s); err != nil {
				t.Fatalf("%s: install: %v", c.name, err)
			}
		}
		ix, err := OpenIndex("")
		if err != nil {
			t.Fatal(err)
		}
		defer ix.Close()
		g := tableGenesis()
		g.Balances = append(g.Balances, GenesisBalance{Ledger: "payments", Asset: "CNY", Account: "p", Amount: 1000})
		if err := ix.InitGenesis(g); err != nil {
			t.Fatal(err)
		}
		for _, b := range blocks {
			if _, err := ix.ApplyBlock(b, testEngine(t)); err != nil {
				t.Fatal(err)
			}
		}
		sink, err := openSQLSink(conn, g.ChainID)
		if err != nil {
			t.Fatal(err)
		}
		defer sink.close()
		svc := &Service{ix: ix, sql: sink, chain: g.ChainID, log: slog.New(slog.DiscardHandler)}
		if err := svc.SQLSyncOnce(context.Background()); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		rows, err := db.Query(`SELECT chain_id || '/' || tx_id || ':' || refund FROM jinlian_movements ORDER BY chain_id, height, tx_index, event`)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			var r string
			if err := rows.Scan(&r); err != nil {
				t.Fatal(err)
			}
			got = append(got, r)
		}
		rows.Close()
		if fmt.Sprint(got) != c.want {
			t.Errorf("%s: movements %v, want %s", c.name, got, c.want)
		}
	}
}
