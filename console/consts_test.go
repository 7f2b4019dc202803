package console

import (
	"testing"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/permission"
)

// The console may not import app or permission (internal/layers), so it
// names their query paths and the system channel itself; this pins them.
func TestNamesMatchTheApp(t *testing.T) {
	for _, c := range []struct{ ours, theirs string }{
		{queryBalance, app.QueryBalance},
		{queryTx, app.QueryTx},
		{queryValidators, app.QueryValidators},
		{queryRoles, app.QueryRoles},
		{queryProposals, app.QueryProposals},
		{queryProposal, app.QueryProposal},
		{systemLedger, permission.SystemLedger},
	} {
		if c.ours != c.theirs {
			t.Errorf("console names %q where the app has %q", c.ours, c.theirs)
		}
	}
}
