package regulator

import (
	"testing"
	"time"
)

// In these tables p pays a PvP leg into escrow "E" (or "E2"), and the
// trade is refunded: "E" sends the leg back to p in a pvp_refund
// transaction, which the index marks refund. src is a third party.
func fundLeg(at time.Duration, escrow string, amount uint64) move {
	return mvXfer(at, "p", escrow, amount)
}

func refundLeg(at time.Duration, escrow string, amount uint64) move {
	return move{at: at, kind: KindTransfer, from: escrow, to: "p", amount: amount, refund: true}
}

// TestFastInFastOutPvPRefund: a refund returns the payer's own money. It
// is no receipt of the payer (it neither counts in nor opens the window),
// no payment out of the escrow, and the funding it returns is no longer
// money passed on, in the window or in the baseline.
func TestFastInFastOutPvPRefund(t *testing.T) {
	const m, h = time.Minute, time.Hour
	rule := "[fast_in_fast_out]\nwindow = \"2h\"\npercent = 80\n[fast_in_fast_out.min_amount]\nCNY = 1000\n"
	recv := func(at time.Duration, amount uint64) move { return mvXfer(at, "src", "p", amount) }
	send := func(at time.Duration, amount uint64) move { return mvXfer(at, "p", "q", amount) }
	runMoveTable(t, RuleFastInOut, rule, []moveCase{
		{"the escrow's refund is no payment out of it", map[string]uint64{"p": 1000},
			[]move{fundLeg(0, "E", 1000), refundLeg(m, "E", 1000)}, nil},
		{"a refund is no receipt: sending it on is no pass-through", map[string]uint64{"p": 1000},
			[]move{fundLeg(0, "E", 1000), refundLeg(m, "E", 1000), send(2*m, 900)}, nil},
		{"a funding not refunded is a payment out", nil,
			[]move{recv(0, 1000), fundLeg(m, "E", 800)}, []string{hit("p/CNY", 0, 1)}},
		{"a refunded funding is no outflow", nil,
			[]move{recv(0, 1000), fundLeg(m, "E", 500), refundLeg(2*m, "E", 500), send(3*m, 400)}, nil},
		{"... what is sent on still is, without the funding and its refund", nil,
			[]move{recv(0, 1000), fundLeg(m, "E", 500), refundLeg(2*m, "E", 500), send(3*m, 800)}, []string{hit("p/CNY", 0, 3)}},
		{"another escrow's refund returns only its own funding", nil,
			[]move{recv(0, 1000), fundLeg(m, "E", 500), fundLeg(2*m, "E2", 200), refundLeg(3*m, "E2", 200), send(4*m, 300)},
			[]string{hit("p/CNY", 0, 1, 4)}},
		{"a refund does not open the window: what it returned was held", map[string]uint64{"p": 1000},
			[]move{fundLeg(0, "E", 1000), refundLeg(m, "E", 1000), recv(2*m, 1000), send(3*m, 1800)}, []string{hit("p/CNY", 2, 3)}},
		{"... one below", map[string]uint64{"p": 1000},
			[]move{fundLeg(0, "E", 1000), refundLeg(m, "E", 1000), recv(2*m, 1000), send(3*m, 1799)}, nil},
	})
	baseline := "[fast_in_fast_out]\nwindow = \"2h\"\npercent = 80\nnet_of_opening = false\nbaseline = \"2h\"\nbaseline_factor = 1\n[fast_in_fast_out.min_amount]\nCNY = 1000\n"
	runMoveTable(t, RuleFastInOut, baseline, []moveCase{
		{"a paid usual outflow keeps it quiet", map[string]uint64{"p": 1000},
			[]move{fundLeg(22*h, "E", 1000), recv(25*h, 1000), send(26*h, 1000)}, nil},
		{"a refunded funding is no usual outflow", map[string]uint64{"p": 1000},
			[]move{fundLeg(22*h, "E", 1000), refundLeg(22*h+m, "E", 1000), recv(25*h, 1000), send(26*h, 1000)}, []string{hit("p/CNY", 2, 3)}},
	})
}

// TestVelocityPvPRefund: a refund is no activity of the escrow that sends
// it back (nor a transfer of the payer, who receives it); the funding it
// returns still counts, as p did send it.
func TestVelocityPvPRefund(t *testing.T) {
	const m = time.Minute
	rule := "[velocity]\nwindow = \"1h\"\nmax_count = 2\n[velocity.max_amount]\nCNY = 1000\n"
	runMoveTable(t, RuleVelocity, rule, []moveCase{
		{"the escrow's refund over max_amount: no alert on the escrow", map[string]uint64{"p": 2000},
			[]move{fundLeg(0, "E", 1500), refundLeg(m, "E", 1500)}, []string{hit("p/CNY", 0)}},
		{"the funding a refund returned still counts", map[string]uint64{"p": 1000},
			[]move{fundLeg(0, "E", 100), refundLeg(m, "E", 100), mvXfer(2*m, "p", "q", 100), mvXfer(3*m, "p", "q", 100)}, []string{hit("p/CNY", 0, 2, 3)}},
		{"refunds into p are no transfers of p", map[string]uint64{"p": 1000},
			[]move{fundLeg(0, "E", 100), refundLeg(m, "E", 100), fundLeg(2*m, "E2", 100), refundLeg(3*m, "E2", 100)}, nil},
	})
}
