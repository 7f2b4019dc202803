package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/nodecfg"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/recon"
	"github.com/jinlian-ledger/jinlian/wire"
)

var (
	acctA = strings.Repeat("a1", 20)
	acctB = strings.Repeat("b1", 20)
	acctC = strings.Repeat("c1", 20)
)

// statementChain is a node with three blocks on 2026-12-03 (CST): bankA
// pays bankB on payments at height 2 and bankC on custody at height 3.
type statementChain struct {
	mu       sync.Mutex
	searches int
	top      int64 // 0: 3; 4 adds a payment of bankB to bankA
	fail     error // every search's answer, if set
}

func (c *statementChain) Heights() (int64, int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return 1, max(c.top, 3), nil
}
func (c *statementChain) BlockTime(h int64) (time.Time, error) {
	return time.Date(2026, 12, 3, 8+int(h), 0, 0, 0, time.FixedZone("CST", 8*3600)), nil
}

func (c *statementChain) txs() []*abci.TxResult {
	mk := func(h int64, ev *txpb.EventTransfer) *abci.TxResult {
		org := "bankA"
		if ev.From == acctB {
			org = "bankB"
		}
		return &abci.TxResult{Height: h, Tx: []byte(ev.Memo), Result: abci.ExecTxResult{Events: []abci.Event{wire.Event(ev),
			wire.Event(&txpb.EventJinlianTx{Id: "id-" + ev.Memo, Ledger: ev.Ledger, Sender: ev.From, Org: org, Type: "transfer"})}}}
	}
	txs := []*abci.TxResult{
		mk(2, &txpb.EventTransfer{Ledger: "payments", Asset: "CNY", From: acctA, To: acctB, Amount: 30, FromBalance: 70, ToBalance: 30, ToOrg: "bankB", Memo: "INV-9"}),
		mk(3, &txpb.EventTransfer{Ledger: "custody", Asset: "GOLD", From: acctA, To: acctC, Amount: 2, FromBalance: 8, ToBalance: 2, ToOrg: "bankC", Memo: "GOLD-1"}),
	}
	if _, top, _ := c.Heights(); top >= 4 {
		txs = append(txs, mk(4, &txpb.EventTransfer{Ledger: "payments", Asset: "CNY", From: acctB, To: acctA, Amount: 5, FromBalance: 25, ToBalance: 75, ToOrg: "bankA", Memo: "REF-4"}))
	}
	return txs
}

func (c *statementChain) SearchTxs(_ context.Context, q string) ([]*abci.TxResult, error) {
	c.mu.Lock()
	c.searches++
	c.mu.Unlock()
	if c.fail != nil {
		return nil, c.fail
	}
	var out []*abci.TxResult
	for _, r := range c.txs() {
		for _, ev := range r.Result.Events {
			for _, a := range ev.Attributes {
				if strings.HasSuffix(q, fmt.Sprintf(" AND %s.%s = '%s'", ev.Type, a.Key, a.Value)) {
					out = append(out, r)
				}
			}
		}
	}
	return out, nil
}

func (c *statementChain) FirstTx(from, to int64, match func(*abci.TxResult) bool) (*abci.TxResult, error) {
	for _, r := range c.txs() {
		if r.Height >= from && r.Height <= to && match(r) {
			return r, nil
		}
	}
	return nil, nil
}

func (c *statementChain) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.searches
}

