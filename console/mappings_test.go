package console

import (
	"bytes"
	"html"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/recon"
)

// consoleWithState is a console of org (node unreachable) keeping its
// state in dir, logging to log.
func consoleWithState(t *testing.T, dir, org string, log *bytes.Buffer) *Server {
	t.Helper()
	k, err := gmcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return newTestServerWith(t, Config{Node: api.Node{Addr: unreachableNode(t)}, Key: k, Org: org, Name: "clerk", Lang: "en",
		Listen: "127.0.0.1:0", Timeout: 2 * time.Second, StateDir: dir, Logger: slog.New(slog.NewTextHandler(log, nil))})
}

// postRecon submits the reconciliation form with mapping and a one-line
// file, as the page does (multipart, with the CSRF token).
func postRecon(t *testing.T, s *Server, c *http.Client, mapping string) (*http.Response, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("csrf", s.csrf)
	_ = mw.WriteField("date", "2026-12-03")
	_ = mw.WriteField("encoding", "auto")
	_ = mw.WriteField("mapping", mapping)
	fw, _ := mw.CreateFormFile("internal", "books.csv")
	_, _ = fw.Write([]byte("memo;amount\nINV-1;100\n"))
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, "http://"+s.Addr()+"/recon", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, html.UnescapeString(string(b))
}

func reconPageText(t *testing.T, s *Server, c *http.Client) string {
	t.Helper()
	resp, body := get(t, c, "http://"+s.Addr()+"/recon")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /recon: HTTP %d\n%s", resp.StatusCode, body)
	}
	return html.UnescapeString(body)
}

// A bank's column mapping outlives the console: a mapping that reads is
// saved (even when the node then fails), and a new console of the same
// organisation on the same state dir offers it; another organisation's
// console keeps its own.
func TestMappingKeptAcrossRestarts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "jinlian") // created on the first save
	mapping := "delimiter = \";\"\n\n[columns]\nreference = \"memo\"\namount = \"amount\"\n"
	var log bytes.Buffer

	first := consoleWithState(t, dir, "bankA", &log)
	c := login(t, first)
	if body := reconPageText(t, first, c); !strings.Contains(body, recon.DefaultMappingTOML) {
		t.Fatalf("a first console does not offer the default mapping:\n%s", body)
	}
	if _, body := postRecon(t, first, c, mapping); strings.Contains(body, "Column mapping") && strings.Contains(body, "save the column mapping") {
		t.Fatalf("the mapping was not saved:\n%s", body)
	}
	if body := reconPageText(t, first, c); !strings.Contains(body, mapping) {
		t.Fatalf("the same console forgot the mapping:\n%s", body)
	}
	b := consoleWithState(t, dir, "bankB", &log)
	if body := reconPageText(t, b, login(t, b)); !strings.Contains(body, recon.DefaultMappingTOML) {
		t.Errorf("bankB's console offers bankA's mapping:\n%s", body)
	}
	other := "[columns]\nreference = \"ref\"\namount = \"amt\"\n"
	postRecon(t, b, login(t, b), other)
	_ = first.Close()

	again := consoleWithState(t, dir, "bankA", &log)
	if body := reconPageText(t, again, login(t, again)); !strings.Contains(body, mapping) {
		t.Errorf("a new console of bankA does not offer its saved mapping:\n%s", body)
	}
	bAgain := consoleWithState(t, dir, "bankB", &log)
	if body := reconPageText(t, bAgain, login(t, bAgain)); !strings.Contains(body, other) {
		t.Errorf("a new console of bankB does not offer its saved mapping:\n%s", body)
	}
	// Written whole, through a temporary file renamed over it: nothing
	// else is left in the directory.
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) != 1 || ents[0].Name() != MappingsFile {
		t.Errorf("state dir holds %v (%v), want only %s", ents, err, MappingsFile)
	}
	// A mapping that does not read is refused and not saved.
	if _, body := postRecon(t, again, login(t, again), "[columns\n"); !strings.Contains(body, "column mapping: ") {
		t.Errorf("a broken mapping was not refused:\n%s", body)
	}
	if body := reconPageText(t, again, login(t, again)); !strings.Contains(body, mapping) {
		t.Errorf("a broken mapping replaced the saved one:\n%s", body)
	}
	if strings.Contains(log.String(), "level=ERROR") {
		t.Errorf("errors logged:\n%s", log.String())
	}
}

// A mappings file that cannot be read does not stop the console: the
// page and the log name the file and why, the default mapping is
// offered, and the file is left for the user to fix (not overwritten).
func TestMappingFileCorrupt(t *testing.T) {
	for _, c := range []struct{ name, content, want string }{
		{"not JSON", "{\"version\": 1, \"mappings\": {\"bankA\": ", "not a mappings file"},
		{"another version", `{"version": 7, "mappings": {}}`, "version 7, this console reads version 1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, MappingsFile)
			if err := os.WriteFile(path, []byte(c.content), 0o600); err != nil {
				t.Fatal(err)
			}
			var log bytes.Buffer
			s := consoleWithState(t, dir, "bankA", &log)
			cl := login(t, s)
			body := reconPageText(t, s, cl)
			if !strings.Contains(body, `class="error"`) || !strings.Contains(body, path) || !strings.Contains(body, c.want) || !strings.Contains(body, recon.DefaultMappingTOML) {
				t.Errorf("the page does not say why (%q) or does not offer the default:\n%s", c.want, body)
			}
			if !strings.Contains(log.String(), "level=ERROR") || !strings.Contains(log.String(), c.want) {
				t.Errorf("the log does not say why:\n%s", log.String())
			}
			_, body = postRecon(t, s, cl, "[columns]\nreference = \"memo\"\namount = \"amount\"\n")
			if !strings.Contains(body, path) {
				t.Errorf("the reconciliation page does not say the mapping was not saved:\n%s", body)
			}
			if raw, _ := os.ReadFile(path); string(raw) != c.content {
				t.Errorf("the unreadable file was overwritten: %s", raw)
			}
		})
	}
}

// Without a state dir (the package's tests, an embedder) nothing is
// written: the mapping lives as long as the console.
func TestMappingInMemoryWithoutStateDir(t *testing.T) {
	m := &mappingStore{org: "bankA"}
	if err := m.load(); err != nil {
		t.Fatal(err)
	}
	if err := m.save("[columns]\n"); err != nil {
		t.Fatal(err)
	}
	if got, err := m.last(); got != "[columns]\n" || err != nil {
		t.Errorf("last: %q %v", got, err)
	}
}
