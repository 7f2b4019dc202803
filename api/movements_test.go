package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/movement"
	"github.com/jinlian-ledger/jinlian/recon"
)

// TestMovementsEndpoint: GET /v1/movements lists an account's movements
// as recon.AccountMovements reads them from the node's blocks; a member
// reads its own organisation's accounts only, a regulator any; bad
// queries and heights the node does not hold are refused, naming why; and
// api.Node.Movements reads through it.
func TestMovementsEndpoint(t *testing.T) {
	chain, _ := newOwnTxChain(t)
	_, alice, _, regulator, stranger, log := ownTxAPI(t, chain, false)
	ctx := context.Background()
	acct := func(org string) movement.Account {
		return movement.Account{Ledger: "payments", Asset: "CNY", Address: chain.parties[org].addr()}
	}
	list := func(ms []movement.Movement) string {
		var out []string
		for _, m := range ms {
			out = append(out, fmt.Sprintf("%d %s %d", m.Height, m.Direction, m.Amount))
		}
		return strings.Join(out, ", ")
	}
	for _, c := range []struct {
		name   string
		caller api.Node
		org    string
		want   string
		status int
	}{
		{"a member, its own account", alice, "bankA", "2 debit 30, 3 credit 5", 0},
		{"a member, another bank's account", alice, "bankB", "", http.StatusForbidden},
		{"the regulator, any account", regulator, "bankC", "4 credit 7, 4 credit 1", 0},
		{"an identity the chain does not know", stranger, "bankA", "", http.StatusForbidden},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := "/v1/movements?ledger=payments&asset=CNY&account=" + acct(c.org).Address + "&from=1&to=5"
			var page struct{ Movements []movement.Movement }
			err := c.caller.Get(ctx, nil, q, &page)
			var apiErr *api.Error
			if c.status != 0 {
				if !errors.As(err, &apiErr) || apiErr.Status != c.status {
					t.Fatalf("%v, want HTTP %d", err, c.status)
				}
				// The client says so too, rather than fall back to
				// another reading that would list nothing.
				got, err := c.caller.Movements(ctx, nil, acct(c.org), 1, 5)
				if !errors.As(err, &apiErr) || apiErr.Status != c.status || got != nil {
					t.Fatalf("Node.Movements: %v, %v; want the refusal", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want, err := recon.AccountMovements(ctx, chain, acct(c.org), 1, 5)
			if err != nil {
				t.Fatal(err)
			}
			if list(page.Movements) != c.want || list(want) != c.want {
				t.Fatalf("got %q, the blocks %q, want %q", list(page.Movements), list(want), c.want)
			}
			// The client reads the same through the API.
			got, err := c.caller.Movements(ctx, nil, acct(c.org), 1, 5)
			if err != nil || list(got) != c.want {
				t.Fatalf("Node.Movements: %q, %v", list(got), err)
			}
		})
	}
	if l := log(); !strings.Contains(l, "api: movements refused") || !strings.Contains(l, "O=bankA") {
		t.Errorf("no audit entry for the refusal:\n%s", l)
	}
	a := acct("bankA").Address
	for _, c := range []struct {
		query  string
		status int
		want   string
	}{
		{"ledger=payments&asset=CNY&account=" + a + "&from=1", 400, "parameter to is missing"},
		{"ledger=payments&asset=CNY&account=" + a + "&from=1&to=5&org=bankB", 400, `unknown parameter "org"`},
		{"ledger=payments&asset=CNY&account=" + a + "&from=1&to=5&to=6", 400, "given 2 times"},
		// A second account spelt with an escaped name is the same parameter.
		{"ledger=payments&asset=CNY&account=" + a + "&%61ccount=" + acct("bankB").Address + "&from=1&to=5", 400, "parameter account given 2 times"},
		{"ledger=payments&asset=CNY&account=" + a + "&from=4&to=3", 400, "want a height from 4 on"},
		{"ledger=payments&asset=CNY&account=" + a + "&from=1&to=1001", 400, "at most 1000 heights"},
		{"ledger=payments&asset=CNY&account=zz&from=1&to=5", 400, "account"},
		{"ledger=pay'ments&asset=CNY&account=" + a + "&from=1&to=5", 400, "sub-ledger"},
		{"ledger=payments&asset=CNY&account=" + a + "&from=1&to=9", 404, "keeps the blocks and results of heights 1..5"},
	} {
		err := regulator.Get(ctx, nil, "/v1/movements?"+c.query, &struct{}{})
		var apiErr *api.Error
		if !errors.As(err, &apiErr) || apiErr.Status != c.status || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want HTTP %d naming %q", c.query, err, c.status, c.want)
		}
	}
}
