package console

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/regulator"
)

// fakeObserver answers GET /v1/alerts over alerts 1..n (even ones high,
// odd ones low) as the observer's index pages them: limit, order, since,
// severity, and its cursor (regulator.AlertsCursor of the alert a page
// ends with; TestAlertsCursor pins that against the index). It records
// the queries it was asked.
func fakeObserver(t *testing.T, n uint64) (string, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/alerts" {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		mu.Lock()
		asked = append(asked, q.Encode())
		mu.Unlock()
		limit, _ := strconv.Atoi(q.Get("limit"))
		desc := q.Get("order") == "desc"
		since, _ := strconv.ParseUint(q.Get("since"), 10, 64)
		var seqs []uint64
		for s := uint64(1); s <= n; s++ {
			seqs = append(seqs, s)
		}
		if desc {
			for i, j := 0, len(seqs)-1; i < j; i, j = i+1, j-1 {
				seqs[i], seqs[j] = seqs[j], seqs[i]
			}
		}
		if c := q.Get("cursor"); c != "" {
			at := -1
			for i, s := range seqs {
				if regulator.AlertsCursor(s) == c {
					at = i
				}
			}
			if at < 0 {
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprintf(w, `{"error": "bad cursor %q"}`, c)
				return
			}
			seqs = seqs[at+1:]
		}
		page := regulator.Page[regulator.Alert]{Items: []regulator.Alert{}}
		for _, s := range seqs {
			sev := "low"
			if s%2 == 0 {
				sev = "high"
			}
			if s <= since || (q.Get("severity") != "" && q.Get("severity") != sev) {
				continue
			}
			if len(page.Items) == limit {
				page.NextCursor = regulator.AlertsCursor(page.Items[limit-1].Seq)
				break
			}
			a := regulator.Alert{Seq: s, ID: fmt.Sprintf("%d-1", s), Rule: regulator.RuleLarge, Severity: sev,
				Subject: strings.Repeat("ab", 20), Status: regulator.StatusOpen, Time: time.Unix(int64(s), 0)}
			if s%50 == 0 { // a day's cross-border flow lists up to MaxAlertTxIDs
				for i := range regulator.MaxAlertTxIDs {
					a.TxIDs = append(a.TxIDs, fmt.Sprintf("%064x", i))
				}
				// The observer lists the first tx_ids of them; the fake
				// does for alerts 100 and 200 only, as an observer that
				// does not know the parameter lists all of the others.
				if n, _ := strconv.Atoi(q.Get("tx_ids")); n > 0 && s%100 == 0 {
					a.TxIDsTotal, a.TxIDs = len(a.TxIDs), a.TxIDs[:n]
				}
			}
			page.Items = append(page.Items, a)
		}
		_ = json.NewEncoder(w).Encode(page)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), asked...) }
}

var alertRow = regexp.MustCompile(`<tr id="alert-(\d+)-1">`)

// shownAlerts is the sequence numbers of the alerts a page lists, in order.
func shownAlerts(body string) []uint64 {
	var out []uint64
	for _, m := range alertRow.FindAllStringSubmatch(body, -1) {
		n, _ := strconv.ParseUint(m[1], 10, 64)
		out = append(out, n)
	}
	return out
}

var pagerLink = regexp.MustCompile(`<a href="([^"]+)" id="(older|newer)-alerts"`)

func pagerLinks(body string) map[string]string {
	out := map[string]string{}
	for _, m := range pagerLink.FindAllStringSubmatch(body, -1) {
		out[m[2]] = strings.ReplaceAll(m[1], "&amp;", "&")
	}
	return out
}

