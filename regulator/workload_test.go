package regulator

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// plantedCase is a pattern the workload plants and the alert it must raise.
type plantedCase struct {
	name    string
	rule    string
	subject string
	txIDs   []string
}

// workload is a seeded synthetic chain: ordinary traffic between the
// accounts of four banks, plus one planted case of every rule on accounts
// of their own.
type workload struct {
	rng      *rand.Rand
	genesis  Genesis
	blocks   []*Block
	planted  []*plantedCase
	ordinary map[string]bool // ordinary accounts
	txs      int
	failed   int
	bal      map[string]uint64 // CNY balances, to keep transfers feasible
	orgs     map[string]string
	start    time.Time
}

const (
	wlBlocks   = 7 * 24 * 6 // one week, a block every 10 minutes
	wlInterval = 10 * time.Minute
	wlFunding  = 50_000_000
)

func (w *workload) txid() string {
	return fmt.Sprintf("%016x%016x%016x%016x", w.rng.Uint64(), w.rng.Uint64(), w.rng.Uint64(), w.rng.Uint64())
}

func (w *workload) account(org string, funding uint64) string {
	a := fmt.Sprintf("%08x%016x%016x", w.rng.Uint32(), w.rng.Uint64(), w.rng.Uint64())
	w.orgs[a] = org
	w.genesis.Identities = append(w.genesis.Identities, IdentityOrg{Address: a, Org: org})
	if funding > 0 {
		w.genesis.Balances = append(w.genesis.Balances, GenesisBalance{Ledger: "payments", Asset: "CNY", Account: a, Amount: funding})
		w.bal[a] = funding
	}
	return a
}

// transfer appends a transfer to block h and returns its tx id.
func (w *workload) transfer(h int, from, to string, amount uint64) string {
	b := w.blocks[h]
	tx := Tx{ID: w.txid(), Index: len(b.Txs), Ledger: "payments", Sender: from, Org: w.orgs[from], Type: "transfer", Parties: []string{from, to}}
	if w.bal[from] < amount {
		tx.Code, tx.Codespace, tx.Log = 4, "payments", "insufficient funds"
		w.failed++
	} else {
		w.bal[from] -= amount
		w.bal[to] += amount
		tx.Movements = []Movement{{Kind: KindTransfer, Ledger: "payments", Asset: "CNY", From: from, To: to, Amount: amount,
			FromBalance: w.bal[from], ToBalance: w.bal[to]}}
	}
	b.Txs = append(b.Txs, tx)
	w.txs++
	return tx.ID
}

func (w *workload) rejected(h int, from, to string, amount uint64, code uint32, log string) string {
	b := w.blocks[h]
	tx := Tx{ID: w.txid(), Index: len(b.Txs), Ledger: "payments", Sender: from, Org: w.orgs[from], Type: "transfer",
		Parties: []string{from, to}, Code: code, Codespace: "permission", Log: log}
	b.Txs = append(b.Txs, tx)
	w.txs++
	return tx.ID
}

func (w *workload) sanction(h int, regulator, acct, entry string) string {
	b := w.blocks[h]
	tx := Tx{ID: w.txid(), Index: len(b.Txs), Ledger: "_system", Sender: regulator, Org: "regulator", Type: "set_sanction",
		Parties: []string{regulator}, Sanctions: []SanctionChange{{Account: acct, Entry: entry}}}
	b.Txs = append(b.Txs, tx)
	w.txs++
	return tx.ID
}

func (w *workload) plant(c *plantedCase) { w.planted = append(w.planted, c) }

// testRules are the thresholds the workload is planted against.
const testRulesTOML = `
[large_amount]
[large_amount.thresholds]
CNY = 5000000

[structuring]
window = "24h"
count = 3
margin = 0.1

[velocity]
window = "1h"
max_count = 10
[velocity.max_amount]
CNY = 20000000

[fast_in_fast_out]
window = "2h"
percent = 80
[fast_in_fast_out.min_amount]
CNY = 1000000

[sanctions]
lookback = "720h"

[cross_border]
timezone = "UTC"
[cross_border.default_limit]
CNY = 100000000
[[cross_border.limit]]
from = "bankE"
to = "bankF"
asset = "CNY"
amount = 10000000
`

