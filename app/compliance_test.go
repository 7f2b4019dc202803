package app

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/contracts/payments"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// TestSanctionsAttemptsReachTheBlock: a transfer, issue or burn that only
// the sanctions list refuses passes CheckTx (saying so), reaches the block
// and fails there with ErrSanctioned, spending its id and changing no
// balance, so that observers see the attempt; one that is invalid for
// another reason too is refused in CheckTx with that reason; the check
// state keeps an admitted attempt's funds, so a sender cannot queue more
// attempts than its balance covers.
func TestSanctionsAttemptsReachTheBlock(t *testing.T) {
	sanctioned := permission.ErrSanctioned.Code()
	cases := []struct {
		name      string
		listPayee bool // else the member (the sender, 100 CNY) is listed
		txs       func(n *govNet) [][]byte
		wantCheck []uint32 // CheckTx code per tx (0 = admitted)
		wantBlock []uint32 // FinalizeBlock code of each admitted tx
	}{
		{"transfer to a listed account", true,
			func(n *govNet) [][]byte {
				return [][]byte{n.tx(n.member, "bankB", "payments", transfer("CNY", n.payee, 1))}
			},
			[]uint32{0}, []uint32{sanctioned}},
		{"transfer from a listed account", false,
			func(n *govNet) [][]byte {
				return [][]byte{n.tx(n.member, "bankB", "payments", transfer("CNY", n.payee, 100))}
			},
			[]uint32{0}, []uint32{sanctioned}},
		{"burn by a listed account", false,
			func(n *govNet) [][]byte { return [][]byte{n.tx(n.member, "bankB", "payments", burn("CNY", 1))} },
			[]uint32{0}, []uint32{sanctioned}},
		{"to a listed account, one above the balance: refused for the funds", true,
			func(n *govNet) [][]byte {
				return [][]byte{n.tx(n.member, "bankB", "payments", transfer("CNY", n.payee, 101))}
			},
			[]uint32{payments.ErrInsufficientFunds.Code()}, nil},
		{"issue to a listed account without the issuer role: refused for the role", true,
			func(n *govNet) [][]byte {
				return [][]byte{n.tx(n.member, "bankB", "payments", issue("CNY", n.payee, 1))}
			},
			[]uint32{permission.ErrUnauthorized.Code()}, nil},
		{"to a listed account, signed by an unregistered key: refused for the signer", true,
			func(n *govNet) [][]byte {
				return [][]byte{n.tx(mustKey(t), "bankB", "payments", transfer("CNY", n.payee, 1))}
			},
			[]uint32{permission.ErrUnauthorized.Code()}, nil},
		{"attempts queue only as far as the balance covers", true,
			func(n *govNet) [][]byte {
				return [][]byte{n.tx(n.member, "bankB", "payments", transfer("CNY", n.payee, 60)), n.tx(n.member, "bankB", "payments", transfer("CNY", n.payee, 40)),
					n.tx(n.member, "bankB", "payments", transfer("CNY", n.payee, 1))}
			},
			[]uint32{0, 0, payments.ErrInsufficientFunds.Code()}, []uint32{sanctioned, sanctioned}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := newGovNet(t, Params{})
			listed := n.member
			if c.listPayee {
				listed = n.payee
			}
			sanction := &txpb.Message{Body: &txpb.Message_SetSanction{SetSanction: &txpb.SetSanction{Account: listed.Public().Address().Bytes(),
				Entry: "SDN-4711", Reason: "listed", Source: "OFAC SDN 2026-03-01"}}}
			n.mustOK(n.block(n.sys(n.regulator, "bankD", sanction)))
			before := n.balance(n.member) + n.balance(n.payee)
			var admitted [][]byte
			for i, raw := range c.txs(n) {
				r := n.check(raw)
				if r.Code != c.wantCheck[i] {
					t.Fatalf("tx %d: CheckTx code %d (%s), want %d", i, r.Code, r.Log, c.wantCheck[i])
				}
				if r.Code == 0 {
					if !strings.Contains(r.Log, "sanctions attempt") || !strings.Contains(r.Log, "SDN-4711") {
						t.Fatalf("tx %d: admitted without saying why it will fail: %q", i, r.Log)
					}
					admitted = append(admitted, raw)
				}
			}
			if len(admitted) == 0 {
				return
			}
			res := n.block(admitted...)
			for i, r := range res {
				if r.Code != c.wantBlock[i] || r.Codespace != "permission" || !strings.Contains(r.Log, "SDN-4711") {
					t.Fatalf("tx %d in the block: code %d %s %q, want %d", i, r.Code, r.Codespace, r.Log, c.wantBlock[i])
				}
			}
			if after := n.balance(n.member) + n.balance(n.payee); after != before || n.balance(n.member) != 100 {
				t.Fatalf("an attempt moved funds: %d → %d", before, after)
			}
			// Its id is spent: the same bytes are refused as a replay.
			if r := n.check(admitted[0]); r.Code != ErrReplay.Code() {
				t.Fatalf("an attempt's bytes again: code %d %q, want a replay", r.Code, r.Log)
			}
		})
	}
	t.Run("unlisted, the transfer goes through", func(t *testing.T) {
		n := newGovNet(t, Params{})
		acct := n.payee.Public().Address().Bytes()
		n.mustOK(n.block(n.sys(n.regulator, "bankD", &txpb.Message{Body: &txpb.Message_SetSanction{SetSanction: &txpb.SetSanction{Account: acct, Entry: "SDN-4711"}}})))
		n.mustOK(n.block(n.sys(n.regulator, "bankD", &txpb.Message{Body: &txpb.Message_SetSanction{SetSanction: &txpb.SetSanction{Account: acct, Remove: true}}})))
		raw := n.tx(n.member, "bankB", "payments", transfer("CNY", n.payee, 1))
		if r := n.check(raw); r.Code != 0 || r.Log != "" {
			t.Fatalf("CheckTx: %d %q", r.Code, r.Log)
		}
		n.mustOK(n.block(raw))
	})
	t.Run("only a regulator sets a sanction, with its reason and source", func(t *testing.T) {
		n := newGovNet(t, Params{})
		m := &txpb.Message{Body: &txpb.Message_SetSanction{SetSanction: &txpb.SetSanction{Account: n.payee.Public().Address().Bytes(),
			Entry: "SDN-4711", Reason: "listed", Source: "OFAC SDN 2026-03-01"}}}
		if r := n.check(n.sys(n.member, "bankB", m)); !strings.Contains(r.Log, "lacks role regulator") {
			t.Fatalf("non-regulator set a sanction: %q", r.Log)
		}
		res := n.block(n.sys(n.regulator, "bankD", m))
		n.mustOK(res)
		v, _ := n.store.View(0)
		list, err := permission.Sanctions(v)
		if err != nil || len(list) != 1 || list[0].Reason != "listed" || list[0].Source != "OFAC SDN 2026-03-01" || list[0].By != n.regulator.Public().Address().String() {
			t.Fatalf("sanctions list %+v %v", list, err)
		}
		attrs := map[string]string{}
		for _, ev := range res[0].Events {
			if ev.Type == "sanction" {
				for _, a := range ev.Attributes {
					attrs[a.Key] = a.Value
				}
			}
		}
		if attrs["source"] != "OFAC SDN 2026-03-01" || attrs["reason"] != "listed" || attrs["entry"] != "SDN-4711" {
			t.Fatalf("sanction event %v", attrs)
		}
	})
}

