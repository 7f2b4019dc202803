package e2e

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	rpcclient "github.com/cometbft/cometbft/rpc/client"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/jinlian-ledger/jinlian/contracts/payments"
	"github.com/jinlian-ledger/jinlian/internal/heavytest"
	"github.com/jinlian-ledger/jinlian/node"
	"github.com/jinlian-ledger/jinlian/node/localnet"
	"github.com/jinlian-ledger/jinlian/node/localnet/localnettest"
)

// inProcessTimeoutCommit keeps blocks coming fast without starving the
// two shared cores the tests run on.
const inProcessTimeoutCommit = 150 * time.Millisecond

// inProcessNet is a 4-validator localnet running in this process
// (localnettest's, which stops it when the test ends).
type inProcessNet struct {
	h       *localnettest.Net
	ln      *localnet.Net
	nodes   []*node.Node
	clients []rpcclient.Client
}

func newInProcessNet(t *testing.T) *inProcessNet {
	t.Helper()
	n := &inProcessNet{h: localnettest.Start(t, localnettest.Options{Options: localnet.Options{
		Validators: 4, ChainID: "jinlian-e2e", TimeoutCommit: inProcessTimeoutCommit}, WaitHeight: -1})}
	n.ln, n.nodes, n.clients = n.h.Net, n.h.Nodes, n.h.Clients
	return n
}

// start starts the stopped localnet again on its homes.
func (n *inProcessNet) start(t *testing.T) {
	t.Helper()
	n.h.Restart(t)
	n.ln, n.nodes, n.clients = n.h.Net, n.h.Nodes, n.h.Clients
}

func (n *inProcessNet) stop(t *testing.T) { n.h.Stop(t) }

// submit broadcasts ops (op i to node i mod 4, with CheckTx required to
// pass), waits until each is committed, as seen by another node than the
// one it was sent to, and applies it to the model; then it waits until
// every node has committed them all, so that the next ops pass CheckTx on
// any node, however far behind a loaded machine left it. It returns the
// heights.
func (n *inProcessNet) submit(t *testing.T, ctx context.Context, m *ledgerModel, ops ...op) []int64 {
	t.Helper()
	ids := make([]string, len(ops))
	for i, o := range ops {
		raw, id, err := o.build(n.ln.Network.ChainID)
		if err != nil {
			t.Fatal(err)
		}
		res, err := n.clients[i%len(n.clients)].BroadcastTxSync(ctx, raw)
		if err != nil {
			t.Fatalf("%v to node%d: %v", o, i%len(n.clients), err)
		}
		if res.Code != 0 {
			t.Fatalf("%v to node%d: CheckTx code %d (%s): %s", o, i%len(n.clients), res.Code, res.Codespace, res.Log)
		}
		ids[i] = id
	}
	hs := make([]int64, len(ops))
	for i, id := range ids {
		h, err := waitTx(ctx, n.clients[(i+1)%len(n.clients)], id)
		if err != nil {
			t.Fatalf("%v: %v", ops[i], err)
		}
		hs[i] = h
		m.apply(ops[i])
	}
	waitAllHeight(t, ctx, n.clients, maxOf(hs))
	return hs
}

