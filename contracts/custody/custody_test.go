package custody_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/contracts/custody"
	"github.com/jinlian-ledger/jinlian/contracts/payments"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
)

func TestAccountAddress(t *testing.T) {
	id := strings.Repeat("ab", 32)
	a, err := custody.AccountAddress("vault", id)
	must(t, err)
	b, _ := custody.AccountAddress("vault", id)
	c, _ := custody.AccountAddress("vault2", id)
	d, _ := custody.AccountAddress("vault", strings.Repeat("ac", 32))
	if a != b || a == c || a == d {
		t.Fatalf("addresses %s %s %s %s: want one per (ledger, tx id)", a, b, c, d)
	}
	// Pinned: the derivation is part of the protocol (docs/custody.md).
	h := gmcrypto.SM3([]byte("jinlian/custody/v1\x00vault\x00"), mustHex(id))
	if !slices.Equal(a[:], h[:20]) {
		t.Fatalf("address %s, want the first 20 bytes of %x", a, h)
	}
	if _, err := custody.AccountAddress("vault", "xyz"); err == nil {
		t.Fatal("a malformed tx id gave an address")
	}
}

func mustHex(s string) []byte {
	var out []byte
	for i := 0; i < len(s); i += 2 {
		var b byte
		for _, c := range s[i : i+2] {
			b = b<<4 | byte(strings.IndexRune("0123456789abcdef", c))
		}
		out = append(out, b)
	}
	return out
}

func TestDay(t *testing.T) {
	for _, tc := range []struct {
		at   time.Time
		want int64
	}{
		{time.Unix(0, 0), 0},
		{time.Unix(86399, 0), 0},
		{time.Unix(86400, 0), 1},
		{time.Unix(-1, 0), -1},
		{time.Date(2026, 3, 1, 23, 59, 59, 0, time.FixedZone("CST", 8*3600)), custody.Day(time.Date(2026, 3, 1, 15, 59, 59, 0, time.UTC))},
	} {
		if got := custody.Day(tc.at); got != tc.want {
			t.Errorf("Day(%s) = %d, want %d", tc.at, got, tc.want)
		}
	}
}

// Two of three, no time lock: the proposal is the first approval, the
// second executes it; the events say who approved and the transfer carries
// the balances after it.
func TestTwoOfThreeExecutesOnSecondApproval(t *testing.T) {
	f := newFixture(t)
	a := f.account(3, 2, 0)
	ev, err := f.propose(f.s[0], a, "CNY", f.payee, 300)
	must(t, err)
	if got := types(ev); !slices.Equal(got, []string{"custody_proposed", "custody_approved"}) {
		t.Fatalf("propose events %v", got)
	}
	if f.balance(a, "CNY") != 1000 {
		t.Fatal("funds moved on one approval")
	}
	ps := f.proposals(a)
	if len(ps) != 1 || ps[0].ID != 1 || ps[0].Status(mustAccount(f, a), f.height) != custody.StatusAwaiting {
		t.Fatalf("pending %+v", ps)
	}
	f.advance(1)
	ev, err = f.approve(f.s[2], a, 1)
	must(t, err)
	if got := types(ev); !slices.Equal(got, []string{"custody_approved", "transfer", "custody_executed"}) {
		t.Fatalf("approve events %v", got)
	}
	x := parsed[*txpb.EventCustodyExecuted](t, ev)[0]
	if x.Approvers != f.s[0].String()+","+f.s[2].String() || x.Executor != f.s[2].String() || x.Amount != 300 || x.To != f.payee.String() {
		t.Fatalf("executed event %+v", x)
	}
	tr := parsed[*txpb.EventTransfer](t, ev)[0]
	if tr.From != a.String() || tr.FromBalance != 700 || tr.ToBalance != 300 {
		t.Fatalf("transfer event %+v", tr)
	}
	if f.balance(a, "CNY") != 700 || f.balance(f.payee, "CNY") != 300 || len(f.proposals(a)) != 0 {
		t.Fatal("not executed")
	}
	f.checkInvariants()
}

