package app

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/contracts/custody"
	"github.com/jinlian-ledger/jinlian/contracts/payments"
	"github.com/jinlian-ledger/jinlian/contracts/pvp"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// contractBench is a chain of two banks with n member identities each,
// every one holding CNY on payments (issuer bankA) and HKD on hkd (issuer
// bankB): enough parties of two organisations for custody accounts with
// signers of both, receivables whose payer and payee differ, and PvP
// trades whose receivers belong to different banks.
type contractBench struct {
	*harness
	a, b []*gmcrypto.PrivateKey // identities of bankA, of bankB
}

func newContractBench(tb testing.TB, n int) *contractBench {
	tb.Helper()
	store, err := ledger.Open(tb.TempDir(), ledger.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = store.Close() })
	h := &harness{t: tb, store: store, now: genesisTime}
	if h.app, err = New(store, Options{}); err != nil {
		tb.Fatal(err)
	}
	c := &contractBench{harness: h}
	g := GenesisState{Organisations: []permission.Organisation{{ID: "bankA"}, {ID: "bankB"}}}
	pay := GenesisLedger{Name: "payments", Assets: []payments.Asset{{Symbol: "CNY", Issuer: "bankA", Decimals: 2}}}
	hkd := GenesisLedger{Name: "hkd", Assets: []payments.Asset{{Symbol: "HKD", Issuer: "bankB", Decimals: 2}}}
	for i := range 2 * n {
		k, org := mustKey(tb), "bankA"
		if i < n {
			c.a = append(c.a, k)
		} else {
			c.b, org = append(c.b, k), "bankB"
		}
		addr := k.Public().Address().String()
		g.Identities = append(g.Identities, permission.Identity{Name: fmt.Sprintf("id%d", i), Address: addr, Org: org, Roles: []string{"member"}})
		pay.Balances = append(pay.Balances, GenesisBalance{Asset: "CNY", Account: addr, Amount: 1 << 40})
		hkd.Balances = append(hkd.Balances, GenesisBalance{Asset: "HKD", Account: addr, Amount: 1 << 40})
	}
	g.Ledgers = []GenesisLedger{pay, hkd}
	raw, _ := json.Marshal(g)
	if _, err := h.app.InitChain(context.Background(), &abci.RequestInitChain{ChainId: testChain, Time: genesisTime, AppStateBytes: raw}); err != nil {
		tb.Fatal(err)
	}
	return c
}

// mustBlock commits txs as the next block and fails on any refusal.
func (c *contractBench) mustBlock(txs ...[]byte) {
	c.t.Helper()
	for i, r := range c.block(txs...) {
		if r.Code != 0 {
			c.t.Fatalf("tx %d of %d: code %d: %s", i, len(txs), r.Code, r.Log)
		}
	}
}

// checked passes every tx through CheckTx (filling the signature cache,
// as the mempool does on a node) and fails on a refusal.
func (c *contractBench) checked(txs [][]byte) {
	c.t.Helper()
	for _, raw := range txs {
		if r, _ := c.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw}); r.Code != 0 {
			c.t.Fatalf("CheckTx: code %d: %s", r.Code, r.Log)
		}
	}
}

func txID(tb testing.TB, raw []byte) string {
	tx, err := wire.DecodeTx(raw)
	if err != nil {
		tb.Fatal(err)
	}
	return tx.ID
}

