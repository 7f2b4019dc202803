package regulator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
)

// Config is what a Service is built from.
type Config struct {
	// Source supplies committed blocks (required).
	Source BlockSource
	// Query runs app queries (/roles for callers' roles, /sanctions).
	Query QueryFunc
	// Roles overrides how callers' roles are found (default: Query "/roles").
	Roles RolesFunc
	// IndexDir is the Badger directory ("" = in memory, for tests).
	// Deleting it rebuilds the index from the chain under the current rules.
	IndexDir string
	// OperatorDir keeps acknowledgements and the audit log apart from the
	// index, so that a rebuild keeps them ("" = OperatorDir(IndexDir)).
	OperatorDir string
	// RecentCacheBytes bounds the rules' cache of recent movements (0 =
	// DefaultRecentCacheBytes).
	RecentCacheBytes int
	// IndexMemtable is the index's Badger memtable size in bytes (0 =
	// DefaultIndexMemtable).
	IndexMemtable int
	// AuditKey signs the audit chain: the observer node's SM2 key (nil = a
	// key of this process only; entries then verify, but not against a
	// key anyone recorded).
	AuditKey *gmcrypto.PrivateKey
	// Rules configure the engine (nil = DefaultRules).
	Rules *RulesConfig
	// Listen is the HTTP API address ("" = no API); port 0 picks one.
	Listen string
	// Hosts are the names (host:port, or host for any port) that signed
	// requests must be addressed to. Empty: the listen address, plus
	// localhost and 127.0.0.1 when it is a loopback address; an API that
	// listens on every interface needs them.
	Hosts []string
	// TLS wraps the API's listener (TLS 1.3 or GM TLS; nil = plain HTTP).
	TLS func(net.Listener) net.Listener
	// PlainHTTP allows serving without TLS on an address that is not a
	// loopback one (regulator.insecure_plain_http). Off, Start refuses.
	PlainHTTP bool
	// RoleRecheck is how often an alert stream re-reads its caller's roles
	// besides at every indexed block (0 = rolesTTL).
	RoleRecheck time.Duration
	// AnonymousAudit bounds the audit entries of requests without a valid
	// signature or by identities without any role: at most this many per
	// AnonymousAuditInterval, the rest counted in one summary entry
	// (0 = 20 a minute).
	AnonymousAudit         int
	AnonymousAuditInterval time.Duration
	// Key is the regulator's escrow key, for decrypting confidential
	// payloads through the API (nil = decryption is refused).
	Key *gmcrypto.PrivateKey
	// SQLConn, when set, is the regulator's PostgreSQL database
	// (regulator.sql): the service loads its tables (jinlian.sql) from the
	// index, after indexing and apart from it (psql.go).
	SQLConn string
	// PollInterval is how often the follower asks for new blocks.
	PollInterval time.Duration
	Logger       *slog.Logger
	// Now is the wall clock for the audit log and request dates.
	Now func() time.Time
}

// Service follows a node's committed blocks, indexes them, runs the rules
// and serves the regulator API.
type Service struct {
	cfg    Config
	ix     *Index
	engine *Engine
	auth   *authenticator
	log    *slog.Logger
	broker *broker
	// sql is the regulator's PostgreSQL database (nil: none, or a
	// connection string that does not parse: sqlState says why).
	sql *sqlSink
	// sqlMu serialises the SQL loader and backfills.
	sqlMu sync.Mutex
	// sinkDone is closed when the SQL loader has stopped.
	sinkDone chan struct{}
	chain    string
	sqlState SQLStatus // under mu
	// sqlOpenErr is why a configured connection string was not usable.
	sqlOpenErr error

	ln     net.Listener
	srv    *http.Server
	cancel context.CancelFunc
	done   chan struct{}

	mu        sync.Mutex
	followErr error
	indexed   chan struct{} // closed and replaced after every indexed block

	// whatIfMu: one what-if replay at a time.
	whatIfMu sync.Mutex

	anonMu         sync.Mutex
	anonStart      time.Time // start of the current AnonymousAuditInterval
	anonLogged     int       // entries written in it
	anonSuppressed uint64    // requests counted, not written, in it
	anonTotal      atomic.Uint64
}

