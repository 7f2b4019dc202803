package regulator

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// dedupeStart is block time zero of the rule tables.
var dedupeStart = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// step is one transfer of a rule table: at dedupeStart+at, in a block of
// its own unless the step before has the same time.
type step struct {
	at       time.Duration
	from, to string
	amount   uint64
}

// tableChain turns steps into blocks: consecutive heights, one block per
// distinct time, tx ids "t0", "t1", … in step order.
func tableChain(steps []step) []*Block {
	var blocks []*Block
	for i, s := range steps {
		at := dedupeStart.Add(s.at)
		if len(blocks) == 0 || !blocks[len(blocks)-1].Time.Equal(at) {
			blocks = append(blocks, &Block{Height: int64(len(blocks) + 1), Time: at})
		}
		b := blocks[len(blocks)-1]
		b.Txs = append(b.Txs, Tx{ID: fmt.Sprintf("t%d", i), Index: len(b.Txs), Ledger: "payments", Sender: s.from, Org: orgOfTestAcct(s.from),
			Type: "transfer", Parties: []string{s.from, s.to},
			Movements: []Movement{{Kind: KindTransfer, Ledger: "payments", Asset: "CNY", From: s.from, To: s.to, Amount: s.amount}}})
	}
	return blocks
}

// Accounts of the rule tables: "src" is funded at genesis, the others
// start empty; each belongs to the bank its name says.
func orgOfTestAcct(a string) string {
	if org, _, ok := strings.Cut(a, "."); ok {
		return org
	}
	return "bankA"
}

// onlyRule is a rule file with every rule off but the one whose table
// rule holds; a disabled large_amount keeps its threshold of 1000, which
// structuring reads.
func onlyRule(t testing.TB, rule string) *Engine {
	t.Helper()
	toml := rule
	for _, table := range [][2]string{
		{"large_amount", "[large_amount]\nenabled = false\n[large_amount.thresholds]\nCNY = 1000\n"},
		{"structuring", "[structuring]\nenabled = false\n"},
		{"velocity", "[velocity]\nenabled = false\n"},
		{"fast_in_fast_out", "[fast_in_fast_out]\nenabled = false\n"},
		{"sanctions", "[sanctions]\nenabled = false\n"},
		{"cross_border", "[cross_border]\nenabled = false\n"},
	} {
		if !strings.Contains(rule, "["+table[0]+"]") {
			toml += table[1]
		}
	}
	c, err := ParseRules([]byte(toml))
	if err != nil {
		t.Fatalf("rules: %v\n%s", err, toml)
	}
	eng, err := NewEngine(c)
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

func tableGenesis() Genesis {
	return Genesis{ChainID: "rules", Time: dedupeStart.Add(-time.Hour),
		Identities: []IdentityOrg{{Address: "src", Org: "bankA"}, {Address: "p", Org: "bankA"}, {Address: "q", Org: "bankA"},
			{Address: "bankB.r", Org: "bankB"}},
		Balances: []GenesisBalance{{Ledger: "payments", Asset: "CNY", Account: "src", Amount: 1 << 40}}}
}

// fataler is what testing.TB and rapid.T share.
type fataler interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

// applyAll indexes blocks into a fresh in-memory index and returns every
// alert and the index's dump.
func applyAll(t fataler, g Genesis, blocks []*Block, eng *Engine) ([]Alert, [][2][]byte) {
	t.Helper()
	return applyAllWith(t, g, blocks, eng, false, 0)
}

// applyAllWith is applyAll; cold empties the index's cache of recent
// entries before each block, as a restart does, and maxRecent > 0 bounds
// it to about that many entries of a transfer (recent.go counts bytes).
func applyAllWith(t fataler, g Genesis, blocks []*Block, eng *Engine, cold bool, maxRecent int) ([]Alert, [][2][]byte) {
	t.Helper()
	ix, err := OpenIndex("")
	if err != nil {
		t.Fatal(err)
	}
	ix.recent.max = maxRecent * entrySize(&Entry{TxID: strings.Repeat("0", 64), Kind: KindTransfer, From: strings.Repeat("0", 40), To: strings.Repeat("0", 40)})
	defer ix.Close()
	if err := ix.InitGenesis(g); err != nil {
		t.Fatal(err)
	}
	var alerts []Alert
	for _, b := range blocks {
		cp := *b
		cp.Txs = slices.Clone(b.Txs)
		if cold {
			ix.recent.clear()
		}
		got, err := ix.ApplyBlock(&cp, eng)
		if err != nil {
			t.Fatalf("block %d: %v", b.Height, err)
		}
		alerts = append(alerts, got...)
	}
	dump, err := ix.Dump()
	if err != nil {
		t.Fatal(err)
	}
	return alerts, dump
}

type ruleCase struct {
	name  string
	steps []step
	want  [][]string // the tx ids of each alert, in raise order
}

func runRuleTable(t *testing.T, rule, toml string, cases []ruleCase) {
	t.Helper()
	eng := onlyRule(t, toml)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			alerts, _ := applyAll(t, tableGenesis(), tableChain(c.steps), eng)
			var got [][]string
			for _, a := range alerts {
				if a.Rule != rule {
					t.Fatalf("alert of rule %s with only %s on: %+v", a.Rule, rule, a)
				}
				got = append(got, a.TxIDs)
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				for _, a := range alerts {
					t.Logf("alert %s at %s: %s", a.ID, a.Time.Sub(dedupeStart), a.Reason)
				}
				t.Fatalf("alerts on txs %v, want %v", got, c.want)
			}
		})
	}
}

