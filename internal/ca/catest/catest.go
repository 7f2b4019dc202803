// Package catest gives tests a key certified by a fresh certificate
// authority of an organisation, as a bank's member holds one. Tests only:
// nothing a node links imports it.
package catest

import (
	"testing"
	"time"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/ca"
)

// Client returns a fresh key and the client certificate "alice" that a
// fresh CA of org issued for it, both valid for 30 days from now.
func Client(t testing.TB, org string) (*gmcrypto.PrivateKey, *gmcrypto.Certificate) {
	t.Helper()
	a, err := ca.New(org, 30, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	k, err := gmcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	c, err := a.Issue("alice", gmcrypto.RoleClient, k.Public(), 30, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return k, c
}
