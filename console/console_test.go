package console

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
)

// unreachableNode is a node address where nothing listens: the handlers
// run for real and show the node's absence.
func unreachableNode(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "tcp://" + addr
}

func newTestServer(t *testing.T, lang string) *Server {
	t.Helper()
	k, err := gmcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return newTestServerWith(t, Config{Node: api.Node{Addr: unreachableNode(t)}, Key: k, Org: "bankA", Name: "clerk", Lang: lang,
		Listen: "127.0.0.1:0", Timeout: 2 * time.Second})
}

func newTestServerWith(t *testing.T, cfg Config) *Server {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// client is a browser of one console: it keeps cookies and does not
// follow redirects.
func client(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 10 * time.Second}
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp, b.String()
}

// login opens the printed URL and returns the cookie-holding client.
func login(t *testing.T, s *Server) *http.Client {
	t.Helper()
	c := client(t)
	resp, _ := get(t, c, s.URL())
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("tokened visit: %d to %q, want 303 to / (the token taken out of the address)", resp.StatusCode, resp.Header.Get("Location"))
	}
	return c
}

func TestTokenGuard(t *testing.T) {
	s := newTestServer(t, "zh")
	other := newTestServer(t, "zh")
	base := "http://" + s.Addr()
	for _, c := range []struct {
		name string
		url  string
		want int
	}{
		{"no token", base + "/", http.StatusUnauthorized},
		{"no token on a page", base + "/governance", http.StatusUnauthorized},
		{"no token on a static file", base + "/static/console.js", http.StatusUnauthorized},
		{"no token on the health poll", base + "/health", http.StatusUnauthorized},
		{"wrong token", base + "/?token=" + strings.Repeat("ab", 24), http.StatusUnauthorized},
		{"another console's token", base + "/?token=" + other.token, http.StatusUnauthorized},
		{"the token", s.URL(), http.StatusSeeOther},
	} {
		resp, _ := get(t, client(t), c.url)
		if resp.StatusCode != c.want {
			t.Errorf("%s: %d, want %d", c.name, resp.StatusCode, c.want)
		}
	}
	// Another console's cookie, sent to this one (browsers share cookies
	// across ports): refused.
	oc := login(t, other)
	ou, _ := url.Parse("http://" + other.Addr())
	su, _ := url.Parse(base)
	for _, ck := range oc.Jar.Cookies(ou) {
		stolen := *ck
		stolen.Name = s.cookie
		oc.Jar.SetCookies(su, []*http.Cookie{&stolen})
	}
	if resp, _ := get(t, oc, base+"/"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("another console's cookie: %d, want 401", resp.StatusCode)
	}
	// After the tokened visit, the cookie admits, without the token.
	c := login(t, s)
	resp, body := get(t, c, base+"/")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "概览") {
		t.Fatalf("overview with the cookie: %d\n%s", resp.StatusCode, body)
	}
	for _, h := range []string{"X-Frame-Options", "Content-Security-Policy"} {
		if resp.Header.Get(h) == "" {
			t.Errorf("no %s header", h)
		}
	}
}

func TestForeignHostRefused(t *testing.T) {
	s := newTestServer(t, "zh")
	req := httptest.NewRequest(http.MethodGet, s.URL(), nil)
	req.Host = "evil.example:" + strings.Split(s.Addr(), ":")[1]
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, req)
	if w.Code != http.StatusForbidden {
		t.Fatalf("DNS-rebound Host: %d, want 403", w.Code)
	}
}

func TestCSRF(t *testing.T) {
	s := newTestServer(t, "zh")
	c := login(t, s)
	base := "http://" + s.Addr()
	post := func(path string, form url.Values, origin string) int {
		req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		name   string
		path   string
		form   url.Values
		origin string
		want   int
	}{
		{"vote without CSRF token", "/governance/vote", url.Values{"id": {"1"}, "choice": {"yes"}}, "", http.StatusForbidden},
		{"vote with a wrong CSRF token", "/governance/vote", url.Values{"id": {"1"}, "choice": {"yes"}, "csrf": {"00"}}, "", http.StatusForbidden},
		{"acknowledge without CSRF token", "/regulator/ack", url.Values{"id": {"5-1"}, "note": {"x"}}, "", http.StatusForbidden},
		{"vote from another origin", "/governance/vote", url.Values{"id": {"1"}, "choice": {"yes"}, "csrf": {s.csrf}}, "http://evil.example", http.StatusForbidden},
		// With the token the request reaches the handler: the node is
		// down, so the page shows why (200 with the error).
		{"vote with the CSRF token", "/governance/vote", url.Values{"id": {"1"}, "choice": {"yes"}, "csrf": {s.csrf}}, base, http.StatusOK},
		{"acknowledge with no observer", "/regulator/ack", url.Values{"id": {"5-1"}, "csrf": {s.csrf}}, "", http.StatusBadRequest},
		{"decrypt without CSRF token", "/regulator/decrypt", url.Values{"tx": {strings.Repeat("ab", 32)}}, "", http.StatusForbidden},
		{"report without CSRF token", "/regulator/report", url.Values{"from": {"2026-12-03"}, "to": {"2026-12-04"}}, "", http.StatusForbidden},
		{"decrypt with no observer", "/regulator/decrypt", url.Values{"tx": {strings.Repeat("ab", 32)}, "csrf": {s.csrf}}, "", http.StatusBadRequest},
	} {
		if got := post(c.path, c.form, c.origin); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}

// Every page renders with the node down, and says so instead of showing
// empty data; the health poll reports it.
func TestPagesShowNodeDown(t *testing.T) {
	for _, lang := range []string{"zh", "en"} {
		s := newTestServer(t, lang)
		c := login(t, s)
		base := "http://" + s.Addr()
		want := map[string]string{"zh": "节点拒绝了此请求", "en": "The node refused this request"}[lang]
		for _, page := range []string{"/", "/explorer?tx=" + strings.Repeat("ab", 32), "/statement", "/governance", "/governance/vote?id=1&choice=yes", "/regulator", "/regulator/case?account=" + strings.Repeat("ab", 20), "/regulator/audit"} {
			resp, body := get(t, c, base+page)
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s %s: %d", lang, page, resp.StatusCode)
			}
			if !strings.Contains(body, want) {
				t.Errorf("%s %s: no error box %q:\n%s", lang, page, want, body)
			}
		}
		resp, body := get(t, c, base+"/health")
		var h map[string]any
		if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &h) != nil || h["ok"] != false || h["error"] == "" {
			t.Errorf("%s health with the node down: %d %s", lang, resp.StatusCode, body)
		}
		if resp, body := get(t, c, base+"/static/console.js"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "/health") {
			t.Errorf("static script: %d", resp.StatusCode)
		}
	}
}