func TestConfidentialPayload(t *testing.T) {
	n := newGovNet(t, Params{})
	escrow := mustKey(t) // the regulator's escrow key pair
	// The regulator's identity key registers the escrow key; its reader
	// address is the regulator identity, so it unwraps with that key.
	reg := &txpb.Message{Body: &txpb.Message_RegisterEscrowKey{RegisterEscrowKey: &txpb.RegisterEscrowKey{PublicKey: n.regulator.Public().Bytes()}}}
	n.mustOK(n.block(n.sys(n.regulator, "bankD", reg)))
	recipient, outsider := n.payee, mustKey(t)
	secret := []byte("invoice 2026-117: 1,000,000 CNY for 40t copper")

	send := func(readers ...*gmcrypto.PublicKey) []byte {
		c, err := wire.SealConfidential(secret, readers)
		if err != nil {
			t.Fatal(err)
		}
		m := transfer("CNY", recipient, 1)
		m.GetTransfer().Confidential = c
		return n.tx(n.member, "bankB", "payments", m)
	}
	if r := n.check(send(n.member.Public(), recipient.Public())); r.Code != ErrConfidential.Code() || !strings.Contains(r.Log, n.regulator.Public().Address().String()) {
		t.Fatalf("payload without the regulator's key: %d %q", r.Code, r.Log)
	}
	raw := send(n.member.Public(), recipient.Public(), n.regulator.Public())
	n.mustOK(n.block(raw))
	if bytes.Contains(raw, secret) || bytes.Contains(raw, secret[:16]) {
		t.Fatal("the stored transaction contains the plaintext")
	}
	tx, err := wire.DecodeTx(raw)
	if err != nil {
		t.Fatal(err)
	}
	c := tx.Msg.GetTransfer().Confidential
	for _, reader := range []*gmcrypto.PrivateKey{n.member, recipient, n.regulator} {
		got, err := wire.OpenConfidential(c, reader)
		if err != nil || !bytes.Equal(got, secret) {
			t.Fatalf("reader %s: %q %v", reader.Public().Address(), got, err)
		}
	}
	if _, err := wire.OpenConfidential(c, outsider); err == nil || !strings.Contains(err.Error(), "not a reader") {
		t.Fatalf("outsider decrypted: %v", err)
	}
	if _, err := wire.OpenConfidential(c, escrow); err == nil {
		t.Fatal("an unrelated key decrypted")
	}
}

