package regulator

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// TestSanctionsAttemptAlerts: a refused transaction naming a listed
// account raises one sanctions_attempt alert per transaction and listed
// account, naming sender, target, amount and height; an executed one
// raises "sanctioned"; nothing is raised for unlisted or delisted accounts.
func TestSanctionsAttemptAlerts(t *testing.T) {
	eng := onlyRule(t, "[sanctions]\nlookback = \"0s\"\n")
	at := dedupeStart
	refused := func(id, from, to string, amount uint64) Tx {
		return Tx{ID: id, Ledger: "payments", Sender: from, Org: "bankA", Type: "transfer", Parties: []string{from, to},
			Asset: "CNY", Amount: amount, Code: 10, Codespace: "permission", Log: "sanctioned account: account is on the sanctions list"}
	}
	executed := func(id, from, to string, amount uint64) Tx {
		tx := refused(id, from, to, amount)
		tx.Code, tx.Codespace, tx.Log = 0, "", ""
		tx.Movements = []Movement{{Kind: KindTransfer, Ledger: "payments", Asset: "CNY", From: from, To: to, Amount: amount}}
		return tx
	}
	kind := func(tx Tx, typ string) Tx {
		tx.Type = typ
		if tx.Parties[1] == "" {
			tx.Parties = tx.Parties[:1] // a burn names its sender only
		}
		return tx
	}
	delist := Tx{ID: "delist", Ledger: "_system", Sender: "reg", Org: "regulator", Type: "set_sanction", Parties: []string{"reg"},
		Sanctions: []SanctionChange{{Account: "bad", Entry: "SDN-1", Removed: true}}}
	cases := []struct {
		name   string
		blocks [][]Tx
		want   []string // rule subject tx, per alert
		reason []string // each alert's reason contains these
	}{
		{"refused transfer to a listed account", [][]Tx{{refused("a1", "src", "bad", 5000)}},
			[]string{"sanctions_attempt bad a1"}, []string{"transfer of 5000 CNY on payments from src to bad at height 1", "code 10 permission", "entry SDN-1 of OFAC SDN 2026-03-01"}},
		{"refused transfer from a listed account", [][]Tx{{refused("a2", "bad", "q", 1)}},
			[]string{"sanctions_attempt bad a2"}, []string{"from bad to q"}},
		{"one alert per attempt", [][]Tx{{refused("a3", "src", "bad", 1), refused("a4", "src", "bad", 1)}},
			[]string{"sanctions_attempt bad a3", "sanctions_attempt bad a4"}, nil},
		{"an executed transaction naming a listed account", [][]Tx{{executed("e1", "src", "bad", 7)}},
			[]string{"sanctioned bad e1"}, []string{"(executed)"}},
		{"refused issue to a listed account", [][]Tx{{kind(refused("i1", "src", "bad", 9000), "issue")}},
			[]string{"sanctions_attempt bad i1"}, []string{"attempted issue of 9000 CNY on payments from src to bad"}},
		{"refused burn by a listed account", [][]Tx{{kind(refused("b1", "bad", "", 300), "burn")}},
			[]string{"sanctions_attempt bad b1"}, []string{"attempted burn of 300 CNY on payments from bad to -"}},
		{"a refused transfer between unlisted accounts", [][]Tx{{refused("n1", "src", "q", 1)}}, nil, nil},
		{"delisted the block before", [][]Tx{{delist}, {refused("n2", "src", "bad", 1)}}, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := tableGenesis()
			g.Sanctions = []SanctionChange{{Account: "bad", Entry: "SDN-1", Reason: "listed", Source: "OFAC SDN 2026-03-01"}}
			var blocks []*Block
			for i, txs := range c.blocks {
				b := &Block{Height: int64(i + 1), Time: at.Add(time.Duration(i) * time.Minute)}
				for j, tx := range txs {
					tx.Index = j
					b.Txs = append(b.Txs, tx)
				}
				blocks = append(blocks, b)
			}
			alerts, _ := applyAll(t, g, blocks, eng)
			var got []string
			for _, a := range alerts {
				got = append(got, a.Rule+" "+a.Subject+" "+strings.Join(a.TxIDs, ","))
				for _, r := range c.reason {
					if !strings.Contains(a.Reason, r) {
						t.Errorf("reason %q does not say %q", a.Reason, r)
					}
				}
			}
			if strings.Join(got, "; ") != strings.Join(c.want, "; ") {
				t.Fatalf("alerts %v, want %v", got, c.want)
			}
		})
	}
}

// TestDecodeRefusedTransfer: a transfer the block refused still tells the
// observer who tried to pay whom, what and how much.
func TestDecodeRefusedTransfer(t *testing.T) {
	k, err := gmcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	to, err := gmcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	raw, id, err := wire.BuildTx(wire.Signer{Key: k, MSPID: "bankB"}, "c", "payments", time.Now(),
		&txpb.Message{Body: &txpb.Message_Transfer{Transfer: &txpb.Transfer{Asset: "CNY", To: to.Public().Address().Bytes(), Amount: 4711}}})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := DecodeTx(raw, &abci.ExecTxResult{Code: 10, Codespace: "permission", Log: "sanctioned account"})
	if err != nil {
		t.Fatal(err)
	}
	if tx.ID != id || tx.OK() || tx.Asset != "CNY" || tx.Amount != 4711 || len(tx.Movements) != 0 ||
		len(tx.Parties) != 2 || tx.Parties[0] != k.Public().Address().String() || tx.Parties[1] != to.Public().Address().String() {
		t.Fatalf("decoded %+v", tx)
	}
}

