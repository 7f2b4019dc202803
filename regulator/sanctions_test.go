package regulator

import (
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
