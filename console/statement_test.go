package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/recon"
)

// The statement page shows a day statementRows rows at a time, the last
// page first, each asked for alone from the node's API (which keeps the
// day); the download is the node's CSV.
func TestStatementPages(t *testing.T) {
	const n = 2*statementRows + 201
	var asked atomic.Int32
	api1 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/statement" {
			http.NotFound(w, r)
			return
		}
		asked.Add(1)
		date := r.URL.Query().Get("date")
		if date == "2026-12-05" {
			w.WriteHeader(http.StatusGone)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "this node keeps no blocks of 2026-12-05"})
			return
		}
		st := recon.Statement{Org: "bankA", Day: recon.Day{Date: date, TimeZone: "Asia/Shanghai", FromHeight: 1, ToHeight: n, Complete: date == "2026-12-03", AsOfHeight: n}}
		for i := range n {
			st.Rows = append(st.Rows, recon.Row{Time: time.Date(2026, 12, 3, 1, 0, 0, 0, time.UTC), Height: int64(i + 1), Ledger: "payments", Asset: "CNY",
				Kind: "transfer", Direction: "debit", Amount: 1, Account: strings.Repeat("a", 40), Memo: fmt.Sprintf("ROW-%04d", i+1), TxID: strings.Repeat("b", 64)})
		}
		q := r.URL.Query()
		switch {
		case q.Get("format") == "csv":
			_ = st.WriteCSV(w)
		case q.Get("limit") != "":
			limit, _ := strconv.Atoi(q.Get("limit"))
			offset, err := strconv.Atoi(q.Get("offset"))
			if err != nil {
				offset = -1 // last
			}
			if limit != statementRows {
				t.Errorf("the console asked for pages of %d rows, want %d", limit, statementRows)
			}
			_ = json.NewEncoder(w).Encode(api.NewStatementPage(&st, offset, limit))
		default:
			t.Errorf("the statement page asked the node for a whole statement: %s", r.URL)
			_ = json.NewEncoder(w).Encode(st)
		}
	}))
	t.Cleanup(api1.Close)
	k, err := gmcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServerWith(t, Config{Node: api.Node{Addr: api1.URL}, Key: k, Org: "bankA", Name: "clerk", Lang: "en", Listen: "127.0.0.1:0", Timeout: 5 * time.Second})
	c := login(t, s)
	page := func(q string) string {
		t.Helper()
		resp, body := get(t, c, "http://"+s.Addr()+"/statement?"+q)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d\n%s", q, resp.StatusCode, body)
		}
		return body
	}
	last := page("date=2026-12-03")
	if !strings.Contains(last, fmt.Sprintf("%d–%d / %d", 2*statementRows+1, n, n)) || !strings.Contains(last, fmt.Sprintf("ROW-%04d", n)) ||
		strings.Contains(last, fmt.Sprintf("ROW-%04d", 2*statementRows)) || strings.Contains(last, `id="next-rows"`) {
		t.Fatalf("the last page:\n%s", last)
	}
	first := page("date=2026-12-03&page=1")
	if !strings.Contains(first, "ROW-0001") || strings.Contains(first, fmt.Sprintf("ROW-%04d", statementRows+1)) || strings.Contains(first, `id="prev-rows"`) ||
		!strings.Contains(first, `href="/statement?date=2026-12-03&amp;page=2"`) {
		t.Fatalf("the first page:\n%s", first)
	}
	resp, csv := get(t, c, "http://"+s.Addr()+"/statement.csv?date=2026-12-03")
	if resp.StatusCode != http.StatusOK || strings.Count(csv, "\n") != n+1 {
		t.Fatalf("CSV: %d, %d lines", resp.StatusCode, strings.Count(csv, "\n"))
	}
	if got := asked.Load(); got != 3 {
		t.Fatalf("two pages and a download asked the node %d times, want 3", got)
	}
	today := page("date=2026-12-04")
	if second := page("date=2026-12-04&page=2"); !strings.Contains(second, fmt.Sprintf("%d–%d / %d", statementRows+1, 2*statementRows, n)) ||
		!strings.Contains(second, `id="prev-rows"`) || !strings.Contains(second, `id="next-rows"`) {
		t.Fatalf("the second page:\n%s", second)
	}
	// Today's download: the node writes the CSV, the console passes it on.
	if !strings.Contains(today, `href="/statement.csv?date=2026-12-04"`) {
		t.Fatalf("no download link for the day:\n%s", today)
	}
	resp, csv = get(t, c, "http://"+s.Addr()+"/statement.csv?date=2026-12-04")
	if resp.StatusCode != http.StatusOK || strings.Count(csv, "\n") != n+1 || !strings.Contains(csv, "ROW-0001") ||
		resp.Header.Get("Content-Disposition") != `attachment; filename="bankA-20261204.csv"` {
		t.Fatalf("today's CSV: %d, %d lines, %q", resp.StatusCode, strings.Count(csv, "\n"), resp.Header.Get("Content-Disposition"))
	}
	// Without a date the page names the node's day in its download link.
	if p := page(""); !strings.Contains(p, `href="/statement.csv?date=`) {
		t.Fatalf("the download link of the latest day names no date:\n%s", p)
	}
	// The node's refusal is an error, not a file.
	resp, body := get(t, c, "http://"+s.Addr()+"/statement.csv?date=2026-12-05")
	if resp.StatusCode != http.StatusBadGateway || resp.Header.Get("Content-Disposition") != "" || !strings.Contains(body, "keeps no blocks of 2026-12-05") {
		t.Fatalf("refused download: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Disposition"), body)
	}
}

// The flows chart scales each asset's bars to its largest figure.
func TestFlowChart(t *testing.T) {
	rows, h := flowChart([]recon.Position{
		{Asset: "CNY", Counterparty: "bankB", Flows: recon.Flows{ChainCredits: "40", ChainDebits: "200", InternalCredits: "40", InternalDebits: "100", Agree: false}},
		{Asset: "USD", Counterparty: "bankC", Flows: recon.Flows{ChainCredits: "5", ChainDebits: "0", InternalCredits: "5", InternalDebits: "0", Agree: true}},
	})
	if len(rows) != 2 || h != 2*rowHeight+4 || rows[1].Y != rowHeight {
		t.Fatalf("rows %+v, height %d", rows, h)
	}
	want := [][]float64{{0.2 * chartWidth, chartWidth, 0.2 * chartWidth, 0.5 * chartWidth}, {chartWidth, 0, chartWidth, 0}}
	for i, r := range rows {
		for j, b := range r.Bars {
			if b.Width != want[i][j] {
				t.Errorf("%s %s: width %v, want %v", r.Label, b.Key, b.Width, want[i][j])
			}
		}
	}
}
