package permission

import (
	"slices"
	"strings"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/memo"
	"github.com/jinlian-ledger/jinlian/ledger"
)

// Roles of the consortium. A role may be global ("member") or scoped to a
// sub-ledger ("member:payments") or, for issuers, to one asset of a ledger
// ("issuer:payments/CNY").
const (
	RoleCommittee = "committee" // votes on governance, one member per organisation
	RoleValidator = "validator" // node operator
	RoleRegulator = "regulator"
	RoleAuditor   = "auditor" // read-only
)

// KnownRoles lists the role names (without scope).
var KnownRoles = []string{RoleAdmin, RoleAuditor, RoleCommittee, RoleIssuer, RoleMember, RoleRegulator, RoleValidator}

// ValidateRole checks "name" or "name:scope" with a known name.
func ValidateRole(r string) error {
	name, scope, scoped := strings.Cut(r, ":")
	if !slices.Contains(KnownRoles, name) {
		return ErrInvalid.Wrapf("role %q: unknown role %q (known: %s)", r, name, strings.Join(KnownRoles, ", "))
	}
	if scoped && scope == "" {
		return ErrInvalid.Wrapf("role %q: empty scope", r)
	}
	return nil
}

// LocalRoles are the roles an organisation's admin grants its own
// identities without a vote: membership of sub-ledgers ("member",
// "member:<ledger>"). Every other role reaches beyond the organisation
// (auditor and regulator read every member's data, committee votes for the
// consortium, issuer creates money, admin and validator run the
// organisation's part of the consortium) and is granted only by governance.
var LocalRoles = []string{RoleMember}

// IsLocalRole reports whether r ("name" or "name:scope") is a local role.
func IsLocalRole(r string) bool {
	name, _, _ := strings.Cut(r, ":")
	return slices.Contains(LocalRoles, name)
}

// consortiumRoles are checked without a scope, so a scoped grant of one
// would be inert; ValidateGrant refuses it rather than record it.
var consortiumRoles = []string{RoleAdmin, RoleCommittee, RoleRegulator, RoleValidator}

// ValidateGrant checks a role that governance grants: a known name; no
// scope on consortium-wide roles; an auditor scope that names an existing
// sub-ledger ("auditor" alone reads every sub-ledger, "auditor:<ledger>"
// the one it names).
func ValidateGrant(kv Reader, r string) error {
	if err := ValidateRole(r); err != nil {
		return err
	}
	name, scope, scoped := strings.Cut(r, ":")
	switch {
	case scoped && slices.Contains(consortiumRoles, name):
		return ErrInvalid.Wrapf("role %q: %s is consortium-wide and takes no scope", r, name)
	case scoped && name == RoleAuditor:
		if _, ok, err := GetLedgerInfo(kv, scope); err != nil {
			return err
		} else if !ok {
			return ErrInvalid.Wrapf("role %q: no sub-ledger %q (grant auditor:<ledger> for one sub-ledger, auditor for all)", r, scope)
		}
	}
	return nil
}

// holds reports whether roles grant role within scope: the global role, the
// role scoped to scope, or (for "ledger/asset" scopes) to the ledger alone.
func holds(roles []string, role, scope string) bool {
	for _, r := range roles {
		name, s, scoped := strings.Cut(r, ":")
		if name != role {
			continue
		}
		if !scoped || s == scope {
			return true
		}
		if l, _, ok := strings.Cut(scope, "/"); ok && s == l {
			return true
		}
	}
	return false
}

// Require succeeds when addr is registered with role within scope (a
// ledger name, "ledger/asset", or "" for global roles). The error names the
// identity, the missing role and the scope.
func Require(kv Reader, addr gmcrypto.Address, role, scope string) (Identity, error) {
	id, err := require(kv, addr, role, scope)
	id.Roles = slices.Clone(id.Roles)
	return id, err
}

// require is Require returning the identity shared with the record cache.
func require(kv Reader, addr gmcrypto.Address, role, scope string) (Identity, error) {
	id, ok, err := peekIdentity(kv, addr)
	if err != nil {
		return id, err
	}
	where := ""
	if scope != "" {
		where = " on " + scope
	}
	if !ok {
		return id, ErrUnauthorized.Wrapf("identity %s is not registered; role %s%s required", addr, role, where)
	}
	if !holds(id.Roles, role, scope) {
		return id, ErrUnauthorized.Wrapf("identity %s (organisation %s) lacks role %s%s", addr, id.Org, role, where)
	}
	return id, nil
}

// Grant adds role to the identity at addr, registering it under org if new.
// It is governance's path (see ValidateGrant).
func Grant(kv ledger.KV, addr gmcrypto.Address, org, role string) error {
	if err := ValidateGrant(kv, role); err != nil {
		return err
	}
	id, ok, err := GetIdentity(kv, addr)
	if err != nil {
		return err
	}
	if !ok {
		id = Identity{Address: addr.String(), Org: org}
	} else if org != "" && id.Org != org {
		return ErrInvalid.Wrapf("identity %s belongs to %s, not %s", addr, id.Org, org)
	}
	id.Roles = append(id.Roles, role)
	return SetIdentity(kv, id)
}

// RevokeRole removes role from the identity at addr.
func RevokeRole(kv ledger.KV, addr gmcrypto.Address, role string) error {
	id, ok, err := GetIdentity(kv, addr)
	if err != nil {
		return err
	}
	if !ok || !slices.Contains(id.Roles, role) {
		return ErrInvalid.Wrapf("identity %s does not hold role %s", addr, role)
	}
	id.Roles = slices.DeleteFunc(id.Roles, func(r string) bool { return r == role })
	return SetIdentity(kv, id)
}

