package regulator

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// move is one movement of a balanced rule table: a transfer unless kind
// says issue or burn, of CNY unless asset says otherwise; refund makes it
// the refund of a PvP trade (its transaction's pvp_refunded).
type move struct {
	at       time.Duration
	kind     string
	from, to string
	amount   uint64
	asset    string
	refund   bool
}

func mvXfer(at time.Duration, from, to string, amount uint64) move {
	return move{at: at, kind: KindTransfer, from: from, to: to, amount: amount}
}

// balancedChain is tableChain with the balances after each movement in
// its event, as the payments contract reports them: open holds the
// genesis balances, the same in every asset (src gets 1<<40 besides).
func balancedChain(t testing.TB, open map[string]uint64, moves []move) []*Block {
	t.Helper()
	type key struct{ asset, acct string }
	bal := map[key]uint64{}
	var blocks []*Block
	for i, s := range moves {
		at := dedupeStart.Add(s.at)
		if len(blocks) == 0 || !blocks[len(blocks)-1].Time.Equal(at) {
			blocks = append(blocks, &Block{Height: int64(len(blocks) + 1), Time: at})
		}
		b := blocks[len(blocks)-1]
		asset := s.asset
		if asset == "" {
			asset = "CNY"
		}
		from, to := key{asset, s.from}, key{asset, s.to}
		if _, ok := bal[key{asset, "src"}]; !ok { // the first movement of asset
			for a, v := range open {
				bal[key{asset, a}] = v
			}
			bal[key{asset, "src"}] = 1 << 40
		}
		m := Movement{Kind: s.kind, Ledger: "payments", Asset: asset, From: s.from, To: s.to, Amount: s.amount}
		switch s.kind {
		case KindIssue:
			bal[to] += s.amount
			m.ToBalance = bal[to]
		case KindBurn:
			m.To = ""
			if bal[from] < s.amount {
				t.Fatalf("move %d: %s holds %d, burns %d", i, s.from, bal[from], s.amount)
			}
			bal[from] -= s.amount
			m.FromBalance = bal[from]
		default:
			if bal[from] < s.amount {
				t.Fatalf("move %d: %s holds %d, sends %d", i, s.from, bal[from], s.amount)
			}
			bal[from] -= s.amount
			bal[to] += s.amount
			m.FromBalance, m.ToBalance = bal[from], bal[to]
		}
		tx := Tx{ID: fmt.Sprintf("t%d", i), Index: len(b.Txs), Ledger: "payments", Sender: s.from, Org: orgOfTestAcct(s.from),
			Type: s.kind, Parties: []string{s.from, s.to}, Movements: []Movement{m}}
		if s.refund {
			tx.Type = "pvp_refund"
			tx.Pvp = &PvpTrade{Trade: fmt.Sprintf("trade%d", i), Status: PvpRefunded, LedgerA: "payments", AssetA: asset, AmountA: s.amount}
		}
		b.Txs = append(b.Txs, tx)
	}
	return blocks
}

type moveCase struct {
	name  string
	open  map[string]uint64 // genesis balances besides src's
	moves []move
	want  []string // "<subject> <tx ids>" of each alert, in raise order
}

// runMoveTable indexes each case from genesis with only rule on (toml)
// and compares the alerts' subjects and transactions.
func runMoveTable(t *testing.T, rule, toml string, cases []moveCase) {
	t.Helper()
	eng := onlyRule(t, toml)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := tableGenesis()
			g.Identities = append(g.Identities, IdentityOrg{Address: "bankB.s", Org: "bankB"}, IdentityOrg{Address: "bankC.x", Org: "bankC"})
			for a, v := range c.open {
				g.Balances = append(g.Balances, GenesisBalance{Ledger: "payments", Asset: "CNY", Account: a, Amount: v})
			}
			alerts, _ := applyAll(t, g, balancedChain(t, c.open, c.moves), eng)
			var got []string
			for _, a := range alerts {
				if a.Rule != rule {
					t.Fatalf("alert of rule %s with only %s on: %+v", a.Rule, rule, a)
				}
				got = append(got, a.Subject+" "+strings.Join(a.TxIDs, ","))
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				for _, a := range alerts {
					t.Logf("alert %s at %s: %s", a.ID, a.Time.Sub(dedupeStart), a.Reason)
				}
				t.Fatalf("alerts %q, want %q", got, c.want)
			}
		})
	}
}

func hit(subject string, n ...int) string { return subject + " " + strings.Join(ids(n...), ",") }

