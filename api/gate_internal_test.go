package api

import (
	"bytes"
	"encoding/hex"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cometbft/cometbft/rpc/core"
)

// TestGateTableMatchesCometBFT pins the gate's method table to the linked
// CometBFT: every method it serves is a route of rpc/core served over
// HTTP, with the same argument names and Go types, so that the gate decodes
// each argument into the type CometBFT will.
func TestGateTableMatchesCometBFT(t *testing.T) {
	routes := (&core.Environment{}).GetRoutes()
	for name := range methodRules {
		f, ok := routes[name]
		if !ok {
			t.Errorf("%s: not a CometBFT route", name)
			continue
		}
		_, argNames, argTypes, ws := rpcFuncShape(f)
		if ws {
			t.Errorf("%s: websocket-only in CometBFT", name)
		}
		ours, ok := rpcArgs[name]
		if !ok {
			t.Errorf("%s: no arguments declared in rpcArgs", name)
			continue
		}
		var names []string
		var types []reflect.Type
		for _, a := range ours {
			names = append(names, a.name)
			types = append(types, a.typ)
		}
		if !slices.Equal(names, argNames) || !slices.Equal(types, argTypes) {
			t.Errorf("%s: gate has %v %v, CometBFT %v %v", name, names, types, argNames, argTypes)
		}
	}
	for name := range rpcArgs {
		if _, ok := methodRules[name]; !ok {
			t.Errorf("%s: arguments declared but no rule", name)
		}
	}
}

// TestGateCoversEveryAppQuery reads app/query.go and checks that every
// query path the app answers has a rule (an unknown path is refused, so a
// new path is unreachable through the API until someone decides who may
// call it; this test makes that decision visible).
func TestGateCoversEveryAppQuery(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "../app/query.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	ast.Inspect(f, func(node ast.Node) bool {
		vs, ok := node.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || len(vs.Values) != 1 || !strings.HasPrefix(vs.Names[0].Name, "Query") {
			return true
		}
		lit, ok := vs.Values[0].(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return true
		}
		path, _ := strconv.Unquote(lit.Value)
		n++
		r, ok := queryRules[path]
		if !ok {
			t.Errorf("app query %s (%s) has no rule in queryRules", vs.Names[0].Name, path)
		}
		if r.access == ledgerMember && r.ledger == nil {
			t.Errorf("%s: member-only without a way to read its sub-ledger", path)
		}
		if r.access == accountOwner && r.account == nil {
			t.Errorf("%s: account-owner-only without a way to read its account", path)
		}
		if (r.access == privileged || r.access == governance) && r.why == "" {
			t.Errorf("%s: no reason for a refusal", path)
		}
		return true
	})
	if n < 15 {
		t.Fatalf("found only %d query paths in app/query.go; has it moved?", n)
	}
	for path := range queryRules {
		if strings.HasPrefix(path, "/p2p/") {
			t.Errorf("%s: CometBFT's peer filter is not for clients", path)
		}
	}
}

// gateSeeds are request shapes for the fuzz target: honest calls and every
// bypass of review issue 10.
var gateSeeds = []struct {
	method, target, body string
}{
	{"POST", "/", `{"jsonrpc":"2.0","id":1,"method":"status"}`},
	{"POST", "/", `{"jsonrpc":"2.0","id":"a","method":"abci_query","params":{"path":"/balance","data":"7b226c6564676572223a2270617973227d","height":"0","prove":false}}`},
	{"POST", "/", `[{"jsonrpc":"2.0","id":1,"method":"status"},{"jsonrpc":"2.0","id":2,"method":"block","params":{"height":"1"}}]`},
	{"POST", "/", `{"jsonrpc":"2.0","id":1,"method":"broadcast_tx_sync","params":{"tx":"aGVsbG8="}}`},
	{"POST", "/", `{"jsonrpc":"2.0","id":1,"method":"validators","params":{"height":"3","page":"1","per_page":"30"}}`},
	{"POST", "/", `{"jsonrpc":"2.0","id":1,"method":"tx_search","params":{"query":"tx.height>0","prove":true,"page":"1","per_page":"5","order_by":"asc"}}`},
	{"POST", "/block?height=1", `{"jsonrpc":"2.0","id":1,"method":"status"}`},
	{"POST", "/abci_query?path=%22/balance%22", `{"method":"status","id":1}`},
	{"GET", "/abci_query?path=%22/balance%22&data=0X7B7D", ``},
	{"GET", "/abci_query?path=0x2f62616c616e6365", ``},
	{"POST", "/", `{"id":1,"method":"abci_query","params":{"path":"/balance","data":"7b7d","Data":"7b7d"}}`},
	{"POST", "/", `{"id":1,"method":"abci_query","params":{"path":"/balance","Path":"/nodes"}}`},
	{"POST", "/", `{"id":1,"method":"abci_query","params":["/balance","7b7d","0",false]}`},
	{"POST", "/", `{"id":1,"method":"status","METHOD":"block"}`},
	{"POST", "/", `{"id":1,"method":"abci_query","params":{"path":"/ledger","data":"7061796d656e7473"}} `},
	{"POST", "/", `{"id":1.5,"method":"commit","params":{"height":null}}`},
	{"GET", "/websocket", ``},
}

