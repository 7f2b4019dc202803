package regulator

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/permission"
)

// Every API request is signed with the caller's SM2 key: the observer
// knows who asked (for the audit log) and checks the caller's on-chain
// roles. The signature covers the method, the request URI, the date and
// the SM3 of the body; a date more than MaxClockSkew away is refused.
const (
	HeaderPublicKey = "X-Jinlian-Public-Key" // hex of the caller's SM2 public key
	HeaderDate      = "X-Jinlian-Date"       // RFC 3339
	HeaderSignature = "X-Jinlian-Signature"  // hex SM2 signature
	MaxClockSkew    = 5 * time.Minute
	signingDomain   = "jinlian-regulator-api/v1"
)

// ErrUnauthenticated and ErrForbidden tell a caller without a valid
// signature from one whose identity lacks the role.
var (
	ErrUnauthenticated = errors.New("request is not signed by an SM2 identity")
	ErrForbidden       = errors.New("identity lacks the role")
)

// Caller is an authenticated requester.
type Caller struct {
	Address string   `json:"address"`
	Roles   []string `json:"roles"`
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

func signingBytes(method, uri, date string, body []byte) []byte {
	h := gmcrypto.SM3(body)
	return fmt.Appendf(nil, "%s\n%s\n%s\n%s\n%s", signingDomain, method, uri, date, hex.EncodeToString(h[:]))
}

// SignRequest signs req (whose body is body) with key.
func SignRequest(req *http.Request, key *gmcrypto.PrivateKey, body []byte, now time.Time) error {
	date := now.UTC().Format(time.RFC3339)
	sig, err := key.Sign(signingBytes(req.Method, req.URL.RequestURI(), date, body))
	if err != nil {
		return err
	}
	req.Header.Set(HeaderPublicKey, hex.EncodeToString(key.Public().Bytes()))
	req.Header.Set(HeaderDate, date)
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

	mu    sync.Mutex
	cache map[string]rolesEntry
}

type rolesEntry struct {
	roles []string
	at    time.Time
}

const rolesTTL = 30 * time.Second

// authenticate checks the request's signature and returns the caller. The
// body is read and put back.
func (a *authenticator) authenticate(r *http.Request) (*Caller, error) {
	pubHex, date, sigHex := r.Header.Get(HeaderPublicKey), r.Header.Get(HeaderDate), r.Header.Get(HeaderSignature)
	if pubHex == "" || date == "" || sigHex == "" {
		return nil, fmt.Errorf("%w: sign it with `jinlian reg ... --from KEY` (headers %s, %s, %s)", ErrUnauthenticated, HeaderPublicKey, HeaderDate, HeaderSignature)
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
	if !pub.Verify(signingBytes(r.Method, r.URL.RequestURI(), date, body), sig) {
		return nil, fmt.Errorf("%w: the SM2 signature of %s does not verify", ErrUnauthenticated, pub.Address())
	}
	addr := pub.Address().String()
	roles, err := a.rolesOf(r.Context(), addr)
	if err != nil {
		return nil, fmt.Errorf("roles of %s: %w", addr, err)
	}
	return &Caller{Address: addr, Roles: roles}, nil
}

func (a *authenticator) rolesOf(ctx context.Context, addr string) ([]string, error) {
	a.mu.Lock()
	e, ok := a.cache[addr]
	a.mu.Unlock()
	if ok && a.now().Sub(e.at) < rolesTTL {
		return e.roles, nil
	}
	roles, err := a.roles(ctx, addr)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.cache[addr] = rolesEntry{roles: roles, at: a.now()}
	a.mu.Unlock()
	return roles, nil
}