func mustAccount(f *fixture, a gmcrypto.Address) custody.Account {
	acc, err := f.k.GetAccount(f.store, vault, a)
	must(f.t, err)
	return acc
}

// With a time lock, the approvals make the proposal ready; it executes
// only once the lock has run out, by anyone; until then any signer may
// veto it.
func TestTimeLock(t *testing.T) {
	f := newFixture(t)
	a := f.account(3, 2, 5)
	_, err := f.propose(f.s[1], a, "CNY", f.payee, 100)
	must(t, err)
	f.advance(2)
	ev, err := f.approve(f.s[0], a, 1)
	must(t, err)
	ready := f.height
	if ap := parsed[*txpb.EventCustodyApproved](t, ev)[0]; ap.ExecutableHeight != ready+5 || ap.Approvals != 2 {
		t.Fatalf("approved event %+v", ap)
	}
	// A third approval is still welcome; it does not move the lock.
	_, err = f.approve(f.s[2], a, 1)
	must(t, err)
	f.advance(4)
	if _, err := f.execute(f.payee, a, 1); !errors.Is(err, custody.ErrTimeLocked) || !strings.Contains(err.Error(), "executes from height") {
		t.Fatalf("execute in the lock: %v", err)
	}
	f.advance(1)
	ev, err = f.execute(f.payee, a, 1) // anyone: not a signer
	must(t, err)
	if x := parsed[*txpb.EventCustodyExecuted](t, ev)[0]; x.Executor != f.payee.String() || strings.Count(x.Approvers, ",") != 2 {
		t.Fatalf("executed %+v", x)
	}
	if _, err := f.execute(f.payee, a, 1); !errors.Is(err, custody.ErrUnknownProposal) {
		t.Fatalf("second execution: %v", err)
	}
	if f.balance(f.payee, "CNY") != 100 {
		t.Fatal("paid twice or not at all")
	}

	// Veto during the lock, and before the approvals are in.
	_, err = f.propose(f.s[1], a, "CNY", f.payee, 100)
	must(t, err)
	_, err = f.approve(f.s[2], a, 2)
	must(t, err)
	f.advance(3)
	ev, err = f.veto(f.s[0], a, 2)
	must(t, err)
	if c := parsed[*txpb.EventCustodyClosed](t, ev)[0]; c.Status != custody.StatusVetoed || c.By != f.s[0].String() || c.Reason != "not ours" {
		t.Fatalf("closed %+v", c)
	}
	_, err = f.propose(f.s[1], a, "CNY", f.payee, 100)
	must(t, err)
	_, err = f.veto(f.s[1], a, 3) // its own proposer changes its mind
	must(t, err)
	if len(f.proposals(a)) != 0 || f.balance(f.payee, "CNY") != 100 {
		t.Fatal("vetoed proposals remain or paid")
	}
	f.checkInvariants()
}

// One of N without a time lock is single control: the proposal executes.
func TestThresholdOneExecutesOnProposal(t *testing.T) {
	f := newFixture(t)
	a := f.account(2, 1, 0)
	ev, err := f.propose(f.s[1], a, "USD", f.payee, 10)
	must(t, err)
	if got := types(ev); !slices.Equal(got, []string{"custody_proposed", "custody_approved", "transfer", "custody_executed"}) {
		t.Fatalf("events %v", got)
	}
	if f.balance(f.payee, "USD") != 10 {
		t.Fatal("not paid")
	}
}