// TestStatementEndpoint plays members, a regulator, a sub-ledger auditor
// and strangers against GET /v1/statement over GM TLS: each honest caller
// gets exactly its organisation's rows; bankB asking for bankA's statement,
// however it spells the request, is refused, logged, and reaches no index.
func TestStatementEndpoint(t *testing.T) {
	mode := nodecfg.APITLSGM
	regu := pki(t, mode, "regulator", "reg")
	a := pki(t, mode, "bankA", "alice")
	b := pki(t, mode, "bankB", "bob")
	aud := pki(t, mode, "bankC", "auditor")
	x := pki(t, mode, "bankX", "stranger")
	addr := func(f *api.CertFiles) gmcrypto.Address { return certAddr(t, f) }
	reg := &fakeRegistry{
		ids: map[gmcrypto.Address][2][]string{
			addr(regu): {{"regulator"}, {"auditor", "regulator"}},
			addr(a):    {{"bankA"}, {"member"}},
			addr(b):    {{"bankB"}, {"member"}},
			addr(aud):  {{"bankC"}, {"auditor:custody"}},
		},
		ledgers: map[string][]string{"custody": {"bankA", "bankC"}, "payments": {"bankA", "bankB"}},
	}
	chain := &statementChain{}
	var log bytes.Buffer
	var logMu sync.Mutex
	s, err := api.Start(api.Options{
		Listen: "127.0.0.1:0", TLS: serverTLS(mode, regu, bundle(t, regu.CA, a.CA, b.CA, aud.CA, x.CA)),
		RPC: "tcp://127.0.0.1:1", Status: fakeStatus{}, Registry: reg, Statements: chain,
		Logger: slog.New(slog.NewTextHandler(&lockedWriter{w: &log, mu: &logMu}, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop() })
	client := func(f *api.CertFiles) *http.Client {
		return httpClient(t, api.ClientTLS{Mode: mode, CAFile: regu.CA, CertFile: f.ClientCert, KeyFile: f.ClientKey})
	}
	regulator, alice, bob, auditor, stranger := client(regu), client(a), client(b), client(aud), client(x)

	cases := []struct {
		name   string
		client *http.Client
		method string // "": GET
		target string
		code   int
		rows   []string // memo/direction of each row, for 200
		err    string   // in the refusal
	}{
		// Honest callers.
		{"bankA: its statement", alice, "", "/v1/statement?org=bankA&date=2026-12-03", 200, []string{"INV-9/debit", "GOLD-1/debit"}, ""},
		{"bankA: org defaults to the caller's", alice, "", "/v1/statement?date=2026-12-03", 200, []string{"INV-9/debit", "GOLD-1/debit"}, ""},
		{"bankA: date defaults to the latest block's day", alice, "", "/v1/statement", 200, []string{"INV-9/debit", "GOLD-1/debit"}, ""},
		{"bankA: one sub-ledger", alice, "", "/v1/statement?org=bankA&date=2026-12-03&ledger=custody", 200, []string{"GOLD-1/debit"}, ""},
		{"bankA: one account, written in upper case with 0x", alice, "", "/v1/statement?account=0x" + strings.ToUpper(acctA), 200, []string{"INV-9/debit", "GOLD-1/debit"}, ""},
		{"bankB: its side", bob, "", "/v1/statement?org=bankB&date=2026-12-03", 200, []string{"INV-9/credit"}, ""},
		{"bankB: a day without blocks", bob, "", "/v1/statement?org=bankB&date=2026-12-04", 200, nil, ""},
		{"regulator: bankA", regulator, "", "/v1/statement?org=bankA&date=2026-12-03", 200, []string{"INV-9/debit", "GOLD-1/debit"}, ""},
		{"regulator: bankC", regulator, "", "/v1/statement?org=bankC&date=2026-12-03", 200, []string{"GOLD-1/credit"}, ""},
		{"custody auditor: bankA on custody", auditor, "", "/v1/statement?org=bankA&date=2026-12-03&ledger=custody", 200, []string{"GOLD-1/debit"}, ""},

		{"bankA: as CSV", alice, "", "/v1/statement?date=2026-12-03&format=csv", 200, []string{"INV-9/debit", "GOLD-1/debit"}, ""},
		{"bankA: format=json", alice, "", "/v1/statement?date=2026-12-03&format=json", 200, []string{"INV-9/debit", "GOLD-1/debit"}, ""},
		{"bankA: another format", alice, "", "/v1/statement?format=xml", 400, nil, `format "xml": want json or csv`},
		{"bankA: the first page of one row", alice, "", "/v1/statement?date=2026-12-03&limit=1", 200, []string{"INV-9/debit"}, ""},
		{"bankA: the second page", alice, "", "/v1/statement?date=2026-12-03&limit=1&offset=1", 200, []string{"GOLD-1/debit"}, ""},
		{"bankA: the last page", alice, "", "/v1/statement?date=2026-12-03&limit=5&offset=last", 200, []string{"INV-9/debit", "GOLD-1/debit"}, ""},
		{"bankA: past the end", alice, "", "/v1/statement?date=2026-12-03&limit=5&offset=7", 200, nil, ""},
		{"bankA: limit 0", alice, "", "/v1/statement?limit=0", 400, nil, "limit \"0\": want a number of rows from 1 to 10000"},
		{"bankA: limit too large", alice, "", "/v1/statement?limit=10001", 400, nil, "from 1 to 10000"},
		{"bankA: offset without limit", alice, "", "/v1/statement?offset=3", 400, nil, "offset needs limit"},
		{"bankA: a negative offset", alice, "", "/v1/statement?limit=2&offset=-1", 400, nil, "want a row number from 0, or last"},
		{"bankA: a page of the CSV", alice, "", "/v1/statement?format=csv&limit=2", 400, nil, "the CSV is the whole statement"},
		{"bankB: a page of bankA's", bob, "", "/v1/statement?org=bankA&date=2026-12-03&limit=1&offset=last", 403, nil, "may not read the statement of bankA"},
		{"bankA: format twice", alice, "", "/v1/statement?format=csv&format=json", 400, nil, "given 2 times"},

		// bankB after bankA's statement.
		{"bankB: org=bankA as CSV", bob, "", "/v1/statement?org=bankA&format=csv", 403, nil, "may not read the statement of bankA"},
		{"bankB: org=bankA", bob, "", "/v1/statement?org=bankA&date=2026-12-03", 403, nil, "may not read the statement of bankA"},
		{"bankB: org=bankA percent-encoded", bob, "", "/v1/statement?org=bank%41&date=2026-12-03", 403, nil, "may not read the statement of bankA"},
		{"bankB: org twice, its own first", bob, "", "/v1/statement?org=bankB&org=bankA", 400, nil, "given 2 times"},
		{"bankB: org twice, bankA first", bob, "", "/v1/statement?org=bankA&org=bankB", 400, nil, "given 2 times"},
		{"bankB: org and an empty org", bob, "", "/v1/statement?org=bankB&org=", 400, nil, "given 2 times"},
		{"bankB: Org in another case", bob, "", "/v1/statement?Org=bankA", 400, nil, `unknown parameter "Org"`},
		{"bankB: a semicolon separator", bob, "", "/v1/statement?org=bankB;org=bankA", 400, nil, "semicolon"},
		{"bankB: a bad escape", bob, "", "/v1/statement?org=bank%4", 400, nil, "invalid URL escape"},
		{"bankB: its org with a NUL", bob, "", "/v1/statement?org=bankB%00", 403, nil, "may not read"},
		{"bankB: query injection", bob, "", "/v1/statement?org=bankB%27%20OR%20jinlian_tx.org%3D%27bankA", 403, nil, "may not read"},
		{"bankB: an empty parameter", bob, "", "/v1/statement?org=bankB&asset=", 400, nil, "asset is empty"},
		{"bankB: POST", bob, http.MethodPost, "/v1/statement?org=bankA", 400, nil, "URI form"},
		{"bankB: a trailing slash", bob, "", "/v1/statement/?org=bankA", 400, nil, "URI form"},
		{"bankB: an encoded slash", bob, "", "/v1%2Fstatement?org=bankA", 400, nil, "URI form"},
		{"bankB: a doubled slash", bob, "", "//v1/statement?org=bankA", 403, nil, "may not read the statement of bankA"},
		{"bankB: ledger filter it does not audit", bob, "", "/v1/statement?org=bankA&ledger=payments", 403, nil, "may not read"},

		// Others.
		{"custody auditor: bankA without ledger=custody", auditor, "", "/v1/statement?org=bankA&date=2026-12-03", 403, nil, "may not read"},
		{"custody auditor: bankA on payments", auditor, "", "/v1/statement?org=bankA&ledger=payments", 403, nil, "may not read"},
		{"unregistered identity: its own org", stranger, "", "/v1/statement?org=bankX", 403, nil, "is not registered on chain"},
		{"regulator: an unknown organisation", regulator, "", "/v1/statement?org=bankZ", 404, nil, `no organisation "bankZ"`},
		{"regulator: a quote in org", regulator, "", "/v1/statement?org=bankA%27", 400, nil, "organisation"},
		{"regulator: a bad date", regulator, "", "/v1/statement?org=bankA&date=2026-12-32", 400, nil, "YYYY-MM-DD"},
		{"regulator: a bad account", regulator, "", "/v1/statement?org=bankA&account=xyz", 400, nil, "account"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := chain.count()
			method := c.method
			if method == "" {
				method = http.MethodGet
			}
			req, err := http.NewRequest(method, s.URL()+c.target, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.code {
				t.Fatalf("HTTP %s, want %d: %s", resp.Status, c.code, body)
			}
			if c.code != http.StatusOK {
				if !strings.Contains(strings.ReplaceAll(string(body), `\"`, `"`), c.err) {
					t.Fatalf("refusal %s does not say %q", body, c.err)
				}
				if n := chain.count() - before; n > 0 {
					t.Fatalf("BYPASS: a refused request ran %d index searches", n)
				}
				return
			}
			var got []string
			if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
				recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
				if err != nil || len(recs) == 0 || strings.Join(recs[0], ",") != strings.Join(recon.CSVHeader, ",") {
					t.Fatalf("CSV %q: %v", body, err)
				}
				col := func(name string) int { return slices.Index(recon.CSVHeader, name) }
				for _, r := range recs[1:] {
					got = append(got, r[col("memo")]+"/"+r[col("direction")])
				}
			} else {
				var st api.StatementPage
				if err := json.Unmarshal(body, &st); err != nil {
					t.Fatal(err)
				}
				if paged := strings.Contains(c.target, "limit="); paged && (st.RowsTotal != 2 || len(st.Totals) == 0) || !paged && st.RowsTotal != 0 {
					t.Fatalf("rows_total %d, totals %v: want the whole statement's (2 rows) on a page only", st.RowsTotal, st.Totals)
				}
				for _, r := range st.Rows {
					got = append(got, r.Memo+"/"+r.Direction)
				}
			}
			if strings.Join(got, " ") != strings.Join(c.rows, " ") {
				t.Fatalf("rows %v, want %v", got, c.rows)
			}
		})
	}
	forbidden := 0
	for _, c := range cases {
		if c.code == http.StatusForbidden {
			forbidden++
		}
	}
	logMu.Lock()
	defer logMu.Unlock()
	if entries := strings.Count(log.String(), "api: statement refused"); entries != forbidden || !strings.Contains(log.String(), "org=bankA") ||
		!strings.Contains(log.String(), "CN=bob") {
		t.Fatalf("%d audit entries for %d refused statements:\n%s", entries, forbidden, log.String())
	}
}

// ungatedStatements starts an API without client certificates that serves
// chain's statements.
func ungatedStatements(t *testing.T, chain recon.Chain) *api.Server {
	t.Helper()
	s, err := api.Start(api.Options{Listen: "127.0.0.1:0", RPC: "tcp://127.0.0.1:1", Status: fakeStatus{}, Statements: chain})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop() })
	return s
}

