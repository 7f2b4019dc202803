package app

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/movement"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/recon"
)

// resultBlocks keeps what the app answered for each block, as a node's
// block store and state store do: recon.Blocks over the harness.
type resultBlocks struct {
	h   *harness
	txs map[int64][]*abci.TxResult
}

func (b *resultBlocks) Stored() (int64, int64, error) { return 1, b.h.height, nil }
func (b *resultBlocks) BlockTxs(h int64) (time.Time, []*abci.TxResult, error) {
	return genesisTime.Add(time.Duration(h) * time.Second), b.txs[h], nil
}

// block runs txs as the next block and keeps its results.
func (b *resultBlocks) block(txs ...[]byte) []*abci.ExecTxResult {
	b.h.t.Helper()
	res := b.h.block(txs...)
	for i, r := range res {
		b.txs[b.h.height] = append(b.txs[b.h.height], &abci.TxResult{Height: b.h.height, Index: uint32(i), Tx: txs[i], Result: *r})
	}
	return res
}

// commitment asks the app's /commitment query for key's CNY on payments.
func (h *harness) commitment(key *gmcrypto.PrivateKey, height int64) movement.Commitment {
	h.t.Helper()
	r := h.query(QueryCommitment, BalanceRequest{Ledger: "payments", Asset: "CNY", Account: key.Public().Address().String()}, height)
	if r.Code != 0 {
		h.t.Fatalf("/commitment: %s", r.Log)
	}
	var resp CommitmentResponse
	if err := json.Unmarshal(r.Value, &resp); err != nil {
		h.t.Fatal(err)
	}
	var c movement.Commitment
	b, err := hex.DecodeString(resp.Chain)
	if err != nil || len(b) != 32 {
		h.t.Fatalf("chain %q", resp.Chain)
	}
	copy(c.Chain[:], b)
	c.Count, c.Balance = resp.Count, resp.Balance
	return c
}

func transferMemo(asset string, to *gmcrypto.PrivateKey, amount uint64, memo string) *txpb.Message {
	m := transfer(asset, to, amount)
	m.GetTransfer().Memo = memo
	return m
}

