package localnet_test

import (
	"strings"
	"testing"

	"github.com/jinlian-ledger/jinlian/node/localnet"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
)

func TestLocalnetExtraFundedAccounts(t *testing.T) {
	k, err := gmcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	extra := k.Public().Address().String()
	cases := []struct {
		name    string
		extra   []string
		wantErr string
		funded  []string // addresses expected among the CNY balances
	}{
		{name: "none: only the demo identities are funded", funded: nil},
		{name: "an extra address gets the localnet funding", extra: []string{extra}, funded: []string{extra}},
		{name: "a 0x prefix is accepted and dropped", extra: []string{"0x" + extra}, funded: []string{extra}},
		{name: "a malformed address is refused", extra: []string{"zz"}, wantErr: "extra funded account"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := localnet.Prepare(localnet.Options{Home: t.TempDir(), Validators: 1, BasePort: 30000, ExtraFundedAccounts: tc.extra})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			g, err := app.ParseGenesis(ln.Network.Genesis.AppState)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]uint64{}
			for _, b := range g.Ledgers[0].Balances {
				got[b.Account] = b.Amount
			}
			if len(got) != len(ln.Identities)+len(tc.funded) {
				t.Fatalf("%d funded accounts, want %d", len(got), len(ln.Identities)+len(tc.funded))
			}
			for _, a := range tc.funded {
				if got[a] != localnet.Funding {
					t.Errorf("balance of %s = %d, want %d", a, got[a], localnet.Funding)
				}
			}
		})
	}
}
