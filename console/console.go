package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	rpcclient "github.com/cometbft/cometbft/rpc/client"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/recon"
	"github.com/jinlian-ledger/jinlian/regulator"
)

// DefaultListen is where the console serves unless told otherwise: a
// loopback port above the localnet's (26656 + 10 per node).
const DefaultListen = "127.0.0.1:26800"

// DefaultTimeZone is the nodes' default recon.timezone.
const DefaultTimeZone = "Asia/Shanghai"

// Config is what a console needs.
type Config struct {
	// Node is the node the console reads from and sends to.
	Node api.Node
	// Observer is the base URL of an observer's regulator API (regulator
	// mode); empty: no regulator page. ObserverHTTP, when set, is the
	// client for an https:// observer.
	Observer     string
	ObserverHTTP *http.Client
	// Key signs transactions and regulator requests; Org is its
	// organisation (the envelope's MSP id) and CertPEM its certificate
	// (empty: the envelope carries the bare public key). Name is shown.
	Key     *gmcrypto.PrivateKey
	Org     string
	Name    string
	CertPEM []byte
	// EthRPC and Anchor say where the chain's checkpoints are anchored:
	// an Ethereum JSON-RPC endpoint and the CheckpointAnchor's address
	// (the node's checkpoint.eth_rpc and checkpoint.anchor); empty: the
	// overview says anchoring is not enabled. EthHTTP, when set, is the
	// client for the endpoint.
	EthRPC, Anchor string
	EthHTTP        *http.Client
	// Lang is "zh" (default) or "en".
	Lang string
	// Listen is a loopback host:port (DefaultListen when empty; port 0
	// picks a free one).
	Listen string
	// Token is the access token; empty: a random one.
	Token string
	// TimeZone cuts business days for statements built from a node's
	// plain RPC (default Asia/Shanghai, the nodes' default
	// recon.timezone); a node's API cuts them itself.
	TimeZone *time.Location
	// StateDir keeps what the console remembers across restarts: the
	// reconciliation page's column mapping of each organisation
	// (MappingsFile). Empty: nothing is written, the mapping is kept in
	// memory until the console stops. The command's default is
	// os.UserConfigDir()/jinlian (--state-dir).
	StateDir string
	// Timeout bounds each call to the node (default 30 s; a vote waits
	// for its block).
	Timeout time.Duration
	Logger  *slog.Logger
}

// Server is a running console.
type Server struct {
	cfg    Config
	token  string
	csrf   string
	cookie string
	rpc    rpcclient.Client
	// apiHTTP is the client for the node's API (statements); nil for a
	// plain RPC node.
	apiHTTP *http.Client
	reg     *regulator.Client
	pages   *pages
	ln      net.Listener
	srv     *http.Server
	reports store[*signedReport]
	recons  store[*reconRun]
	// statements keeps the statements of days that are over, which no
	// longer change, so that paging through one does not build it again.
	statements store[*recon.Statement]
	// mapping is the column mapping last used (TOML), offered again; kept
	// in Config.StateDir across restarts.
	mapping *mappingStore
	// stopStreams ends the live streams on Close.
	stopStreams context.CancelFunc
	log         *slog.Logger
}

