package api

import (
	"compress/gzip"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	rpcclient "github.com/cometbft/cometbft/rpc/client"
	cmtversion "github.com/cometbft/cometbft/version"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/nodecfg"
	"github.com/jinlian-ledger/jinlian/recon"
)

// Timeouts of the server. There is no write timeout: broadcast_tx_commit
// waits for a block and /websocket streams for as long as the client stays.
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 2 * time.Minute
	handshakeTimeout  = 10 * time.Second
	healthTimeout     = 3 * time.Second
	shutdownTimeout   = 5 * time.Second
)

// Options configure a Server.
type Options struct {
	// Listen is the address to serve on, e.g. 127.0.0.1:26680 (port 0 picks one).
	Listen string
	// TLS is the transport security; the zero value is plain HTTP.
	TLS ServerTLS
	// RPC is the CometBFT RPC listen address to forward to:
	// tcp://host:port, http://host:port or unix:///path.
	RPC string
	// Status answers /healthz; usually the node's in-process client.
	Status rpcclient.StatusClient
	// Health, when set, is asked by /healthz after Status: a non-nil
	// error (consensus halted, no new block for too long) makes the
	// answer 503 "unhealthy" with the error's text.
	Health func() error
	// Version is jinlian's version, reported by /version.
	Version string
	// Logger receives handshake failures, proxy errors and the start line;
	// nil discards them.
	Logger *slog.Logger
	// Registry, with mutual TLS on, turns on the deny-by-default read gate
	// (gate.go): JSON-RPC POST / only, re-encoded from what was checked;
	// every method and app query path by an explicit rule (sub-ledger
	// queries for identities of member organisations, raw blocks and
	// events for regulators and auditors, ...). Nil: no gate.
	Registry Registry
	// Statements, when set, serves GET /v1/statement (statement.go): an
	// organisation's movements in a business day, from the node's block
	// store and tx index. Nil: not served.
	Statements recon.Chain
	// Events, when set, serves GET /v1/events (events.go): the event
	// feed of movements from a cursor, read from the node's block store
	// and saved block results. Nil: not served.
	Events recon.Blocks
	// QC, when set, serves GET /v1/qc (qc.go): the SM2 quorum certificate
	// of a height, read from the block that carries it. Nil: not served.
	QC QCSource
	// TxProof, with Events, serves GET /v1/proofs/tx (txproof.go): the
	// proof bundle of a committed transaction, for the organisations it
	// concerns. Nil: not served.
	TxProof TxProofSource
	// Anchoring, when set, serves GET /v1/anchoring (anchoring.go): the
	// latest checkpoint anchored on Ethereum, read by the node. Nil, or
	// ErrNoAnchor from it: HTTP 404.
	Anchoring AnchoringSource
	// TxHeight, with Events, serves GET /v1/tx (tx.go): a committed
	// transaction decoded, for the organisations it concerns. Nil: not
	// served.
	TxHeight TxLocator
	// LeanIndex says the node's tx index keeps at most the lean
	// attribute set, without memos, or that it keeps none (nodecfg
	// events.index lean or none): GET /v1/txs, which searches by memo in
	// Statements' index when the memo index cannot answer, says so rather
	// than find nothing.
	LeanIndex bool
	// TimeZone cuts business days for statements (recon.timezone); nil:
	// nodecfg.DefaultTimeZone.
	TimeZone *time.Location
}

// OptionsFromConfig takes the api.* keys of cfg.
func OptionsFromConfig(cfg *nodecfg.Config) Options {
	loc, _ := cfg.Location() // nil (the default zone) only if cfg was never validated
	return Options{Listen: cfg.API.Listen, TLS: ServerTLSFromConfig(cfg), TimeZone: loc, LeanIndex: cfg.LeanIndex()}
}

// Server is a running API server.
type Server struct {
	opts     Options
	listener net.Listener
	http     *http.Server
	done     chan error

	stopOnce sync.Once
	stopErr  error
	// stopping is closed when Stop begins, so that event streams end
	// rather than hold the shutdown for its whole grace period.
	stopping chan struct{}

	statements statementCache // GET /v1/statement's
}