// New opens the index and prepares the service; Start runs it.
func New(cfg Config) (*Service, error) {
	if cfg.Source == nil {
		return nil, errors.New("regulator: no block source")
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 100 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	roles := cfg.Roles
	if roles == nil && cfg.Query != nil {
		roles = RolesFromQuery(cfg.Query)
	}
	if roles == nil && cfg.Listen != "" {
		return nil, errors.New("regulator: the API needs Query or Roles to check callers' roles")
	}
	eng, err := NewEngine(cfg.Rules)
	if err != nil {
		return nil, fmt.Errorf("regulator rules: %w", err)
	}
	if cfg.RoleRecheck <= 0 {
		cfg.RoleRecheck = rolesTTL
	}
	if cfg.AnonymousAudit <= 0 {
		cfg.AnonymousAudit = 20
	}
	if cfg.AnonymousAuditInterval <= 0 {
		cfg.AnonymousAuditInterval = time.Minute
	}
	if cfg.AuditKey == nil && cfg.Listen != "" {
		cfg.Logger.Warn("regulator audit log signed by a key of this process only: configure the observer's node key")
	}
	ix, err := OpenIndexWith(cfg.IndexDir, IndexOptions{OperatorDir: cfg.OperatorDir, AuditKey: cfg.AuditKey, RecentCacheBytes: cfg.RecentCacheBytes, Memtable: cfg.IndexMemtable})
	if err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, ix: ix, engine: eng, log: cfg.Logger, broker: newBroker(),
		auth:    newAuthenticator(roles, cfg.Now, nil),
		indexed: make(chan struct{})}, nil
}

// Index is the service's index.
func (s *Service) Index() *Index { return s.ix }

// Addr is the API's listen address ("" without an API).
func (s *Service) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// URL is the API's base URL.
func (s *Service) URL() string {
	if s.cfg.TLS != nil {
		return "https://" + s.Addr()
	}
	return "http://" + s.Addr()
}

// listenHosts checks the API's transport and returns the names signed
// requests may be addressed to.
func (s *Service) listenHosts(addr net.Addr) ([]string, error) {
	host, _, err := net.SplitHostPort(s.cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("regulator API listen %q: %w", s.cfg.Listen, err)
	}
	ip := net.ParseIP(host)
	loopback := host == "localhost" || ip != nil && ip.IsLoopback()
	if s.cfg.TLS == nil && !loopback && !s.cfg.PlainHTTP {
		return nil, fmt.Errorf("regulator API on %s: refusing plain HTTP on an address that is not loopback; serve it over TLS (regulator.tls = tls13 or gmtls) or, on a network you trust, set regulator.insecure_plain_http = true", s.cfg.Listen)
	}
	if len(s.cfg.Hosts) > 0 {
		return s.cfg.Hosts, nil
	}
	_, port, _ := net.SplitHostPort(addr.String())
	switch {
	case loopback:
		return []string{net.JoinHostPort(host, port), net.JoinHostPort("localhost", port), net.JoinHostPort("127.0.0.1", port), net.JoinHostPort("::1", port)}, nil
	case host == "" || ip != nil && ip.IsUnspecified():
		return nil, fmt.Errorf("regulator API on %s listens on every interface: set regulator.hosts to the names clients reach it by (signed requests are bound to the host)", s.cfg.Listen)
	}
	return []string{net.JoinHostPort(host, port)}, nil
}

