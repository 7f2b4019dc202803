package regulator

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
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

// TestAlertsListTheFirstTxIDs: with AlertFilter.TxIDs (GET
// /v1/alerts?tx_ids=N) each alert lists its first N transactions and
// says how many it has; an alert with no more lists them all, without a
// total; the acknowledgement, bound to the whole list, still shows; and
// the API refuses a count it cannot honour, naming the parameter.
func TestAlertsListTheFirstTxIDs(t *testing.T) {
	ix, err := OpenIndex("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ix.Close() })
	ids := []string{"t1", "t2", "t3", "t4", "t5"}
	if err := ix.db.Update(func(txn *badger.Txn) error {
		for seq, n := range []int{1: 5, 2: 2} {
			if seq == 0 {
				continue
			}
			b, _ := json.Marshal(Alert{Seq: uint64(seq), ID: fmt.Sprintf("a%d", seq), Rule: RuleLarge, Severity: "high", Subject: "acct",
				Time: time.Unix(int64(seq), 0), TxIDs: ids[:n], Status: StatusOpen})
			if err := txn.Set(cat(prefixAlert, u64(uint64(seq))), b); err != nil {
				return err
			}
			if err := txn.Set(cat(prefixAlertI, fmt.Sprintf("a%d", seq)), u64(uint64(seq))); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Acknowledge("a1", "analyst", "seen", time.Unix(9, 0)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		max   int
		want  string
		total [2]int
	}{
		{0, "[t1 t2 t3 t4 t5] [t1 t2]", [2]int{0, 0}},
		{3, "[t1 t2 t3] [t1 t2]", [2]int{5, 0}},
		{2, "[t1 t2] [t1 t2]", [2]int{5, 0}},
		{5, "[t1 t2 t3 t4 t5] [t1 t2]", [2]int{0, 0}},
	} {
		p, err := ix.Alerts(AlertFilter{TxIDs: c.max}, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) != 2 {
			t.Fatalf("tx_ids=%d: %d alerts", c.max, len(p.Items))
		}
		a, b := p.Items[0], p.Items[1]
		if got := fmt.Sprint(a.TxIDs, b.TxIDs); got != c.want || a.TxIDsTotal != c.total[0] || b.TxIDsTotal != c.total[1] {
			t.Errorf("tx_ids=%d: %s totals %d %d, want %s %v", c.max, got, a.TxIDsTotal, b.TxIDsTotal, c.want, c.total)
		}
		if a.Status != StatusAcknowledged || a.Ack == nil || a.Ack.Note != "seen" {
			t.Errorf("tx_ids=%d: the acknowledged alert reads %s %+v", c.max, a.Status, a.Ack)
		}
	}
	s := &Service{}
	for _, bad := range []string{"0", "-1", "x", fmt.Sprint(MaxAlertTxIDs + 1)} {
		if _, err := s.alertFilter(map[string][]string{"tx_ids": {bad}}); err == nil || !strings.Contains(err.Error(), "tx_ids") {
			t.Errorf("tx_ids=%s: %v", bad, err)
		}
	}
	if f, err := s.alertFilter(map[string][]string{"tx_ids": {"10"}}); err != nil || f.TxIDs != 10 {
		t.Errorf("tx_ids=10: %+v %v", f, err)
	}
}
