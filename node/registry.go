package node

import (
	"bytes"
	"encoding/pem"
	"errors"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
)

// chainRegistry answers the API's read gate from the last committed state.
type chainRegistry struct{ store *ledger.Store }

func (r chainRegistry) view() (*ledger.View, bool, error) {
	if r.store.LastCommit().Height == 0 {
		return nil, false, nil
	}
	v, err := r.store.View(0)
	return v, err == nil, err
}

func (r chainRegistry) Identity(addr gmcrypto.Address) (string, []string, bool, error) {
	v, ok, err := r.view()
	if !ok {
		return "", nil, false, err
	}
	id, ok, err := permission.GetIdentity(v, addr)
	return id.Org, id.Roles, ok, err
}

// OrgOfRootCA finds the organisation whose root CA, as registered on
// chain, is exactly der. Every organisation registers at most one root CA,
// so the answer is unique.
func (r chainRegistry) OrgOfRootCA(der []byte) (string, bool, error) {
	v, ok, err := r.view()
	if !ok {
		return "", false, err
	}
	orgs, err := permission.Organisations(v)
	if err != nil {
		return "", false, err
	}
	for _, o := range orgs {
		if b, _ := pem.Decode([]byte(o.RootCA)); b != nil && bytes.Equal(b.Bytes, der) {
			return o.ID, true, nil
		}
	}
	return "", false, nil
}

func (r chainRegistry) OrgExists(id string) (bool, error) {
	v, ok, err := r.view()
	if !ok {
		return false, err
	}
	_, err = permission.GetOrganisation(v, id)
	if errors.Is(err, permission.ErrUnknownOrg) {
		return false, nil
	}
	return err == nil, err
}

func (r chainRegistry) LedgerMembers(name string) ([]string, bool, error) {
	v, ok, err := r.view()
	if !ok {
		return nil, false, err
	}
	li, ok, err := permission.GetLedgerInfo(v, name)
	return li.Members, ok, err
}