// Start indexes the genesis, starts following blocks and serves the API.
func (s *Service) Start(ctx context.Context) error {
	g, err := initGenesis(ctx, s.cfg.Source, s.ix)
	if err != nil {
		return err
	}
	s.chain = g.ChainID
	if s.cfg.SQLConn != "" {
		// A connection string that does not parse stops the SQL tables,
		// never the index or the alerts: the error is logged and in /v1/status.
		s.sqlState.Enabled = true
		if s.sql, err = openSQLSink(s.cfg.SQLConn, g.ChainID); err != nil {
			s.sqlState.Error, s.sqlOpenErr = err.Error(), err
			s.log.Error("regulator SQL tables off (indexing and alerts go on)", "err", err)
		}
	}
	if s.cfg.Listen != "" {
		ln, err := net.Listen("tcp", s.cfg.Listen)
		if err != nil {
			return fmt.Errorf("regulator API: %w", err)
		}
		hosts, err := s.listenHosts(ln.Addr())
		if err != nil {
			_ = ln.Close()
			return err
		}
		s.auth.hosts = newHostSet(hosts)
		if s.cfg.TLS != nil {
			ln = s.cfg.TLS(ln)
		}
		s.ln = ln
		s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("regulator API stopped", "err", err)
			}
		}()
	}
	fctx, cancel := context.WithCancel(context.Background())
	s.cancel, s.done = cancel, make(chan struct{})
	if s.sql != nil {
		s.sinkDone = make(chan struct{})
		go s.sinkSQL(fctx)
	}
	go s.follow(fctx)
	last, _ := s.ix.LastHeight()
	s.log.Info("regulator observer started", "chain", g.ChainID, "indexed_height", last, "api", s.Addr(), "decryption", s.cfg.Key != nil)
	return nil
}

// Stop stops following and serving, then closes the index. The index
// stays consistent at the last fully indexed block.
func (s *Service) Stop() error {
	var errs []error
	if s.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		s.broker.closeAll()
		if err := s.srv.Shutdown(ctx); err != nil {
			_ = s.srv.Close()
		}
		cancel()
	}
	if s.cancel != nil {
		s.cancel()
		<-s.done
		if s.sinkDone != nil {
			<-s.sinkDone
		}
	}
	if s.sql != nil {
		errs = append(errs, s.sql.close())
	}
	errs = append(errs, s.ix.Close())
	return errors.Join(errs...)
}

// follow indexes every committed block in order, forever.
func (s *Service) follow(ctx context.Context) {
	defer close(s.done)
	t := time.NewTicker(s.cfg.PollInterval)
	defer t.Stop()
	var lastErr string
	for {
		err := s.SyncOnce(ctx)
		s.mu.Lock()
		s.followErr = err
		s.mu.Unlock()
		if err != nil && ctx.Err() == nil && err.Error() != lastErr {
			s.log.Warn("regulator index is behind", "err", err)
		}
		if err != nil {
			lastErr = err.Error()
		} else {
			lastErr = ""
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SyncOnce indexes every block the source has executed and committed
// beyond the index (ReadableHeight): never a block whose results are not
// saved yet.
func (s *Service) SyncOnce(ctx context.Context) error {
	latest, earliest, err := ReadableHeight(ctx, s.cfg.Source)
	if err != nil {
		return err
	}
	last, err := s.ix.LastHeight()
	if err != nil {
		return err
	}
	if last < latest && earliest > last+1 {
		return fmt.Errorf("the node's block store starts at height %d, the index needs block %d: run the observer from a node that keeps every block (no state sync, no pruning)",
			earliest, last+1)
	}
	err = indexBlocks(ctx, s.cfg.Source, s.ix, s.engine, last+1, latest, func(_ *Block, alerts []Alert) {
		for _, a := range alerts {
			s.log.Warn("alert", "id", a.ID, "rule", a.Rule, "severity", a.Severity, "subject", a.Subject, "reason", a.Reason)
			s.broker.publish(streamEvent{kind: "alert", seq: a.Seq, alert: a})
		}
		s.auth.newBlock()
		s.mu.Lock()
		close(s.indexed)
		s.indexed = make(chan struct{})
		s.mu.Unlock()
	})
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return nil // stopped
	}
	return err
}

// blockIndexed is closed when the next block has been indexed.
func (s *Service) blockIndexed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.indexed
}

// WaitForHeight blocks until the index reaches h or ctx ends.
func (s *Service) WaitForHeight(ctx context.Context, h int64) error {
	for {
		s.mu.Lock()
		ch := s.indexed
		s.mu.Unlock()
		last, err := s.ix.LastHeight()
		if err != nil {
			return err
		}
		if last >= h {
			return nil
		}
		select {
		case <-ctx.Done():
			s.mu.Lock()
			ferr := s.followErr
			s.mu.Unlock()
			return fmt.Errorf("regulator index at %d, waiting for %d: %w (follower: %v)", last, h, ctx.Err(), ferr)
		case <-ch:
		case <-time.After(time.Second):
		}
	}
}

// streamEvent is what the broker fans out to SSE clients.
type streamEvent struct {
	kind  string // alert | ack
	seq   uint64
	alert Alert
}

type broker struct {
	mu   sync.Mutex
	subs map[chan streamEvent]struct{}
}

func newBroker() *broker { return &broker{subs: map[chan streamEvent]struct{}{}} }

func (b *broker) subscribe() (chan streamEvent, func()) {
	ch := make(chan streamEvent, 256)
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		if _, ok := b.subs[ch]; ok {
			delete(b.subs, ch)
			close(ch)
		}
		b.mu.Unlock()
	}
}