// FuzzGateParse feeds arbitrary request lines and bodies to the gate's
// parser. Whenever it would forward a JSON-RPC request, CometBFT's own
// server (rpc/jsonrpc/server over the real route map, recording instead
// of executing) must decode the forwarded request into exactly the calls
// the gate checked: the same methods, in order, with the same decoded
// arguments, abci_query's path and data included.
func FuzzGateParse(f *testing.F) {
	for _, s := range gateSeeds {
		f.Add(s.method, s.target, []byte(s.body))
	}
	rec := NewRecordingRPC()
	f.Fuzz(func(t *testing.T, method, target string, body []byte) {
		u, err := url.ParseRequestURI(target)
		if err != nil || !validMethod(method) {
			return
		}
		r := &http.Request{Method: method, URL: u, Header: http.Header{}, Body: httpBody(body)}
		req, err := parseRequest(r)
		if err != nil {
			return
		}
		if req.websocket {
			if method != http.MethodGet || u.Path != "/websocket" || u.RawQuery != "" {
				t.Fatalf("websocket accepted for %s %s", method, target)
			}
			return
		}
		if method != http.MethodPost || u.Path != "/" || u.RawQuery != "" {
			t.Fatalf("JSON-RPC accepted for %s %s", method, target)
		}
		if len(req.calls) == 0 || len(req.calls) > maxGateBatch {
			t.Fatalf("%d calls accepted", len(req.calls))
		}
		fw := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(req.body))
		fw.Header.Set("Content-Type", "application/json")
		rec.Take()
		w := httptest.NewRecorder()
		rec.Handler.ServeHTTP(w, fw)
		got := rec.Take()
		if len(got) != len(req.calls) {
			t.Fatalf("gate checked %d calls, CometBFT ran %d (%s): forwarded %s", len(req.calls), len(got), w.Body, req.body)
		}
		for i, c := range req.calls {
			if got[i].Method != c.method {
				t.Fatalf("call %d: gate checked %s, CometBFT ran %s", i, c.method, got[i].Method)
			}
			for j, a := range c.args {
				if !reflect.DeepEqual(a.Interface(), got[i].Args[j]) {
					t.Fatalf("call %d %s arg %s: gate checked %#v, CometBFT decoded %#v", i, c.method, rpcArgs[c.method][j].name, a.Interface(), got[i].Args[j])
				}
			}
			if c.method == "abci_query" {
				if p, d := got[i].Args[0].(string), got[i].Args[1]; p != c.queryPath() || hex.EncodeToString(reflect.ValueOf(d).Bytes()) != hex.EncodeToString(c.queryData()) {
					t.Fatalf("abci_query: gate checked %q %x, CometBFT decoded %q %x", c.queryPath(), c.queryData(), p, d)
				}
			}
		}
	})
}

func validMethod(m string) bool {
	return m != "" && !strings.ContainsFunc(m, func(r rune) bool { return r <= ' ' || r >= 0x7f })
}

func httpBody(b []byte) *readCloser { return &readCloser{bytes.NewReader(b)} }

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// GET /v1/proofs/tx's query string is read strictly: what is authorized
// is what is built.
func TestParseTxProofQuery(t *testing.T) {
	id := strings.Repeat("ab", 32)
	for _, c := range []struct {
		q, err  string
		h, from int64
		wantID  string
	}{
		{q: "id=" + id + "&height=7", h: 7, wantID: id},
		{q: "id=" + strings.ToUpper(id) + "&height=7&from=2", h: 7, from: 2, wantID: id},
		{q: "height=7", err: "want a transaction id"},
		{q: "id=" + id[:62] + "&height=7", err: "want a transaction id"},
		{q: "id=" + id + "&height=0", err: "want a positive integer"},
		{q: "id=" + id + "&height=x", err: "want a positive integer"},
		{q: "id=" + id + "&height=7&from=8", err: "want a height from 1 to 7"},
		{q: "id=" + id + "&height=7&height=8", err: "given 2 times"},
		{q: "id=" + id + "&height=7&org=bankA", err: `unknown parameter "org"`},
		{q: "id=%zz", err: "query string"},
	} {
		gotID, h, from, err := parseTxProofQuery(c.q)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: %v, want %q", c.q, err, c.err)
			}
			continue
		}
		if err != nil || gotID != c.wantID || h != c.h || from != c.from {
			t.Errorf("%q: %s %d %d %v", c.q, gotID, h, from, err)
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	for h, want := range map[string]bool{
		"gzip": true, "gzip, deflate, br": true, "br;q=1.0, GZIP;q=0.5": true, "deflate": false, "": false,
		"gzip;q=0": false, "gzip; q=0.000": false, "x-gzip": false, "identity, gzip;q=0.1": true,
	} {
		if got := acceptsGzip(h); got != want {
			t.Errorf("Accept-Encoding %q: %v, want %v", h, got, want)
		}
	}
}