// fund is a transfer from src (funded at genesis) that no table rule
// looks at: src never receives.
func fund(at time.Duration, to string, amount uint64) step {
	return step{at: at, from: "src", to: to, amount: amount}
}

func pay(at time.Duration, from string, amount uint64) step {
	return step{at: at, from: from, to: "q", amount: amount}
}

func ids(n ...int) []string {
	out := make([]string, len(n))
	for i, x := range n {
		out[i] = fmt.Sprintf("t%d", x)
	}
	return out
}

// TestStructuringOncePerWindow: threshold 1000 with margin 0.1 is the band
// 900..999; three in the band within 24h raise one alert, and the subject
// stays quiet until 24h after that alert.
func TestStructuringOncePerWindow(t *testing.T) {
	const h = time.Hour
	rule := "[structuring]\nwindow = \"24h\"\ncount = 3\nmargin = 0.1\n"
	s := func(at time.Duration, amount uint64) step { return step{at: at, from: "src", to: "q", amount: amount} }
	runRuleTable(t, RuleStructuring, rule, []ruleCase{
		{"two in the band: below count", []step{s(0, 950), s(h, 950)}, nil},
		{"three at the band's lower edge", []step{s(0, 900), s(h, 900), s(2*h, 900)}, [][]string{ids(0, 1, 2)}},
		{"one just below the band", []step{s(0, 899), s(h, 900), s(2*h, 900)}, nil},
		{"one at the threshold is large, not structuring", []step{s(0, 1000), s(h, 999), s(2*h, 999)}, nil},
		{"three at the band's upper edge", []step{s(0, 999), s(h, 999), s(2*h, 999)}, [][]string{ids(0, 1, 2)}},
		{"six in the band within the window: one alert", []step{s(0, 950), s(h, 950), s(2*h, 950), s(3*h, 950), s(4*h, 950), s(5*h, 950)},
			[][]string{ids(0, 1, 2)}},
		{"six in one block: one alert", []step{s(0, 950), s(0, 950), s(0, 950), s(0, 950), s(0, 950), s(0, 950)},
			[][]string{ids(0, 1, 2)}},
		{"third exactly at the window's edge", []step{s(0, 950), s(12*h, 950), s(24*h, 950)}, [][]string{ids(0, 1, 2)}},
		{"third just past the window", []step{s(0, 950), s(12*h, 950), s(24*h+time.Second, 950)}, nil},
		{"quiet until just before the cooldown ends", []step{s(0, 950), s(h, 950), s(2*h, 950), s(3*h, 950), s(4*h, 950), s(26*h-time.Second, 950)},
			[][]string{ids(0, 1, 2)}},
		{"again once the cooldown ends", []step{s(0, 950), s(h, 950), s(2*h, 950), s(3*h, 950), s(4*h, 950), s(26*h-time.Second, 950), s(26*h, 950)},
			[][]string{ids(0, 1, 2), ids(2, 3, 4, 5, 6)}},
	})
}

