package receivables_test

import (
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/errs"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
)

// FuzzReceivableMessage feeds arbitrary bytes, decoded as a jinlian
// message the way a transaction's body is, to the receivables keeper, from
// each of the fixture's identities, some blocks after a confirmed
// receivable was split, part of it pledged and part offered to a bank: it
// must never panic nor fail with an unregistered error, and whatever it
// accepts leaves the receivables and supply invariants holding.
func FuzzReceivableMessage(f *testing.F) {
	fx := newFixture(f)
	id := fx.confirmed(1000, 1)
	pending, _, err := fx.register(fx.supplier, fx.terms(70, 2))
	must(f, err)
	for _, m := range []any{
		&txpb.ReceivableSplit{Receivable: id, Part: 1, Amounts: []uint64{500, 300, 200}},
		&txpb.ReceivablePledge{Receivable: id, Part: 3, Pledgee: fx.bank2.Bytes()},
		&txpb.ReceivableDiscountOffer{Receivable: id, Part: 2, Bank: fx.bank.Bytes(), Price: 480, ExpiryHeight: fx.height + 50},
	} {
		_, err := fx.do(fx.supplier, m)
		must(f, err)
	}
	for _, m := range []*txpb.Message{
		{Body: &txpb.Message_ReceivableRegister{ReceivableRegister: fx.terms(5, 3)}},
		{Body: &txpb.Message_ReceivableConfirm{ReceivableConfirm: &txpb.ReceivableConfirm{Receivable: pending}}},
		{Body: &txpb.Message_ReceivableSplit{ReceivableSplit: &txpb.ReceivableSplit{Receivable: id, Part: 4, Amounts: []uint64{100, 100}}}},
		{Body: &txpb.Message_ReceivableTransfer{ReceivableTransfer: &txpb.ReceivableTransfer{Receivable: id, Part: 2, To: fx.tier2.Bytes()}}},
		{Body: &txpb.Message_ReceivablePledge{ReceivablePledge: &txpb.ReceivablePledge{Receivable: id, Part: 4, Pledgee: fx.bank.Bytes()}}},
		{Body: &txpb.Message_ReceivableUnpledge{ReceivableUnpledge: &txpb.ReceivableUnpledge{Receivable: id, Part: 3}}},
		{Body: &txpb.Message_ReceivableDiscountOffer{ReceivableDiscountOffer: &txpb.ReceivableDiscountOffer{Receivable: id, Part: 4, Bank: fx.bank.Bytes(), Price: 1, ExpiryHeight: fx.height + 9}}},
		{Body: &txpb.Message_ReceivableDiscountAccept{ReceivableDiscountAccept: &txpb.ReceivableDiscountAccept{Receivable: id, Part: 2, Price: 480}}},
		{Body: &txpb.Message_ReceivableSettle{ReceivableSettle: &txpb.ReceivableSettle{Receivable: id, Amount: 333}}},
		{Body: &txpb.Message_ReceivableMarkOverdue{ReceivableMarkOverdue: &txpb.ReceivableMarkOverdue{Receivable: id}}},
	} {
		b, err := proto.Marshal(m)
		must(f, err)
		for i := range 7 {
			f.Add(b, uint8(i), uint8(0))
		}
		f.Add(b, uint8(0), uint8(120))
	}
	senders := []gmcrypto.Address{fx.payer, fx.supplier, fx.sup2, fx.tier2, fx.bank, fx.bank2, fx.outsider}
	fx.t = nil // each input reports to its own *testing.T below
	f.Fuzz(func(t *testing.T, body []byte, who, blocks uint8) {
		var m txpb.Message
		if proto.Unmarshal(body, &m) != nil {
			return
		}
		sender := senders[int(who)%len(senders)]
		env := fx.env()
		env.Height += int64(blocks)
		env.Time = env.Time.Add(fxMinutes(blocks))
		c := ledger.NewCache(fx.store)
		defer c.Discard()
		var err error
		switch b := m.Body.(type) {
		case *txpb.Message_ReceivableRegister:
			_, err = fx.k.Register(c, env, scf, sender, fmt.Sprintf("%064x", who), b.ReceivableRegister)
		case *txpb.Message_ReceivableConfirm:
			_, err = fx.exec(c, env, sender, b.ReceivableConfirm)
		case *txpb.Message_ReceivableSplit:
			_, err = fx.exec(c, env, sender, b.ReceivableSplit)
		case *txpb.Message_ReceivableTransfer:
			_, err = fx.exec(c, env, sender, b.ReceivableTransfer)
		case *txpb.Message_ReceivablePledge:
			_, err = fx.exec(c, env, sender, b.ReceivablePledge)
		case *txpb.Message_ReceivableUnpledge:
			_, err = fx.exec(c, env, sender, b.ReceivableUnpledge)
		case *txpb.Message_ReceivableDiscountOffer:
			_, err = fx.exec(c, env, sender, b.ReceivableDiscountOffer)
		case *txpb.Message_ReceivableDiscountAccept:
			_, err = fx.exec(c, env, sender, b.ReceivableDiscountAccept)
		case *txpb.Message_ReceivableSettle:
			_, err = fx.exec(c, env, sender, b.ReceivableSettle)
		case *txpb.Message_ReceivableMarkOverdue:
			_, err = fx.exec(c, env, sender, b.ReceivableMarkOverdue)
		default:
			return
		}
		if err != nil {
			if space, _, _ := errs.ABCIInfo(err); space == errs.Internal.Codespace() {
				t.Fatalf("unregistered error: %v", err)
			}
			return
		}
		checkInvariants(t, fx.k, fx.pay, c)
	})
}

func fxMinutes(n uint8) time.Duration { return time.Duration(n) * time.Minute }