// The regulator page lists 100 alerts, newest first, and pages beyond
// them: older and newer links by sequence number, through the observer's
// cursor (older) and since= (newer); the filters stay on; the live
// stream is for the newest page only; a bad page cursor is refused
// naming it.
func TestRegulatorAlertPages(t *testing.T) {
	obsURL, asked := fakeObserver(t, 250)
	k, _ := gmcrypto.GenerateKey()
	s := newTestServerWith(t, Config{Node: api.Node{Addr: unreachableNode(t)}, Key: k, Org: "regulator", Lang: "en", Listen: "127.0.0.1:0",
		Observer: obsURL, Timeout: 2 * time.Second})
	c := login(t, s)
	base := "http://" + s.Addr()
	page := func(u string) (string, []uint64, map[string]string) {
		t.Helper()
		resp, body := get(t, c, base+u)
		if resp.StatusCode != http.StatusOK || strings.Contains(body, `class="error"`) {
			t.Fatalf("%s: HTTP %d\n%s", u, resp.StatusCode, body)
		}
		return body, shownAlerts(body), pagerLinks(body)
	}
	span := func(hi, lo uint64) []uint64 {
		var out []uint64
		for s := hi; s >= lo; s-- {
			out = append(out, s)
		}
		return out
	}
	eq := func(a, b []uint64) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

	body, shown, links := page("/regulator")
	// Alerts 200 and 250 list 1,000 transactions: each row links the
	// first ten, whether the observer sent ten (200) or all (250); and
	// the console asks for ten.
	for _, id := range []string{"alert-200-1", "alert-250-1"} {
		row := body[strings.Index(body, `<tr id="`+id+`">`):]
		row = row[:strings.Index(row, "</tr>")]
		if n := strings.Count(row, `href="/explorer?tx=`); n != alertTxsShown || !strings.Contains(row, "+990 more") {
			t.Fatalf("%s, of %d transactions: %d links in its row\n%s", id, regulator.MaxAlertTxIDs, n, row)
		}
	}
	if q := asked(); len(q) == 0 || !strings.Contains(q[0], "tx_ids=10") {
		t.Fatalf("the console asked the observer %q, want tx_ids=10", q)
	}
	if !eq(shown, span(250, 151)) || links["newer"] != "" || links["older"] != "/regulator?before=151" || !strings.Contains(body, `id="live"`) {
		t.Fatalf("newest page: %v %v (live: %v)", shown, links, strings.Contains(body, `id="live"`))
	}
	body, shown, links = page(links["older"])
	if !eq(shown, span(150, 51)) || links["newer"] != "/regulator?after=150" || links["older"] != "/regulator?before=51" || strings.Contains(body, `id="live"`) || !strings.Contains(body, `id="newest-alerts"`) {
		t.Fatalf("second page: %v %v", shown, links)
	}
	_, shown, links = page(links["older"])
	if !eq(shown, span(50, 1)) || links["older"] != "" || links["newer"] != "/regulator?after=50" {
		t.Fatalf("oldest page: %v %v", shown, links)
	}
	_, shown, links = page(links["newer"])
	if !eq(shown, span(150, 51)) || links["newer"] != "/regulator?after=150" || links["older"] != "/regulator?before=51" {
		t.Fatalf("newer than 50: %v %v", shown, links)
	}
	_, shown, links = page(links["newer"])
	if !eq(shown, span(250, 151)) || links["newer"] != "" || links["older"] != "/regulator?before=151" {
		t.Fatalf("newer than 150: %v %v", shown, links)
	}
	// The filter stays on across pages, and is the observer's.
	_, shown, links = page("/regulator?severity=high&before=101")
	if len(shown) != 50 || shown[0] != 100 || shown[49] != 2 || links["older"] != "" || links["newer"] != "/regulator?after=100&severity=high" {
		t.Fatalf("high alerts older than 101: %v %v", shown, links)
	}
	for _, want := range []string{"cursor=" + regulator.AlertsCursor(151) + "&limit=100&order=desc&tx_ids=10", "limit=100&order=asc&since=50&tx_ids=10", "cursor=" + regulator.AlertsCursor(101) + "&limit=100&order=desc&severity=high&tx_ids=10"} {
		found := false
		for _, q := range asked() {
			found = found || q == want
		}
		if !found {
			t.Errorf("the observer was never asked %q: %v", want, asked())
		}
	}

	for _, cs := range []struct{ query, want string }{
		{"before=abc", `page cursor before="abc": want an alert's sequence number`},
		{"after=-1", `page cursor after="-1": want an alert's sequence number`},
		{"before=0", `page cursor before="0"`},
		{"before=5&after=3", "before=5 and after=3: give one of them"},
	} {
		resp, body := get(t, c, base+"/regulator?"+cs.query)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(html.UnescapeString(body), cs.want) || len(shownAlerts(body)) != 0 {
			t.Errorf("%s: HTTP %d, want 400 naming %q:\n%s", cs.query, resp.StatusCode, cs.want, body)
		}
	}
	// Without the console's cookie: the token guard.
	if resp, _ := get(t, client(t), base+"/regulator?before=151"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: HTTP %d, want 401", resp.StatusCode)
	}
}