// TestVelocityOncePerWindow: more than max_count (3) transfers, or more
// than max_amount (10000) in total, within 1h raise one alert per subject
// per window, not one per further transfer.
func TestVelocityOncePerWindow(t *testing.T) {
	const m = time.Minute
	rule := "[velocity]\nwindow = \"1h\"\nmax_count = 3\n[velocity.max_amount]\nCNY = 10000\n"
	v := func(at time.Duration, amount uint64) step { return step{at: at, from: "src", to: "q", amount: amount} }
	four := []step{v(0, 10), v(m, 10), v(2*m, 10), v(3*m, 10)}
	runRuleTable(t, RuleVelocity, rule, []ruleCase{
		{"at max_count", []step{v(0, 10), v(m, 10), v(2*m, 10)}, nil},
		{"one above max_count", four, [][]string{ids(0, 1, 2, 3)}},
		{"the 5th, 6th and 7th in the window add nothing", append(slices.Clone(four), v(4*m, 10), v(5*m, 10), v(6*m, 10)),
			[][]string{ids(0, 1, 2, 3)}},
		{"many in one block: one alert", []step{v(0, 10), v(0, 10), v(0, 10), v(0, 10), v(0, 10), v(0, 10)}, [][]string{ids(0, 1, 2, 3)}},
		{"first exactly at the window's edge", []step{v(0, 10), v(20*m, 10), v(40*m, 10), v(60*m, 10)}, [][]string{ids(0, 1, 2, 3)}},
		{"first just past the window", []step{v(0, 10), v(20*m, 10), v(40*m, 10), v(60*m+time.Second, 10)}, nil},
		{"amount at max_amount", []step{v(0, 5000), v(m, 5000)}, nil},
		{"amount one above max_amount", []step{v(0, 5000), v(m, 5001)}, [][]string{ids(0, 1)}},
		{"quiet until just before the cooldown ends", append(slices.Clone(four), v(30*m, 10), v(31*m, 10), v(63*m-time.Second, 10)),
			[][]string{ids(0, 1, 2, 3)}},
		{"again once the cooldown ends", append(slices.Clone(four), v(30*m, 10), v(62*m, 10), v(63*m, 10)),
			[][]string{ids(0, 1, 2, 3), ids(3, 4, 5, 6)}},
	})
}

// TestFastInFastOutOncePerWindow: an account that receives at least
// min_amount (1000) and sends at least 80% of it on within 2h raises one
// alert per window, whatever it sends after.
func TestFastInFastOutOncePerWindow(t *testing.T) {
	const m, h = time.Minute, time.Hour
	rule := "[fast_in_fast_out]\nwindow = \"2h\"\npercent = 80\n[fast_in_fast_out.min_amount]\nCNY = 1000\n"
	runRuleTable(t, RuleFastInOut, rule, []ruleCase{
		{"received one below min_amount", []step{fund(0, "p", 999), pay(m, "p", 999)}, nil},
		{"received min_amount, sent exactly 80%", []step{fund(0, "p", 1000), pay(m, "p", 800)}, [][]string{ids(0, 1)}},
		{"sent just below 80%", []step{fund(0, "p", 1000), pay(m, "p", 799)}, nil},
		{"payments after the alert add nothing", []step{fund(0, "p", 1000), pay(m, "p", 800), pay(2*m, "p", 100), pay(3*m, "p", 100)},
			[][]string{ids(0, 1)}},
		{"receipt exactly at the window's edge", []step{fund(0, "p", 1000), pay(2*h, "p", 800)}, [][]string{ids(0, 1)}},
		{"receipt just past the window", []step{fund(0, "p", 1000), pay(2*h+time.Second, "p", 800)}, nil},
		{"quiet until the cooldown ends, then again", []step{
			fund(0, "p", 1000), pay(10*m, "p", 800), // alert at 0:10
			fund(h, "p", 1000), pay(h+10*m, "p", 900), // 85% within the window, but cooling down until 2:10
			pay(2*h+10*m-time.Second, "p", 10),                 // 91% in 0:10..2:10, one second before the cooldown ends
			fund(2*h+10*m, "p", 1000), pay(2*h+10*m, "p", 700), // 1610 of 2000 in 0:10..2:10: alert again
		}, [][]string{ids(0, 1), ids(2, 3, 4, 5, 6)}},
	})
}