// publish never blocks: a subscriber that fell 256 events behind is
// dropped and reconnects with Last-Event-ID to catch up from the index.
func (b *broker) publish(e streamEvent) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- e:
		default:
			delete(b.subs, ch)
			close(ch)
		}
	}
}

func (b *broker) closeAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		delete(b.subs, ch)
		close(ch)
	}
}

// SQLStatus is where the regulator's SQL tables stand.
type SQLStatus struct {
	Enabled bool `json:"enabled"`
	// Height is the cursor: the highest height loaded (as last read).
	Height int64 `json:"height"`
	// Error is why the tables are behind the index ("" when they are not).
	Error string `json:"error,omitempty"`
}

// SQL reports where the SQL tables stand.
func (s *Service) SQL() SQLStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sqlState
}

func (s *Service) setSQLState(h int64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h > s.sqlState.Height {
		s.sqlState.Height = h
	}
	s.sqlState.Error = ""
	if err != nil {
		s.sqlState.Error = err.Error()
	}
}

// sinkSQL loads the indexed blocks into PostgreSQL with its own cursor,
// apart from indexing: an outage of the database delays these rows, never
// the index, the rules or the alerts, and when the database returns the
// rows catch up from the cursor (from height 1 on a database that has
// none, so enabling SQL on an existing observer loads its history).
func (s *Service) sinkSQL(ctx context.Context) {
	defer close(s.sinkDone)
	t := time.NewTicker(s.cfg.PollInterval)
	defer t.Stop()
	down := false
	retry := time.Duration(0) // while the database fails: 0.5 s doubling to 10 s
	for {
		err := s.SQLSyncOnce(ctx)
		switch {
		case err != nil && ctx.Err() == nil && !down:
			down = true
			s.log.Warn("regulator SQL tables are behind; they catch up when the database answers (indexing and alerts go on)", "err", err)
		case err == nil && down:
			down = false
			s.log.Info("regulator SQL tables caught up", "height", s.SQL().Height)
		}
		if err != nil {
			retry = min(max(2*retry, 500*time.Millisecond), 10*time.Second)
			select {
			case <-ctx.Done():
				return
			case <-time.After(retry):
			}
			continue
		}
		retry = 0
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.blockIndexed():
		}
	}
}

