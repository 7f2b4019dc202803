package regulator

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/memo"
	"github.com/jinlian-ledger/jinlian/permission"
)

// Every API request is signed with the caller's SM2 key: the observer
// knows who asked (for the audit log) and checks the caller's on-chain
// roles. The signature covers the method, the host the request is
// addressed to, the request URI, the date, a nonce and the SM3 of the
// body. The observer refuses a date more than MaxClockSkew away, a host
// that is not one of its names, and a nonce it has already seen from the
// same caller within the window, so a captured request can neither be
// replayed to this observer nor sent to another one.
const (
	HeaderPublicKey = "X-Jinlian-Public-Key" // hex of the caller's SM2 public key
	HeaderDate      = "X-Jinlian-Date"       // RFC 3339
	HeaderNonce     = "X-Jinlian-Nonce"      // 32..64 hex digits, fresh per request
	HeaderSignature = "X-Jinlian-Signature"  // hex SM2 signature
	MaxClockSkew    = 5 * time.Minute
	signingDomain   = "jinlian-regulator-api/v2"
	// MaxNonces bounds the replay cache: the nonces of the last
	// 2·MaxClockSkew of requests by identities that hold an API role.
	MaxNonces = 1 << 16
)

// ErrUnauthenticated and ErrForbidden tell a caller without a valid
// signature from one whose identity lacks the role.
var (
	ErrUnauthenticated = errors.New("request is not signed by an SM2 identity")
	ErrForbidden       = errors.New("identity lacks the role")
	// ErrReplayed is a signed request whose nonce was seen before (401).
	ErrReplayed = fmt.Errorf("%w: replayed request", ErrUnauthenticated)
	// ErrBusy is the replay cache full of live nonces (503).
	ErrBusy = errors.New("the observer's replay cache is full; retry in a minute")
)

// Caller is an authenticated requester.
type Caller struct {
	Address string   `json:"address"`
	Roles   []string `json:"roles"`

	nonce   string
	expires time.Time // when the request's date leaves the window
}

// Has reports whether the caller holds any of roles.
func (c *Caller) Has(roles ...string) bool {
	for _, r := range roles {
		if slices.Contains(c.Roles, r) {
			return true
		}
	}
	return false
}

func signingBytes(method, host, uri, date, nonce string, body []byte) []byte {
	h := gmcrypto.SM3(body)
	return fmt.Appendf(nil, "%s\n%s\n%s\n%s\n%s\n%s\n%s", signingDomain, method, strings.ToLower(host), uri, date, nonce, hex.EncodeToString(h[:]))
}

// requestHost is the host a request is addressed to, as the client sends
// it in the Host header.
func requestHost(req *http.Request) string {
	if req.Host != "" {
		return req.Host
	}
	return req.URL.Host
}

// SignRequest signs req (whose body is body) with key, with a fresh nonce.
func SignRequest(req *http.Request, key *gmcrypto.PrivateKey, body []byte, now time.Time) error {
	var n [16]byte
	if _, err := rand.Read(n[:]); err != nil {
		return err
	}
	nonce := hex.EncodeToString(n[:])
	date := now.UTC().Format(time.RFC3339)
	sig, err := key.Sign(signingBytes(req.Method, requestHost(req), req.URL.RequestURI(), date, nonce, body))
	if err != nil {
		return err
	}
	req.Header.Set(HeaderPublicKey, hex.EncodeToString(key.Public().Bytes()))
	req.Header.Set(HeaderDate, date)
	req.Header.Set(HeaderNonce, nonce)
	req.Header.Set(HeaderSignature, hex.EncodeToString(sig))
	return nil
}

// RolesFunc returns the on-chain roles of an address.
type RolesFunc func(ctx context.Context, addr string) ([]string, error)

// RolesFromQuery asks the app's "/roles" query (every identity, so that an
// unregistered address simply has no role).
func RolesFromQuery(q QueryFunc) RolesFunc {
	return func(ctx context.Context, addr string) ([]string, error) {
		b, err := q(ctx, "/roles", nil)
		if err != nil {
			return nil, err
		}
		var ids []permission.Identity
		if err := json.Unmarshal(b, &ids); err != nil {
			return nil, fmt.Errorf("decode /roles: %w", err)
		}
		var roles []string
		for _, id := range ids {
			if id.Address == addr {
				roles = append(roles, id.Roles...)
			}
		}
		return roles, nil
	}
}

type authenticator struct {
	roles RolesFunc
	now   func() time.Time
	hosts *hostSet

	// Roles are cached per address for at most rolesTTL and only while no
	// new block was indexed (gen), in a bounded map: a revoked identity
	// loses access at the next block, and a flood of fresh keys cannot
	// grow the cache.
	cache *memo.Map[string, rolesEntry]
	gen   atomic.Uint64

	nonces nonceCache
}

type rolesEntry struct {
	roles []string
	at    time.Time
	gen   uint64
}

const (
	rolesTTL       = 10 * time.Second
	rolesCacheSize = 4096
)

func newAuthenticator(roles RolesFunc, now func() time.Time, hosts *hostSet) *authenticator {
	return &authenticator{roles: roles, now: now, hosts: hosts, cache: memo.NewMap[string, rolesEntry](rolesCacheSize),
		nonces: nonceCache{seen: map[string]time.Time{}, max: MaxNonces}}
}

// newBlock makes every cached role stale: roles are read again from the
// chain, which may have revoked them in this block.
func (a *authenticator) newBlock() { a.gen.Add(1) }

