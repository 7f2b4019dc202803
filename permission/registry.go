package permission

import (
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/errs"
	"github.com/jinlian-ledger/jinlian/internal/memo"
	"github.com/jinlian-ledger/jinlian/ledger"
)

// SystemLedger is the ledger that holds consortium-wide state: organisations,
// identities, parameters and replay protection. User ledgers never start with '_'.
const SystemLedger = "_system"

// Roles known to the foundation.
const (
	RoleIssuer = "issuer"
	RoleMember = "member"
	RoleAdmin  = "admin"
)

const codespace = "permission"

// Registered errors.
var (
	ErrUnknownOrg   = errs.Register(codespace, 2, "unknown organisation")
	ErrUnauthorized = errs.Register(codespace, 3, "unauthorized")
	ErrInvalid      = errs.Register(codespace, 4, "invalid registry entry")
	// ErrUnknownPayee refuses a payment to an address that is not a
	// registered identity of a member organisation of the ledger: a
	// permissioned ledger pays only known parties, and money sent to a
	// mistyped address could never move again.
	ErrUnknownPayee = errs.Register(codespace, 11, "unknown recipient")
)

var orgIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// Organisation is a consortium member.
type Organisation struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	// RootCA is the organisation's root CA certificate (PEM). When set, its
	// identities sign with certificates issued by it; when empty they sign
	// with bare SM2 public keys (development networks only).
	RootCA string `json:"root_ca,omitempty"`
}

// Identity is an account registered to an organisation with roles.
type Identity struct {
	Name    string   `json:"name,omitempty"`
	Address string   `json:"address"`
	Org     string   `json:"org"`
	Roles   []string `json:"roles"`
}

func orgKey(id string) []byte     { return []byte("org/" + id) }
func identityKey(a string) []byte { return []byte(identityPrefix + a) }

// identityPrefix and pubKeyPrefix start the keys of identities and of
// senders' public keys, followed by the address's hex.
const (
	identityPrefix = "id/"
	pubKeyPrefix   = "pubkey/"
)

// addrKey is prefix followed by addr's hex (identityKey(addr.String())
// for identityPrefix), built in one allocation: a transaction names its
// accounts' records many times.
func addrKey(prefix string, addr gmcrypto.Address) []byte {
	k := make([]byte, len(prefix)+2*gmcrypto.AddressSize)
	hex.Encode(k[copy(k, prefix):], addr[:])
	return k
}

// ValidateOrgID checks the form of an organisation id.
func ValidateOrgID(id string) error {
	if !orgIDPattern.MatchString(id) {
		return ErrInvalid.Wrapf("organisation id %q: want 1-64 of [A-Za-z0-9_.-], starting alphanumeric", id)
	}
	return nil
}

// SetOrganisation stores org.
func SetOrganisation(kv ledger.KV, org Organisation) error {
	if err := ValidateOrgID(org.ID); err != nil {
		return err
	}
	if org.RootCA != "" {
		if err := ValidateRootCA(org.ID, org.RootCA); err != nil {
			return err
		}
	}
	b, err := ledger.Encode(org)
	if err != nil {
		return err
	}
	return kv.Set(SystemLedger, orgKey(org.ID), b)
}

// Decoded records read by every transaction (see internal/memo).
var (
	orgRecords      = memo.NewRecords[Organisation](1024, ledger.Decode, nil)
	identityRecords = memo.NewRecords[Identity](100_000, ledger.Decode, nil) // read through GetIdentity (copies) or peekIdentity
)

// GetOrganisation loads an organisation; ErrUnknownOrg if absent.
func GetOrganisation(kv Reader, id string) (Organisation, error) {
	var org Organisation
	b, err := ledger.Peek(kv, SystemLedger, orgKey(id))
	if err != nil {
		return org, err
	}
	if b == nil {
		return org, ErrUnknownOrg.Wrapf("%q", id)
	}
	return org, orgRecords.Decode(b, &org)
}

// Organisations lists every organisation in id order.
func Organisations(kv Reader) ([]Organisation, error) { return list[Organisation](kv, "org/") }

// SetIdentity registers id; its organisation must exist.
func SetIdentity(kv ledger.KV, id Identity) error {
	if _, err := gmcrypto.ParseAddress(id.Address); err != nil {
		return ErrInvalid.Wrapf("identity %q: %v", id.Name, err)
	}
	if _, err := GetOrganisation(kv, id.Org); err != nil {
		return fmt.Errorf("identity %s: %w", id.Address, err)
	}
	roles := slices.Clone(id.Roles)
	slices.Sort(roles)
	id.Roles = slices.Compact(roles)
	b, err := ledger.Encode(id)
	if err != nil {
		return err
	}
	return kv.Set(SystemLedger, identityKey(id.Address), b)
}

// GetIdentity returns the identity registered for addr, or ok=false.
func GetIdentity(kv Reader, addr gmcrypto.Address) (id Identity, ok bool, err error) {
	id, ok, err = peekIdentity(kv, addr)
	id.Roles = slices.Clone(id.Roles)
	return id, ok, err
}

// peekIdentity is GetIdentity for the checks run on every transaction: its
// Roles are shared with the record cache and must only be read.
func peekIdentity(kv Reader, addr gmcrypto.Address) (Identity, bool, error) {
	b, err := ledger.Peek(kv, SystemLedger, addrKey(identityPrefix, addr))
	if err != nil || b == nil {
		return Identity{}, false, err
	}
	id, err := identityRecords.Peek(b)
	return id, err == nil, err
}