// TestDecodeCustody: a custody proposal names its recipient and the paying
// account as parties; an execution's payment is a transfer movement out of
// the custody account; an account's creation tells the index its
// organisation (the creator's).
func TestDecodeCustody(t *testing.T) {
	k, err := gmcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	to := strings.Repeat("ab", 20)
	acct := strings.Repeat("cd", 20)
	toB, _ := hex.DecodeString(to)
	acctB, _ := hex.DecodeString(acct)
	raw, _, err := wire.BuildTx(wire.Signer{Key: k, MSPID: "bankB"}, "c", "payments", time.Now(),
		&txpb.Message{Body: &txpb.Message_CustodyPropose{CustodyPropose: &txpb.CustodyPropose{Account: acctB, Asset: "CNY", To: toB, Amount: 9}}})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := DecodeTx(raw, &abci.ExecTxResult{Code: 10, Codespace: "permission"})
	if err != nil {
		t.Fatal(err)
	}
	if tx.Type != "custody_propose" || tx.Amount != 9 || len(tx.Parties) != 3 || tx.Parties[1] != to || tx.Parties[2] != acct {
		t.Fatalf("decoded proposal %+v", tx)
	}

	raw, _, err = wire.BuildTx(wire.Signer{Key: k, MSPID: "bankB"}, "c", "payments", time.Now(),
		&txpb.Message{Body: &txpb.Message_CustodyExecute{CustodyExecute: &txpb.CustodyExecute{Account: acctB, Proposal: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	tx, err = DecodeTx(raw, &abci.ExecTxResult{Events: []abci.Event{
		wire.Event(&txpb.EventTransfer{Ledger: "payments", Asset: "CNY", From: acct, To: to, Amount: 9, FromBalance: 1, ToBalance: 9}),
		wire.Event(&txpb.EventCustodyExecuted{Ledger: "payments", Account: acct, Proposal: 1, Kind: "transfer"}),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(tx.Movements) != 1 || tx.Movements[0].Kind != KindTransfer || tx.Movements[0].From != acct || tx.Movements[0].FromBalance != 1 {
		t.Fatalf("decoded execution %+v", tx)
	}

	raw, _, err = wire.BuildTx(wire.Signer{Key: k, MSPID: "bankB"}, "c", "payments", time.Now(),
		&txpb.Message{Body: &txpb.Message_CustodyCreate{CustodyCreate: &txpb.CustodyCreate{Signers: [][]byte{toB}, Threshold: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	tx, err = DecodeTx(raw, &abci.ExecTxResult{Events: []abci.Event{wire.Event(&txpb.EventCustodyCreated{Ledger: "payments", Account: acct})}})
	if err != nil {
		t.Fatal(err)
	}
	if len(tx.Identities) != 1 || tx.Identities[0] != (IdentityOrg{Address: acct, Org: "bankB"}) {
		t.Fatalf("decoded creation %+v", tx)
	}
}

// TestDecodeReceivable: a receivable's request names its payer as a party,
// with its asset and face value; a transfer names the new holder; the
// payments of a discount or a settlement are transfer movements.
func TestDecodeReceivable(t *testing.T) {
	k, err := gmcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	payer := strings.Repeat("ab", 20)
	payerB, _ := hex.DecodeString(payer)
	inv := gmcrypto.SM3([]byte("invoice"))
	raw, _, err := wire.BuildTx(wire.Signer{Key: k, MSPID: "bankB"}, "c", "payments", time.Now(),
		&txpb.Message{Body: &txpb.Message_ReceivableRegister{ReceivableRegister: &txpb.ReceivableRegister{Payer: payerB, Asset: "CNY",
			FaceValue: 1000, DueHeight: 99, InvoiceHash: inv[:], Memo: "PO 42"}}})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := DecodeTx(raw, &abci.ExecTxResult{Code: 10, Codespace: "permission"})
	if err != nil {
		t.Fatal(err)
	}
	if tx.Type != "receivable_register" || tx.Amount != 1000 || tx.Asset != "CNY" || tx.Memo != "PO 42" || len(tx.Parties) != 2 || tx.Parties[1] != payer {
		t.Fatalf("decoded request %+v", tx)
	}
	raw, _, err = wire.BuildTx(wire.Signer{Key: k, MSPID: "bankB"}, "c", "payments", time.Now(),
		&txpb.Message{Body: &txpb.Message_ReceivableTransfer{ReceivableTransfer: &txpb.ReceivableTransfer{Receivable: "x", Part: 2, To: payerB}}})
	if err != nil {
		t.Fatal(err)
	}
	if tx, err = DecodeTx(raw, &abci.ExecTxResult{}); err != nil || len(tx.Parties) != 2 || tx.Parties[1] != payer {
		t.Fatalf("decoded transfer %+v %v", tx, err)
	}
	raw, _, err = wire.BuildTx(wire.Signer{Key: k, MSPID: "bankC"}, "c", "payments", time.Now(),
		&txpb.Message{Body: &txpb.Message_ReceivableDiscountAccept{ReceivableDiscountAccept: &txpb.ReceivableDiscountAccept{Receivable: "x", Part: 2, Price: 570}}})
	if err != nil {
		t.Fatal(err)
	}
	tx, err = DecodeTx(raw, &abci.ExecTxResult{Events: []abci.Event{
		wire.Event(&txpb.EventTransfer{Ledger: "payments", Asset: "CNY", From: k.Public().Address().String(), To: payer, Amount: 570}),
		wire.Event(&txpb.EventReceivableDiscounted{Ledger: "payments", Receivable: "x", Part: 2, Price: 570}),
	}})
	if err != nil || len(tx.Movements) != 1 || tx.Movements[0].Amount != 570 || tx.Movements[0].To != payer {
		t.Fatalf("decoded acceptance %+v %v", tx, err)
	}
}