// Without client certificates there is nobody to refuse, and org must be
// named.
func TestStatementEndpointUngated(t *testing.T) {
	chain := &statementChain{}
	s := ungatedStatements(t, chain)
	for target, want := range map[string]int{"/v1/statement?date=2026-12-03": 400, "/v1/statement?org=bankB&date=2026-12-03": 200} {
		resp, err := http.Get(s.URL() + target)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %s, want %d", target, resp.Status, want)
		}
	}
	// A node whose movement index is catching up, without a tx index to
	// search meanwhile, says so and when to ask again.
	catching := ungatedStatements(t, &statementChain{fail: fmt.Errorf("%w: it holds heights 1..1 of 3", recon.ErrCatchingUp)})
	resp, err := http.Get(catching.URL() + "/v1/statement?org=bankB&date=2026-12-03")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "catching up: it holds heights 1..1 of 3") {
		t.Fatalf("catching up: %s %q %s", resp.Status, resp.Header.Get("Retry-After"), body)
	}
	none, err := api.Start(api.Options{Listen: "127.0.0.1:0", RPC: "tcp://127.0.0.1:1", Status: fakeStatus{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { none.Stop() })
	resp, err = http.Get(none.URL() + "/v1/statement?org=bankB")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a node without statements: %s", resp.Status)
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestStatementFollowsTheChain: the API keeps the statements it built; an
// open day's, asked for again, has what was committed since (searching
// only the new heights), and a page's rows_total and totals follow.
func TestStatementFollowsTheChain(t *testing.T) {
	chain := &statementChain{}
	s := ungatedStatements(t, chain)
	get := func(target string) api.StatementPage {
		t.Helper()
		resp, err := http.Get(s.URL() + target)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var p api.StatementPage
		if err := json.NewDecoder(resp.Body).Decode(&p); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s, %v", target, resp.Status, err)
		}
		return p
	}
	const page = "/v1/statement?org=bankA&date=2026-12-03&limit=1&offset=last"
	p := get(page)
	if p.RowsTotal != 2 || p.Offset != 1 || len(p.Rows) != 1 || p.Rows[0].Memo != "GOLD-1" || p.Day.Complete {
		t.Fatalf("at height 3: %+v", p)
	}
	searches := chain.count()
	if p = get(page); p.RowsTotal != 2 || chain.count() != searches {
		t.Fatalf("again at height 3: %d rows, %d more searches; want 2 and none", p.RowsTotal, chain.count()-searches)
	}
	chain.mu.Lock()
	chain.top = 4
	chain.mu.Unlock()
	p = get(page)
	if p.RowsTotal != 3 || p.Offset != 2 || p.Rows[0].Memo != "REF-4" || p.Rows[0].Direction != "credit" || p.Day.ToHeight != 4 {
		t.Fatalf("at height 4: %+v", p)
	}
	var cny string
	for _, tot := range p.Totals {
		if tot.Asset == "CNY" {
			cny = tot.Credits + "/" + tot.Debits
		}
	}
	if cny != "5/30" {
		t.Fatalf("CNY credits/debits %q at height 4, want 5/30", cny)
	}
	if whole := get("/v1/statement?org=bankA&date=2026-12-03"); len(whole.Rows) != 3 || whole.RowsTotal != 0 {
		t.Fatalf("the whole statement at height 4: %d rows, rows_total %d", len(whole.Rows), whole.RowsTotal)
	}
}