// SQLSyncOnce loads every indexed block beyond the SQL cursor, a batch
// per SQL transaction.
func (s *Service) SQLSyncOnce(ctx context.Context) error {
	if s.sql == nil {
		return s.sqlOff()
	}
	s.sqlMu.Lock()
	defer s.sqlMu.Unlock()
	if err := s.sql.ping(ctx); err != nil {
		s.setSQLState(0, err)
		return err
	}
	if err := s.sql.install(ctx); err != nil {
		s.setSQLState(0, err)
		return err
	}
	for ctx.Err() == nil {
		last, err := s.ix.LastHeight()
		if err != nil {
			return err
		}
		bctx, cancel := context.WithTimeout(ctx, batchTimeout)
		h, _, err := s.sql.loadBatch(bctx, s.ix, s.blockTime, 0, true)
		cancel()
		s.setSQLState(h, err)
		if err != nil || h >= last {
			return err
		}
	}
	return nil
}

// SQLBackfill is what a backfill loaded.
type SQLBackfill struct {
	From      int64 `json:"from"`
	To        int64 `json:"to"`
	Movements int   `json:"movements"`
}

// ErrSQLOff: the observer has no SQL database (or its connection string
// does not parse: /v1/status says why).
var ErrSQLOff = errors.New("regulator SQL is off on this observer")

// sqlOff says why there is no SQL sink.
func (s *Service) sqlOff() error {
	if s.sqlOpenErr != nil {
		return fmt.Errorf("%w: %w", ErrSQLOff, s.sqlOpenErr)
	}
	return fmt.Errorf("%w: set regulator.sql in its config.toml", ErrSQLOff)
}

// ErrBadBackfill is a backfill start height out of range.
var ErrBadBackfill = errors.New("bad backfill height")

// BackfillSQL reloads the SQL tables from height from to the index's last
// height: each batch's heights are deleted and inserted again in one SQL
// transaction, so the tables never miss a row while it runs and running
// it twice changes nothing. The cursor ends at the last height loaded.
func (s *Service) BackfillSQL(ctx context.Context, from int64) (SQLBackfill, error) {
	out := SQLBackfill{From: from}
	if s.sql == nil {
		return out, s.sqlOff()
	}
	last, err := s.ix.LastHeight()
	if err != nil {
		return out, err
	}
	if from < 1 || from > last+1 {
		return out, fmt.Errorf("%w: from height %d: the index holds heights 1..%d", ErrBadBackfill, from, last)
	}
	s.sqlMu.Lock()
	defer s.sqlMu.Unlock()
	if err := s.sql.ping(ctx); err != nil {
		return out, err
	}
	if err := s.sql.install(ctx); err != nil {
		return out, err
	}
	after := from - 1
	out.To = after
	for ctx.Err() == nil && after < last {
		bctx, cancel := context.WithTimeout(ctx, batchTimeout)
		h, n, err := s.sql.loadBatch(bctx, s.ix, s.blockTime, after, false)
		cancel()
		s.setSQLState(h, err)
		if err != nil {
			return out, err
		}
		if h == after { // nothing left to load
			break
		}
		after, out.To, out.Movements = h, h, out.Movements+n
	}
	s.log.Info("regulator SQL backfill", "from", out.From, "to", out.To, "movements", out.Movements)
	return out, ctx.Err()
}

// blockTime is a block's consensus time: from the index, or for a block
// indexed before the index kept times, from the node.
func (s *Service) blockTime(ctx context.Context, h int64) (time.Time, error) {
	t, ok, err := s.ix.BlockTime(h)
	if err != nil || ok {
		return t, err
	}
	b, err := s.cfg.Source.Block(ctx, &h)
	if err != nil {
		return time.Time{}, fmt.Errorf("time of block %d: %w", h, err)
	}
	if b.Block == nil {
		return time.Time{}, fmt.Errorf("time of block %d: not in the block store", h)
	}
	return b.Block.Time.UTC(), nil
}
