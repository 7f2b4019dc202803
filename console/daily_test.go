package console

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/recon"
)

// The daily flows chart: the organisation's chain credits and debits per
// asset on each of the 7 days to the reconciled one, from one-row
// statement pages of the node's API (totals summed over sub-ledgers); a
// day the node cannot give is named, the others drawn.
func TestDailyFlows(t *testing.T) {
	var asked []string
	node := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.URL.Path != "/v1/statement" || q.Get("limit") != "1" || q.Get("org") != "bankA" {
			t.Errorf("asked %s", r.URL)
			http.NotFound(w, r)
			return
		}
		date := q.Get("date")
		asked = append(asked, date)
		st := recon.Statement{Org: "bankA", Day: recon.Day{Date: date}}
		switch date {
		case "2026-11-28":
			w.WriteHeader(http.StatusGone)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "this node keeps blocks from height 9 on"})
			return
		case "2026-12-03":
			st.Totals = []recon.Total{{Ledger: "payments", Asset: "CNY", Credits: "40", Debits: "200"}, {Ledger: "custody", Asset: "CNY", Credits: "10", Debits: "0"},
				{Ledger: "payments", Asset: "USD", Credits: "5", Debits: "1"}}
		case "2026-12-01":
			st.Totals = []recon.Total{{Ledger: "payments", Asset: "CNY", Credits: "500", Debits: "0"}}
		}
		_ = json.NewEncoder(w).Encode(api.NewStatementPage(&st, 0, 1))
	}))
	t.Cleanup(node.Close)
	k, _ := gmcrypto.GenerateKey()
	s := newTestServerWith(t, Config{Node: api.Node{Addr: node.URL}, Key: k, Org: "bankA", Lang: "en", Listen: "127.0.0.1:0", Timeout: 5 * time.Second})
	rows, height, errText := s.dailyFlows(context.Background(), "bankA", "2026-12-03")
	if want := "2026-11-27 2026-11-28 2026-11-29 2026-11-30 2026-12-01 2026-12-02 2026-12-03"; strings.Join(asked, " ") != want {
		t.Fatalf("asked for %q, want %q", asked, want)
	}
	if !strings.Contains(errText, "2026-11-28") || !strings.Contains(errText, "keeps blocks from height 9") {
		t.Errorf("error %q", errText)
	}
	if len(rows) != 2*dailyDays || height != 2*dailyDays*(2*barHeight+14)+4 {
		t.Fatalf("%d rows, height %d", len(rows), height)
	}
	got := map[string]string{}
	for _, r := range rows {
		got[r.Label] = r.Bars[0].Value + "/" + r.Bars[1].Value
	}
	for label, want := range map[string]string{"CNY · 2026-12-03": "50/200", "CNY · 2026-12-01": "500/0", "CNY · 2026-11-27": "0/0", "USD · 2026-12-03": "5/1", "USD · 2026-12-01": "0/0"} {
		if got[label] != want {
			t.Errorf("%s: %q, want %q", label, got[label], want)
		}
	}
	if rows[0].Label != "CNY · 2026-11-27" || rows[dailyDays].Label != "USD · 2026-11-27" {
		t.Errorf("order: %q, %q", rows[0].Label, rows[dailyDays].Label)
	}
	// Bars scale per asset: CNY's largest is 500, USD's 5.
	for _, r := range rows {
		if r.Label == "CNY · 2026-12-01" && r.Bars[0].Width != chartWidth || r.Label == "USD · 2026-12-03" && r.Bars[0].Width != chartWidth {
			t.Errorf("%s: width %v", r.Label, r.Bars[0].Width)
		}
	}
	if _, _, errText := s.dailyFlows(context.Background(), "bankA", "03/12/2026"); errText == "" {
		t.Error("no error for a malformed date")
	}
}