// Identities lists registered identities in address order.
func Identities(kv Reader) ([]Identity, error) {
	return list[Identity](kv, identityPrefix)
}

// list decodes every JSON value under prefix of the system ledger, in key order.
func list[T any](kv Reader, prefix string) ([]T, error) {
	out := []T{}
	var derr error
	end := []byte(prefix)
	end[len(end)-1]++
	err := kv.Iterate(SystemLedger, []byte(prefix), end, func(_, b []byte) bool {
		var v T
		if derr = ledger.Decode(b, &v); derr != nil {
			return false
		}
		out = append(out, v)
		return true
	})
	if err == nil {
		err = derr
	}
	return out, err
}

// LedgerInfo records a sub-ledger's member organisations.
type LedgerInfo struct {
	Name    string   `json:"name"`
	Members []string `json:"members"` // organisation ids, sorted
}

func ledgerInfoKey(name string) []byte { return []byte("ledger/" + name) }

// SetLedgerInfo stores a ledger's membership.
func SetLedgerInfo(kv ledger.KV, li LedgerInfo) error {
	for _, m := range li.Members {
		if _, err := GetOrganisation(kv, m); err != nil {
			return err
		}
	}
	li.Members = slices.Compact(slices.Sorted(slices.Values(li.Members)))
	b, err := ledger.Encode(li)
	if err != nil {
		return err
	}
	return kv.Set(SystemLedger, ledgerInfoKey(li.Name), b)
}

var ledgerInfoRecords = memo.NewRecords(1024, ledger.Decode, func(li LedgerInfo) LedgerInfo { li.Members = slices.Clone(li.Members); return li })

// GetLedgerInfo loads a ledger's membership (ok=false when none recorded).
func GetLedgerInfo(kv Reader, name string) (LedgerInfo, bool, error) {
	var li LedgerInfo
	b, err := ledger.Peek(kv, SystemLedger, ledgerInfoKey(name))
	if err != nil || b == nil {
		return li, false, err
	}
	return li, true, ledgerInfoRecords.Decode(b, &li)
}

// RequireMember succeeds when addr may transact on ledgerName: its
// organisation is a member of the ledger and it holds role member there.
func RequireMember(kv Reader, addr gmcrypto.Address, ledgerName string) error {
	id, err := require(kv, addr, RoleMember, ledgerName)
	if err != nil {
		return err
	}
	b, err := ledger.Peek(kv, SystemLedger, ledgerInfoKey(ledgerName))
	if err != nil || b == nil {
		return err
	}
	li, err := ledgerInfoRecords.Peek(b) // read only
	if err != nil {
		return err
	}
	if !slices.Contains(li.Members, id.Org) {
		return ErrUnauthorized.Wrapf("identity %s: organisation %s is not a member of ledger %s", addr, id.Org, ledgerName)
	}
	return nil
}

// Node is a p2p node admitted by the peer filter.
type Node struct {
	ID   string `json:"node_id"`
	Org  string `json:"org"`
	Kind string `json:"kind"` // validator | observer
}

func nodeKey(id string) []byte { return []byte("node/" + strings.ToLower(id)) }

// SetNode registers a node.
func SetNode(kv ledger.KV, n Node) error {
	if len(n.ID) != 40 || strings.Trim(strings.ToLower(n.ID), "0123456789abcdef") != "" {
		return ErrInvalid.Wrapf("node id %q: want 40 hex digits", n.ID)
	}
	if n.Kind != "validator" && n.Kind != "observer" {
		return ErrInvalid.Wrapf("node %s: kind %q, want validator or observer", n.ID, n.Kind)
	}
	if _, err := GetOrganisation(kv, n.Org); err != nil {
		return err
	}
	n.ID = strings.ToLower(n.ID)
	b, err := ledger.Encode(n)
	if err != nil {
		return err
	}
	if err := kv.Set(SystemLedger, keyAdmission, []byte{1}); err != nil {
		return err
	}
	return kv.Set(SystemLedger, nodeKey(n.ID), b)
}

// RemoveNode deletes a node's registration.
func RemoveNode(kv ledger.KV, id string) error {
	b, err := kv.Get(SystemLedger, nodeKey(id))
	if err != nil {
		return err
	}
	if b == nil {
		return ErrInvalid.Wrapf("node %s is not registered", id)
	}
	return kv.Delete(SystemLedger, nodeKey(id))
}

// Nodes lists registered nodes in id order.
func Nodes(kv Reader) ([]Node, error) { return list[Node](kv, "node/") }

// keyAdmission is set by the first node registration: from then on only
// registered nodes are admitted, even if the registry empties again.
var keyAdmission = []byte("meta/node_admission")

// AdmitNode decides the peer filter: before any node was ever registered
// every node is admitted (admission off); afterwards only registered ids.
func AdmitNode(kv Reader, id string) (bool, error) {
	b, err := kv.Get(SystemLedger, nodeKey(strings.ToLower(id)))
	if err != nil || b != nil {
		return b != nil, err
	}
	on, err := kv.Get(SystemLedger, keyAdmission)
	return on == nil, err
}

// CheckClaimedOrg rejects an envelope whose claimed organisation (mspid)
// differs from the organisation its sender is registered to.
func CheckClaimedOrg(kv Reader, addr gmcrypto.Address, mspid string) error {
	id, ok, err := peekIdentity(kv, addr)
	if err != nil || !ok {
		return err
	}
	if id.Org != mspid {
		return ErrUnauthorized.Wrapf("identity %s is registered to organisation %s, the envelope claims %s", addr, id.Org, mspid)
	}
	return nil
}