// TestCompletenessCommitment runs real blocks: a transfer updates both
// sides' commitments, a failed one neither; genesis balances open them;
// the movements a node lists from its block results verify against the
// commitments the app answers, and a payment that is not in the list is
// proven absent; the invariants check every balance against them.
func TestCompletenessCommitment(t *testing.T) {
	h := newHarness(t)
	b := &resultBlocks{h: h, txs: map[int64][]*abci.TxResult{}}
	acct := func(k *gmcrypto.PrivateKey) movement.Account {
		return movement.Account{Ledger: "payments", Asset: "CNY", Address: k.Public().Address().String()}
	}
	// Genesis: alice opens with 500 and no movement, bob with nothing.
	b.block()
	opening := map[string]movement.Commitment{"alice": {Balance: 500}, "bob": {}}
	if a, o := h.commitment(h.alice, 1), h.commitment(h.bob, 1); a != opening["alice"] || o != opening["bob"] {
		t.Fatalf("after genesis: alice %+v, bob %+v", a, o)
	}

	res := b.block(
		h.tx(h.alice, "bankB", "payments", transferMemo("CNY", h.bob, 200, "R-1")),
		h.tx(h.bob, "bankB", "payments", transfer("CNY", h.alice, 1_000_000)), // insufficient funds
		h.tx(h.issuer, "bankA", "payments", issue("CNY", h.bob, 50)),
	)
	if res[0].Code != 0 || res[1].Code == 0 || res[2].Code != 0 {
		t.Fatalf("codes %d %d %d", res[0].Code, res[1].Code, res[2].Code)
	}
	alice2, bob2 := h.commitment(h.alice, 2), h.commitment(h.bob, 2)
	if alice2.Count != 1 || alice2.Balance != 300 || bob2.Count != 2 || bob2.Balance != 250 {
		t.Fatalf("after the block: alice %+v, bob %+v", alice2, bob2)
	}

	// A block whose only transfer fails changes no commitment.
	res = b.block(h.tx(h.alice, "bankB", "payments", transfer("CNY", h.bob, 1<<40)))
	if res[0].Code == 0 {
		t.Fatal("overdraft executed")
	}
	if a, o := h.commitment(h.alice, 3), h.commitment(h.bob, 3); a != alice2 || o != bob2 {
		t.Fatalf("a failed transfer changed commitments: alice %+v → %+v, bob %+v → %+v", alice2, a, bob2, o)
	}

	b.block(h.tx(h.bob, "bankB", "payments", transferMemo("CNY", h.alice, 10, "R-7")))
	ctx := context.Background()
	for _, c := range []struct {
		name string
		key  *gmcrypto.PrivateKey
		from int64
		want int
	}{
		{"alice from genesis", h.alice, 1, 2},
		{"bob from genesis", h.bob, 1, 3},
		{"bob after the first block", h.bob, 3, 1},
		{"alice in the block of the failed transfer", h.alice, 3, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			to := h.height
			if c.name == "alice in the block of the failed transfer" {
				to = 3
			}
			ms, err := recon.AccountMovements(ctx, b, acct(c.key), c.from, to)
			if err != nil {
				t.Fatal(err)
			}
			if len(ms) != c.want {
				t.Fatalf("%d movements listed, want %d: %+v", len(ms), c.want, ms)
			}
			before := opening[map[*gmcrypto.PrivateKey]string{h.alice: "alice", h.bob: "bob"}[c.key]]
			if c.from > 1 {
				before = h.commitment(c.key, c.from-1)
			}
			after := h.commitment(c.key, to)
			if err := movement.Verify(acct(c.key), c.from, to, before, after, ms); err != nil {
				t.Fatalf("the node's own list does not verify: %v", err)
			}
			if len(ms) > 0 {
				if err := movement.Verify(acct(c.key), c.from, to, before, after, ms[1:]); !errors.Is(err, movement.ErrCount) {
					t.Fatalf("a list missing its first movement: %v, want ErrCount", err)
				}
			}
		})
	}

	// "R-7 never arrived in alice's account at heights 2..3" is provable;
	// hiding R-1 from bob's list of 1..4 is not.
	ms, _ := recon.AccountMovements(ctx, b, acct(h.alice), 2, 3)
	for _, m := range ms {
		if m.Memo == "R-7" {
			t.Fatal("R-7 listed before it was sent")
		}
	}
	if err := movement.Verify(acct(h.alice), 2, 3, h.commitment(h.alice, 1), h.commitment(h.alice, 3), ms); err != nil {
		t.Fatalf("absence of R-7 at 2..3: %v", err)
	}
	ms, _ = recon.AccountMovements(ctx, b, acct(h.bob), 1, 4)
	var hidden []movement.Movement
	for _, m := range ms {
		if m.Memo != "R-1" {
			hidden = append(hidden, m)
		}
	}
	if err := movement.Verify(acct(h.bob), 1, 4, opening["bob"], h.commitment(h.bob, 4), hidden); err == nil {
		t.Fatal("a list hiding R-1 verified")
	}

	v, _ := h.store.View(0)
	inv, err := h.app.Invariants(v)
	if err != nil || !inv.Holds {
		t.Fatalf("invariants: %+v %v", inv, err)
	}
	if len(inv.Commitments) != 2 || inv.Commitments[1].Asset != "CNY" || inv.Commitments[1].Accounts != 3 || inv.Commitments[1].Movements != 5 {
		t.Fatalf("commitment invariants %+v", inv.Commitments)
	}
}

// TestCommitmentInvariantCatches plays a state machine bug: a balance
// written without a movement breaks the invariant, naming the account.
func TestCommitmentInvariantCatches(t *testing.T) {
	h := newHarness(t)
	h.block(h.tx(h.alice, "bankB", "payments", transfer("CNY", h.bob, 5)))
	kv := ledger.NewCache(h.store) // never written
	// Mint without a movement: what a contract that changed a balance
	// without reporting it would leave.
	if err := h.app.payments.Mint(kv, "payments", "CNY", h.bob.Public().Address(), 1); err != nil {
		t.Fatal(err)
	}
	res, err := h.app.payments.CheckCommitments(kv, "payments")
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Holds || res[0].Mismatches != 1 || res[0].First != h.bob.Public().Address().String() {
		t.Fatalf("unreported balance change: %+v", res)
	}
}