// Start checks opts, binds opts.Listen and serves in the background until Stop.
func Start(opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Listen == "" {
		return nil, errors.New("api: no listen address (api.listen)")
	}
	if opts.Status == nil {
		return nil, errors.New("api: no status client")
	}
	if opts.TimeZone == nil {
		loc, err := time.LoadLocation(nodecfg.DefaultTimeZone)
		if err != nil {
			return nil, fmt.Errorf("api: time zone: %w", err)
		}
		opts.TimeZone = loc
	}
	target, transport, err := rpcTarget(opts.RPC)
	if err != nil {
		return nil, fmt.Errorf("api: node RPC %q: %w", opts.RPC, err)
	}
	wrap, err := opts.TLS.listener(opts.Logger)
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	inner, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("api: listen on %s (api.listen): %w", opts.Listen, err)
	}
	s := &Server{opts: opts, listener: wrap(inner), done: make(chan error, 1), stopping: make(chan struct{})}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.SetXForwarded()
		},
		Transport: transport,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			opts.Logger.Warn("api: node RPC unreachable", "rpc", opts.RPC, "path", r.URL.Path, "err", err)
			writeJSON(w, http.StatusBadGateway, map[string]string{"error": "node RPC unreachable"})
		},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /version", s.version)
	mux.Handle("GET /v1/statement", gzipped(s.statement))
	mux.HandleFunc("GET /v1/qc", s.qc)
	mux.HandleFunc("GET /v1/events", s.events) // a stream: flushed, never gzipped
	mux.Handle("GET /v1/proofs/tx", gzipped(s.txProof))
	mux.HandleFunc("GET /v1/anchoring", s.anchoring)
	mux.Handle("GET /v1/movements", gzipped(s.movements))
	mux.Handle("GET /v1/tx", gzipped(s.tx))
	mux.Handle("GET /v1/txs", gzipped(s.txs))
	if opts.Registry != nil && opts.TLS.ClientCAFile != "" {
		mux.Handle("/", s.gate(proxy))
	} else {
		mux.Handle("/", proxy)
	}
	s.http = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		},
	}
	go func() { s.done <- s.http.Serve(s.listener) }()
	opts.Logger.Info("api: serving", "addr", s.Addr().String(), "tls", opts.TLS.mode(), "mutual_tls", opts.TLS.ClientCAFile != "", "rpc", opts.RPC)
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.listener.Addr() }

// URL is the base URL clients use: http:// or https:// and Addr.
func (s *Server) URL() string {
	scheme := "https"
	if s.opts.TLS.mode() == nodecfg.APITLSNone {
		scheme = "http"
	}
	return scheme + "://" + s.Addr().String()
}

// Stop stops accepting connections and waits a few seconds for requests in
// flight; then it closes what is left (websockets included). It is safe to
// call more than once.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		close(s.stopping)
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		err := s.http.Shutdown(ctx)
		if errors.Is(err, context.DeadlineExceeded) {
			err = s.http.Close()
		}
		if serr := <-s.done; !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
		if err != nil {
			s.stopErr = fmt.Errorf("api: stop: %w", err)
		}
	})
	return s.stopErr
}

type connKey struct{}