// BenchmarkFinalizeContracts is BenchmarkFinalizeTransfers for each
// transaction type of the banks' contracts, against a plain transfer on
// the same chain: what executing and committing one costs a node whose
// signature cache already holds it (ProcessProposal, FinalizeBlock,
// Commit), in blocks of 500. The state each needs (custody proposals,
// confirmed receivables, trades with leg A funded) is made in blocks
// outside the timer. ns/op is per transaction; a type's throughput
// relative to a transfer's is the transfer's ns/op over its own
// (docs/performance.md).
//
//   - transfer: a CNY payment between two banks' identities.
//   - custody-approve: the second approval of a two-of-two custody
//     account's payment (signers of bankA and bankB), which executes it.
//   - receivable-transfer: the payee (bankB) passes a confirmed
//     receivable to another identity down the chain.
//   - pvp-settle: the counterparty's funding of leg B (HKD on hkd) of a
//     trade whose leg A (CNY on payments) is funded, which settles both
//     legs in the same transaction.
func BenchmarkFinalizeContracts(b *testing.B) {
	const ids, perBlock = 100, 500
	b.Run("transfer", func(b *testing.B) {
		c := newContractBench(b, ids)
		c.timedBlocks(b, perBlock, func(n int) [][]byte {
			txs := make([][]byte, perBlock)
			for i := range txs {
				j := (n + i) % ids
				txs[i] = c.tx(c.a[j], "bankA", "payments", transfer("CNY", c.b[(j+i/ids)%ids], 1))
			}
			return txs
		})
	})
	b.Run("custody-approve", func(b *testing.B) {
		c := newContractBench(b, ids)
		// One two-of-two account per pair (a[j], b[j]), funded; a proposal
		// by a[j] waits for b[j]'s approval.
		accts := make([][]byte, ids)
		var setup [][]byte
		for j := range ids {
			raw := c.tx(c.a[j], "bankA", "payments", custodyMsg(&txpb.CustodyCreate{Signers: addrs(c.a[j], c.b[j]), Threshold: 2, ExpiryBlocks: 1_000_000}))
			a, err := custody.AccountAddress("payments", txID(b, raw))
			if err != nil {
				b.Fatal(err)
			}
			accts[j] = a.Bytes()
			setup = append(setup, raw, c.tx(c.a[j], "bankA", "payments", &txpb.Message{Body: &txpb.Message_Transfer{Transfer: &txpb.Transfer{Asset: "CNY", To: accts[j], Amount: 1 << 30}}}))
		}
		c.mustBlock(setup...)
		next := make([]uint64, ids) // the last proposal id of each account
		c.timedBlocks(b, perBlock, func(n int) [][]byte {
			props, approvals := make([][]byte, perBlock), make([][]byte, perBlock)
			for i := range perBlock {
				j := (n + i) % ids
				props[i] = c.tx(c.a[j], "bankA", "payments", custodyMsg(&txpb.CustodyPropose{Account: accts[j], Asset: "CNY", To: c.b[(j+1)%ids].Public().Address().Bytes(), Amount: 1}))
				next[j]++
				approvals[i] = c.tx(c.b[j], "bankB", "payments", custodyMsg(&txpb.CustodyApprove{Account: accts[j], Proposal: next[j]}))
			}
			c.mustBlock(props...)
			return approvals
		})
	})
	b.Run("receivable-transfer", func(b *testing.B) {
		c := newContractBench(b, ids)
		invoice := uint64(0)
		c.timedBlocks(b, perBlock, func(n int) [][]byte {
			regs, confirms, moves := make([][]byte, perBlock), make([][]byte, perBlock), make([][]byte, perBlock)
			for i := range perBlock {
				j := (n + i) % ids
				invoice++
				hash := make([]byte, 32)
				binary.BigEndian.PutUint64(hash, invoice)
				regs[i] = c.tx(c.b[j], "bankB", "payments", receivableMsg(&txpb.ReceivableRegister{Payer: c.a[j].Public().Address().Bytes(), Asset: "CNY", FaceValue: 1000, DueHeight: 1_000_000, InvoiceHash: hash}))
				id := txID(b, regs[i])
				confirms[i] = c.tx(c.a[j], "bankA", "payments", receivableMsg(&txpb.ReceivableConfirm{Receivable: id}))
				moves[i] = c.tx(c.b[j], "bankB", "payments", receivableMsg(&txpb.ReceivableTransfer{Receivable: id, Part: 1, To: c.b[(j+1)%ids].Public().Address().Bytes()}))
			}
			c.mustBlock(regs...)
			c.mustBlock(confirms...)
			return moves
		})
	})
	b.Run("pvp-settle", func(b *testing.B) {
		c := newContractBench(b, ids)
		c.timedBlocks(b, perBlock, func(n int) [][]byte {
			setup, settles := make([][]byte, 0, 2*perBlock), make([][]byte, perBlock)
			for i := range perBlock {
				j := (n + i) % ids
				prop := c.tx(c.a[j], "bankA", permission.SystemLedger, pvpMsg(&txpb.PvpPropose{Counterparty: c.b[j].Public().Address().Bytes(),
					LegA: &txpb.PvpLeg{Ledger: "payments", Asset: "CNY", Amount: 90}, LegB: &txpb.PvpLeg{Ledger: "hkd", Asset: "HKD", Amount: 100},
					ExpiryHeight: 1_000_000}))
				trade := txID(b, prop)
				setup = append(setup, prop, c.tx(c.a[j], "bankA", permission.SystemLedger, pvpMsg(&txpb.PvpFund{Trade: trade, Leg: pvp.LegA})))
				settles[i] = c.tx(c.b[j], "bankB", permission.SystemLedger, pvpMsg(&txpb.PvpFund{Trade: trade, Leg: pvp.LegB}))
			}
			c.mustBlock(setup...)
			return settles
		})
	})
}

// timedBlocks runs b.N transactions in blocks of perBlock, timing only
// ProcessProposal, FinalizeBlock and Commit of the measured blocks. The
// measured transactions of the block starting at transaction n are what
// prepare(n) returns, after it committed (untimed) the state they need.
func (c *contractBench) timedBlocks(b *testing.B, perBlock int, prepare func(n int) [][]byte) {
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n += perBlock {
		b.StopTimer()
		txs := prepare(n)
		c.checked(txs)
		b.StartTimer()
		c.mustBlock(txs...)
	}
	b.StopTimer()
	// Each block holds perBlock transactions, so ns/op is per transaction
	// once b.N is a multiple of it (b.Loop's counts are not: report it).
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(((b.N+perBlock-1)/perBlock)*perBlock), "ns/tx")
}