// authenticate checks the request's signature and host and returns the
// caller with its current roles. The body is read and put back. The nonce
// is checked by consumeNonce once the caller is known to hold a role.
func (a *authenticator) authenticate(r *http.Request) (*Caller, error) {
	pubHex, date, nonce, sigHex := r.Header.Get(HeaderPublicKey), r.Header.Get(HeaderDate), r.Header.Get(HeaderNonce), r.Header.Get(HeaderSignature)
	if pubHex == "" || date == "" || sigHex == "" || nonce == "" {
		return nil, fmt.Errorf("%w: sign it with `jinlian reg ... --from KEY` (headers %s, %s, %s, %s)", ErrUnauthenticated, HeaderPublicKey, HeaderDate, HeaderNonce, HeaderSignature)
	}
	if len(nonce) < 32 || len(nonce) > 64 || strings.Trim(strings.ToLower(nonce), "0123456789abcdef") != "" {
		return nil, fmt.Errorf("%w: %s must be 32..64 hex digits", ErrUnauthenticated, HeaderNonce)
	}
	pb, err := hex.DecodeString(pubHex)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not hex", ErrUnauthenticated, HeaderPublicKey)
	}
	pub, err := gmcrypto.ParsePublicKey(pb)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrUnauthenticated, HeaderPublicKey, err)
	}
	at, err := time.Parse(time.RFC3339, date)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %q is not RFC 3339", ErrUnauthenticated, HeaderDate, date)
	}
	if d := a.now().Sub(at); d > MaxClockSkew || d < -MaxClockSkew {
		return nil, fmt.Errorf("%w: request dated %s is more than %s from the observer's clock", ErrUnauthenticated, date, MaxClockSkew)
	}
	if a.hosts != nil && !a.hosts.allows(r.Host) {
		return nil, fmt.Errorf("%w: the request is addressed to host %q, which is not this observer (%s)", ErrUnauthenticated, r.Host, a.hosts)
	}
	sig, err := hex.DecodeString(sigHex)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not hex", ErrUnauthenticated, HeaderSignature)
	}
	var body []byte
	if r.Body != nil {
		if body, err = io.ReadAll(io.LimitReader(r.Body, 1<<20)); err != nil {
			return nil, err
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	if !pub.Verify(signingBytes(r.Method, r.Host, r.URL.RequestURI(), date, nonce, body), sig) {
		return nil, fmt.Errorf("%w: the SM2 signature of %s does not verify (it covers the method, host %s, path and query, date, nonce and body)", ErrUnauthenticated, pub.Address(), r.Host)
	}
	addr := pub.Address().String()
	roles, err := a.rolesOf(r.Context(), addr)
	if err != nil {
		return nil, fmt.Errorf("roles of %s: %w", addr, err)
	}
	return &Caller{Address: addr, Roles: roles, nonce: nonce, expires: at.Add(MaxClockSkew)}, nil
}

// consumeNonce records the caller's nonce, refusing one seen before.
func (a *authenticator) consumeNonce(c *Caller) error {
	return a.nonces.use(c.Address+"/"+strings.ToLower(c.nonce), c.expires, a.now())
}

// rolesOf returns the roles of addr, from the cache while fresh.
func (a *authenticator) rolesOf(ctx context.Context, addr string) ([]string, error) {
	gen := a.gen.Load()
	if e, ok := a.cache.Get(addr); ok && e.gen == gen && a.now().Sub(e.at) < rolesTTL {
		return e.roles, nil
	}
	roles, err := a.roles(ctx, addr)
	if err != nil {
		return nil, err
	}
	a.cache.Put(addr, rolesEntry{roles: roles, at: a.now(), gen: gen})
	return roles, nil
}

// nonceCache remembers (caller, nonce) until the request's date leaves
// the window, after which the date check refuses it anyway. It never
// forgets a live nonce: when full of them it refuses new requests.
type nonceCache struct {
	mu        sync.Mutex
	seen      map[string]time.Time // key → expiry
	max       int
	lastSweep time.Time
}

func (n *nonceCache) use(key string, expires, now time.Time) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if exp, ok := n.seen[key]; ok && now.Before(exp) {
		return fmt.Errorf("%w: nonce %s of this caller was already used within the last %s; sign every request afresh", ErrReplayed, key[strings.IndexByte(key, '/')+1:], MaxClockSkew)
	}
	if len(n.seen) >= n.max || now.Sub(n.lastSweep) > time.Minute {
		for k, exp := range n.seen {
			if !now.Before(exp) {
				delete(n.seen, k)
			}
		}
		n.lastSweep = now
	}
	if len(n.seen) >= n.max {
		return ErrBusy
	}
	n.seen[key] = expires
	return nil
}

// hostSet is the names a request may be addressed to: host:port, or a
// bare host for any port.
type hostSet struct{ names []string }

func newHostSet(names []string) *hostSet {
	h := &hostSet{}
	for _, n := range names {
		if n = strings.ToLower(strings.TrimSpace(n)); n != "" && !slices.Contains(h.names, n) {
			h.names = append(h.names, n)
		}
	}
	return h
}

func (h *hostSet) allows(host string) bool {
	host = strings.ToLower(host)
	name, port, err := net.SplitHostPort(host)
	if err != nil {
		name, port = strings.Trim(host, "[]"), ""
	}
	for _, n := range h.names {
		nn, np, err := net.SplitHostPort(n)
		if err != nil {
			nn, np = strings.Trim(n, "[]"), ""
		}
		if nn == name && (np == "" || np == port || port == "" && (np == "443" || np == "80")) {
			return true
		}
	}
	return false
}

func (h *hostSet) String() string { return strings.Join(h.names, ", ") }