// A signer change is a proposal like a payment; executing it closes the
// account's other pending proposals and the new set governs from then on.
func TestSetSigners(t *testing.T) {
	f := newFixture(t)
	a := f.account(3, 2, 0)
	_, err := f.propose(f.s[0], a, "CNY", f.payee, 5)
	must(t, err)
	_, err = f.setSigners(f.s[0], a, 2, f.s[2], f.s[3])
	must(t, err)
	ev, err := f.approve(f.s[1], a, 2)
	must(t, err)
	if got := types(ev); !slices.Equal(got, []string{"custody_approved", "custody_closed", "custody_executed"}) {
		t.Fatalf("events %v", got)
	}
	if c := parsed[*txpb.EventCustodyClosed](t, ev)[0]; c.Proposal != 1 || c.Status != custody.StatusSuperseded {
		t.Fatalf("closed %+v", c)
	}
	acc := mustAccount(f, a)
	if !slices.Equal(acc.Signers, sortedStrings(f.s[2], f.s[3])) || acc.Threshold != 2 || len(f.proposals(a)) != 0 {
		t.Fatalf("account after the change %+v", acc)
	}
	if _, err := f.propose(f.s[0], a, "CNY", f.payee, 5); !errors.Is(err, custody.ErrNotSigner) {
		t.Fatalf("old signer proposes: %v", err)
	}
	_, err = f.propose(f.s[3], a, "CNY", f.payee, 5)
	must(t, err)
	_, err = f.approve(f.s[2], a, 3)
	must(t, err)
	if f.balance(f.payee, "CNY") != 5 {
		t.Fatal("new signers could not pay")
	}
	f.checkInvariants()
}

// A signer change is checked again when it executes: a new signer that
// left the ledger meanwhile makes it fail, and nothing changes.
func TestSetSignersRecheckedAtExecution(t *testing.T) {
	f := newFixture(t)
	a := f.account(2, 2, 0)
	_, err := f.setSigners(f.s[0], a, 2, f.s[0], f.s[3])
	must(t, err)
	must(t, permission.SetIdentity(f.store, permission.Identity{Address: f.s[3].String(), Org: "bankC"})) // no member role now
	if _, err := f.approve(f.s[1], a, 1); !errors.Is(err, custody.ErrUnknownSigner) || !strings.Contains(err.Error(), f.s[3].String()) {
		t.Fatalf("approve a change to a signer that left: %v", err)
	}
	if acc := mustAccount(f, a); !slices.Equal(acc.Signers, sortedStrings(f.s[0], f.s[1])) || len(f.proposals(a)[0].Approvals) != 1 {
		t.Fatalf("account changed: %+v", acc)
	}
}

func sortedStrings(as ...gmcrypto.Address) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	slices.Sort(out)
	return out
}

// Daily limits count the UTC day of the block time: the second payment of
// a day above the limit waits for the next day.
func TestDailyLimit(t *testing.T) {
	f := newFixture(t)
	a := f.account(2, 1, 0, &txpb.CustodyLimit{Asset: "CNY", Amount: 100})
	_, err := f.propose(f.s[0], a, "CNY", f.payee, 70)
	must(t, err)
	if _, err := f.propose(f.s[0], a, "CNY", f.payee, 31); !errors.Is(err, custody.ErrDailyLimit) || !strings.Contains(err.Error(), "paid 70 CNY today") {
		t.Fatalf("over the day's limit: %v", err)
	}
	_, err = f.propose(f.s[0], a, "CNY", f.payee, 30) // exactly the limit
	must(t, err)
	_, err = f.propose(f.s[0], a, "USD", f.payee, 500) // no limit on USD
	must(t, err)
	acc := mustAccount(f, a)
	if spent, _ := f.k.Spent(f.store, vault, a, "CNY", custody.Day(f.now)); spent != 100 || acc.DailyLimits[0].Amount != 100 {
		t.Fatalf("spent %d", spent)
	}
	f.now = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) // the next UTC day
	f.height++
	_, err = f.propose(f.s[0], a, "CNY", f.payee, 100)
	must(t, err)
	f.checkInvariants()
}