func TestAMLThresholdOnChain(t *testing.T) {
	n := newGovNet(t, Params{})
	set := func(amount uint64) *txpb.Message {
		return &txpb.Message{Body: &txpb.Message_SetAmlThreshold{SetAmlThreshold: &txpb.SetAMLThreshold{Ledger: "payments", Asset: "CNY", LargeAmount: amount}}}
	}
	if r := n.check(n.sys(n.member, "bankB", set(5))); !strings.Contains(r.Log, "lacks role regulator") {
		t.Fatalf("member set a threshold: %q", r.Log)
	}
	unknown := &txpb.Message{Body: &txpb.Message_SetAmlThreshold{SetAmlThreshold: &txpb.SetAMLThreshold{Ledger: "payments", Asset: "EUR", LargeAmount: 5}}}
	if r := n.check(n.sys(n.regulator, "bankD", unknown)); !strings.Contains(r.Log, "unknown asset") {
		t.Fatalf("threshold of an unknown asset: %q", r.Log)
	}
	res := n.block(n.sys(n.regulator, "bankD", set(700)))
	if res[0].Code != 0 || res[0].Events[0].Type != "aml_threshold" {
		t.Fatalf("%+v", res[0])
	}
	r, _ := n.app.Query(context.Background(), &abci.RequestQuery{Path: QueryAML})
	var got []AMLThreshold
	_ = json.Unmarshal(r.Value, &got)
	if len(got) != 1 || got[0].LargeAmount != 700 || got[0].Asset != "CNY" {
		t.Fatalf("/aml_thresholds = %s", r.Value)
	}
	n.mustOK(n.block(n.sys(n.regulator, "bankD", set(0))))
	r, _ = n.app.Query(context.Background(), &abci.RequestQuery{Path: QueryAML})
	if string(r.Value) != "[]" {
		t.Fatalf("cleared threshold still listed: %s", r.Value)
	}
}

