package regulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// TestSubjectAccounts: every subject shape the rules raise names the
// accounts in it, once each, in canonical form; org ids, assets, days
// and the shape's own words are not accounts.
func TestSubjectAccounts(t *testing.T) {
	a, b := strings.Repeat("ab", 20), strings.Repeat("0c", 20)
	for _, c := range []struct {
		subject string
		want    []string
	}{
		{a, []string{a}},
		{a + "/CNY", []string{a}},
		{"to:" + b + "/CNY", []string{b}},
		{"org:bankA->" + b + "/CNY", []string{b}},
		{"bankE->bankF/CNY/2026-03-08", nil},
		{a + "->" + a + "/" + b, []string{a, b}},
		{strings.ToUpper(a) + "/CNY", []string{a}},
		{"", nil},
		{"to:" + a[:39] + "/CNY", nil},
	} {
		if got := subjectAccounts(c.subject); !slices.Equal(got, c.want) {
			t.Errorf("subjectAccounts(%q) = %v, want %v", c.subject, got, c.want)
		}
	}
}

// TestAlertsByAccount: an account's alerts (AlertFilter.Account, GET
// /v1/alerts?account=) are read from the index of alerts by account and
// are exactly the alerts whose subject names it, in either order and
// page by page; an index written before that index existed gets it when
// it is opened; a malformed account is refused, naming the parameter.
func TestAlertsByAccount(t *testing.T) {
	w := newWorkload(20260302)
	dir := t.TempDir()
	ix, err := OpenIndex(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.InitGenesis(w.genesis); err != nil {
		t.Fatal(err)
	}
	alerts := runWorkload(t, ix, w, testEngine(t), 0, len(w.blocks))
	named := map[string][]uint64{} // account → seqs of its alerts, oldest first
	var accts []string
	for _, a := range alerts {
		for _, acct := range subjectAccounts(a.Subject) {
			if named[acct] == nil {
				accts = append(accts, acct)
			}
			named[acct] = append(named[acct], a.Seq)
		}
	}
	if len(accts) < 5 {
		t.Fatalf("the workload's alerts name %d accounts: %v", len(accts), alerts)
	}
	quiet := ""
	for a := range w.ordinary {
		if named[a] == nil && (quiet == "" || a < quiet) {
			quiet = a
		}
	}
	accts = append(accts, quiet)

	check := func(ix *Index, when string) {
		t.Helper()
		for _, acct := range accts {
			for _, desc := range []bool{false, true} {
				want := slices.Clone(named[acct])
				if desc {
					slices.Reverse(want)
				}
				var got []uint64
				cursor := ""
				for range len(want) + 2 {
					p, err := ix.Alerts(AlertFilter{Account: acct, Desc: desc}, cursor, 1)
					if err != nil {
						t.Fatalf("%s: %s: %v", when, acct, err)
					}
					for _, a := range p.Items {
						if !slices.Contains(subjectAccounts(a.Subject), acct) || a.Status != StatusOpen || len(a.TxIDs) == 0 {
							t.Errorf("%s: %s: alert %+v", when, acct, a)
						}
						got = append(got, a.Seq)
					}
					if cursor = p.NextCursor; cursor == "" {
						break
					}
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s: account %s (desc %v): alerts %v, want %v", when, acct, desc, got, want)
				}
			}
			// The substring filter every alert is read for agrees.
			p, err := ix.Alerts(AlertFilter{Subject: acct}, "", MaxPageSize)
			if err != nil {
				t.Fatal(err)
			}
			var sub []uint64
			for _, a := range p.Items {
				sub = append(sub, a.Seq)
			}
			if !slices.Equal(sub, named[acct]) {
				t.Errorf("%s: account %s: subject filter %v, account index %v", when, acct, sub, named[acct])
			}
		}
		// Other filters apply on top; since counts in seqs.
		acct := accts[0]
		if p, err := ix.Alerts(AlertFilter{Account: acct, AfterSeq: named[acct][0]}, "", 10); err != nil || len(p.Items) != len(named[acct])-1 {
			t.Errorf("%s: %s since %d: %d alerts, %v", when, acct, named[acct][0], len(p.Items), err)
		}
		if p, err := ix.Alerts(AlertFilter{Account: acct, Rule: "no_such_rule"}, "", 10); err != nil || len(p.Items) != 0 {
			t.Errorf("%s: %s, another rule: %d alerts, %v", when, acct, len(p.Items), err)
		}
		// A cursor of the list of every alert is not one of an account's.
		if _, err := ix.Alerts(AlertFilter{Account: acct}, AlertsCursor(1), 10); err == nil || !strings.Contains(err.Error(), "bad cursor") {
			t.Errorf("%s: an alerts cursor for an account's list: %v", when, err)
		}
	}
	check(ix, "indexed as raised")

	// An index of an older version: no aa/ keys, no marker. Opened, it
	// indexes its alerts by account once.
	if err := ix.db.Update(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixAlertA)})
		var keys [][]byte
		for it.Rewind(); it.Valid(); it.Next() {
			keys = append(keys, it.Item().KeyCopy(nil))
		}
		it.Close()
		if len(keys) == 0 {
			return fmt.Errorf("no %s keys", prefixAlertA)
		}
		for _, k := range append(keys, []byte(keyAlertAcct)) {
			if err := txn.Delete(k); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if p, err := ix.Alerts(AlertFilter{Account: accts[0]}, "", 10); err != nil || len(p.Items) != 0 {
		t.Fatalf("without its keys the account index answers %d alerts, %v", len(p.Items), err)
	}
	before, err := ix.Dump()
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	ix, err = OpenIndex(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	check(ix, "indexed when reopened")
	after, err := ix.Dump()
	if err != nil {
		t.Fatal(err)
	}
	var added int
	for _, kv := range after {
		if bytes.HasPrefix(kv[0], []byte(prefixAlertA)) || string(kv[0]) == keyAlertAcct {
			added++
		} else if !slices.ContainsFunc(before, func(b [2][]byte) bool { return bytes.Equal(b[0], kv[0]) && bytes.Equal(b[1], kv[1]) }) {
			t.Errorf("reopening changed %q", kv[0])
		}
	}
	if added == 0 {
		t.Error("reopening added no keys")
	}

	s := &Service{}
	for _, bad := range []string{"x", accts[0][:39], "bankA"} {
		if _, err := s.alertFilter(map[string][]string{"account": {bad}}); err == nil || !strings.Contains(err.Error(), "account") {
			t.Errorf("account=%s: %v", bad, err)
		}
	}
	if f, err := s.alertFilter(map[string][]string{"account": {"0x" + strings.ToUpper(accts[0])}}); err != nil || f.Account != accts[0] {
		t.Errorf("account=0x%s: %+v %v", strings.ToUpper(accts[0]), f, err)
	}
}

// BenchmarkAccountAlerts is the case view's alert list on an observer that
// holds many alerts: the newest page of one account's alerts, read by the
// substring filter over every alert (subject=, what the case view asked
// before 2026-12-05) and from the index of alerts by account (account=);
// and, for scale, the newest page of all alerts (the console's alert
// list without a filter).
// The alerts are written as an older index held them and indexed by
// account when the index is reopened, which is timed too:
//
//	go test ./regulator -run '^$' -bench AccountAlerts -benchtime 20x
//
// JINLIAN_BENCH_ALERTS sets the number of alerts (default 20,000, over
// 2,000 accounts; every tenth a day's cross-border flow of 1,000
// transactions).
func BenchmarkAccountAlerts(b *testing.B) {
	n := 20_000
	if v := os.Getenv("JINLIAN_BENCH_ALERTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("JINLIAN_BENCH_ALERTS=%q: want a number of alerts", v)
		}
	}
	const accounts = 2_000
	dir := b.TempDir()
	ix, err := OpenIndex(dir)
	if err != nil {
		b.Fatal(err)
	}
	many := make([]string, 1_000)
	for i := range many {
		many[i] = fmt.Sprintf("%064x", i)
	}
	wb := ix.db.NewWriteBatch()
	for seq := uint64(1); seq <= uint64(n); seq++ {
		a := Alert{Seq: seq, ID: fmt.Sprintf("%d-1", seq), Rule: RuleLarge, Severity: "high", Subject: fmt.Sprintf("%040x/CNY", seq%accounts),
			Time: time.Unix(int64(seq), 0).UTC(), TxIDs: many[:1], Reason: "a transfer at the threshold"}
		if seq%10 == 0 {
			a.Rule, a.Subject, a.TxIDs = RuleCrossBorder, "bankE->bankF/CNY/2026-03-08", many
		}
		v, _ := json.Marshal(a)
		if err := errors.Join(wb.Set(cat(prefixAlert, u64(seq)), v), wb.Set(cat(prefixAlertI, a.ID), u64(seq))); err != nil {
			b.Fatal(err)
		}
	}
	if err := errors.Join(wb.Set([]byte(keyAlertSeq), u64(uint64(n))), wb.Delete([]byte(keyAlertAcct)), wb.Flush(), ix.Close()); err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	if ix, err = OpenIndex(dir); err != nil {
		b.Fatal(err)
	}
	defer ix.Close()
	fmt.Printf("reopened, %d alerts indexed by account in %d ms\n", n, time.Since(t0).Milliseconds())
	acct := fmt.Sprintf("%040x", 7)
	for _, c := range []struct {
		name string
		f    AlertFilter
		want int
	}{
		{"subject", AlertFilter{Subject: acct, Desc: true, TxIDs: 10}, min(n/accounts, 100)},
		{"account", AlertFilter{Account: acct, Desc: true, TxIDs: 10}, min(n/accounts, 100)},
		{"newest", AlertFilter{Desc: true, TxIDs: 10}, min(n, 100)}, // the console's alert list: no filter
	} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				p, err := ix.Alerts(c.f, "", 100)
				if err != nil || len(p.Items) != c.want {
					b.Fatalf("%d alerts, want %d: %v", len(p.Items), c.want, err)
				}
			}
		})
	}
}

// The index's memtable is IndexOptions.Memtable (regulator.index_memtable_mb):
// a transaction holds up to 15 % of it, and a size below 1 MiB is refused.
func TestIndexMemtable(t *testing.T) {
	for _, c := range []struct{ memtable, want int }{{0, DefaultIndexMemtable}, {16 << 20, 16 << 20}} {
		ix, err := OpenIndexWith(t.TempDir(), IndexOptions{Memtable: c.memtable})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ix.db.MaxBatchSize(), int64(c.want)*15/100; got < want*9/10 || got > want {
			t.Errorf("memtable %d: a transaction holds %d bytes, want about %d", c.memtable, got, want)
		}
		_ = ix.Close()
	}
	if _, err := OpenIndexWith(t.TempDir(), IndexOptions{Memtable: 512 << 10}); err == nil || !strings.Contains(err.Error(), "memtable") {
		t.Errorf("a memtable of 512 KiB: %v", err)
	}
}