// TestFastInFastOutNetOfOpeningBalance: only what leaves beyond the
// balance held before the window's first receipt is "fast out". A
// settlement account with a large balance that receives and pays all day
// stays quiet; a pass-through account that starts empty does not.
func TestFastInFastOutNetOfOpeningBalance(t *testing.T) {
	const m, h = time.Minute, time.Hour
	rule := "[fast_in_fast_out]\nwindow = \"2h\"\npercent = 80\n[fast_in_fast_out.min_amount]\nCNY = 1000\n"
	in := func(at time.Duration, amount uint64) move { return mvXfer(at, "src", "p", amount) }
	out := func(at time.Duration, amount uint64) move { return mvXfer(at, "p", "q", amount) }
	day := func() []move { // a settlement account's day: 1000 in, 1000 out, every 20 minutes
		var ms []move
		for i := range 12 {
			ms = append(ms, in(time.Duration(i)*20*m, 1000), out(time.Duration(i)*20*m+m, 1000))
		}
		return ms
	}
	runMoveTable(t, RuleFastInOut, rule, []moveCase{
		{"pass-through account: empty before, 80% on", nil, []move{in(0, 1000), out(m, 800)}, []string{hit("p/CNY", 0, 1)}},
		{"pass-through account: just below 80%", nil, []move{in(0, 1000), out(m, 799)}, nil},
		{"settlement account holding 1,000,000: same flows, quiet", map[string]uint64{"p": 1_000_000}, []move{in(0, 1000), out(m, 800)}, nil},
		{"settlement account paying all day", map[string]uint64{"p": 1_000_000}, day(), nil},
		{"the same day of an account that starts empty", nil, day(), []string{hit("p/CNY", 0, 1), hit("p/CNY", 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13)}},
		{"held 500: pays exactly 80% beyond it", map[string]uint64{"p": 500}, []move{in(0, 1000), out(m, 1300)}, []string{hit("p/CNY", 0, 1)}},
		{"held 500: one below", map[string]uint64{"p": 500}, []move{in(0, 1000), out(m, 1299)}, nil},
		{"the opening balance is the one before the window's first receipt", nil,
			[]move{in(0, 1000), in(3*h, 1000), out(3*h+m, 1800)}, []string{hit("p/CNY", 1, 2)}},
		{"... one below", nil, []move{in(0, 1000), in(3*h, 1000), out(3*h+m, 1799)}, nil},
		{"first receipt exactly at the window's edge: nothing held before", nil,
			[]move{in(0, 1000), in(h, 1000), out(2*h, 1700)}, []string{hit("p/CNY", 0, 1, 2)}},
		{"first receipt one second out: the 1000 it brought was held", nil,
			[]move{in(0, 1000), in(h, 1000), out(2*h+time.Second, 1700)}, nil},
	})
	runMoveTable(t, RuleFastInOut, strings.Replace(rule, "percent = 80\n", "percent = 80\nnet_of_opening = false\n", 1), []moveCase{
		{"net_of_opening off: the settlement account fires", map[string]uint64{"p": 1_000_000}, []move{in(0, 1000), out(m, 800)}, []string{hit("p/CNY", 0, 1)}},
	})
}

// TestFastInFastOutBaseline: with a baseline, an outflow within the
// window no larger than baseline_factor × the usual outflow per window
// over the baseline before it is the account's ordinary business.
func TestFastInFastOutBaseline(t *testing.T) {
	const h = time.Hour
	rule := "[fast_in_fast_out]\nwindow = \"2h\"\npercent = 80\nnet_of_opening = false\nbaseline = \"24h\"\nbaseline_factor = 1\n[fast_in_fast_out.min_amount]\nCNY = 1000\n"
	// 1000 out every 2h over the day before: 1000 per window, usually.
	history := func() []move {
		var ms []move
		for i := range 12 {
			ms = append(ms, mvXfer(time.Duration(i)*2*h, "p", "q", 1000))
		}
		return ms
	}
	open := map[string]uint64{"p": 20000}
	with := func(extra ...move) []move { return append(history(), extra...) }
	runMoveTable(t, RuleFastInOut, rule, []moveCase{
		{"at the usual outflow", open, with(mvXfer(25*h, "src", "p", 1000), mvXfer(26*h, "p", "q", 1000)), nil},
		{"one above the usual outflow", open, with(mvXfer(25*h, "src", "p", 1000), mvXfer(26*h, "p", "q", 1001)), []string{hit("p/CNY", 12, 13)}},
		{"the baseline's first payment one second out of it", open, with(mvXfer(25*h, "src", "p", 1000), mvXfer(26*h+time.Second, "p", "q", 1000)),
			[]string{hit("p/CNY", 12, 13)}},
		{"no history: nothing is usual", open, []move{mvXfer(25*h, "src", "p", 1000), mvXfer(26*h, "p", "q", 1000)}, []string{hit("p/CNY", 0, 1)}},
	})
	runMoveTable(t, RuleFastInOut, strings.Replace(rule, "baseline = \"24h\"\n", "", 1), []moveCase{
		{"baseline off: the usual outflow fires", open, with(mvXfer(25*h, "src", "p", 1000), mvXfer(26*h, "p", "q", 1000)), []string{hit("p/CNY", 12, 13)}},
	})
}