// New checks cfg and prepares a console; Start serves it.
func New(cfg Config) (*Server, error) {
	if cfg.Key == nil {
		return nil, errors.New("console: no signing key (--from)")
	}
	if cfg.Lang == "" {
		cfg.Lang = "zh"
	}
	if cfg.Lang != "zh" && cfg.Lang != "en" {
		return nil, fmt.Errorf("--lang %q: want zh or en", cfg.Lang)
	}
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if err := checkLoopback(cfg.Listen); err != nil {
		return nil, err
	}
	if cfg.TimeZone == nil {
		loc, err := time.LoadLocation(DefaultTimeZone)
		if err != nil {
			return nil, fmt.Errorf("time zone %s: %w", DefaultTimeZone, err)
		}
		cfg.TimeZone = loc
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: cfg.Logger}
	s.statements.limit = keptStatements
	var err error
	if s.token, err = randomHex(cfg.Token); err != nil {
		return nil, err
	}
	if s.csrf, err = randomHex(""); err != nil {
		return nil, err
	}
	if s.rpc, err = cfg.Node.Dial(); err != nil {
		return nil, err
	}
	if strings.HasPrefix(cfg.Node.Addr, "https://") {
		if s.apiHTTP, err = cfg.Node.HTTPClient(); err != nil {
			return nil, err
		}
	}
	if (cfg.EthRPC == "") != (cfg.Anchor == "") {
		return nil, errors.New("console: the anchoring status needs both --eth-rpc and --anchor")
	}
	if a := cfg.Anchor; a != "" && (len(a) != 42 || !strings.HasPrefix(a, "0x") || !isHex(a[2:])) {
		return nil, fmt.Errorf("--anchor %q: want the CheckpointAnchor's address, 0x and 40 hex digits", a)
	}
	if cfg.Observer != "" {
		s.reg = regulator.NewClient(cfg.Observer, cfg.Key)
		if cfg.ObserverHTTP != nil {
			s.reg.HTTP = cfg.ObserverHTTP
		} else if strings.HasPrefix(s.reg.BaseURL, "https://") {
			return nil, fmt.Errorf("observer %s: an https:// observer needs its TLS client", cfg.Observer)
		}
	}
	owner := cfg.Org
	if owner == "" {
		owner = cfg.Key.Public().Address().String()
	}
	s.mapping = &mappingStore{dir: cfg.StateDir, org: owner}
	if err := s.mapping.load(); err != nil {
		// The console starts anyway: the reconciliation page says why
		// the saved mapping is not offered.
		s.log.Error("console: column mappings", "err", err)
	}
	if s.pages, err = loadPages(); err != nil {
		return nil, err
	}
	return s, nil
}

// checkLoopback refuses a listen address off the loopback interface: the
// console holds a signing key and must not be reachable from the network.
func checkLoopback(listen string) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("--listen %q: %v (want 127.0.0.1:PORT)", listen, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("--listen %q: the console holds your signing key and serves on loopback only (127.0.0.1, ::1 or localhost)", listen)
	}
	return nil
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

func randomHex(given string) (string, error) {
	if given != "" {
		return given, nil
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// Start listens and serves in the background.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("console: listen %s: %w", s.cfg.Listen, err)
	}
	s.ln = ln
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	// Browsers share cookies across the ports of a host: each console
	// names its own, so that another console's cookie is not this one's.
	s.cookie = "jinlian_console_" + port
	// Streams (live alerts) end when the console stops, so that Close
	// does not wait for them.
	base, cancel := context.WithCancel(context.Background())
	s.stopStreams = cancel
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return base }}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("console: serve", "err", err)
		}
	}()
	return nil
}

// Addr is the address the console listens on (after Start).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the address to open, with the access token.
func (s *Server) URL() string { return "http://" + s.Addr() + "/?token=" + s.token }

// Close stops serving.
func (s *Server) Close() error {
	if s.srv == nil {
		return nil
	}
	s.stopStreams()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}

