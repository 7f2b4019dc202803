package app

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
)

func TestSanctionsBeforeOrdering(t *testing.T) {
	n := newGovNet(t, Params{})
	bad := n.payee
	sanction := &txpb.Message{Body: &txpb.Message_SetSanction{SetSanction: &txpb.SetSanction{Account: bad.Public().Address().Bytes(), Entry: "SDN-4711", Reason: "listed"}}}
	if r := n.check(n.sys(n.member, "bankB", sanction)); !strings.Contains(r.Log, "lacks role regulator") {
		t.Fatalf("non-regulator set a sanction: %q", r.Log)
	}
	n.mustOK(n.block(n.sys(n.regulator, "bankD", sanction)))
	r := n.check(n.tx(n.member, "bankB", "payments", transfer("CNY", bad, 1)))
	if r.Code != permission.ErrSanctioned.Code() || !strings.Contains(r.Log, "SDN-4711") {
		t.Fatalf("transfer to a sanctioned account: %d %q", r.Code, r.Log)
	}
	res := n.block(n.tx(n.member, "bankB", "payments", transfer("CNY", bad, 1)))
	if !strings.Contains(res[0].Log, "SDN-4711") {
		t.Fatalf("FinalizeBlock let it through: %q", res[0].Log)
	}
	unlist := &txpb.Message{Body: &txpb.Message_SetSanction{SetSanction: &txpb.SetSanction{Account: bad.Public().Address().Bytes(), Remove: true}}}
	n.mustOK(n.block(n.sys(n.regulator, "bankD", unlist)))
	n.mustOK(n.block(n.tx(n.member, "bankB", "payments", transfer("CNY", bad, 1))))
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
		c, err := SealConfidential(secret, readers)
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
	tx, err := DecodeTx(raw)
	if err != nil {
		t.Fatal(err)
	}
	c := tx.Msg.GetTransfer().Confidential
	for _, reader := range []*gmcrypto.PrivateKey{n.member, recipient, n.regulator} {
		got, err := OpenConfidential(c, reader)
		if err != nil || !bytes.Equal(got, secret) {
			t.Fatalf("reader %s: %q %v", reader.Public().Address(), got, err)
		}
	}
	if _, err := OpenConfidential(c, outsider); err == nil || !strings.Contains(err.Error(), "not a reader") {
		t.Fatalf("outsider decrypted: %v", err)
	}
	if _, err := OpenConfidential(c, escrow); err == nil {
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
		c, err := SealConfidential(secret, readers)
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
	if got, err := OpenConfidential(m.GetTransfer().Confidential, escrow); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("escrow key: %q %v", got, err)
	}
}