// TestStructuringPerOrganisation: transfers in the band from two or more
// accounts of one organisation to one beneficiary count together.
func TestStructuringPerOrganisation(t *testing.T) {
	const h = time.Hour
	rule := "[structuring]\nwindow = \"24h\"\ncount = 3\nmargin = 0.1\n"
	open := map[string]uint64{"p": 1 << 20, "q": 1 << 20, "bankC.x": 1 << 20}
	s := func(at time.Duration, from string, amount uint64) move { return mvXfer(at, from, "bankB.r", amount) }
	const org = "org:bankA->bankB.r/CNY"
	runMoveTable(t, RuleStructuring, rule, []moveCase{
		{"two accounts, three in the band: one alert", open, []move{s(0, "p", 950), s(h, "q", 950), s(2*h, "p", 950)}, []string{hit(org, 0, 1, 2)}},
		{"two in the band: below count", open, []move{s(0, "p", 950), s(h, "q", 950)}, nil},
		{"at the band's edges", open, []move{s(0, "p", 900), s(h, "q", 999), s(2*h, "p", 900)}, []string{hit(org, 0, 1, 2)}},
		{"one just below the band", open, []move{s(0, "p", 899), s(h, "q", 950), s(2*h, "p", 950)}, nil},
		{"one at the threshold", open, []move{s(0, "p", 1000), s(h, "q", 950), s(2*h, "p", 950)}, nil},
		{"more within the window: one org alert (and p's own)", open,
			[]move{s(0, "p", 950), s(h, "q", 950), s(2*h, "p", 950), s(3*h, "q", 950), s(4*h, "p", 950)},
			[]string{hit(org, 0, 1, 2), hit("p/CNY", 0, 2, 4)}},
		{"one account alone: only its own alert", open, []move{s(0, "p", 950), s(h, "p", 950), s(2*h, "p", 950)}, []string{hit("p/CNY", 0, 1, 2)}},
		{"two beneficiaries", open, []move{s(0, "p", 950), mvXfer(h, "q", "bankB.s", 950), s(2*h, "p", 950)}, nil},
		{"another organisation's account does not count", open, []move{s(0, "p", 950), s(h, "bankC.x", 950), s(2*h, "q", 950)}, nil},
		{"third exactly at the window's edge", open, []move{s(0, "p", 950), s(12*h, "q", 950), s(24*h, "p", 950)}, []string{hit(org, 0, 1, 2)}},
		{"third just past the window", open, []move{s(0, "p", 950), s(12*h, "q", 950), s(24*h+time.Second, "p", 950)}, nil},
		{"again once the cooldown ends", open,
			[]move{s(0, "p", 950), s(h, "q", 950), s(2*h, "p", 950), s(25*h, "q", 950), s(26*h-time.Second, "p", 950), s(26*h, "q", 950)},
			[]string{hit(org, 0, 1, 2), hit(org, 2, 3, 4, 5)}},
	})
	runMoveTable(t, RuleStructuring, rule+"per_org = false\n", []moveCase{
		{"per_org off", open, []move{s(0, "p", 950), s(h, "q", 950), s(2*h, "p", 950)}, nil},
	})
}

// TestLargeAmountScreensIssueAndBurn: money created or destroyed in one go
// is screened like money moved, with a reason that says which.
func TestLargeAmountScreensIssueAndBurn(t *testing.T) {
	rule := "[large_amount]\n[large_amount.thresholds]\nCNY = 1000\n"
	issue := func(amount uint64) move { return move{kind: KindIssue, from: "src", to: "p", amount: amount} }
	burn := func(amount uint64) move { return move{kind: KindBurn, from: "src", amount: amount} }
	runMoveTable(t, RuleLarge, rule, []moveCase{
		{"issue one below", nil, []move{issue(999)}, nil},
		{"issue at the threshold", nil, []move{issue(1000)}, []string{hit("p", 0)}},
		{"burn one below", nil, []move{burn(999)}, nil},
		{"burn above the threshold", nil, []move{burn(1001)}, []string{hit("src", 0)}},
	})
	alerts, _ := applyAll(t, tableGenesis(), balancedChain(t, nil, []move{issue(5000), burn(5000)}), onlyRule(t, rule))
	if len(alerts) != 2 || !strings.HasPrefix(alerts[0].Reason, "issue of 5000 CNY on payments by src to p") ||
		!strings.HasPrefix(alerts[1].Reason, "burn of 5000 CNY on payments from src") {
		t.Fatalf("alerts %+v: want an issue's and a burn's", alerts)
	}
}