// RequireRole succeeds when addr is registered to org with role; otherwise the
// error names the identity, the organisation and the missing role.
// scope narrows the role as in Require ("" for a global role; a scoped
// grant such as "issuer:payments/CNY" satisfies scope "payments/CNY").
func RequireRole(kv Reader, addr gmcrypto.Address, org, role, scope string) error {
	id, ok, err := GetIdentity(kv, addr)
	if err != nil {
		return err
	}
	if !ok {
		return ErrUnauthorized.Wrapf("identity %s is not registered; role %s of organisation %s required", addr, role, org)
	}
	if id.Org != org || !holds(id.Roles, role, scope) {
		return ErrUnauthorized.Wrapf("identity %s (organisation %s) lacks role %s of organisation %s", addr, id.Org, role, org)
	}
	return nil
}

// RequirePayee succeeds when addr may be paid on ledgerName: it is a
// registered identity and its organisation is a member of the ledger. It
// returns that organisation.
func RequirePayee(kv Reader, addr gmcrypto.Address, ledgerName string) (string, error) {
	id, ok, err := peekIdentity(kv, addr)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", ErrUnknownPayee.Wrapf("recipient %s is not a registered identity; ledger %s pays only registered identities (check the address)", addr, ledgerName)
	}
	li, found, err := GetLedgerInfo(kv, ledgerName)
	if err != nil {
		return "", err
	}
	if found && !slices.Contains(li.Members, id.Org) {
		return "", ErrUnknownPayee.Wrapf("recipient %s belongs to organisation %s, which is not a member of ledger %s", addr, id.Org, ledgerName)
	}
	return id.Org, nil
}

// RemoveIdentity deletes the registration of addr.
func RemoveIdentity(kv ledger.KV, addr gmcrypto.Address) error {
	if _, ok, err := peekIdentity(kv, addr); err != nil {
		return err
	} else if !ok {
		return ErrInvalid.Wrapf("identity %s is not registered", addr)
	}
	return kv.Delete(SystemLedger, addrKey(identityPrefix, addr))
}

// Reader is ledger.Reader, named here for the signatures of this package.
type Reader = ledger.Reader

// Keeper adapts the registry to the interfaces contracts declare.
type Keeper struct{}

// RequireRole implements payments.Authorizer.
func (Keeper) RequireRole(kv ledger.KV, addr gmcrypto.Address, org, role, scope string) error {
	return RequireRole(kv, addr, org, role, scope)
}

// RequirePayee implements payments.Authorizer.
func (Keeper) RequirePayee(kv ledger.KV, addr gmcrypto.Address, ledgerName string) (string, error) {
	return RequirePayee(kv, addr, ledgerName)
}

// OrgOf implements payments.Authorizer: addr's organisation, "" when it
// is not registered.
func (Keeper) OrgOf(kv ledger.KV, addr gmcrypto.Address) (string, error) {
	id, _, err := peekIdentity(kv, addr)
	return id.Org, err
}

// RequireMember implements custody.Registry.
func (Keeper) RequireMember(kv ledger.KV, addr gmcrypto.Address, ledgerName string) error {
	return RequireMember(kv, addr, ledgerName)
}

// RemoveOrganisation deletes an organisation and everything that let it
// take part: its identities (with their roles and any escrow key), its
// memberships of sub-ledgers and its nodes in the peer filter's registry.
// It returns the removed node ids, in id order, for the embedding node to
// disconnect. The caller refuses the removal while the organisation runs a
// validator with power (see app's remove_organisation).
func RemoveOrganisation(kv ledger.KV, id string) (removedNodes []string, err error) {
	if _, err := GetOrganisation(kv, id); err != nil {
		return nil, err
	}
	ids, err := Identities(kv)
	if err != nil {
		return nil, err
	}
	for _, i := range ids {
		if i.Org != id {
			continue
		}
		if err := kv.Delete(SystemLedger, identityKey(i.Address)); err != nil {
			return nil, err
		}
		if b, err := kv.Get(SystemLedger, escrowKey(i.Address)); err != nil {
			return nil, err
		} else if b != nil {
			if err := kv.Delete(SystemLedger, escrowKey(i.Address)); err != nil {
				return nil, err
			}
		}
	}
	lis, err := list[LedgerInfo](kv, "ledger/")
	if err != nil {
		return nil, err
	}
	for _, li := range lis {
		if !slices.Contains(li.Members, id) {
			continue
		}
		li.Members = slices.DeleteFunc(li.Members, func(m string) bool { return m == id })
		b, err := ledger.Encode(li)
		if err != nil {
			return nil, err
		}
		if err := kv.Set(SystemLedger, ledgerInfoKey(li.Name), b); err != nil {
			return nil, err
		}
	}
	nodes, err := Nodes(kv)
	if err != nil {
		return nil, err
	}
	for _, n := range nodes {
		if n.Org != id {
			continue
		}
		if err := kv.Delete(SystemLedger, nodeKey(n.ID)); err != nil {
			return nil, err
		}
		removedNodes = append(removedNodes, n.ID)
	}
	return removedNodes, kv.Delete(SystemLedger, orgKey(id))
}