// rpcTarget turns CometBFT's RPC laddr into the proxy's target URL and
// transport. A wildcard host is reached on loopback.
func rpcTarget(laddr string) (*url.URL, http.RoundTripper, error) {
	proto, addr, ok := strings.Cut(laddr, "://")
	if !ok {
		proto, addr = "tcp", laddr
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.Proxy = nil
	switch proto {
	case "tcp", "http":
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, nil, err
		}
		if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
			host = "127.0.0.1"
		}
		return &url.URL{Scheme: "http", Host: net.JoinHostPort(host, port)}, base, nil
	case "unix":
		var d net.Dialer
		base.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", addr)
		}
		return &url.URL{Scheme: "http", Host: "unix"}, base, nil
	}
	return nil, nil, fmt.Errorf("protocol %q: want tcp, http or unix", proto)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	st, err := s.opts.Status.Status(ctx)
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "error": err.Error()})
		return
	}
	out := map[string]any{
		"status":      "ok",
		"chain_id":    st.NodeInfo.Network,
		"height":      st.SyncInfo.LatestBlockHeight,
		"catching_up": st.SyncInfo.CatchingUp,
		"block_time":  st.SyncInfo.LatestBlockTime,
	}
	if s.opts.Health != nil {
		if err := s.opts.Health(); err != nil {
			out["status"], out["error"] = "unhealthy", err.Error()
			writeJSON(w, http.StatusServiceUnavailable, out)
			return
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// VersionInfo is what /version returns.
type VersionInfo struct {
	Version  string `json:"version"`
	CometBFT string `json:"cometbft"`
	// Connection describes the caller's own connection, so that a client
	// can see what it negotiated and as whom the server knows it.
	Connection ConnectionInfo `json:"connection"`
}

// ConnectionInfo describes one client connection to the API.
type ConnectionInfo struct {
	TLS         string `json:"tls"` // none, tls13 or gmtls
	Version     string `json:"version,omitempty"`
	CipherSuite string `json:"cipher_suite,omitempty"`
	// Client is the subject of the client certificate under mutual TLS.
	Client string `json:"client,omitempty"`
}

func (s *Server) version(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, VersionInfo{
		Version:    s.opts.Version,
		CometBFT:   cmtversion.TMCoreSemVer,
		Connection: connectionInfo(r),
	})
}

func connectionInfo(r *http.Request) ConnectionInfo {
	if r.TLS != nil {
		ci := ConnectionInfo{TLS: nodecfg.APITLSTLS13, Version: tls.VersionName(r.TLS.Version), CipherSuite: tls.CipherSuiteName(r.TLS.CipherSuite)}
		if len(r.TLS.PeerCertificates) > 0 {
			ci.Client = r.TLS.PeerCertificates[0].Subject.String()
		}
		return ci
	}
	if c, ok := r.Context().Value(connKey{}).(*gmtlsServerConn); ok {
		st := c.State()
		ci := ConnectionInfo{TLS: nodecfg.APITLSGM, Version: gmtlsVersionName(st.Version), CipherSuite: gmcrypto.GMTLSCipherSuiteName(st.CipherSuite)}
		if len(st.PeerCertificates) > 0 {
			ci.Client = st.PeerCertificates[0].Subject()
		}
		return ci
	}
	return ConnectionInfo{TLS: nodecfg.APITLSNone}
}

func gmtlsVersionName(v uint16) string {
	if v == gmcrypto.GMTLSVersion {
		return "GMTLS 1.1"
	}
	return fmt.Sprintf("0x%04x", v)
}

// gzipped serves h's answer gzip-compressed (at gzip's fastest level) to
// a client that accepts it, as Go's HTTP client does unasked: a statement
// of 100,000 movements is tens of megabytes of JSON, and every byte costs
// SM4 and SM3 twice on a GM TLS connection (docs/performance.md,
// "Statements").
func gzipped(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept-Encoding")
		if !acceptsGzip(r.Header.Get("Accept-Encoding")) {
			h(w, r)
			return
		}
		w.Header().Set("Content-Encoding", "gzip")
		zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed) // a valid level: no error
		defer zw.Close()
		h(gzipWriter{ResponseWriter: w, w: zw}, r)
	})
}

// acceptsGzip reads an Accept-Encoding header: gzip listed without q=0.
func acceptsGzip(h string) bool {
	for _, part := range strings.Split(h, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") {
			q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

// gzipWriter sends a handler's body through gzip; the header is the
// handler's (Content-Length is never set: the JSON is streamed).
type gzipWriter struct {
	http.ResponseWriter
	w io.Writer
}

func (g gzipWriter) Write(b []byte) (int, error) { return g.w.Write(b) }

// writeJSON answers v as indented JSON.
func writeJSON(w http.ResponseWriter, code int, v any) { encodeJSON(w, code, v, true) }

// writeCompactJSON answers v as JSON without indentation, for answers of
// many rows (statements): indenting 100,000 rows costs about as much as
// encoding them.
func writeCompactJSON(w http.ResponseWriter, code int, v any) { encodeJSON(w, code, v, false) }

func encodeJSON(w http.ResponseWriter, code int, v any, indent bool) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	if indent {
		enc.SetIndent("", "  ")
	}
	_ = enc.Encode(v)
}