// TestConfidentialEscrowEvasion plays a sender who wants the recipient to
// read a confidential payload and the regulator not to. Validators cannot
// decrypt, but each of these is refused, in CheckTx and in a block, and the
// refused transfer moves nothing.
func TestConfidentialEscrowEvasion(t *testing.T) {
	n := newGovNet(t, Params{})
	escrow := mustKey(t) // a dedicated escrow key, not the regulator's identity key
	reg := &txpb.Message{Body: &txpb.Message_RegisterEscrowKey{RegisterEscrowKey: &txpb.RegisterEscrowKey{PublicKey: escrow.Public().Bytes()}}}
	n.mustOK(n.block(n.sys(n.regulator, "bankD", reg)))
	recipient := n.payee
	secret := []byte("side letter: the real price is 2,000,000 CNY")
	seal := func(readers ...*gmcrypto.PublicKey) *txpb.Confidential {
		c, err := wire.SealConfidential(secret, readers)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	honest := func() *txpb.Confidential { return seal(n.member.Public(), recipient.Public(), escrow.Public()) }
	decoy := seal(n.member.Public(), recipient.Public(), escrow.Public())
	attacker := mustKey(t)

	cases := []struct {
		name   string
		mutate func(c *txpb.Confidential)
		want   string
	}{
		{"escrow share garbage", func(c *txpb.Confidential) { c.Keys[2].Wrapped = bytes.Repeat([]byte{7}, gmcrypto.ShareSize) }, "share"},
		{"escrow share of another payload's key", func(c *txpb.Confidential) { c.Keys[2].Wrapped = decoy.Keys[2].Wrapped }, "not all of one key"},
		{"escrow share emptied", func(c *txpb.Confidential) { c.Keys[2].Wrapped = nil }, "share"},
		{"escrow entry dropped", func(c *txpb.Confidential) { c.Keys = c.Keys[:2] }, "escrow key of regulator"},
		{"escrow entry re-keyed to the attacker", func(c *txpb.Confidential) {
			c.Keys[2].PublicKey, c.Keys[2].Reader = attacker.Public().Bytes(), attacker.Public().Address().Bytes()
		}, "escrow key of regulator"},
		{"reader label not its key's address", func(c *txpb.Confidential) { c.Keys[2].Reader = n.regulator.Public().Address().Bytes() }, "its public key is of"},
		{"proof stripped", func(c *txpb.Confidential) { c.Proof = nil }, "proof"},
		{"ciphertext swapped after proving", func(c *txpb.Confidential) { c.Ciphertext = decoy.Ciphertext }, "not all of one key"},
	}
	v, _ := n.store.View(0)
	before, _ := n.app.payments.Balance(v, "payments", "CNY", recipient.Public().Address())
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := honest()
			tc.mutate(c)
			m := transfer("CNY", recipient, 1)
			m.GetTransfer().Confidential = c
			raw := n.tx(n.member, "bankB", "payments", m)
			if r := n.check(raw); r.Code != ErrConfidential.Code() || !strings.Contains(r.Log, tc.want) {
				t.Fatalf("CheckTx: code %d %q, want %d naming %q", r.Code, r.Log, ErrConfidential.Code(), tc.want)
			}
			if r := n.block(raw); r[0].Code != ErrConfidential.Code() {
				t.Fatalf("FinalizeBlock: code %d %q", r[0].Code, r[0].Log)
			}
		})
	}
	v, _ = n.store.View(0)
	if after, _ := n.app.payments.Balance(v, "payments", "CNY", recipient.Public().Address()); after != before {
		t.Fatalf("refused transfers moved money: %d → %d", before, after)
	}
	// The honest payload passes and the escrow key reads it.
	m := transfer("CNY", recipient, 1)
	m.GetTransfer().Confidential = honest()
	n.mustOK(n.block(n.tx(n.member, "bankB", "payments", m)))
	if got, err := wire.OpenConfidential(m.GetTransfer().Confidential, escrow); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("escrow key: %q %v", got, err)
	}
}