// TestFourValidators runs the four-bank localnet in this process: payments
// from the demo banks and from accounts that exist only because bankA
// issued to them, sent to different validators; a double spend split
// across two validators; then a stop and restart of every node.
func TestFourValidators(t *testing.T) {
	heavytest.Begin(t, "runs a four-validator localnet")
	ctx := heavytest.Context(t, 4*time.Minute)

	net := newInProcessNet(t)
	if !net.ln.Created || len(net.nodes) != 4 {
		t.Fatalf("localnet created=%v with %d nodes", net.ln.Created, len(net.nodes))
	}
	waitAllHeight(t, ctx, net.clients, 2)

	banks := loadDemoAccounts(t, net.ln.Identities)
	bankA, bankB, bankC, bankD := banks[0], banks[1], banks[2], banks[3]
	fresh := newAccounts(t, net.ln.Home, 3, "bankA")
	// Registered through node0; the others check transactions against
	// their own committed state, which may lag on a loaded machine.
	waitAllHeight(t, ctx, net.clients, registerMembers(t, ctx, net.clients[0], net.ln.Network.ChainID, bankA, fresh))
	m := newLedgerModel(banks, localnet.Funding)
	checkLedger(t, ctx, net.clients, m)

	// bankA, the CNY issuer, funds three new accounts while every bank
	// pays another.
	hs := net.submit(t, ctx, m,
		op{opIssue, bankA, fresh[0], 50_000},
		op{opIssue, bankA, fresh[1], 30_000},
		op{opIssue, bankA, fresh[2], 20_000},
		op{opTransfer, bankB, bankC, 1_100},
		op{opTransfer, bankC, bankD, 2_200},
		op{opTransfer, bankD, bankA, 3_300},
		op{opTransfer, bankA, bankB, 4_400},
	)
	// The new accounts spend what they were issued; bankB burns some CNY.
	hs = append(hs, net.submit(t, ctx, m,
		op{opTransfer, fresh[0], fresh[1], 12_345},
		op{opTransfer, fresh[1], bankB, 25_000}, // from the issued 30,000 only: same batch
		op{opTransfer, fresh[2], bankC, 999},
		op{opTransfer, fresh[0], bankD, 7},
		op{opBurn, bankB, nil, 5_000},
	)...)

	// A double spend: fresh[2] holds 19,001 and signs two transfers of
	// 15,000, sent to different validators. Whatever the mempools did,
	// exactly one may execute; the other is never included, or included and
	// refused for insufficient funds (rechecks do not execute transfers
	// again, ADR 0007).
	spend := op{opTransfer, fresh[2], bankA, 15_000}
	var spendIDs []string
	var spendTxs []cmttypes.Tx
	for i, node := range []int{1, 2} {
		raw, id, err := spend.build(net.ln.Network.ChainID)
		if err != nil {
			t.Fatal(err)
		}
		res, err := net.clients[node].BroadcastTxSync(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 && res.Code != 0 {
			t.Fatalf("first spend refused by CheckTx: code %d: %s", res.Code, res.Log)
		}
		spendIDs = append(spendIDs, id)
		spendTxs = append(spendTxs, raw)
	}
	spentAt, err := waitAnyTx(ctx, net.clients[3], spendIDs)
	if err != nil {
		t.Fatalf("neither spend committed: %v", err)
	}
	// Let the loser, if it waits in a mempool, reach its block.
	waitAllHeight(t, ctx, net.clients, spentAt+3)
	for i, c := range net.clients {
		var executed int
		for _, raw := range spendTxs {
			res, err := c.Tx(ctx, raw.Hash(), false)
			if err != nil {
				continue // never included
			}
			switch {
			case res.TxResult.Code == 0:
				executed++
			case res.TxResult.Code == payments.ErrInsufficientFunds.Code() && strings.Contains(res.TxResult.Log, "insufficient funds"):
			default:
				t.Fatalf("node%d: double-spend transfer failed with code %d: %s", i, res.TxResult.Code, res.TxResult.Log)
			}
		}
		if executed != 1 {
			t.Fatalf("node%d: %d of the two double-spend transfers executed, want 1", i, executed)
		}
	}
	m.apply(spend)
	hs = append(hs, spentAt)

	final := maxOf(hs) + 1
	waitAllHeight(t, ctx, net.clients, final)
	checkLedger(t, ctx, net.clients, m)
	hashes := sameAppHashes(t, ctx, net.clients, final)
	// Blocks with transactions changed the state: the app hash in the
	// header after a tx height differs from the one before it.
	if h := hs[0]; bytes.Equal(hashes[h-1], hashes[h]) {
		t.Fatalf("app hash unchanged across height %d, which committed %v", h, fmt.Sprint(hs[0]))
	}
	checkAppMatchesChain(t, ctx, net.clients)

	// Stop every node and start them again in this process, from the same
	// homes: state, history and consensus resume.
	before := heights(t, ctx, net.clients)
	last := minOf(before)
	recorded := sameAppHashes(t, ctx, net.clients, last)
	net.stop(t)
	checkNoStrayGoroutines(t)

	net.start(t)
	if net.ln.Created {
		t.Fatal("second PrepareLocalnet created a new localnet instead of resuming")
	}
	if got := loadDemoAccounts(t, net.ln.Identities); got[0].addr != bankA.addr {
		t.Fatalf("resumed localnet's bankA is %s, was %s", got[0].addr, bankA.addr)
	}
	for i, h := range heights(t, ctx, net.clients) {
		if h < before[i] {
			t.Fatalf("node%d resumed at height %d, had reached %d", i, h, before[i])
		}
		if app := net.nodes[i].Store.LastCommit().Height; app < before[i] {
			t.Fatalf("node%d app resumed at height %d, had reached %d", i, app, before[i])
		}
	}
	waitAllHeight(t, ctx, net.clients, maxOf(before)+3)
	checkLedger(t, ctx, net.clients, m)
	hs = net.submit(t, ctx, m,
		op{opTransfer, fresh[1], fresh[2], 1_000},
		op{opTransfer, bankD, fresh[0], 250},
		op{opIssue, bankA, fresh[2], 1},
		op{opTransfer, bankC, bankB, 3},
	)
	final = maxOf(hs) + 1
	waitAllHeight(t, ctx, net.clients, final)
	checkLedger(t, ctx, net.clients, m)
	after := sameAppHashes(t, ctx, net.clients, final)
	for i, h := range recorded {
		if !bytes.Equal(after[i], h) {
			t.Fatalf("after restart the header of height %d has app hash %X, before it had %X", i+1, after[i], h)
		}
	}
	checkAppMatchesChain(t, ctx, net.clients)

	net.stop(t)
	checkNoStrayGoroutines(t)
}
