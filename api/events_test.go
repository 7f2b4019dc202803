package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/nodecfg"
	"github.com/jinlian-ledger/jinlian/recon"
)

// feedBlocks is statementChain's chain as the block and state stores:
// heights base..top, bankA paying bankB at 2 and bankC at 3. grow adds
// heights without transactions; reads counts block reads.
type feedBlocks struct {
	statementChain
	mu        sync.Mutex
	base, top int64
	reads     int
}

func (b *feedBlocks) Stored() (int64, int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.base, b.top, nil
}

func (b *feedBlocks) BlockTxs(h int64) (time.Time, []*abci.TxResult, error) {
	b.mu.Lock()
	b.reads++
	b.mu.Unlock()
	at, _ := b.BlockTime(h)
	var out []*abci.TxResult
	for _, r := range b.txs() {
		if r.Height == h {
			out = append(out, r)
		}
	}
	return at, out, nil
}

func (b *feedBlocks) readCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.reads
}

// TestEventsEndpoint plays members, a regulator and strangers against
// GET /v1/events over GM TLS, in its JSON form: each gets its
// organisation's side of the movements (the regulator both sides);
// another organisation's feed, an unregistered identity and bad cursors
// are refused before any block is read, and every 403 is logged.
func TestEventsEndpoint(t *testing.T) {
	mode := nodecfg.APITLSGM
	regu := pki(t, mode, "regulator", "reg")
	a := pki(t, mode, "bankA", "alice")
	b := pki(t, mode, "bankB", "bob")
	x := pki(t, mode, "bankX", "stranger")
	aud := pki(t, mode, "bankC", "auditor")
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
	blocks := &feedBlocks{base: 2, top: 3}
	var log bytes.Buffer
	var logMu sync.Mutex
	s, err := api.Start(api.Options{
		Listen: "127.0.0.1:0", TLS: serverTLS(mode, regu, bundle(t, regu.CA, a.CA, b.CA, x.CA, aud.CA)),
		RPC: "tcp://127.0.0.1:1", Status: fakeStatus{}, Registry: reg, Events: blocks,
		Logger: slog.New(slog.NewTextHandler(&lockedWriter{w: &log, mu: &logMu}, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop() })
	client := func(f *api.CertFiles) *http.Client {
		return httpClient(t, api.ClientTLS{Mode: mode, CAFile: regu.CA, CertFile: f.ClientCert, KeyFile: f.ClientKey})
	}
	regulator, alice, bob, stranger, auditor := client(regu), client(a), client(b), client(x), client(aud)

	cases := []struct {
		name    string
		client  *http.Client
		method  string // "": GET
		target  string
		header  [2]string // a request header
		code    int
		rows    []string // org/memo/direction of each movement, for 200
		next    string
		errText string
	}{
		{"bankA: its movements", alice, "", "/v1/events?cursor=2&format=json", [2]string{}, 200, []string{"bankA/INV-9/debit", "bankA/GOLD-1/debit"}, "4.0.0", ""},
		{"bankA: Accept: application/json", alice, "", "/v1/events?cursor=2", [2]string{"Accept", "application/json"}, 200, []string{"bankA/INV-9/debit", "bankA/GOLD-1/debit"}, "4.0.0", ""},
		{"bankA: org=bankA", alice, "", "/v1/events?cursor=2&org=bankA&format=json", [2]string{}, 200, []string{"bankA/INV-9/debit", "bankA/GOLD-1/debit"}, "4.0.0", ""},
		{"bankA: a page of one", alice, "", "/v1/events?cursor=2&limit=1&format=json", [2]string{}, 200, []string{"bankA/INV-9/debit"}, "2.0.1", ""},
		{"bankA: the next page", alice, "", "/v1/events?cursor=2.0.1&limit=1&format=json", [2]string{}, 200, []string{"bankA/GOLD-1/debit"}, "3.0.1", ""},
		{"bankA: Last-Event-ID wins over cursor", alice, "", "/v1/events?cursor=2&format=json", [2]string{"Last-Event-ID", "2.0.1"}, 200, []string{"bankA/GOLD-1/debit"}, "4.0.0", ""},
		{"bankA: no cursor: from the next block", alice, "", "/v1/events?format=json", [2]string{}, 200, nil, "4.0.0", ""},
		{"bankB: its side only", bob, "", "/v1/events?cursor=2&format=json", [2]string{}, 200, []string{"bankB/INV-9/credit"}, "4.0.0", ""},
		{"regulator: both sides of every movement", regulator, "", "/v1/events?cursor=2&format=json", [2]string{}, 200,
			[]string{"bankA/INV-9/debit", "bankB/INV-9/credit", "bankA/GOLD-1/debit", "bankC/GOLD-1/credit"}, "4.0.0", ""},
		{"regulator: one organisation", regulator, "", "/v1/events?cursor=2&org=bankC&format=json", [2]string{}, 200, []string{"bankC/GOLD-1/credit"}, "4.0.0", ""},
		{"bankA: one sub-ledger", alice, "", "/v1/events?cursor=2&ledger=payments&format=json", [2]string{}, 200, []string{"bankA/INV-9/debit"}, "4.0.0", ""},
		{"custody auditor: every organisation on custody", auditor, "", "/v1/events?cursor=2&ledger=custody&format=json", [2]string{}, 200,
			[]string{"bankA/GOLD-1/debit", "bankC/GOLD-1/credit"}, "4.0.0", ""},
		{"custody auditor: bankA on custody", auditor, "", "/v1/events?cursor=2&ledger=custody&org=bankA&format=json", [2]string{}, 200, []string{"bankA/GOLD-1/debit"}, "4.0.0", ""},
		{"custody auditor: without ledger=custody, its own organisation", auditor, "", "/v1/events?cursor=2&format=json", [2]string{}, 200, []string{"bankC/GOLD-1/credit"}, "4.0.0", ""},
		{"custody auditor: payments, its own organisation's (none)", auditor, "", "/v1/events?cursor=2&ledger=payments&format=json", [2]string{}, 200, nil, "4.0.0", ""},

		{"custody auditor: bankA without ledger=custody", auditor, "", "/v1/events?cursor=2&org=bankA&format=json", [2]string{}, 403, nil, "", "may not read the movements of bankA"},
		{"custody auditor: bankA on payments", auditor, "", "/v1/events?cursor=2&org=bankA&ledger=payments&format=json", [2]string{}, 403, nil, "", "may not read the movements of bankA"},
		{"bankB: a quote in ledger", bob, "", "/v1/events?cursor=2&ledger=pay%27", [2]string{}, 400, nil, "", "sub-ledger"},
		{"bankB: org=bankA", bob, "", "/v1/events?cursor=2&org=bankA&format=json", [2]string{}, 403, nil, "", "may not read the movements of bankA"},
		{"bankB: org=bankA as a stream", bob, "", "/v1/events?org=bank%41", [2]string{}, 403, nil, "", "may not read the movements of bankA"},
		{"bankB: org twice", bob, "", "/v1/events?org=bankB&org=bankA", [2]string{}, 400, nil, "", "given 2 times"},
		{"unregistered identity: its own org", stranger, "", "/v1/events?cursor=2&format=json", [2]string{}, 403, nil, "", "is not registered on chain"},
		{"bankB: POST", bob, http.MethodPost, "/v1/events?cursor=2", [2]string{}, 400, nil, "", "URI form"},
		{"bankB: a trailing slash", bob, "", "/v1/events/?cursor=2", [2]string{}, 400, nil, "", "URI form"},
		{"bankB: a malformed cursor", bob, "", "/v1/events?cursor=2.x.1&format=json", [2]string{}, 400, nil, "", `malformed cursor "2.x.1"`},
		{"bankB: a malformed Last-Event-ID", bob, "", "/v1/events?format=json", [2]string{"Last-Event-ID", "2;1"}, 400, nil, "", "header Last-Event-ID: malformed cursor"},
		{"bankB: a cursor from the future", bob, "", "/v1/events?cursor=9.0.0&format=json", [2]string{}, 400, nil, "", "from the future: the latest height is 3"},
		{"bankB: a pruned cursor", bob, "", "/v1/events?cursor=1.0.0&format=json", [2]string{}, 410, nil, "", "keeps blocks from height 2 on"},
		{"bankB: limit on a stream", bob, "", "/v1/events?cursor=2&limit=5", [2]string{}, 400, nil, "", "limit pages the JSON form"},
		{"bankB: limit too large", bob, "", "/v1/events?cursor=2&limit=1001&format=json", [2]string{}, 400, nil, "", "want 1 to 1000"},
		{"bankB: an unknown parameter", bob, "", "/v1/events?since=2", [2]string{}, 400, nil, "", `unknown parameter "since"`},
		{"regulator: an unknown organisation", regulator, "", "/v1/events?org=bankZ&format=json", [2]string{}, 404, nil, "", `no organisation "bankZ"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := blocks.readCount()
			method := c.method
			if method == "" {
				method = http.MethodGet
			}
			req, err := http.NewRequest(method, s.URL()+c.target, nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.header[0] != "" {
				req.Header.Set(c.header[0], c.header[1])
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
				if !strings.Contains(strings.ReplaceAll(string(body), `\"`, `"`), c.errText) {
					t.Fatalf("refusal %s does not say %q", body, c.errText)
				}
				if n := blocks.readCount() - before; n > 0 {
					t.Fatalf("BYPASS: a refused request read %d blocks", n)
				}
				return
			}
			var p recon.Page
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range p.Movements {
				got = append(got, m.Org+"/"+m.Memo+"/"+m.Direction)
			}
			if strings.Join(got, " ") != strings.Join(c.rows, " ") || p.Next != c.next || p.Latest != 3 {
				t.Fatalf("movements %v next %s latest %d, want %v next %s", got, p.Next, p.Latest, c.rows, c.next)
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
	if entries := strings.Count(log.String(), "api: events refused"); entries != forbidden || !strings.Contains(log.String(), "CN=bob") {
		t.Fatalf("%d audit entries for %d refused feeds:\n%s", entries, forbidden, log.String())
	}
	logMu.Unlock()

	// The stream: bankB's movement, a progress id past it, then, when a
	// block commits, what it holds; a reconnect with Last-Event-ID
	// resumes after the last id.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+"/v1/events?cursor=2", nil)
	resp, err := bob.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("stream: %s %s", resp.Status, ct)
	}
	sc := bufio.NewScanner(resp.Body)
	var ids, data []string
	for len(ids) < 2 && sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "id: "); ok {
			ids = append(ids, v)
		}
		if v, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			data = append(data, v)
		}
	}
	if strings.Join(ids, " ") != "2.0.2 4.0.0" || len(data) != 1 || !strings.Contains(data[0], `"memo":"INV-9"`) || !strings.Contains(data[0], `"cursor":"2.0.2"`) {
		t.Fatalf("stream ids %v data %v", ids, data)
	}
	blocks.mu.Lock()
	blocks.top = 5
	blocks.mu.Unlock()
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "id: "); ok {
			if v != "6.0.0" {
				t.Fatalf("after two empty blocks the stream says id %s, want 6.0.0", v)
			}
			break
		}
	}
}

// Without client certificates nobody is refused; the feed is every
// organisation's unless org names one.
func TestEventsEndpointUngated(t *testing.T) {
	s, err := api.Start(api.Options{Listen: "127.0.0.1:0", RPC: "tcp://127.0.0.1:1", Status: fakeStatus{}, Events: &feedBlocks{base: 1, top: 3}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop() })
	for target, want := range map[string]int{"/v1/events?cursor=1&format=json": 4, "/v1/events?cursor=1&org=bankB&format=json": 1} {
		var p recon.Page
		if err := (api.Node{Addr: s.URL()}).Get(context.Background(), nil, target, &p); err != nil || len(p.Movements) != want {
			t.Errorf("%s: %d movements, %v; want %d", target, len(p.Movements), err, want)
		}
	}
}
