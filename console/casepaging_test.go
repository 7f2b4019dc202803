package console

import (
	"encoding/json"
	"fmt"
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

// pagedObserver answers the observer's audit log, an account's alerts,
// movements and key history, n entries each (1..n, newest first), in pages
// of limit with an opaque cursor "<list>.<offset>" as the observer's own
// (the index pins its cursors: TestAlertsCursor and the index tests). A
// cursor it did not hand out is refused, naming it. It records every
// query.
func pagedObserver(t *testing.T, n int) (string, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var list string
		switch {
		case r.URL.Path == "/v1/audit":
			list = "audit"
		case r.URL.Path == "/v1/alerts":
			list = "alerts"
		case r.URL.Path == "/v1/txs":
			list = "moves"
		case strings.HasPrefix(r.URL.Path, "/v1/accounts/") && strings.HasSuffix(r.URL.Path, "/history"):
			list = "history"
		default:
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		mu.Lock()
		asked = append(asked, list+"?"+q.Encode())
		mu.Unlock()
		limit, _ := strconv.Atoi(q.Get("limit"))
		from := 0
		if c := q.Get("cursor"); c != "" {
			off, ok := strings.CutPrefix(c, list+".")
			v, err := strconv.Atoi(off)
			if !ok || err != nil || v <= 0 || v >= n {
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprintf(w, `{"error": "bad cursor %q"}`, c)
				return
			}
			from = v
		}
		to := min(from+limit, n)
		next := ""
		if to < n {
			next = fmt.Sprintf("%s.%d", list, to)
		}
		var items []any
		for i := from; i < to; i++ {
			seq := n - i // newest first
			switch list {
			case "audit":
				items = append(items, regulator.AuditEntry{Seq: uint64(seq), Who: strings.Repeat("ab", 20), Action: fmt.Sprintf("action-%d", seq), At: time.Unix(int64(seq), 0)})
			case "alerts":
				items = append(items, regulator.Alert{Seq: uint64(seq), ID: fmt.Sprintf("%d-1", seq), Rule: regulator.RuleLarge, Severity: "high",
					Subject: strings.Repeat("ab", 20), Status: regulator.StatusOpen, Time: time.Unix(int64(seq), 0)})
			case "moves":
				items = append(items, regulator.Entry{TxID: fmt.Sprintf("%064x", seq), Height: int64(seq), Time: time.Unix(int64(seq), 0)})
			case "history":
				items = append(items, regulator.HistoryEntry{Key: fmt.Sprintf("key-%d", seq), Height: int64(seq), TxID: fmt.Sprintf("%064x", seq), Time: time.Unix(int64(seq), 0)})
			}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"items": items, "next_cursor": next})
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), asked...) }
}

var pagerAnyLink = regexp.MustCompile(`<a href="([^"]+)" id="((?:older|newest)-[a-z]+)"`)

// TestCaseAndAuditPaging: the audit log and each list of an account's case
// view show the newest 100 entries and page beyond them through the
// observer's own cursor, one list at a time, with a link back to the
// newest; a cursor the observer refuses shows its error.
func TestCaseAndAuditPaging(t *testing.T) {
	obsURL, asked := pagedObserver(t, 230)
	k, _ := gmcrypto.GenerateKey()
	s := newTestServerWith(t, Config{Node: api.Node{Addr: unreachableNode(t)}, Key: k, Org: "regulator", Lang: "en", Listen: "127.0.0.1:0",
		Observer: obsURL, Timeout: 2 * time.Second})
	c := login(t, s)
	base := "http://" + s.Addr()
	page := func(u string) (string, map[string]string) {
		t.Helper()
		resp, body := get(t, c, base+u)
		if resp.StatusCode != http.StatusOK || strings.Contains(body, `class="error"`) {
			t.Fatalf("%s: HTTP %d\n%s", u, resp.StatusCode, body)
		}
		links := map[string]string{}
		for _, m := range pagerAnyLink.FindAllStringSubmatch(body, -1) {
			links[m[2]] = strings.ReplaceAll(m[1], "&amp;", "&")
		}
		return body, links
	}
	count := func(body, re string) int { return len(regexp.MustCompile(re).FindAllString(body, -1)) }

	// The audit log: 230 entries, three pages.
	body, links := page("/regulator/audit")
	if n := count(body, `>action-\d+<`); n != 100 || !strings.Contains(body, ">action-230<") || links["older-audit"] != "/regulator/audit?cursor=audit.100" || links["newest-audit"] != "" {
		t.Fatalf("audit, newest page: %d rows, links %v", n, links)
	}
	body, links = page(links["older-audit"])
	if !strings.Contains(body, ">action-130<") || strings.Contains(body, ">action-131<") || links["older-audit"] != "/regulator/audit?cursor=audit.200" || links["newest-audit"] != "/regulator/audit" {
		t.Fatalf("audit, second page: links %v", links)
	}
	body, links = page(links["older-audit"])
	if n := count(body, `>action-\d+<`); n != 30 || !strings.Contains(body, ">action-1<") || links["older-audit"] != "" {
		t.Fatalf("audit, oldest page: %d rows, links %v", n, links)
	}

	// The case view: each list pages on its own.
	acct := strings.Repeat("ab", 20)
	body, links = page("/regulator/case?account=" + acct)
	for _, l := range []string{"alerts", "moves", "history"} {
		if want := "/regulator/case?account=" + acct + "&" + l + "=" + l + ".100"; links["older-"+l] != want || links["newest-"+l] != "" {
			t.Fatalf("case, first pages: %s links %v, want older %s", l, links, want)
		}
	}
	if !strings.Contains(body, "key-230") || strings.Contains(body, "key-130") {
		t.Fatal("case, first page: not the newest 100 history entries")
	}
	body, links = page(links["older-history"])
	if !strings.Contains(body, "key-130") || strings.Contains(body, "key-131") || !strings.Contains(body, "<td>230-1</td>") {
		t.Fatal("case, older history: not history 130..31 beside the newest alerts")
	}
	if links["newest-history"] != "/regulator/case?account="+acct || links["older-history"] != "/regulator/case?account="+acct+"&history=history.200" || links["newest-alerts"] != "" {
		t.Fatalf("case, older history: links %v", links)
	}
	// The account's alerts are asked by account (the observer's index of
	// alerts by account), not by a subject every alert is filtered with.
	for _, want := range []string{"audit?cursor=audit.100&limit=100&order=desc", "history?cursor=history.100&limit=100&order=desc",
		"alerts?account=" + acct + "&limit=100&order=desc&tx_ids=10"} {
		found := false
		for _, q := range asked() {
			found = found || q == want
		}
		if !found {
			t.Errorf("the observer was never asked %q", want)
		}
	}

	// A cursor the observer did not hand out: its refusal is shown.
	for _, u := range []string{"/regulator/audit?cursor=forged", "/regulator/case?account=" + acct + "&moves=moves.999"} {
		_, body := get(t, c, base+u)
		if !strings.Contains(body, `class="error"`) || !strings.Contains(body, "bad cursor") {
			t.Errorf("%s: the observer's refusal is not shown", u)
		}
	}
}