// TestCrossBorderListsEveryTransfer: the alert lists every transfer of
// the pair, asset and day that makes up the total, not only the last.
func TestCrossBorderListsEveryTransfer(t *testing.T) {
	const h = time.Hour
	rule := "[cross_border]\ntimezone = \"UTC\"\n[cross_border.default_limit]\nCNY = 1000\n"
	x := func(at time.Duration, amount uint64) move { return mvXfer(at, "src", "bankB.r", amount) }
	const pair = "bankA->bankB/CNY/2026-03-02"
	runMoveTable(t, RuleCrossBorder, rule, []moveCase{
		{"three make it up", nil, []move{x(0, 300), x(h, 300), x(2*h, 401)}, []string{hit(pair, 0, 1, 2)}},
		{"three at the limit", nil, []move{x(0, 300), x(h, 300), x(2*h, 400)}, nil},
		{"another pair's transfer is not listed", nil, []move{x(0, 300), mvXfer(h, "src", "bankC.x", 5000), x(2*h, 701)},
			[]string{"bankA->bankC/CNY/2026-03-02 t1", hit(pair, 0, 2)}},
		{"two in one block", nil, []move{x(0, 300), x(h, 300), x(h, 401)}, []string{hit(pair, 0, 1, 2)}},
		{"the next day starts a new list", nil, []move{x(0, 1001), x(24*h, 500), x(25*h, 501)},
			[]string{hit(pair, 0), hit("bankA->bankB/CNY/2026-03-03", 1, 2)}},
	})
}

func TestParseRulesNewKeys(t *testing.T) {
	const others = "[structuring]\nenabled = false\n[velocity]\nenabled = false\n"
	const fio = "[fast_in_fast_out]\nwindow = \"2h\"\npercent = 80\n"
	const structuring = "[structuring]\nwindow = \"24h\"\ncount = 3\nmargin = 0.1\n"
	for _, c := range []struct{ toml, want string }{
		{fio + "baseline = \"-1h\"\n", "fast_in_fast_out.baseline: must not be negative"},
		{fio + "baseline = \"a week\"\n", `fast_in_fast_out.baseline (line 8): time: invalid duration "a week"`},
		{fio + "baseline_factor = -2\n", "fast_in_fast_out.baseline_factor: want a positive factor, got -2"},
		{fio + "net_of_opening = \"yes\"\n", "fast_in_fast_out.net_of_opening (line 8): want bool, not a TOML string"},
		{fio + "net_of_openings = true\n", "net_of_openings"},
		{fio + "[fast_in_fast_out.min_amount]\nCNY = 1000\nnet_of_opening = false\n", "fast_in_fast_out.min_amount.net_of_opening (line 10)"},
		{"[structuring]\nper_org = 1\n", "structuring.per_org (line 2): want bool, not a TOML integer"},
		{structuring + "beneficiary_count = 1\n", "structuring.beneficiary_count: want 0 (off) or at least 2, got 1"},
		{structuring + "beneficiary_count = -3\n", "structuring.beneficiary_count: want 0 (off) or at least 2, got -3"},
		{structuring + "beneficiary_count = \"many\"\n", "structuring.beneficiary_count (line 5): want int, not a TOML string"},
		{"[velocity]\nmax_count = \"x\"\n", "velocity.max_count (line 2): want int, not a TOML string"},
	} {
		in := c.toml
		if strings.HasPrefix(in, fio) {
			in = others + in
		}
		_, err := ParseRules([]byte(in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v does not name %q", c.toml, err, c.want)
		}
	}
	d := DefaultRules()
	if !enabled(d.FastInOut.NetOfOpening) || d.FastInOut.Baseline != 0 || d.FastInOut.BaselineFactor != 1.5 || !enabled(d.Structuring.PerOrg) ||
		d.Structuring.BeneficiaryCount != 5 {
		t.Fatalf("defaults: %+v %+v", d.FastInOut, d.Structuring)
	}
}
