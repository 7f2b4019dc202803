package custody_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"pgregory.net/rapid"

	"github.com/jinlian-ledger/jinlian/contracts/custody"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
)

// TestCustodyProperty drives random sequences of create, propose, set
// signers, approve, veto, execute, funding and passing blocks (most of
// them invalid: wrong senders, unknown proposals, early executions,
// amounts beyond balances and limits) and checks after every step that
//   - a refused step changes nothing and fails with a registered error
//     (fixture.run);
//   - funds leave a custody account only by an executed proposal whose
//     approvers are at least threshold distinct signers of the account as
//     it was before the step, each payment the amount of such a proposal;
//   - no proposal executes twice; none executes expired, and none on a
//     time-locked account before its lock has run out;
//   - the custody invariants (CheckAccounts) and the payments supply
//     invariant hold.
func TestCustodyProperty(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		f := newFixture(rt)
		defer f.store.Close()
		people := append(slices.Clone(f.s), f.payee, f.outsider)
		var accounts []gmcrypto.Address
		executed := map[string]bool{}
		assets := []string{"CNY", "USD", "EUR"}

		for range rapid.IntRange(1, 80).Draw(rt, "steps") {
			// Draws are mostly valid, so that accounts fill and proposals
			// execute, and sometimes anything, so that refusals are tried.
			wild := func(label string) bool { return rapid.IntRange(0, 7).Draw(rt, label+" wild") == 0 }
			pick := func(label string) gmcrypto.Address {
				if len(accounts) == 0 || wild(label) {
					return addr(99)
				}
				return rapid.SampledFrom(accounts).Draw(rt, label)
			}
			acct := pick("account")
			sender := rapid.SampledFrom(people).Draw(rt, "sender")
			var pending []uint64
			if a, err := f.k.GetAccount(f.store, vault, acct); err == nil {
				if !wild("sender") {
					s, _ := gmcrypto.ParseAddress(rapid.SampledFrom(a.Signers).Draw(rt, "signer"))
					sender = s
				}
				for _, p := range f.proposals(acct) {
					pending = append(pending, p.ID)
				}
			}
			proposal := func() uint64 {
				if len(pending) == 0 || wild("proposal") {
					return rapid.Uint64Range(0, 6).Draw(rt, "proposal")
				}
				return rapid.SampledFrom(pending).Draw(rt, "proposal")
			}
			signerSet := func() ([][]byte, uint32) {
				if wild("signers") {
					ss := rapid.SliceOfN(rapid.SampledFrom(people), 0, 5).Draw(rt, "signers")
					return raw(ss...), uint32(rapid.IntRange(0, 5).Draw(rt, "threshold"))
				}
				ss := rapid.SliceOfNDistinct(rapid.SampledFrom(append(slices.Clone(f.s), f.payee)), 1, 5, rapid.ID[gmcrypto.Address]).Draw(rt, "signers")
				return raw(ss...), uint32(rapid.IntRange(1, len(ss)).Draw(rt, "threshold"))
			}

			// The state before the step, to judge what it did.
			type before struct {
				acct      custody.Account
				balances  map[string]uint64
				proposals map[uint64]custody.Proposal
			}
			state := map[gmcrypto.Address]before{}
			for _, a := range accounts {
				b := before{acct: mustAccount(f, a), balances: map[string]uint64{}, proposals: map[uint64]custody.Proposal{}}
				for _, as := range assets[:2] {
					b.balances[as] = f.balance(a, as)
				}
				for _, p := range f.proposals(a) {
					b.proposals[p.ID] = p
				}
				state[a] = b
			}

			var events []abci.Event
			var err error
			// 0 create, 1 propose, 2 set signers, 3 approve, 4 veto, 5 execute,
			// 6 pass blocks, 7 fund.
			switch op := rapid.SampledFrom([]int{0, 1, 1, 1, 2, 3, 3, 3, 3, 4, 5, 5, 6, 6, 7}).Draw(rt, "op"); op {
			case 0:
				signers, m := signerSet()
				c := &txpb.CustodyCreate{Signers: signers, Threshold: m,
					TimelockBlocks: rapid.Uint64Range(0, 4).Draw(rt, "timelock"), ExpiryBlocks: rapid.Uint64Range(0, 30).Draw(rt, "expiry")}
				if rapid.Bool().Draw(rt, "limited") {
					c.DailyLimits = []*txpb.CustodyLimit{{Asset: "CNY", Amount: rapid.Uint64Range(0, 400).Draw(rt, "limit")}}
				}
				var a gmcrypto.Address
				a, events, err = f.create(sender, c)
				if err == nil {
					accounts = append(accounts, a)
					must(rt, f.pay.Mint(f.store, vault, "CNY", a, 600))
					must(rt, f.pay.Mint(f.store, vault, "USD", a, 600))
				}
			case 1:
				to := rapid.SampledFrom(append(slices.Clone(people), accounts...)).Draw(rt, "to")
				asset := rapid.SampledFrom(assets[:2]).Draw(rt, "asset")
				if wild("asset") {
					asset = "EUR"
				}
				events, err = f.propose(sender, acct, asset, to, rapid.Uint64Range(0, 300).Draw(rt, "amount"))
			case 2:
				signers, m := signerSet()
				events, err = f.run(func(kv ledger.KV) ([]abci.Event, error) {
					return f.k.SetSigners(kv, f.env(), vault, sender, &txpb.CustodySetSigners{Account: acct.Bytes(), Signers: signers, Threshold: m})
				})
			case 3:
				id := proposal()
				if p, err := f.k.GetProposal(f.store, vault, acct, id); err == nil && !wild("approver") {
					a := mustAccount(f, acct)
					if left := slices.DeleteFunc(slices.Clone(a.Signers), func(s string) bool { return slices.Contains(p.Approvals, s) }); len(left) > 0 {
						sender, _ = gmcrypto.ParseAddress(rapid.SampledFrom(left).Draw(rt, "approver"))
					}
				}
				events, err = f.approve(sender, acct, id)
			case 4:
				events, err = f.veto(sender, acct, proposal())
			case 5:
				events, err = f.execute(sender, acct, proposal())
			case 6:
				n := rapid.Int64Range(1, 6).Draw(rt, "blocks")
				f.height += n
				f.now = f.now.Add(time.Duration(rapid.IntRange(0, 13).Draw(rt, "hours")) * time.Hour)
			case 7:
				if len(accounts) > 0 {
					must(rt, f.pay.Mint(f.store, vault, rapid.SampledFrom(assets[:2]).Draw(rt, "asset"), acct, rapid.Uint64Range(1, 500).Draw(rt, "amount")))
				}
			}
			_ = err

			// Every execution is justified by the state before it.
			paid := map[string]uint64{} // account/asset → paid by executions
			for _, x := range parsed[*txpb.EventCustodyExecuted](rt, events) {
				a, perr := gmcrypto.ParseAddress(x.Account)
				must(rt, perr)
				b, ok := state[a]
				if !ok {
					rt.Fatalf("execution on account %s that did not exist before", a)
				}
				key := fmt.Sprintf("%s/%d", x.Account, x.Proposal)
				if executed[key] {
					rt.Fatalf("proposal %s executed twice", key)
				}
				executed[key] = true
				approvers := strings.Split(x.Approvers, ",")
				if len(slices.Compact(slices.Sorted(slices.Values(approvers)))) != len(approvers) || len(approvers) < int(b.acct.Threshold) {
					rt.Fatalf("proposal %s executed with approvers %v, threshold %d", key, approvers, b.acct.Threshold)
				}
				for _, s := range approvers {
					if !b.acct.IsSigner(s) {
						rt.Fatalf("proposal %s approved by %s, not a signer of %v", key, s, b.acct.Signers)
					}
				}
				p, existed := b.proposals[x.Proposal]
				if b.acct.TimelockBlocks > 0 && (!existed || p.ReadyHeight == 0 || f.height < p.ReadyHeight+int64(b.acct.TimelockBlocks)) {
					rt.Fatalf("proposal %s executed at height %d before its time lock ran out (%+v)", key, f.height, p)
				}
				if existed && f.height >= p.ExpiryHeight {
					rt.Fatalf("proposal %s executed at height %d, expired at %d", key, f.height, p.ExpiryHeight)
				}
				if x.Kind == custody.KindTransfer {
					paid[x.Account+"/"+x.Asset] += x.Amount
				}
			}
			for _, a := range accounts {
				b, ok := state[a]
				if !ok {
					continue
				}
				for _, as := range assets[:2] {
					now := f.balance(a, as)
					if now < b.balances[as] && b.balances[as]-now != paid[a.String()+"/"+as] {
						rt.Fatalf("%s of %s fell from %d to %d, executions paid %d", as, a, b.balances[as], now, paid[a.String()+"/"+as])
					}
				}
			}
			f.checkInvariants()
		}
	})
}