// TestLargeAmountAndCrossBorderOnce: large amounts alert once per
// transaction from the threshold on; cross-border once per pair, asset
// and day above the limit.
func TestLargeAmountAndCrossBorderOnce(t *testing.T) {
	const h = time.Hour
	x := func(at time.Duration, amount uint64) step {
		return step{at: at, from: "src", to: "bankB.r", amount: amount}
	}
	runRuleTable(t, RuleLarge, "[large_amount]\n[large_amount.thresholds]\nCNY = 1000\n", []ruleCase{
		{"one below the threshold", []step{x(0, 999)}, nil},
		{"at the threshold", []step{x(0, 1000)}, [][]string{ids(0)}},
		{"each large transfer alerts", []step{x(0, 1001), x(0, 5000), x(h, 1000)}, [][]string{ids(0), ids(1), ids(2)}},
	})
	runRuleTable(t, RuleCrossBorder, "[cross_border]\ntimezone = \"UTC\"\n[cross_border.default_limit]\nCNY = 1000\n", []ruleCase{
		{"at the daily limit", []step{x(0, 600), x(h, 400)}, nil},
		{"one above the limit: every transfer of the day listed", []step{x(0, 600), x(h, 401)}, [][]string{ids(0, 1)}},
		{"more the same day adds nothing", []step{x(0, 1001), x(h, 10), x(2*h, 10)}, [][]string{ids(0)}},
		{"the next day is a new day", []step{x(0, 1001), x(23*h+59*time.Minute, 10), x(24*h, 1001)}, [][]string{ids(0), ids(2)}},
	})
}

// windowed are the rules that promise at most one alert per subject per window.
var windowed = map[string]time.Duration{RuleStructuring: 24 * time.Hour, RuleVelocity: time.Hour, RuleFastInOut: 2 * time.Hour}

const propertyRules = `
[large_amount]
[large_amount.thresholds]
CNY = 1000
[structuring]
window = "24h"
count = 3
margin = 0.1
beneficiary_count = 3
[velocity]
window = "1h"
max_count = 3
[velocity.max_amount]
CNY = 3000
[fast_in_fast_out]
window = "2h"
percent = 80
[fast_in_fast_out.min_amount]
CNY = 1000
[sanctions]
lookback = "24h"
[cross_border]
timezone = "UTC"
[cross_border.default_limit]
CNY = 2000
`

// receipt is a movement into an account of a generated chain, with the
// balance the account held before it (the generator's, not the event's).
type receipt struct {
	acct   string
	at     time.Time
	before uint64
}

