package regulator

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// AlertsCursor(seq) pages from the alert seq both ways, as the index's
// own next_cursor does: desc gives the older alerts, asc the newer ones,
// and a page that ends with seq hands back AlertsCursor(seq).
func TestAlertsCursor(t *testing.T) {
	ix, err := OpenIndex("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ix.Close() })
	if err := ix.db.Update(func(txn *badger.Txn) error {
		for seq := uint64(1); seq <= 7; seq++ {
			sev := "low"
			if seq%2 == 0 {
				sev = "high"
			}
			subject, rule := "acct-odd", RuleLarge
			if seq%2 == 0 {
				subject, rule = "acct-even", RuleVelocity
			}
			b, _ := json.Marshal(Alert{Seq: seq, ID: "a" + string(rune('0'+seq)), Rule: rule, Severity: sev, Subject: subject,
				Time: time.Unix(int64(seq), 0), TxIDs: []string{"t"}})
			if err := txn.Set(cat(prefixAlert, u64(seq)), b); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	seqs := func(p Page[Alert]) []uint64 {
		var out []uint64
		for _, a := range p.Items {
			out = append(out, a.Seq)
		}
		return out
	}
	for _, c := range []struct {
		name   string
		f      AlertFilter
		cursor string
		limit  int
		want   []uint64
		next   string
	}{
		{"older than 5", AlertFilter{Desc: true}, AlertsCursor(5), 2, []uint64{4, 3}, AlertsCursor(3)},
		{"older than 2: the last page", AlertFilter{Desc: true}, AlertsCursor(2), 2, []uint64{1}, ""},
		{"newer than 5", AlertFilter{}, AlertsCursor(5), 5, []uint64{6, 7}, ""},
		{"newer than 1, a page of 3", AlertFilter{}, AlertsCursor(1), 3, []uint64{2, 3, 4}, AlertsCursor(4)},
		{"older than 7, filtered", AlertFilter{Desc: true, Severity: "high"}, AlertsCursor(7), 2, []uint64{6, 4}, AlertsCursor(4)},
		{"the newest page ends where the cursor starts", AlertFilter{Desc: true}, "", 3, []uint64{7, 6, 5}, AlertsCursor(5)},
		// Each filter, read from the alert's head before the whole alert.
		{"a subject's", AlertFilter{Desc: true, Subject: "odd"}, "", 10, []uint64{7, 5, 3, 1}, ""},
		{"a rule's", AlertFilter{Rule: RuleVelocity}, "", 10, []uint64{2, 4, 6}, ""},
		{"after a sequence number", AlertFilter{AfterSeq: 5}, "", 10, []uint64{6, 7}, ""},
		{"within a time", AlertFilter{From: time.Unix(3, 0), To: time.Unix(5, 0)}, "", 10, []uint64{3, 4}, ""},
		{"open ones", AlertFilter{Status: StatusOpen}, "", 2, []uint64{1, 2}, AlertsCursor(2)},
		{"acknowledged ones: none", AlertFilter{Status: StatusAcknowledged}, "", 10, nil, ""},
	} {
		p, err := ix.Alerts(c.f, c.cursor, c.limit)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := seqs(p); !slices.Equal(got, c.want) || p.NextCursor != c.next {
			t.Errorf("%s: %v next %q, want %v next %q", c.name, got, p.NextCursor, c.want, c.next)
		}
	}
}