func newWorkload(seed uint64) *workload {
	w := &workload{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), ordinary: map[string]bool{},
		bal: map[string]uint64{}, orgs: map[string]string{}, start: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)}
	w.genesis = Genesis{ChainID: "synthetic", Time: w.start.Add(-time.Hour)}
	for h := range wlBlocks {
		w.blocks = append(w.blocks, &Block{Height: int64(h + 1), Time: w.start.Add(time.Duration(h) * wlInterval)})
	}
	banks := []string{"bankA", "bankB", "bankC", "bankD"}
	var accts []string
	for i := range 40 {
		a := w.account(banks[i%4], wlFunding)
		w.ordinary[a] = true
		accts = append(accts, a)
	}
	regulator := w.account("regulator", 0)

	// Ordinary traffic: 0..4 transfers a block, amounts spread over four
	// orders of magnitude but below the structuring band.
	for h := range wlBlocks {
		for range w.rng.IntN(5) {
			from := accts[w.rng.IntN(len(accts))]
			to := accts[w.rng.IntN(len(accts))]
			if from == to {
				continue
			}
			amount := uint64(100 * pow10f(w.rng.Float64()*4.3)) // 100 .. ~2,000,000
			w.transfer(h, from, to, amount)
		}
	}

	// Planted cases, each on accounts of its own.
	day := 6 * 24 // blocks a day
	{             // one transfer at the threshold
		p, q := w.account("bankA", 20_000_000), w.account("bankB", 0)
		id := w.transfer(day+5, p, q, 6_000_000)
		w.plant(&plantedCase{"large transfer", RuleLarge, p, []string{id}})
	}
	{ // three transfers just below the threshold within a day
		p, q := w.account("bankB", 20_000_000), w.account("bankC", 0)
		ids := []string{w.transfer(2*day+10, p, q, 4_800_000), w.transfer(2*day+22, p, q, 4_700_000), w.transfer(2*day+40, p, q, 4_900_000)}
		w.plant(&plantedCase{"structuring", RuleStructuring, p + "/CNY", ids})
	}
	{ // eleven small transfers within 30 minutes
		p, q := w.account("bankC", 1_000_000), w.account("bankC", 0)
		var ids []string
		for i := range 11 {
			ids = append(ids, w.transfer(3*day+20+i/4, p, q, 1_000))
		}
		w.plant(&plantedCase{"velocity (count)", RuleVelocity, p + "/CNY", ids})
	}
	{ // 5 × 4.4M within 50 minutes: 22M > 20M
		p, q := w.account("bankD", 30_000_000), w.account("bankD", 0)
		var ids []string
		for i := range 5 {
			ids = append(ids, w.transfer(3*day+50+i, p, q, 4_400_000))
		}
		w.plant(&plantedCase{"velocity (amount)", RuleVelocity, p + "/CNY", ids})
	}
	{ // 3M in, 2.7M out an hour later
		src, p, dst := w.account("bankA", 5_000_000), w.account("bankA", 0), w.account("bankB", 0)
		in := w.transfer(4*day+3, src, p, 3_000_000)
		out := w.transfer(4*day+9, p, dst, 2_700_000)
		w.plant(&plantedCase{"fast in, fast out", RuleFastInOut, p + "/CNY", []string{in, out}})
	}
	{ // a transfer to a listed account reaches a block and is rejected
		s := w.account("bankB", 0)
		w.genesis.Sanctions = append(w.genesis.Sanctions, SanctionChange{Account: s, Entry: "OFAC-SDN-1"})
		p := w.account("bankC", 1_000_000)
		id := w.rejected(4*day+30, p, s, 5_000, 10, "account is on the sanctions list")
		w.plant(&plantedCase{"transfer to a sanctioned account", RuleSanctionsAttempt, s, []string{id}})
	}
	{ // an account active yesterday is listed today
		s, p := w.account("bankD", 0), w.account("bankA", 2_000_000)
		a := w.transfer(5*day+1, p, s, 300_000)
		b := w.transfer(5*day+7, p, s, 200_000)
		w.sanction(5*day+100, regulator, s, "UN-1267-42")
		w.plant(&plantedCase{"newly listed account", RuleSanctioned, s, []string{a, b}})
	}
	{ // bankE sends bankF 3 × 4M in one day; the pair's limit is 10M: the alert lists all three
		p, q := w.account("bankE", 20_000_000), w.account("bankF", 0)
		a := w.transfer(6*day+1, p, q, 4_000_000)
		b := w.transfer(6*day+20, p, q, 4_000_000)
		id := w.transfer(6*day+40, p, q, 4_000_000)
		date := w.blocks[6*day+40].Time.Format("2006-01-02")
		w.plant(&plantedCase{"cross-border daily limit", RuleCrossBorder, "bankE->bankF/CNY/" + date, []string{a, b, id}})
	}
	return w
}

