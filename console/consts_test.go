package console

import (
	"encoding/json"
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
		{queryCertificate, app.QueryCertificate},
		{systemLedger, permission.SystemLedger},
	} {
		if c.ours != c.theirs {
			t.Errorf("console names %q where the app has %q", c.ours, c.theirs)
		}
	}
}

// certificateStatus reads app.CertificateStatus's JSON.
func TestCertificateStatusMatchesTheApp(t *testing.T) {
	for _, want := range []app.CertificateStatus{{References: true, Recorded: true}, {References: true}, {}} {
		b, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		var got certificateStatus
		if err := json.Unmarshal(b, &got); err != nil || got.References != want.References || got.Recorded != want.Recorded {
			t.Errorf("%s read as %+v (%v)", b, got, err)
		}
	}
}
