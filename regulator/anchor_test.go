package regulator

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jinlian-ledger/jinlian/proto/txpb"
)

// A report names the certified app hash of the highest height at or below
// its indexed height whose QC is committed, and whether it covers every
// movement of the report.
func TestAnchorReport(t *testing.T) {
	qcs := map[int64]*txpb.QuorumCertificate{
		8: {ChainId: "c", Height: 8, AppHash: []byte{0xAA}, Signatures: []*txpb.QCSignature{{Validator: []byte{1}}, {Validator: []byte{2}}, {Validator: []byte{3}}}},
		// A source answering the wrong height is not believed.
		11: {ChainId: "c", Height: 9, AppHash: []byte{0xBB}},
	}
	query := func(_ context.Context, h int64) (*txpb.QuorumCertificate, error) {
		if h == 10 {
			return nil, errors.New("block 12: unreachable")
		}
		return qcs[h], nil
	}
	for _, tc := range []struct {
		name          string
		indexed, last int64
		wantHeight    int64
		covers        bool
		wantErr       string
	}{
		{"newest QC two heights back", 10, 8, 8, true, ""},
		{"movements after the anchor", 10, 9, 8, false, ""},
		{"QC of the indexed height itself", 8, 8, 8, true, ""},
		{"no QC within reach", 12, 12, 0, false, "heights 10..12"},
		{"an unreachable block steps back", 10, 10, 8, false, ""},
		{"a certificate of another height is refused", 11, 11, 0, false, "heights 9..11"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Report{IndexedHeight: tc.indexed, LastHeight: tc.last}
			AnchorReport(context.Background(), r, query)
			if tc.wantErr != "" {
				if r.Anchor != nil || !strings.Contains(r.AnchorError, tc.wantErr) {
					t.Fatalf("anchor %+v, error %q", r.Anchor, r.AnchorError)
				}
				return
			}
			if r.Anchor == nil || r.Anchor.Height != tc.wantHeight || r.Anchor.AppHash != "AA" || r.Anchor.Signers != 3 || r.Anchor.Covers != tc.covers {
				t.Fatalf("anchor %+v (%s)", r.Anchor, r.AnchorError)
			}
			if !strings.Contains(string(r.CSV()), ",8,AA,3,") {
				t.Errorf("CSV lacks the anchor: %s", r.CSV())
			}
		})
	}
	r := &Report{IndexedHeight: 3}
	AnchorReport(context.Background(), r, nil)
	if r.AnchorError == "" {
		t.Error("no query function, no error")
	}
}
