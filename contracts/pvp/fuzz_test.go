package pvp_test

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/jinlian-ledger/jinlian/contracts/pvp"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/errs"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
)

// FuzzPvpMessage feeds arbitrary bytes, decoded as a jinlian message the
// way a transaction's body is, to the pvp keeper, from each of the
// fixture's identities, against an open trade with leg A funded: it must
// never panic nor fail with an unregistered error, and whatever it accepts
// leaves the pvp and supply invariants holding.
func FuzzPvpMessage(f *testing.F) {
	fx := newFixture(f)
	id, _, err := fx.propose(fx.a, fx.terms(100, 200))
	must(f, err)
	_, err = fx.fund(fx.a, id, pvp.LegA)
	must(f, err)
	for _, m := range []*txpb.Message{
		{Body: &txpb.Message_PvpPropose{PvpPropose: fx.terms(5, 6)}},
		{Body: &txpb.Message_PvpFund{PvpFund: &txpb.PvpFund{Trade: id, Leg: pvp.LegB}}},
		{Body: &txpb.Message_PvpSettle{PvpSettle: &txpb.PvpSettle{Trade: id}}},
		{Body: &txpb.Message_PvpRefund{PvpRefund: &txpb.PvpRefund{Trade: id, Reason: "no"}}},
	} {
		b, err := proto.Marshal(m)
		must(f, err)
		for i := range 4 {
			f.Add(b, uint8(i), uint8(0))
		}
		f.Add(b, uint8(2), uint8(30))
	}
	senders := []gmcrypto.Address{fx.a, fx.a2, fx.b, fx.c, fx.outsider}
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
		switch b := m.Body.(type) {
		case *txpb.Message_PvpPropose:
			_, err = fx.k.Propose(c, env, sender, fmt.Sprintf("%064x", who), b.PvpPropose)
		case *txpb.Message_PvpFund:
			_, err = fx.k.Fund(c, env, sender, b.PvpFund)
		case *txpb.Message_PvpSettle:
			_, err = fx.k.Settle(c, env, sender, b.PvpSettle)
		case *txpb.Message_PvpRefund:
			_, err = fx.k.Refund(c, env, sender, b.PvpRefund)
		default:
			return
		}
		if err != nil {
			if space, _, _ := errs.ABCIInfo(err); space == errs.Internal.Codespace() {
				t.Fatalf("unregistered error: %v", err)
			}
			return
		}
		res, err := fx.k.CheckTrades(c)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if !r.Holds {
				t.Fatalf("pvp invariant broken: %+v", r)
			}
		}
		for _, l := range []string{onshore, offshore} {
			sup, err := fx.pay.CheckSupply(c, l)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range sup {
				if !r.Holds {
					t.Fatalf("supply invariant broken: %+v", r)
				}
			}
		}
	})
}