// Expired proposals cannot be approved or executed; the account's next
// proposal removes them (custody_closed, status expired).
func TestExpiry(t *testing.T) {
	f := newFixture(t)
	a, _, err := f.create(f.s[0], &txpb.CustodyCreate{Signers: raw(f.s[:3]...), Threshold: 2, TimelockBlocks: 2, ExpiryBlocks: 10})
	must(t, err)
	must(t, f.pay.Mint(f.store, vault, "CNY", a, 1000))
	_, err = f.propose(f.s[0], a, "CNY", f.payee, 1)
	must(t, err)
	_, err = f.propose(f.s[0], a, "CNY", f.payee, 2)
	must(t, err)
	f.advance(8)
	_, err = f.approve(f.s[1], a, 2) // ready at +8, executable at +10 = expiry
	must(t, err)
	f.advance(2)
	if _, err := f.approve(f.s[2], a, 1); !errors.Is(err, custody.ErrProposalExpired) {
		t.Fatalf("approve expired: %v", err)
	}
	if _, err := f.execute(f.s[2], a, 2); !errors.Is(err, custody.ErrProposalExpired) {
		t.Fatalf("execute expired: %v", err)
	}
	ev, err := f.propose(f.s[1], a, "CNY", f.payee, 3)
	must(t, err)
	closed := parsed[*txpb.EventCustodyClosed](t, ev)
	if len(closed) != 2 || closed[0].Status != custody.StatusExpired || closed[1].Proposal != 2 {
		t.Fatalf("closed %+v", closed)
	}
	if ps := f.proposals(a); len(ps) != 1 || ps[0].ID != 3 {
		t.Fatalf("pending %+v", ps)
	}
	f.checkInvariants()
}