func TestBadInput(t *testing.T) {
	s := newTestServer(t, "en")
	c := login(t, s)
	base := "http://" + s.Addr()
	for _, cs := range []struct{ page, want string }{
		{"/explorer?tx=nothex", "want 64 hex digits"},
		{"/explorer?account=xyz", "account \"xyz\""},
		{"/governance/vote?id=abc&choice=yes", "want a positive integer"},
		{"/governance/vote?id=1&choice=maybe", "want yes or no"},
	} {
		_, body := get(t, c, base+cs.page)
		if !strings.Contains(strings.ReplaceAll(body, "&#34;", "\""), cs.want) {
			t.Errorf("%s: page does not say %q", cs.page, cs.want)
		}
	}
}

// Regulator mode's inputs: the live alert stream only with an observer,
// from a valid position (an unreachable observer ends it with an event
// saying why); a report's period and format; an unknown report.
func TestRegulatorInput(t *testing.T) {
	s := newTestServer(t, "en")
	c := login(t, s)
	if resp, _ := get(t, c, "http://"+s.Addr()+"/regulator/stream"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("stream without observer: %d, want 404", resp.StatusCode)
	}
	k, _ := gmcrypto.GenerateKey()
	obs := newTestServerWith(t, Config{Node: api.Node{Addr: unreachableNode(t)}, Key: k, Org: "regulator", Listen: "127.0.0.1:0",
		Observer: strings.Replace(unreachableNode(t), "tcp://", "http://", 1), Timeout: 2 * time.Second})
	oc := login(t, obs)
	base := "http://" + obs.Addr()
	if resp, _ := get(t, oc, base+"/regulator/stream?since=abc"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("stream since=abc: %d, want 400", resp.StatusCode)
	}
	post := func(form url.Values) string {
		form.Set("csrf", obs.csrf)
		resp, err := oc.PostForm(base+"/regulator/report", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.ReplaceAll(string(b), "&#34;", "\"")
	}
	for _, c := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"from": {"yesterday"}, "to": {"2026-12-04"}}, `from "yesterday": want YYYY-MM-DD`},
		{url.Values{"from": {"2026-12-04"}, "to": {"2026-12-03"}}, "the end must come after the start"},
		{url.Values{"from": {"2026-12-03"}, "to": {"2026-12-04"}, "format": {"xml"}}, `format "xml": want csv or json`},
		{url.Values{"from": {"2026-12-03"}, "to": {"2026-12-04"}}, "unreachable"},
	} {
		if body := post(c.form); !strings.Contains(body, c.want) {
			t.Errorf("report %v: page does not say %q", c.form, c.want)
		}
	}
	if resp, _ := get(t, oc, base+"/regulator/report/0123456789abcdef"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown report: %d, want 404", resp.StatusCode)
	}
	resp, body := get(t, oc, base+"/regulator/stream?since=3")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" || !strings.Contains(body, "event: failed") || !strings.Contains(body, "unreachable") {
		t.Errorf("stream from an unreachable observer: %d %q", resp.StatusCode, body)
	}
}

func TestNewRefuses(t *testing.T) {
	k, _ := gmcrypto.GenerateKey()
	node := api.Node{Addr: "tcp://127.0.0.1:1"}
	for _, c := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no key", Config{Node: node}, "no signing key"},
		{"listen on every interface", Config{Node: node, Key: k, Listen: "0.0.0.0:8080"}, "loopback only"},
		{"listen on a LAN address", Config{Node: node, Key: k, Listen: "192.168.1.5:8080"}, "loopback only"},
		{"listen without port", Config{Node: node, Key: k, Listen: "127.0.0.1"}, "want 127.0.0.1:PORT"},
		{"unknown language", Config{Node: node, Key: k, Lang: "fr"}, "want zh or en"},
		{"https node without CA", Config{Node: api.Node{Addr: "https://127.0.0.1:1"}, Key: k}, "needs --tls-ca"},
		{"https observer without its client", Config{Node: node, Key: k, Observer: "https://127.0.0.1:2"}, "needs its TLS client"},
	} {
		_, err := New(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error naming %q", c.name, err, c.want)
		}
	}
}

func TestLabelsComplete(t *testing.T) {
	for k, l := range labels {
		if l[0] == "" || l[1] == "" {
			t.Errorf("label %s lacks a language: %q", k, l)
		}
	}
	if tr("en", "nav.overview") != "Overview" || tr("zh", "nav.overview") != "概览" || tr("zh", "no.such") != "no.such" {
		t.Error("tr")
	}
}