// TestAlertsReplayIdenticallyAndOncePerWindow: for any block sequence,
// indexing it twice from genesis, once with the cache of recent entries
// and once reading every window from Badger, raises the identical alerts
// (and the identical index), and no windowed rule alerts twice on a subject within
// its window; large amounts and sanctions alert at most once per
// transaction and subject, cross-border once per pair, asset and day.
//
// The accounts start with balances that differ (empty, small, or more
// than they ever move), receive issues and transfers, and every movement
// carries the balances after it as the payments contract reports them, so
// that fast-in/fast-out reads its opening balance (the one before the
// window's first receipt) from the events, through the cache and from
// Badger alike; each of its alerts must name, as what the account held
// before, the balance the generator tracked.
func TestAlertsReplayIdenticallyAndOncePerWindow(t *testing.T) {
	c, err := ParseRules([]byte(propertyRules))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := NewEngine(c)
	if err != nil {
		t.Fatal(err)
	}
	accts := []string{"p", "q", "bankB.r", "bankB.s"}
	amounts := []uint64{1, 10, 899, 900, 950, 999, 1000, 1001, 2000}
	openings := []uint64{0, 500, 2000, 1 << 30}
	gaps := []time.Duration{time.Second, time.Minute, 20 * time.Minute, time.Hour, time.Hour + time.Second, 2 * time.Hour, 24 * time.Hour}
	rapid.Check(t, func(rt *rapid.T) {
		g := tableGenesis()
		g.Identities = append(g.Identities, IdentityOrg{Address: "bankB.s", Org: "bankB"})
		bal := map[string]uint64{}
		for _, a := range accts {
			bal[a] = rapid.SampledFrom(openings).Draw(rt, "opening")
			if bal[a] > 0 {
				g.Balances = append(g.Balances, GenesisBalance{Ledger: "payments", Asset: "CNY", Account: a, Amount: bal[a]})
			}
		}
		var receipts []receipt
		at := dedupeStart
		var blocks []*Block
		n := 0
		for h := range rapid.IntRange(1, 40).Draw(rt, "blocks") {
			at = at.Add(rapid.SampledFrom(gaps).Draw(rt, "gap"))
			b := &Block{Height: int64(h + 1), Time: at}
			for range rapid.IntRange(0, 4).Draw(rt, "txs") {
				from := rapid.SampledFrom(accts).Draw(rt, "from")
				to := rapid.SampledFrom(accts).Draw(rt, "to")
				amt := rapid.SampledFrom(amounts).Draw(rt, "amount")
				tx := Tx{ID: fmt.Sprintf("t%d", n), Index: len(b.Txs), Ledger: "payments", Sender: from, Org: orgOfTestAcct(from),
					Type: "transfer", Parties: []string{from, to}}
				n++
				switch {
				case rapid.IntRange(0, 5).Draw(rt, "kind") == 0: // an issue to "to" by src, the issuer
					receipts = append(receipts, receipt{to, at, bal[to]})
					bal[to] += amt
					tx.Sender, tx.Org, tx.Type, tx.Parties = "src", "bankA", "issue", []string{"src", to}
					tx.Movements = []Movement{{Kind: KindIssue, Ledger: "payments", Asset: "CNY", From: "src", To: to, Amount: amt, ToBalance: bal[to]}}
				case from != to && bal[from] >= amt:
					receipts = append(receipts, receipt{to, at, bal[to]})
					bal[from] -= amt
					bal[to] += amt
					tx.Movements = []Movement{{Kind: KindTransfer, Ledger: "payments", Asset: "CNY", From: from, To: to, Amount: amt,
						FromBalance: bal[from], ToBalance: bal[to]}}
				default:
					tx.Code, tx.Codespace, tx.Log = 4, "payments", "refused"
				}
				b.Txs = append(b.Txs, tx)
			}
			blocks = append(blocks, b)
		}
		a1, d1 := applyAll(rt, g, blocks, eng)
		// The replay reads every window from Badger (no cached entries).
		a2, d2 := applyAllWith(rt, g, blocks, eng, true, 0)
		if fmt.Sprint(a1) != fmt.Sprint(a2) || !dumpsEqual(d1, d2) {
			rt.Fatalf("a replay raised other alerts:\n%v\n%v", a1, a2)
		}
		// And one whose cache holds a few entries, evicting accounts at
		// almost every block.
		a3, d3 := applyAllWith(rt, g, blocks, eng, false, rapid.IntRange(1, 8).Draw(rt, "max recent"))
		if fmt.Sprint(a1) != fmt.Sprint(a3) || !dumpsEqual(d1, d3) {
			rt.Fatalf("a replay with a small cache raised other alerts:\n%v\n%v", a1, a3)
		}
		last := map[string]time.Time{}
		seen := map[string]bool{}
		for _, a := range a1 {
			key := a.Rule + " " + a.Subject
			if a.Rule == RuleFastInOut {
				checkOpening(rt, a, receipts, windowed[RuleFastInOut])
			}
			if w, ok := windowed[a.Rule]; ok {
				if prev, ok := last[key]; ok && a.Time.Before(prev.Add(w)) {
					rt.Fatalf("%s alerted on %s at %s and again at %s, within its %s window", a.Rule, a.Subject, prev, a.Time, w)
				}
				last[key] = a.Time
				continue
			}
			if a.Rule == RuleLarge || a.Rule == RuleSanctioned {
				key += " " + strings.Join(a.TxIDs, ",")
			}
			if seen[key] {
				rt.Fatalf("%s alerted twice on %s", a.Rule, key)
			}
			seen[key] = true
		}
	})
}

// checkOpening: a fast-in/fast-out alert names what its account held
// before the window's first receipt (net_of_opening) exactly when it held
// something, and then the balance the generator tracked.
func checkOpening(t fataler, a Alert, receipts []receipt, window time.Duration) {
	t.Helper()
	acct := strings.TrimSuffix(a.Subject, "/CNY")
	i := slices.IndexFunc(receipts, func(r receipt) bool { return r.acct == acct && !r.at.Before(a.Time.Add(-window)) })
	if i < 0 {
		t.Fatalf("fast-in/fast-out alert without a receipt in its window: %+v", a)
	}
	held := fmt.Sprintf(" beyond the %d it held before ", receipts[i].before)
	if got := strings.Contains(a.Reason, " it held before "); got != (receipts[i].before > 0) || (got && !strings.Contains(a.Reason, held)) {
		t.Fatalf("alert %q: %s held %d before the window's first receipt", a.Reason, acct, receipts[i].before)
	}
}