// Every refusal is a registered error naming its cause, and changes
// nothing (fixture.run compares the ledgers before and after).
func TestRefusals(t *testing.T) {
	f := newFixture(t)
	a := f.account(3, 2, 0)                                                // s0 s1 s2, 2 of 3
	tl := f.account(3, 2, 5, &txpb.CustodyLimit{Asset: "CNY", Amount: 50}) // time-locked, limited
	stranger := addr(99)
	// Pending: a/1 (s0), tl/1 ready and locked, tl/2 awaiting.
	_, err := f.propose(f.s[0], a, "CNY", f.payee, 10)
	must(t, err)
	_, err = f.propose(f.s[0], tl, "CNY", f.payee, 10)
	must(t, err)
	_, err = f.approve(f.s[1], tl, 1)
	must(t, err)
	_, err = f.propose(f.s[0], tl, "CNY", f.payee, 20)
	must(t, err)
	dupID := f.nextTxID()
	_, err = f.run(func(kv ledger.KV) ([]abci.Event, error) {
		return f.k.Create(kv, f.env(), vault, f.s[0], dupID, &txpb.CustodyCreate{Signers: raw(f.s[:2]...), Threshold: 2})
	})
	must(t, err)
	create := func(m *txpb.CustodyCreate) func() error {
		return func() error { _, _, err := f.create(f.s[0], m); return err }
	}
	three := raw(f.s[:3]...)
	tooMany := make([][]byte, custody.MaxSigners+1)
	for i := range tooMany {
		tooMany[i] = addr(100 + i).Bytes()
	}

	for _, tc := range []struct {
		name string
		op   func() error
		want error
		says string
	}{
		{"create without signers", create(&txpb.CustodyCreate{Threshold: 1}), custody.ErrInvalidAccount, "0 signers"},
		{"create with too many signers", create(&txpb.CustodyCreate{Signers: tooMany, Threshold: 2}), custody.ErrInvalidAccount, "33 signers"},
		{"create with a malformed signer", create(&txpb.CustodyCreate{Signers: [][]byte{{1, 2}}, Threshold: 1}), custody.ErrInvalidAccount, "signer 1"},
		{"create with threshold 0", create(&txpb.CustodyCreate{Signers: three}), custody.ErrInvalidThreshold, "threshold 0 of 3"},
		{"create with threshold above the signers", create(&txpb.CustodyCreate{Signers: three, Threshold: 4}), custody.ErrInvalidThreshold, "threshold 4 of 3"},
		{"create with a signer twice", create(&txpb.CustodyCreate{Signers: raw(f.s[0], f.s[1], f.s[0]), Threshold: 2}), custody.ErrDuplicateSigner, f.s[0].String()},
		{"create with an unregistered signer", create(&txpb.CustodyCreate{Signers: raw(f.s[0], stranger), Threshold: 2}), custody.ErrUnknownSigner, stranger.String()},
		{"create with a signer of a non-member organisation", create(&txpb.CustodyCreate{Signers: raw(f.s[0], f.outsider), Threshold: 2}), custody.ErrUnknownSigner, "bankD"},
		{"create with a custody account as signer", create(&txpb.CustodyCreate{Signers: raw(f.s[0], a), Threshold: 2}), custody.ErrUnknownSigner, a.String()},
		{"create with a time lock as long as the expiry", create(&txpb.CustodyCreate{Signers: three, Threshold: 2, TimelockBlocks: 1000}), custody.ErrInvalidAccount, "could ever execute"},
		{"create with an expiry too long", create(&txpb.CustodyCreate{Signers: three, Threshold: 2, ExpiryBlocks: custody.MaxExpiryBlocks + 1}), custody.ErrInvalidAccount, "at most"},
		{"create with a zero limit", create(&txpb.CustodyCreate{Signers: three, Threshold: 2, DailyLimits: []*txpb.CustodyLimit{{Asset: "CNY"}}}), custody.ErrInvalidAccount, "daily limit of CNY is 0"},
		{"create with two limits of an asset", create(&txpb.CustodyCreate{Signers: three, Threshold: 2, DailyLimits: []*txpb.CustodyLimit{{Asset: "CNY", Amount: 1}, {Asset: "CNY", Amount: 2}}}), custody.ErrInvalidAccount, "two daily limits"},
		{"create with a limit of an unknown asset", create(&txpb.CustodyCreate{Signers: three, Threshold: 2, DailyLimits: []*txpb.CustodyLimit{{Asset: "CYN", Amount: 1}}}), payments.ErrUnknownAsset, "CYN"},
		{"create with a long memo", create(&txpb.CustodyCreate{Signers: three, Threshold: 2, Memo: strings.Repeat("m", 257)}), custody.ErrInvalidAccount, "memo"},
		{"create twice with one tx", func() error {
			_, err := f.run(func(kv ledger.KV) ([]abci.Event, error) {
				return f.k.Create(kv, f.env(), vault, f.s[0], dupID, &txpb.CustodyCreate{Signers: three, Threshold: 2})
			})
			return err
		}, custody.ErrInvalidAccount, "already exists"},

		{"propose on an unknown account", func() error { _, err := f.propose(f.s[0], stranger, "CNY", f.payee, 1); return err }, custody.ErrUnknownAccount, stranger.String()},
		{"propose on a malformed account", func() error {
			_, err := f.run(func(kv ledger.KV) ([]abci.Event, error) {
				return f.k.Propose(kv, f.env(), vault, f.s[0], &txpb.CustodyPropose{Account: []byte{1}, Asset: "CNY", To: f.payee.Bytes(), Amount: 1})
			})
			return err
		}, custody.ErrUnknownAccount, "account"},
		{"propose by a non-signer", func() error { _, err := f.propose(f.s[3], a, "CNY", f.payee, 1); return err }, custody.ErrNotSigner, f.s[3].String()},
		{"propose zero", func() error { _, err := f.propose(f.s[0], a, "CNY", f.payee, 0); return err }, custody.ErrInvalidProposal, "positive"},
		{"propose to itself", func() error { _, err := f.propose(f.s[0], a, "CNY", a, 1); return err }, custody.ErrInvalidProposal, "pay itself"},
		{"propose to an unregistered address", func() error { _, err := f.propose(f.s[0], a, "CNY", stranger, 1); return err }, permission.ErrUnknownPayee, stranger.String()},
		{"propose to a non-member's identity", func() error { _, err := f.propose(f.s[0], a, "CNY", f.outsider, 1); return err }, permission.ErrUnknownPayee, "bankD"},
		{"propose an unknown asset", func() error { _, err := f.propose(f.s[0], a, "EUR", f.payee, 1); return err }, payments.ErrUnknownAsset, "EUR"},
		{"propose above the daily limit", func() error { _, err := f.propose(f.s[0], tl, "CNY", f.payee, 51); return err }, custody.ErrDailyLimit, "could never execute"},
		{"propose with a malformed recipient", func() error {
			_, err := f.run(func(kv ledger.KV) ([]abci.Event, error) {
				return f.k.Propose(kv, f.env(), vault, f.s[0], &txpb.CustodyPropose{Account: a.Bytes(), Asset: "CNY", To: []byte{7}, Amount: 1})
			})
			return err
		}, custody.ErrInvalidProposal, "recipient"},

		{"approve twice", func() error { _, err := f.approve(f.s[0], a, 1); return err }, custody.ErrAlreadyApproved, "already approved proposal 1"},
		{"approve by a non-signer", func() error { _, err := f.approve(f.s[3], a, 1); return err }, custody.ErrNotSigner, "not a signer"},
		{"approve an unknown proposal", func() error { _, err := f.approve(f.s[1], a, 9); return err }, custody.ErrUnknownProposal, "no pending proposal 9"},
		{"approve that cannot pay: held", func() error {
			f.mayNotSend = a
			defer func() { f.mayNotSend = gmcrypto.Address{} }()
			_, err := f.approve(f.s[1], a, 1)
			return err
		}, permission.ErrHeld, a.String()},

		{"veto by a non-signer", func() error { _, err := f.veto(f.payee, tl, 1); return err }, custody.ErrNotSigner, "not a signer"},
		{"veto an unknown proposal", func() error { _, err := f.veto(f.s[0], tl, 7); return err }, custody.ErrUnknownProposal, "no pending proposal 7"},
		{"veto after the time lock", func() error {
			f.advance(5)
			defer func() { f.height -= 5 }()
			_, err := f.veto(f.s[2], tl, 1)
			return err
		}, custody.ErrVetoTooLate, "executable since height"},

		{"execute without the approvals", func() error { _, err := f.execute(f.payee, tl, 2); return err }, custody.ErrNotApproved, "1 of the 2 approvals"},
		{"execute in the time lock", func() error { _, err := f.execute(f.payee, tl, 1); return err }, custody.ErrTimeLocked, "time lock of 5 blocks"},
		{"execute on an unknown account", func() error { _, err := f.execute(f.payee, stranger, 1); return err }, custody.ErrUnknownAccount, stranger.String()},

		{"set the same signers", func() error { _, err := f.setSigners(f.s[1], a, 2, f.s[2], f.s[1], f.s[0]); return err }, custody.ErrInvalidProposal, "already has these signers"},
		{"set signers twice over", func() error { _, err := f.setSigners(f.s[1], a, 1, f.s[2], f.s[2]); return err }, custody.ErrDuplicateSigner, "twice"},
		{"set a threshold above the signers", func() error { _, err := f.setSigners(f.s[1], a, 3, f.s[2], f.s[1]); return err }, custody.ErrInvalidThreshold, "threshold 3 of 2"},
		{"set an outsider as signer", func() error { _, err := f.setSigners(f.s[1], a, 1, f.outsider); return err }, custody.ErrUnknownSigner, "bankD"},
		{"set signers by a non-signer", func() error { _, err := f.setSigners(f.s[3], a, 1, f.s[3]); return err }, custody.ErrNotSigner, "not a signer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.dump()
			err := tc.op()
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("got %v, want %v naming %q", err, tc.want, tc.says)
			}
			if !slices.Equal(before, f.dump()) {
				t.Fatal("the refusal changed state")
			}
		})
	}
	f.checkInvariants()
}