// Handler is the console's HTTP handler: every route behind the host
// check, the token and, for POST, the CSRF token.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.FileServerFS(staticFS))
	mux.HandleFunc("GET /{$}", s.overview)
	mux.HandleFunc("GET /explorer", s.explorer)
	mux.HandleFunc("GET /explorer/history", s.historyAfter)
	mux.HandleFunc("GET /explorer/blocks", s.blocks)
	mux.HandleFunc("GET /explorer/block/{height}", s.block)
	mux.HandleFunc("GET /explorer/tx/{id}/proof.json", s.txProof)
	mux.HandleFunc("GET /explorer/balance/proof.json", s.balanceProof)
	mux.HandleFunc("GET /explorer/movements/proof.json", s.movementsProof)
	mux.HandleFunc("GET /statement", s.statement)
	mux.HandleFunc("GET /statement.csv", s.statementCSV)
	mux.HandleFunc("GET /movements/stream", s.movementStream)
	mux.HandleFunc("GET /recon", s.reconPage)
	mux.HandleFunc("POST /recon", s.reconRun)
	mux.HandleFunc("GET /recon/{id}/result.json", s.reconResult)
	mux.HandleFunc("GET /recon/{id}/breaks.csv", s.reconBreaks)
	mux.HandleFunc("POST /recon/{id}/compare", s.reconCompare)
	mux.HandleFunc("GET /proof", s.proofPage)
	mux.HandleFunc("POST /proof", s.proofCheck)
	mux.HandleFunc("GET /governance", s.governance)
	mux.HandleFunc("GET /governance/vote", s.voteConfirm)
	mux.HandleFunc("POST /governance/vote", s.vote)
	mux.HandleFunc("GET /regulator", s.regulatorPage)
	mux.HandleFunc("POST /regulator/ack", s.ack)
	mux.HandleFunc("GET /regulator/case", s.caseView)
	mux.HandleFunc("GET /regulator/audit", s.audit)
	mux.HandleFunc("GET /regulator/stream", s.alertStream)
	mux.HandleFunc("POST /regulator/decrypt", s.decrypt)
	mux.HandleFunc("GET /regulator/report", s.reportPage)
	mux.HandleFunc("POST /regulator/report", s.reportPage)
	mux.HandleFunc("GET /regulator/report/{id}", s.reportFile)
	mux.HandleFunc("GET /health", s.health)
	return s.guard(mux)
}

// guard admits a request only on a loopback Host (no DNS rebinding), with
// the console's token (query ?token= once, then its cookie), and, for
// POST, with the CSRF token of the console's forms.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'")
		// same-origin, not no-referrer: with no-referrer browsers send
		// "Origin: null" on form posts, which the Origin check refuses.
		w.Header().Set("Referrer-Policy", "same-origin")
		w.Header().Set("Cache-Control", "no-store")
		if !s.loopbackHost(r.Host) {
			http.Error(w, "console: Host "+r.Host+" refused: open the console at the address it printed", http.StatusForbidden)
			return
		}
		if tok := r.URL.Query().Get("token"); tok != "" {
			if !s.tokenOK(tok) {
				http.Error(w, "console: wrong token: open the URL this console printed", http.StatusUnauthorized)
				return
			}
			http.SetCookie(w, &http.Cookie{Name: s.cookie, Value: s.token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
			if r.Method == http.MethodGet {
				// Take the token out of the address bar and history.
				q := r.URL.Query()
				q.Del("token")
				u := *r.URL
				u.RawQuery = q.Encode()
				http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
				return
			}
		} else if c, err := r.Cookie(s.cookie); err != nil || !s.tokenOK(c.Value) {
			http.Error(w, "console: no access token: open the URL with ?token=… that `jinlian console` printed", http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if o := r.Header.Get("Origin"); o != "" && o != "http://"+r.Host {
				http.Error(w, "console: cross-origin request refused", http.StatusForbidden)
				return
			}
			if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(s.csrf)) != 1 {
				http.Error(w, "console: missing or wrong CSRF token: submit the form from the console's page", http.StatusForbidden)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) tokenOK(tok string) bool {
	return subtle.ConstantTimeCompare([]byte(tok), []byte(s.token)) == 1
}

// loopbackHost accepts the Host names of the console's own address.
func (s *Server) loopbackHost(host string) bool {
	h, port, err := net.SplitHostPort(host)
	if err != nil {
		return false
	}
	if s.ln != nil {
		if _, own, _ := net.SplitHostPort(s.ln.Addr().String()); own != port {
			return false
		}
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(h, "[]"))
	return ip != nil && ip.IsLoopback()
}
