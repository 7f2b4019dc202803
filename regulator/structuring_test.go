package regulator

import (
	"strings"
	"testing"
	"time"
)

// TestStructuringPerBeneficiary: transfers in the band from every sender,
// of any organisation, into one account count together: beneficiary_count
// (5) of them within the window, from two or more accounts, raise one
// alert on to:<beneficiary>/<asset>, once per window.
func TestStructuringPerBeneficiary(t *testing.T) {
	const h = time.Hour
	const rule = "[large_amount]\nenabled = false\n[large_amount.thresholds]\nCNY = 1000\nUSD = 1000\n" +
		"[structuring]\nwindow = \"24h\"\ncount = 3\nmargin = 0.1\n"
	const on = rule + "beneficiary_count = 5\n"
	// Senders of five banks; z and y receive only.
	senders := []string{"p", "bankB.r", "bankC.x", "bankD.a", "bankE.a", "bankF.a", "bankG.a"}
	open := map[string]uint64{}
	for _, s := range senders {
		open[s] = 1 << 20
	}
	s := func(at time.Duration, i int, amount uint64) move { return mvXfer(at, senders[i], "z", amount) }
	five := func() []move {
		return []move{s(0, 0, 950), s(h, 1, 950), s(2*h, 2, 950), s(3*h, 3, 950), s(4*h, 4, 950)}
	}
	four := func() []move { return five()[:4] }
	with := func(ms []move, extra ...move) []move { return append(ms, extra...) }
	usd := func(at time.Duration, from string) move {
		return move{at: at, kind: KindTransfer, from: from, to: "z", amount: 950, asset: "USD"}
	}
	const z = "to:z/CNY"
	runMoveTable(t, RuleStructuring, on, []moveCase{
		{"five senders of five banks, one each: one alert", open, five(), []string{hit(z, 0, 1, 2, 3, 4)}},
		{"four: below beneficiary_count", open, four(), nil},
		{"at the band's edges", open, []move{s(0, 0, 900), s(h, 1, 999), s(2*h, 2, 900), s(3*h, 3, 999), s(4*h, 4, 900)},
			[]string{hit(z, 0, 1, 2, 3, 4)}},
		{"one just below the band", open, with(four(), s(5*h, 5, 899)), nil},
		{"one at the threshold (large, not structuring)", open, with(four(), s(5*h, 5, 1000)), nil},
		{"the same five spread over two beneficiaries", open,
			[]move{s(0, 0, 950), s(h, 1, 950), mvXfer(2*h, senders[2], "y", 950), s(3*h, 3, 950), mvXfer(4*h, senders[4], "y", 950)}, nil},
		{"more within the window: one alert", open, with(five(), s(5*h, 5, 950), s(6*h, 6, 950)), []string{hit(z, 0, 1, 2, 3, 4)}},
		{"all in one block: one alert", open,
			[]move{s(0, 0, 950), s(0, 1, 950), s(0, 2, 950), s(0, 3, 950), s(0, 4, 950), s(0, 5, 950), s(0, 6, 950)},
			[]string{hit(z, 0, 1, 2, 3, 4)}},
		{"one sender alone: only its own alert", open,
			[]move{s(0, 0, 950), s(h, 0, 950), s(2*h, 0, 950), s(3*h, 0, 950), s(4*h, 0, 950)}, []string{hit("p/CNY", 0, 1, 2)}},
		{"two senders: both counted, and each one's own", open,
			[]move{s(0, 0, 950), s(h, 1, 950), s(2*h, 0, 950), s(3*h, 1, 950), s(4*h, 0, 950)},
			[]string{hit("p/CNY", 0, 2, 4), hit(z, 0, 1, 2, 3, 4)}},
		{"a PvP refund into it does not count", open,
			with(four(), move{at: 5 * h, kind: KindTransfer, from: "src", to: "z", amount: 950, refund: true}), nil},
		{"... the next payment does, without the refund", open,
			with(four(), move{at: 5 * h, kind: KindTransfer, from: "src", to: "z", amount: 950, refund: true}, s(6*h, 5, 950)),
			[]string{hit(z, 0, 1, 2, 3, 5)}},
		{"an issue or a returned redemption does not count", open,
			with(four(), move{at: 5 * h, kind: KindIssue, from: "src", to: "z", amount: 950},
				move{at: 6 * h, kind: KindRedemptionReturned, from: "src", to: "z", amount: 950}), nil},
		{"another asset does not count", open,
			with(four(), usd(5*h, "bankF.a")), nil},
		{"five in another asset: that asset's alert", open,
			[]move{usd(0, "src"), s(h, 1, 950), usd(2*h, "bankB.r"), s(2*h, 2, 950), usd(3*h, "bankC.x"), usd(4*h, "bankD.a"), usd(5*h, "bankE.a")},
			[]string{hit("to:z/USD", 0, 2, 4, 5, 6)}},
		{"fifth exactly at the window's edge", open,
			[]move{s(0, 0, 950), s(h, 1, 950), s(2*h, 2, 950), s(3*h, 3, 950), s(24*h, 4, 950)}, []string{hit(z, 0, 1, 2, 3, 4)}},
		{"fifth just past the window", open,
			[]move{s(0, 0, 950), s(h, 1, 950), s(2*h, 2, 950), s(3*h, 3, 950), s(24*h+time.Second, 4, 950)}, nil},
		{"quiet until the cooldown ends, then again", open,
			with(five(), s(5*h, 5, 950), s(6*h, 6, 950), s(27*h, 1, 950), s(28*h-time.Second, 2, 950), s(28*h, 3, 950)),
			[]string{hit(z, 0, 1, 2, 3, 4), hit(z, 4, 5, 6, 7, 8, 9)}},
	})
	runMoveTable(t, RuleStructuring, rule, []moveCase{
		{"beneficiary_count absent: off", open, with(five(), s(5*h, 5, 950)), nil},
	})
	runMoveTable(t, RuleStructuring, rule+"beneficiary_count = 0\n", []moveCase{
		{"beneficiary_count = 0: off", open, with(five(), s(5*h, 5, 950)), nil},
	})

	alerts, _ := applyAll(t, tableGenesis(), balancedChain(t, open, five()), onlyRule(t, on))
	const want = "z received 5 transfers of CNY from 5 accounts of 5 organisations (p, bankB.r, bankC.x, bankD.a, bankE.a) within 24h0m0s, " +
		"each just below the 1000 threshold (900..999), 4750 in total"
	if len(alerts) != 1 || alerts[0].Reason != want {
		t.Fatalf("alerts %+v, want one: %s", alerts, want)
	}
}

// TestStructuringPerBeneficiaryNamesAtMostTenSenders: a funnel account's
// alert names its first ten senders and counts the rest.
func TestStructuringPerBeneficiaryNamesAtMostTenSenders(t *testing.T) {
	var ms []move
	open := map[string]uint64{}
	for i := range 12 {
		from := "bankK.a" + string(rune('a'+i))
		open[from] = 1 << 20
		ms = append(ms, mvXfer(0, from, "z", 950))
	}
	rule := "[structuring]\nwindow = \"24h\"\ncount = 3\nmargin = 0.1\nper_org = false\nbeneficiary_count = 12\n"
	alerts, _ := applyAll(t, tableGenesis(), balancedChain(t, open, ms), onlyRule(t, rule))
	if len(alerts) != 1 || !strings.Contains(alerts[0].Reason, "from 12 accounts of 1 organisation (bankK.aa, ") ||
		!strings.Contains(alerts[0].Reason, "bankK.aj, and 2 more)") || len(alerts[0].TxIDs) != 12 {
		t.Fatalf("alerts %+v", alerts)
	}
}