func pow10f(x float64) float64 {
	r := 1.0
	for x >= 1 {
		r *= 10
		x--
	}
	// 10^x for x in [0,1) by a short series of e^(x ln 10)
	y, term := 1.0, 1.0
	for k := 1; k < 20; k++ {
		term *= x * 2.302585092994046 / float64(k)
		y += term
	}
	return r * y
}

func runWorkload(t *testing.T, ix *Index, w *workload, eng *Engine, from, to int) []Alert {
	t.Helper()
	var alerts []Alert
	for _, b := range w.blocks[from:to] {
		cp := *b
		cp.Txs = slices.Clone(b.Txs)
		got, err := ix.ApplyBlock(&cp, eng)
		if err != nil {
			t.Fatalf("apply block %d: %v", b.Height, err)
		}
		alerts = append(alerts, got...)
	}
	return alerts
}

func testEngine(t *testing.T) *Engine {
	t.Helper()
	c, err := ParseRules([]byte(testRulesTOML))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := NewEngine(c)
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// TestSyntheticWorkload: every planted case raises exactly its alert (rule,
// subject and the tx ids that triggered it), and the alerts raised on the
// ordinary traffic are counted and reported as false positives.
func TestSyntheticWorkload(t *testing.T) {
	w := newWorkload(20260302)
	ix, err := OpenIndex("")
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if err := ix.InitGenesis(w.genesis); err != nil {
		t.Fatal(err)
	}
	alerts := runWorkload(t, ix, w, testEngine(t), 0, len(w.blocks))

	bySubject := map[string][]Alert{}
	for _, a := range alerts {
		bySubject[a.Rule+" "+a.Subject] = append(bySubject[a.Rule+" "+a.Subject], a)
	}
	planted := map[string]bool{}
	for _, c := range w.planted {
		key := c.rule + " " + c.subject
		planted[key] = true
		got := bySubject[key]
		if len(got) != 1 {
			t.Errorf("%s: %d %s alerts on %s, want 1: %+v", c.name, len(got), c.rule, c.subject, got)
			continue
		}
		if !slices.Equal(got[0].TxIDs, c.txIDs) {
			t.Errorf("%s: alert names txs %v, want %v", c.name, got[0].TxIDs, c.txIDs)
		}
		if got[0].Reason == "" || got[0].Severity == "" || got[0].Status != StatusOpen {
			t.Errorf("%s: alert lacks reason, severity or status: %+v", c.name, got[0])
		}
		t.Logf("planted %-32s → %s", c.name, got[0].Reason)
	}
	// Alerts that are not a planted case must concern ordinary accounts
	// only: a planted account that raises some other alert is a bug in
	// the rules, not a false positive.
	fp := map[string]int{}
	total := 0
	for _, a := range alerts {
		if planted[a.Rule+" "+a.Subject] {
			continue
		}
		acct, _, _ := strings.Cut(a.Subject, "/")
		if !w.ordinary[acct] && !strings.Contains(a.Subject, "->") {
			t.Errorf("unexpected %s alert on planted account %s: %s", a.Rule, a.Subject, a.Reason)
			continue
		}
		if strings.Contains(a.Subject, "bankE") || strings.Contains(a.Subject, "bankF") {
			t.Errorf("unexpected alert on the planted pair: %+v", a)
		}
		fp[a.Rule]++
		total++
	}
	rules := make([]string, 0, len(fp))
	for r := range fp {
		rules = append(rules, r)
	}
	sort.Strings(rules)
	movements := 0
	for _, b := range w.blocks {
		for _, tx := range b.Txs {
			movements += len(tx.Movements)
		}
	}
	t.Logf("ordinary traffic: %d blocks, %d txs (%d failed), %d movements; false positives: %d (%.2f%% of txs)",
		len(w.blocks), w.txs, w.failed, movements, total, 100*float64(total)/float64(w.txs))
	for _, r := range rules {
		t.Logf("  false positives of %-18s %d", r, fp[r])
	}
	if total > w.txs/20 {
		t.Errorf("false positives %d exceed 5%% of %d txs: thresholds or rules regressed", total, w.txs)
	}

	// The index agrees with the workload's own bookkeeping.
	for a, want := range w.bal {
		got, err := ix.Balance("payments", "CNY", a)
		if err != nil || got != want {
			t.Fatalf("balance of %s: index %d, want %d (%v)", a, got, want, err)
		}
	}
}

// TestRestartEqualsReplay: an index closed and reopened in the middle of
// the stream ends equal to one that indexed everything in one go, and a
// block is never indexed twice.
func TestRestartEqualsReplay(t *testing.T) {
	w := newWorkload(7)
	eng := testEngine(t)
	dir := t.TempDir()
	a, err := OpenIndex(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.InitGenesis(w.genesis); err != nil {
		t.Fatal(err)
	}
	half := len(w.blocks) / 2
	runWorkload(t, a, w, eng, 0, half)
	// An operator acknowledgement and an audit entry are not part of the
	// deterministic index.
	page, _ := a.Alerts(AlertFilter{}, "", 1)
	if len(page.Items) > 0 {
		if _, err := a.Acknowledge(page.Items[0].ID, "tester", "looked at it", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.AppendAudit(AuditEntry{At: time.Now(), Who: "tester", Action: "list txs"}); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	a, err = OpenIndex(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.InitGenesis(w.genesis); err != nil {
		t.Fatal(err)
	}
	if last, _ := a.LastHeight(); last != int64(half) {
		t.Fatalf("resumed at %d, want %d", last, half)
	}
	// The last indexed block again: refused, and nothing changes.
	before, _ := a.Dump()
	cp := *w.blocks[half-1]
	if _, err := a.ApplyBlock(&cp, eng); err == nil {
		t.Fatal("indexed a block twice")
	}
	after, _ := a.Dump()
	if !dumpsEqual(before, after) {
		t.Fatal("a refused block changed the index")
	}
	runWorkload(t, a, w, eng, half, len(w.blocks))

	b, err := OpenIndex("")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.InitGenesis(w.genesis); err != nil {
		t.Fatal(err)
	}
	runWorkload(t, b, w, eng, 0, len(w.blocks))
	da, _ := a.Dump()
	db, _ := b.Dump()
	if !dumpsEqual(da, db) {
		t.Fatalf("restarted index (%d keys) differs from a fresh replay (%d keys)", len(da), len(db))
	}
	if audit, _ := a.Audit("", "", 10, false); len(audit.Items) != 1 {
		t.Fatalf("audit log lost across restart: %+v", audit)
	}
}

func dumpsEqual(a, b [][2][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if string(a[i][0]) != string(b[i][0]) || string(a[i][1]) != string(b[i][1]) {
			return false
		}
	}
	return true
}

// failOnce fails the rules once, in the middle of a block, as a crash
// between two transactions of a block would.
type failOnce struct {
	*Engine
	atTx  int
	count int
	done  bool
}

func (f *failOnce) OnTx(v RuleView, b *Block, tx *Tx, entries []Entry) error {
	f.count++
	if !f.done && f.count == f.atTx {
		f.done = true
		return fmt.Errorf("injected failure in block %d", b.Height)
	}
	return f.Engine.OnTx(v, b, tx, entries)
}

// TestFailedBlockLeavesNoTrace: a block that fails half-way writes
// nothing, and indexing it again gives the same index as if it never failed.
func TestFailedBlockLeavesNoTrace(t *testing.T) {
	w := newWorkload(11)
	eng := testEngine(t)
	a, _ := OpenIndex("")
	defer a.Close()
	b, _ := OpenIndex("")
	defer b.Close()
	_ = a.InitGenesis(w.genesis)
	_ = b.InitGenesis(w.genesis)
	f := &failOnce{Engine: eng, atTx: 500}
	for _, blk := range w.blocks {
		cp := *blk
		cp.Txs = slices.Clone(blk.Txs)
		var before [][2][]byte
		if !f.done && f.count+len(cp.Txs) >= f.atTx {
			before, _ = a.Dump()
		}
		if _, err := a.ApplyBlock(&cp, f); err != nil {
			after, _ := a.Dump()
			if !dumpsEqual(before, after) {
				t.Fatalf("failed block %d changed the index", blk.Height)
			}
			cp.Txs = slices.Clone(blk.Txs)
			if _, err := a.ApplyBlock(&cp, f); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !f.done {
		t.Fatal("no failure was injected")
	}
	runWorkload(t, b, w, eng, 0, len(w.blocks))
	da, _ := a.Dump()
	db, _ := b.Dump()
	if !dumpsEqual(da, db) {
		t.Fatal("index after a failed and retried block differs from a clean run")
	}
}
