package custody_test

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/errs"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
)

// FuzzCustodyMessage feeds arbitrary bytes, decoded as a jinlian message
// the way a transaction's body is, to the custody keeper, from each of the
// fixture's identities, against accounts with pending proposals: it must
// never panic nor fail with an unregistered error, and whatever it accepts
// leaves the custody and supply invariants holding.
func FuzzCustodyMessage(f *testing.F) {
	fx := newFixture(f)
	a := fx.account(3, 2, 0)
	tl := fx.account(3, 2, 3, &txpb.CustodyLimit{Asset: "CNY", Amount: 100})
	_, err := fx.propose(fx.s[0], a, "CNY", fx.payee, 10)
	must(f, err)
	_, err = fx.propose(fx.s[0], tl, "CNY", fx.payee, 10)
	must(f, err)
	_, err = fx.approve(fx.s[1], tl, 1)
	must(f, err)
	for _, m := range []*txpb.Message{
		{Body: &txpb.Message_CustodyCreate{CustodyCreate: &txpb.CustodyCreate{Signers: raw(fx.s[:3]...), Threshold: 2, TimelockBlocks: 1,
			DailyLimits: []*txpb.CustodyLimit{{Asset: "USD", Amount: 5}}}}},
		{Body: &txpb.Message_CustodyPropose{CustodyPropose: &txpb.CustodyPropose{Account: a.Bytes(), Asset: "CNY", To: fx.payee.Bytes(), Amount: 7}}},
		{Body: &txpb.Message_CustodyApprove{CustodyApprove: &txpb.CustodyApprove{Account: a.Bytes(), Proposal: 1}}},
		{Body: &txpb.Message_CustodyVeto{CustodyVeto: &txpb.CustodyVeto{Account: tl.Bytes(), Proposal: 1}}},
		{Body: &txpb.Message_CustodyExecute{CustodyExecute: &txpb.CustodyExecute{Account: tl.Bytes(), Proposal: 1}}},
		{Body: &txpb.Message_CustodySetSigners{CustodySetSigners: &txpb.CustodySetSigners{Account: a.Bytes(), Signers: raw(fx.s[1:3]...), Threshold: 1}}},
	} {
		b, err := proto.Marshal(m)
		must(f, err)
		for i := range fx.s {
			f.Add(b, uint8(i), uint8(0))
		}
		f.Add(b, uint8(0), uint8(4))
	}
	senders := append(append([]gmcrypto.Address{}, fx.s...), fx.payee, fx.outsider)
	fx.t = nil // each input reports to its own *testing.T below
	f.Fuzz(func(t *testing.T, body []byte, who, blocks uint8) {
		var m txpb.Message
		if proto.Unmarshal(body, &m) != nil {
			return
		}
		sender := senders[int(who)%len(senders)]
		env := fx.env()
		env.Height += int64(blocks)
		c := ledger.NewCache(fx.store)
		defer c.Discard()
		var err error
		txID := fmt.Sprintf("%064x", who)
		switch b := m.Body.(type) {
		case *txpb.Message_CustodyCreate:
			_, err = fx.k.Create(c, env, vault, sender, txID, b.CustodyCreate)
		case *txpb.Message_CustodyPropose:
			_, err = fx.k.Propose(c, env, vault, sender, b.CustodyPropose)
		case *txpb.Message_CustodyApprove:
			_, err = fx.k.Approve(c, env, vault, sender, b.CustodyApprove)
		case *txpb.Message_CustodyVeto:
			_, err = fx.k.Veto(c, env, vault, sender, b.CustodyVeto)
		case *txpb.Message_CustodyExecute:
			_, err = fx.k.Execute(c, env, vault, sender, b.CustodyExecute)
		case *txpb.Message_CustodySetSigners:
			_, err = fx.k.SetSigners(c, env, vault, sender, b.CustodySetSigners)
		default:
			return
		}
		if err != nil {
			if space, _, _ := errs.ABCIInfo(err); space == errs.Internal.Codespace() {
				t.Fatalf("unregistered error: %v", err)
			}
			return
		}
		res, err := fx.k.CheckAccounts(c, vault)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if !r.Holds {
				t.Fatalf("custody invariant broken: %+v", r)
			}
		}
		sup, err := fx.pay.CheckSupply(c, vault)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range sup {
			if !r.Holds {
				t.Fatalf("supply invariant broken: %+v", r)
			}
		}
	})
}
