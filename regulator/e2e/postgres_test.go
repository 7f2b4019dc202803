package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"math/big"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/lib/pq"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/heavytest"
	"github.com/jinlian-ledger/jinlian/internal/pgtest"
	"github.com/jinlian-ledger/jinlian/regulator"
)

// docQueries are the example queries of docs/regulator.md's SQL section,
// keyed by their first line (a `-- title` comment): the test runs what the
// page shows, verbatim.
func docQueries(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("../../docs/regulator.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i := strings.Index(doc, "## SQL for analysts")
	j := strings.Index(doc[i+1:], "\n## ")
	if i < 0 || j < 0 {
		t.Fatal("docs/regulator.md has no SQL for analysts section")
	}
	out := map[string]string{}
	for _, m := range regexp.MustCompile("(?s)```sql\n(-- ([^\n]+)\n.*?)```").FindAllStringSubmatch(doc[i:i+1+j], -1) {
		out[m[2]] = m[1]
	}
	return out
}

// sent is what the test sent: one transfer from bankA.
type sent struct {
	id     string
	to     string
	amount uint64
}

// TestRegulatorSQL: the regulator's PostgreSQL tables come from the
// observer's own index. SQL enabled on an observer with history loads it;
// an outage of PostgreSQL under load stops neither indexing nor alerts,
// and the tables catch up with no gap and no duplicate; the documented
// queries return what the test sent; a backfill through the API changes
// nothing; a malformed connection string leaves indexing running.
func TestRegulatorSQL(t *testing.T) {
	heavytest.Begin(t, "starts PostgreSQL and a localnet")
	pg := pgtest.Start(t)
	db, err := sql.Open("postgres", pg.Conn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n := startLocalnet(t, nil)
	dir := t.TempDir()
	var all []sent
	send := func(to gmcrypto.Address, amount uint64) int64 {
		id, h := n.transfer(t, to, amount, nil)
		all = append(all, sent{id, to.String(), amount})
		return h
	}

	// History before SQL.
	svc := newService(t, n.obs.Client(), regulator.QueryFromClient(n.obs.Client()), dir, nil, "")
	_, big := n.newMember(t)
	_, small := n.newMember(t)
	send(big, 150_000)
	send(small, 1_000)
	h := send(small, 2_000)
	waitIndexed(t, svc, h)
	if err := svc.Stop(); err != nil {
		t.Fatal(err)
	}

	// SQL enabled on the same index: the earlier blocks are loaded.
	svc = newService(t, n.obs.Client(), regulator.QueryFromClient(n.obs.Client()), dir, nil, pg.Conn)
	defer func() { _ = svc.Stop() }()
	sqlSameAsIndex(t, svc, db)

	// Outage under load: indexing and alerts go on, the tables wait.
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	_, third := n.newMember(t)
	alertsBefore := countAlerts(t, svc)
	for i := range 12 {
		send([]gmcrypto.Address{big, small, third}[i%3], uint64(3_000+i*1_000))
	}
	h = send(third, 160_000) // a large transfer: an alert while PostgreSQL is down
	waitIndexed(t, svc, h)
	if got := countAlerts(t, svc); got <= alertsBefore {
		t.Fatalf("no alert raised during the outage (%d before, %d after)", alertsBefore, got)
	}
	deadline := time.Now().Add(30 * time.Second)
	for st := svc.SQL(); st.Error == "" || st.Height >= h; st = svc.SQL() {
		if time.Now().After(deadline) {
			t.Fatalf("SQL status during the outage: %+v", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st := svc.SQL(); !strings.Contains(st.Error, "127.0.0.1") {
		t.Fatalf("the outage error does not name the server: %q", st.Error)
	}
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	sqlSameAsIndex(t, svc, db)

	// The documented queries, against what was sent.
	docQueriesReturnWhatWasSent(t, db, docQueries(t), all, svc)

	// A backfill from the first block through the API (as `jinlian reg sql
	// backfill` sends it) leaves the tables as they were.
	cl := regulator.NewClient(svc.URL(), n.regKey)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	last, _ := svc.Index().LastHeight()
	bf, err := cl.SQLBackfill(ctx, 1)
	if err != nil || bf.From != 1 || bf.To < last || bf.Movements != len(all) {
		t.Fatalf("backfill: %+v %v (index at %d, %d transfers sent)", bf, err, last, len(all))
	}
	sqlSameAsIndex(t, svc, db)
	if _, err := cl.SQLBackfill(ctx, 0); err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("backfill from 0: %v", err)
	}

	// A malformed connection string: the error names it, indexing goes on.
	bad := newService(t, n.obs.Client(), regulator.QueryFromClient(n.obs.Client()), t.TempDir(), nil, "postgres://u:s3cret@db:notaport/x")
	defer func() { _ = bad.Stop() }()
	waitIndexed(t, bad, h)
	if st := bad.SQL(); !strings.Contains(st.Error, "malformed SQL connection string") || strings.Contains(st.Error, "s3cret") {
		t.Fatalf("malformed connection string: status %+v", st)
	}
}

func countAlerts(t *testing.T, svc *regulator.Service) int {
	t.Helper()
	n, cursor := 0, ""
	for {
		page, err := svc.Index().Alerts(regulator.AlertFilter{}, cursor, regulator.MaxPageSize)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Items)
		if cursor = page.NextCursor; cursor == "" {
			return n
		}
	}
}

// sqlSameAsIndex waits until the SQL cursor reaches the index's height,
// then checks the tables against the index exactly: count and amount sum
// per kind and asset, alerts, one block time per height, no duplicates.
func sqlSameAsIndex(t *testing.T, svc *regulator.Service, db *sql.DB) {
	t.Helper()
	last, err := svc.Index().LastHeight()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for st := svc.SQL(); st.Height < last || st.Error != ""; st = svc.SQL() {
		if time.Now().After(deadline) {
			t.Fatalf("SQL tables at %d, index at %d: %s", st.Height, last, st.Error)
		}
		time.Sleep(100 * time.Millisecond)
	}
	want := map[string]string{}
	sums := map[string]*big.Int{}
	counts := map[string]int{}
	cursor := ""
	for {
		page, err := svc.Index().Txs(regulator.Filter{}, cursor, regulator.MaxPageSize)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Items {
			if e.Height > last {
				continue
			}
			k := e.Kind + "/" + e.Asset
			if sums[k] == nil {
				sums[k] = new(big.Int)
			}
			sums[k].Add(sums[k], new(big.Int).SetUint64(e.Amount))
			counts[k]++
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	for k, s := range sums {
		want[k] = fmt.Sprintf("%d:%s", counts[k], s)
	}
	rows, err := db.Query(`SELECT kind || '/' || asset, count(*), sum(amount)::text FROM jinlian_movements WHERE height <= $1 GROUP BY 1`, last)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for rows.Next() {
		var k, sum string
		var c int
		if err := rows.Scan(&k, &c, &sum); err != nil {
			t.Fatal(err)
		}
		got[k] = fmt.Sprintf("%d:%s", c, sum)
	}
	rows.Close()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("movements up to %d: PostgreSQL %v, index %v", last, got, want)
	}
	var alerts, times, dups int
	err = db.QueryRow(`SELECT (SELECT count(*) FROM jinlian_alerts WHERE height <= $1),
	                          (SELECT count(DISTINCT height) FROM jinlian_block_times WHERE height BETWEEN 1 AND $1),
	                          (SELECT count(*) - count(DISTINCT (tx_id, event)) FROM jinlian_movements)`, last).Scan(&alerts, &times, &dups)
	if err != nil {
		t.Fatal(err)
	}
	indexAlerts := 0
	for cursor := ""; ; {
		page, err := svc.Index().Alerts(regulator.AlertFilter{}, cursor, regulator.MaxPageSize)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page.Items {
			if a.Height <= last {
				indexAlerts++
			}
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if alerts != indexAlerts || int64(times) != last || dups != 0 {
		t.Fatalf("up to %d: %d alerts (index %d), block times of %d heights, %d duplicate movements", last, alerts, indexAlerts, times, dups)
	}
}

// docQueriesReturnWhatWasSent runs each documented query and checks its
// rows against the transfers sent (all from bankA to members of bankA).
func docQueriesReturnWhatWasSent(t *testing.T, db *sql.DB, q map[string]string, all []sent, svc *regulator.Service) {
	t.Helper()
	for _, title := range []string{"large transfers this week", "top counterparties over the last 30 days",
		"daily gross flows per bank pair per asset", "daily net flows per bank pair per asset", "alerts per rule per day"} {
		if q[title] == "" {
			t.Fatalf("docs/regulator.md has no query %q (has %v)", title, slices.Sorted(func(yield func(string) bool) {
				for k := range q {
					if !yield(k) {
						return
					}
				}
			}))
		}
	}
	var total uint64
	perRecipient := map[string][2]uint64{} // count, sum
	var large []string
	for _, s := range all {
		total += s.amount
		p := perRecipient[s.to]
		perRecipient[s.to] = [2]uint64{p[0] + 1, p[1] + s.amount}
		if s.amount >= 100_000 {
			large = append(large, s.id)
		}
	}

	// Large transfers this week, largest first, with memo and organisations.
	rows, err := db.Query(q["large transfers this week"])
	if err != nil {
		t.Fatal(err)
	}
	var gotLarge []string
	for rows.Next() {
		var at time.Time
		var id, fromOrg, from, toOrg, to, asset, memo string
		var amount uint64
		if err := rows.Scan(&at, &id, &fromOrg, &from, &toOrg, &to, &asset, &amount, &memo); err != nil {
			t.Fatal(err)
		}
		if fromOrg != "bankA" || toOrg != "bankA" || asset != "CNY" || memo != fmt.Sprintf("invoice %d", amount) {
			t.Fatalf("large transfer row %s: %s→%s %s %d %q", id, fromOrg, toOrg, asset, amount, memo)
		}
		gotLarge = append(gotLarge, id)
	}
	rows.Close()
	slices.Reverse(large) // sent in increasing amounts: 150,000 then 160,000
	if !slices.Equal(gotLarge, []string{large[0], large[1]}) {
		t.Fatalf("large transfers this week %v, want %v", gotLarge, large)
	}

	// Top counterparties: per recipient, largest total first.
	rows, err = db.Query(q["top counterparties over the last 30 days"])
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var from, fromOrg, to, toOrg string
		var count, sum uint64
		if err := rows.Scan(&from, &fromOrg, &to, &toOrg, &count, &sum); err != nil {
			t.Fatal(err)
		}
		if p := perRecipient[to]; p != [2]uint64{count, sum} || fromOrg != "bankA" || toOrg != "bankA" {
			t.Fatalf("counterparty %s (%s): %d transfers, %d; sent %d, %d", to, toOrg, count, sum, p[0], p[1])
		}
		got = append(got, to)
	}
	rows.Close()
	if len(got) != len(perRecipient) || !slices.IsSortedFunc(got, func(a, b string) int { return -cmpU(perRecipient[a][1], perRecipient[b][1]) }) {
		t.Fatalf("top counterparties %v, want all %d recipients by total", got, len(perRecipient))
	}

	// Daily gross and net flows: bankA to bankA, everything sent.
	var grossSum, netSum, transfers uint64
	rows, err = db.Query(q["daily gross flows per bank pair per asset"])
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var day time.Time
		var from, to, asset string
		var count, gross uint64
		if err := rows.Scan(&day, &from, &to, &asset, &count, &gross); err != nil {
			t.Fatal(err)
		}
		if from != "bankA" || to != "bankA" || asset != "CNY" {
			t.Fatalf("daily flows row %s %s→%s %s", day, from, to, asset)
		}
		grossSum, transfers = grossSum+gross, transfers+count
	}
	rows.Close()
	if grossSum != total || transfers != uint64(len(all)) {
		t.Fatalf("daily gross flows: %d in %d transfers, sent %d in %d", grossSum, transfers, total, len(all))
	}
	grossSum = 0
	rows, err = db.Query(q["daily net flows per bank pair per asset"])
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var day time.Time
		var a, b, asset string
		var aToB, bToA, gross uint64
		var net int64
		if err := rows.Scan(&day, &a, &b, &asset, &aToB, &bToA, &net, &gross); err != nil {
			t.Fatal(err)
		}
		if a != "bankA" || b != "bankA" || net != 0 || aToB != gross || bToA != 0 {
			t.Fatalf("net flows row %s %s|%s: a→b %d b→a %d net %d gross %d", day, a, b, aToB, bToA, net, gross)
		}
		grossSum += gross
		netSum += uint64(net)
	}
	rows.Close()
	if grossSum != total || netSum != 0 {
		t.Fatalf("net flows: gross %d net %d, sent %d", grossSum, netSum, total)
	}

	// Alerts per rule per day: what the index raised.
	want := map[string]int{}
	for cursor := ""; ; {
		page, err := svc.Index().Alerts(regulator.AlertFilter{}, cursor, regulator.MaxPageSize)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page.Items {
			want[a.Rule+"/"+a.Severity]++
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	rows, err = db.Query(q["alerts per rule per day"])
	if err != nil {
		t.Fatal(err)
	}
	gotAlerts := map[string]int{}
	for rows.Next() {
		var day time.Time
		var rule, severity string
		var count int
		if err := rows.Scan(&day, &rule, &severity, &count); err != nil {
			t.Fatal(err)
		}
		gotAlerts[rule+"/"+severity] += count
	}
	rows.Close()
	large = nil
	for k, c := range want {
		if strings.HasPrefix(k, regulator.RuleLarge+"/") {
			large = append(large, fmt.Sprint(c))
		}
	}
	if fmt.Sprint(gotAlerts) != fmt.Sprint(want) || len(large) == 0 {
		t.Fatalf("alerts per rule: PostgreSQL %v, index %v (want the two large transfers among them)", gotAlerts, want)
	}
	t.Logf("documented queries: large transfers %v; %d counterparties; %d sent in %d transfers; alerts %v", gotLarge, len(got), total, len(all), gotAlerts)
}

func cmpU(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
