package regulator

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
)

// TestWhatIfReplaysUnderOtherRules: a what-if replays the chain under
// another rule file into an index of its own and compares its alerts
// with the live ones; the live index, its alerts and acknowledgements
// are untouched.
func TestWhatIfReplaysUnderOtherRules(t *testing.T) {
	fx := newAPIFixture(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	big := fx.chain.add(t, fx.start, xfer{from: fx.bank, to: fx.bankB, amount: 6_000_000})
	mid1 := fx.chain.add(t, fx.start.Add(time.Minute), xfer{from: fx.bank, to: fx.bankB, amount: 2_000_000})
	mid2 := fx.chain.add(t, fx.start.Add(2*time.Minute), xfer{from: fx.bank, to: fx.bankB, amount: 2_000_000})
	fx.wait(t)
	reg := NewClient(fx.svc.URL(), fx.regulator.key)
	live, err := reg.Alerts(ctx, nil)
	if err != nil || len(live.Items) != 1 || live.Items[0].Rule != RuleLarge || live.Items[0].TxIDs[0] != big[0] {
		t.Fatalf("live alerts %+v %v: want the large transfer's", live, err)
	}
	if _, err := reg.Ack(ctx, live.Items[0].ID, "reported to the PBOC"); err != nil {
		t.Fatal(err)
	}
	dumpBefore, _ := fx.svc.Index().Dump()
	alertsBefore, _ := fx.svc.Index().Alerts(AlertFilter{}, "", MaxPageSize)

	// Stricter: a threshold of 1,000,000 makes the two 2,000,000 transfers large too.
	stricter := strings.Replace(testRulesTOML, "CNY = 5000000", "CNY = 1000000", 1)
	res, err := reg.WhatIf(ctx, WhatIfRequest{Rules: stricter})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range res.Alerts {
		got = append(got, a.Change+" "+a.Rule+" "+strings.Join(a.TxIDs, ",")+" "+a.LiveStatus)
	}
	want := []string{"same large_amount " + big[0] + " acknowledged", "new large_amount " + mid1[0] + " ", "new large_amount " + mid2[0] + " "}
	if strings.Join(got, "\n") != strings.Join(want, "\n") || res.New != 2 || res.Same != 1 || res.Gone != 0 || res.From != 1 || res.To != 3 {
		t.Fatalf("what-if %+v:\n%s\nwant\n%s", res, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The same rules again: the same answer; the live rules: nothing changes.
	if again, err := reg.WhatIf(ctx, WhatIfRequest{Rules: stricter}); err != nil || fmt.Sprint(again) != fmt.Sprint(res) {
		t.Fatalf("what-if twice:\n%+v\n%+v (%v)", res, again, err)
	}
	same, err := reg.WhatIf(ctx, WhatIfRequest{Rules: testRulesTOML})
	if err != nil || same.Same != 1 || same.New != 0 || same.Gone != 0 {
		t.Fatalf("what-if under the live rules: %+v %v", same, err)
	}
	// Each answer names the rules it is of.
	if h := gmcrypto.SM3([]byte(stricter)); res.RulesSM3 != hex.EncodeToString(h[:]) || same.RulesSM3 == res.RulesSM3 {
		t.Fatalf("rules hashes %s, %s", res.RulesSM3, same.RulesSM3)
	}
	// From height 2 on: only the two new ones are compared.
	if res, err = reg.WhatIf(ctx, WhatIfRequest{Rules: stricter, From: 2}); err != nil || res.New != 2 || res.Same != 0 || res.Live != 0 {
		t.Fatalf("what-if from height 2: %+v %v", res, err)
	}
	// Laxer: a threshold of 10,000,000 raises nothing; the live alert is gone.
	laxer := strings.Replace(testRulesTOML, "CNY = 5000000", "CNY = 10000000", 1)
	if res, err = reg.WhatIf(ctx, WhatIfRequest{Rules: laxer}); err != nil || res.Gone != 1 || res.Raised != 0 ||
		len(res.Alerts) != 1 || res.Alerts[0].LiveID != live.Items[0].ID || res.Alerts[0].LiveStatus != StatusAcknowledged {
		t.Fatalf("what-if under laxer rules: %+v %v", res, err)
	}

	for _, c := range []struct {
		name   string
		client *Client
		req    WhatIfRequest
		status int
		want   string
	}{
		{"an unknown key is named", reg, WhatIfRequest{Rules: "[velocity]\nmax_cnt = 3\n"}, http.StatusBadRequest, "max_cnt"},
		{"a malformed value is named", reg, WhatIfRequest{Rules: strings.Replace(testRulesTOML, `window = "2h"`, `window = "two hours"`, 1)}, http.StatusBadRequest,
			`fast_in_fast_out.window (line 18): time: invalid duration "two hours"`},
		{"heights beyond the index", reg, WhatIfRequest{Rules: stricter, To: 4}, http.StatusBadRequest, "the index holds heights 1..3"},
		{"an auditor may not", NewClient(fx.svc.URL(), fx.auditor.key), WhatIfRequest{Rules: stricter}, http.StatusForbidden, "regulator"},
	} {
		_, err := c.client.WhatIf(ctx, c.req)
		if statusErr(err) != c.status || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %d naming %q", c.name, err, c.status, c.want)
		}
	}

	dumpAfter, _ := fx.svc.Index().Dump()
	alertsAfter, _ := fx.svc.Index().Alerts(AlertFilter{}, "", MaxPageSize)
	if !dumpsEqual(dumpBefore, dumpAfter) || len(alertsAfter.Items) != 1 || alertsAfter.Items[0].Status != StatusAcknowledged ||
		alertsAfter.Items[0].ID != alertsBefore.Items[0].ID {
		t.Fatalf("the live index changed: %+v", alertsAfter)
	}
	audit, err := reg.Audit(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range audit.Items {
		if e.Action == "what-if replay" {
			n++
		}
	}
	if n != 9 {
		t.Fatalf("%d what-if entries in the audit log, want 9", n)
	}
}

// TestWhatIfReplaysStructuringPerBeneficiary: a what-if replays the
// structuring sum over every sender into one account (beneficiary_count)
// with the engine the live observer runs: under the live rules (the key
// absent: off) there is no such alert; under rules that set it, the
// replay raises it as new.
func TestWhatIfReplaysStructuringPerBeneficiary(t *testing.T) {
	fx := newAPIFixture(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fx.chain.add(t, fx.start, xfer{from: fx.bank, to: fx.bankB, amount: 15_000_000})
	var ids []string
	for i, from := range []party{fx.bank, fx.bankB, fx.bank} {
		ids = append(ids, fx.chain.add(t, fx.start.Add(time.Duration(i+1)*time.Hour), xfer{from: from, to: fx.outsider, amount: 4_600_000})...)
	}
	fx.wait(t)
	reg := NewClient(fx.svc.URL(), fx.regulator.key)
	live, err := reg.Alerts(ctx, url.Values{"rule": {RuleStructuring}})
	if err != nil || len(live.Items) != 0 {
		t.Fatalf("live structuring alerts %+v %v: want none", live, err)
	}
	rules := strings.Replace(testRulesTOML, "margin = 0.1\n", "margin = 0.1\nbeneficiary_count = 3\n", 1)
	res, err := reg.WhatIf(ctx, WhatIfRequest{Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range res.Alerts {
		if a.Change != WhatIfSame {
			got = append(got, a.Change+" "+a.Rule+" "+a.Subject+" "+strings.Join(a.TxIDs, ","))
		}
	}
	want := "new structuring to:" + fx.outsider.addr() + "/CNY " + strings.Join(ids, ",")
	if len(got) != 1 || got[0] != want || res.New != 1 || res.Gone != 0 {
		t.Fatalf("what-if %+v:\n%s\nwant\n%s", res, strings.Join(got, "\n"), want)
	}
}
