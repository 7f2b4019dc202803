package proof_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/contracts/payments"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/movement"
	"github.com/jinlian-ledger/jinlian/node"
	"github.com/jinlian-ledger/jinlian/node/localnet"
	"github.com/jinlian-ledger/jinlian/proof"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/recon"
	"github.com/jinlian-ledger/jinlian/wire"
)

// chain is one real single-validator localnet shared by the tests of this
// package: a funded sender's transfer is committed at TxHeight, and the
// bundles below are built from it once.
type chain struct {
	Genesis  *cmttypes.GenesisDoc
	Src      proof.Source
	Sender   gmcrypto.Address
	Stranger gmcrypto.Address
	TxID     string
	TxHeight int64
	State    *proof.Bundle // balance of Sender (set) and Stranger (not set)
	Tx       *proof.Bundle
	QC       *proof.Bundle
}

var (
	chainOnce sync.Once
	theChain  *chain
	chainErr  error
)

func startChain(t testing.TB) *chain {
	t.Helper()
	chainOnce.Do(func() { theChain, chainErr = newChain() })
	if chainErr != nil {
		t.Fatal(chainErr)
	}
	return theChain
}

var stopChain func()

func TestMain(m *testing.M) {
	code := m.Run()
	if stopChain != nil {
		stopChain()
	}
	os.Exit(code)
}

func newChain() (*chain, error) {
	dir, err := os.MkdirTemp("", "proof-test-")
	if err != nil {
		return nil, err
	}
	sender, err := gmcrypto.GenerateKey()
	if err != nil {
		return nil, err
	}
	stranger, _ := gmcrypto.GenerateKey()
	base, err := consensus.FreeBasePort(7)
	if err != nil {
		return nil, err
	}
	// JINLIAN_PROOF_VALIDATORS=4 runs the tests and benchmarks on four
	// validators (docs/performance.md, "Proof bundles").
	vals, _ := strconv.Atoi(os.Getenv("JINLIAN_PROOF_VALIDATORS"))
	vals = max(vals, 1)
	ln, err := localnet.Prepare(localnet.Options{Home: dir, Validators: vals, BasePort: base, TimeoutCommit: 100 * time.Millisecond,
		ExtraFundedAccounts: []string{sender.Public().Address().String(), stranger.Public().Address().String()}, CheckpointInterval: -1})
	if err != nil {
		return nil, err
	}
	nodes, err := ln.Start(context.Background(), nil, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	stopChain = func() { _ = node.StopAll(nodes); _ = os.RemoveAll(dir) }
	c, err := rpchttp.New(ln.Network.Nodes[0].RPCAddr, "/websocket")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := consensus.WaitForHeight(ctx, c, 2); err != nil {
		return nil, err
	}
	send := func(amount uint64) (string, int64, uint32, error) {
		m := &txpb.Message{Body: &txpb.Message_Transfer{Transfer: &txpb.Transfer{Asset: "CNY", To: stranger.Public().Address().Bytes(), Amount: amount}}}
		raw, id, err := wire.BuildTx(wire.Signer{Key: sender, MSPID: localnet.BenchOrg}, ln.Network.ChainID, "payments", time.Now(), m)
		if err != nil {
			return "", 0, 0, err
		}
		res, err := c.BroadcastTxCommit(ctx, raw)
		if err != nil {
			return "", 0, 0, err
		}
		if res.CheckTx.Code != 0 {
			return "", 0, 0, errors.New(res.CheckTx.Log)
		}
		return id, res.Height, res.TxResult.Code, nil
	}
	ch := &chain{Genesis: ln.Network.Genesis, Sender: sender.Public().Address()}
	ch.Src = proof.NodeSource(c, nil, 0)
	if ch.TxID, ch.TxHeight, _, err = send(7); err != nil {
		return nil, err
	}
	// The recipient's balance was set at genesis; prove a third address's absence.
	third, _ := gmcrypto.GenerateKey()
	ch.Stranger = third.Public().Address()
	if err := consensus.WaitForHeight(ctx, c, ch.TxHeight+3); err != nil {
		return nil, err
	}
	if ch.State, err = ch.Src.State(ctx, ch.TxHeight, []proof.Key{
		{Ledger: "payments", Key: payments.BalanceKey("CNY", ch.Sender)},
		{Ledger: "payments", Key: payments.BalanceKey("CNY", ch.Stranger)},
	}); err != nil {
		return nil, err
	}
	if ch.Tx, err = ch.Src.Tx(ctx, ch.TxHeight, ch.TxID); err != nil {
		return nil, err
	}
	if ch.QC, err = ch.Src.QCBundle(ctx, ch.TxHeight); err != nil {
		return nil, err
	}
	return ch, nil
}

// reencode round-trips b through its JSON, as a counterparty receives it.
func reencode(t testing.TB, b *proof.Bundle) *proof.Bundle {
	t.Helper()
	raw, err := b.Encode()
	if err != nil {
		t.Fatal(err)
	}
	out, err := proof.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRoundTrips(t *testing.T) {
	ch := startChain(t)
	genesis := proof.Trust{Genesis: ch.Genesis}
	for _, c := range []struct {
		name  string
		b     *proof.Bundle
		trust proof.Trust
		check func(t *testing.T, r proof.Report)
	}{
		{"state: a balance set and one not set, from the genesis", ch.State, genesis, func(t *testing.T, r proof.Report) {
			if len(r.Entries) != 2 || !r.Entries[0].Found || r.Entries[1].Found || !r.Headers {
				t.Fatalf("report %+v", r)
			}
		}},
		{"state: SM2/SM3 alone", ch.State, proof.Trust{Genesis: ch.Genesis, Guomi: true}, func(t *testing.T, r proof.Report) {
			if r.Headers || len(r.Entries) != 2 {
				t.Fatalf("report %+v", r)
			}
		}},
		{"tx: CometBFT's commitments and SM3", ch.Tx, genesis, func(t *testing.T, r proof.Report) {
			if r.Tx == nil || !r.Tx.CometBFT || !r.Tx.SM3 || r.Tx.Code != 0 || r.Tx.ID != ch.TxID {
				t.Fatalf("report %+v", r.Tx)
			}
		}},
		{"tx: SM2/SM3 alone", ch.Tx, proof.Trust{Genesis: ch.Genesis, Guomi: true}, func(t *testing.T, r proof.Report) {
			if r.Tx == nil || r.Tx.CometBFT || !r.Tx.SM3 {
				t.Fatalf("report %+v", r.Tx)
			}
		}},
		{"qc alone", ch.QC, genesis, func(t *testing.T, r proof.Report) {
			if !r.Certificate.Quorum {
				t.Fatalf("report %+v", r)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := proof.Verify(reencode(t, c.b), c.trust)
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, r)
		})
	}
	t.Run("trusted height and hash", func(t *testing.T) {
		b := reencode(t, ch.State)
		lb := lightBlock(t, b, 0)
		if _, err := proof.Verify(b, proof.Trust{Height: lb.Height, Hash: lb.Hash()}); err != nil {
			t.Fatal(err)
		}
		if _, err := proof.Verify(b, proof.Trust{Height: lb.Height, Hash: make([]byte, 32)}); !errors.Is(err, proof.ErrTrust) {
			t.Fatalf("another hash: %v", err)
		}
		if _, err := proof.Verify(b, proof.Trust{Height: lb.Height + 1000, Hash: lb.Hash()}); !errors.Is(err, proof.ErrTrust) {
			t.Fatalf("a height the bundle lacks: %v", err)
		}
		if _, err := proof.Verify(b, proof.Trust{}); !errors.Is(err, proof.ErrTrust) {
			t.Fatalf("no trust: %v", err)
		}
	})
}

func lightBlock(t testing.TB, b *proof.Bundle, i int) *cmttypes.LightBlock {
	t.Helper()
	lb, err := proof.DecodeLightBlock(b.LightBlocks[i], b.ChainID)
	if err != nil {
		t.Fatal(err)
	}
	return lb
}

func TestAnotherChainRefused(t *testing.T) {
	ch := startChain(t)
	other := *ch.Genesis
	other.ChainID = "another-chain"
	if _, err := proof.Verify(reencode(t, ch.State), proof.Trust{Genesis: &other}); !errors.Is(err, proof.ErrChain) {
		t.Fatalf("bundle of another chain: %v", err)
	}
	b := reencode(t, ch.State)
	b.ChainID = "another-chain"
	if _, err := proof.Verify(b, proof.Trust{Genesis: &other}); !errors.Is(err, proof.ErrChain) {
		t.Fatalf("bundle relabelled to the trusted chain: %v", err)
	}
	// Another chain's validators (a genesis of the same chain id with
	// other keys) refuse the first header.
	forged := *ch.Genesis
	vals, _ := cmttypes.RandValidatorSet(1, 10)
	forged.Validators = []cmttypes.GenesisValidator{{Address: vals.Validators[0].Address, PubKey: vals.Validators[0].PubKey, Power: 10}}
	if _, err := proof.Verify(reencode(t, ch.State), proof.Trust{Genesis: &forged}); !errors.Is(err, proof.ErrTrust) {
		t.Fatalf("genesis with other validators: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	ch := startChain(t)
	good, _ := ch.State.Encode()
	var m map[string]any
	_ = json.Unmarshal(good, &m)
	with := func(k string, v any) string {
		c := map[string]any{}
		for kk, vv := range m {
			c[kk] = vv
		}
		c[k] = v
		b, _ := json.Marshal(c)
		return string(b)
	}
	for _, c := range []struct {
		name, in string
		want     error
		msg      string
	}{
		{"not JSON", "{", proof.ErrMalformed, "unexpected EOF"},
		{"empty", "", proof.ErrMalformed, "EOF"},
		{"unknown kind", with("kind", "inclusion"), proof.ErrKind, `kind "inclusion"`},
		{"format 2", with("format", 2), proof.ErrMalformed, "format: 2"},
		{"unknown field", with("extra", 1), proof.ErrMalformed, `unknown field "extra"`},
		{"not hex", with("app_hash", "zz"), proof.ErrMalformed, "hex"},
		{"short app hash", with("app_hash", "AB"), proof.ErrMalformed, "app_hash"},
		{"no height", with("height", 0), proof.ErrMalformed, "height"},
		{"data after the bundle", string(good) + "{}", proof.ErrMalformed, "data after"},
		{"a state bundle without state", with("state", nil), proof.ErrMalformed, "state"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := proof.Decode([]byte(c.in))
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("got %v, want %v naming %q", err, c.want, c.msg)
			}
		})
	}
}

// TestCompleteness proves every movement of the sender's CNY around its
// transfer, and that a list missing, adding or changing one is refused.
func TestCompleteness(t *testing.T) {
	ch := startChain(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	acct := movement.Account{Ledger: "payments", Asset: "CNY", Address: ch.Sender.String()}
	from, to := ch.TxHeight-1, ch.TxHeight+1
	ms, err := recon.AccountMovements(ctx, api.RPCBlocks(ctx, ch.Src.RPC), acct, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].Amount != 7 || ms[0].Direction != "debit" {
		t.Fatalf("movements %+v", ms)
	}
	b, err := ch.Src.Completeness(ctx, "payments", "CNY", ch.Sender, from, to, ms)
	if err != nil {
		t.Fatal(err)
	}
	r, err := proof.Verify(reencode(t, b), proof.Trust{Genesis: ch.Genesis})
	if err != nil {
		t.Fatal(err)
	}
	if c := r.Completeness; c == nil || c.Count != 1 || c.BalanceBefore != c.BalanceAfter+7 {
		t.Fatalf("report %+v", r.Completeness)
	}
	if _, err := proof.Verify(reencode(t, b), proof.Trust{Genesis: ch.Genesis, Guomi: true}); err != nil {
		t.Fatalf("SM2/SM3 alone: %v", err)
	}
	for _, c := range []struct {
		name string
		mut  func(b *proof.Bundle)
		want error
	}{
		{"the payment left out", func(b *proof.Bundle) { b.Completeness.Movements = nil }, movement.ErrCount},
		{"a payment added", func(b *proof.Bundle) {
			m := b.Completeness.Movements[0]
			m.TxIndex++
			b.Completeness.Movements = append(b.Completeness.Movements, m)
		}, movement.ErrCount},
		{"the amount changed", func(b *proof.Bundle) { b.Completeness.Movements[0].Amount = 8 }, proof.ErrCompleteness},
		{"the memo changed", func(b *proof.Bundle) { b.Completeness.Movements[0].Memo = "other" }, movement.ErrChain},
		{"another account", func(b *proof.Bundle) { b.Completeness.Account = ch.Stranger.String() }, proof.ErrCompleteness},
		{"another asset", func(b *proof.Bundle) { b.Completeness.Asset = "USD" }, proof.ErrCompleteness},
		{"a wider range than proven", func(b *proof.Bundle) { b.Completeness.FromHeight-- }, proof.ErrMalformed},
		{"before from another height", func(b *proof.Bundle) { b.Completeness.Before.Height++ }, proof.ErrMalformed},
		{"before's app hash", func(b *proof.Bundle) { b.Completeness.Before.AppHash[0] ^= 1 }, proof.ErrAppHash},
		{"before's record", func(b *proof.Bundle) { b.Completeness.Before.State.Entries[0].Value[40] ^= 1 }, proof.ErrState},
	} {
		t.Run(c.name, func(t *testing.T) {
			x := reencode(t, b)
			c.mut(x)
			if _, err := proof.Verify(x, proof.Trust{Genesis: ch.Genesis}); !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
		})
	}

	// From height 1: no state before it is proven; the opening balance
	// (the sender was funded in the genesis) comes from the trusted
	// genesis file.
	t.Run("from height 1", func(t *testing.T) {
		ms, err := recon.AccountMovements(ctx, api.RPCBlocks(ctx, ch.Src.RPC), acct, 1, to)
		if err != nil {
			t.Fatal(err)
		}
		b1, err := ch.Src.Completeness(ctx, "payments", "CNY", ch.Sender, 1, to, ms)
		if err != nil {
			t.Fatal(err)
		}
		if b1.Completeness.Before != nil {
			t.Fatal("a before bundle from height 1")
		}
		for _, tr := range []proof.Trust{{Genesis: ch.Genesis}, {Genesis: ch.Genesis, Guomi: true}} {
			r, err := proof.Verify(reencode(t, b1), tr)
			if err != nil {
				t.Fatalf("guomi %v: %v", tr.Guomi, err)
			}
			if c := r.Completeness; c.Count != 1 || c.FromHeight != 1 || c.BalanceBefore != localnet.Funding || c.BalanceAfter != localnet.Funding-7 {
				t.Fatalf("report %+v", c)
			}
		}
		lb := lightBlock(t, b1, 0)
		if _, err := proof.Verify(reencode(t, b1), proof.Trust{Height: lb.Height, Hash: lb.Hash()}); !errors.Is(err, proof.ErrTrust) ||
			!strings.Contains(err.Error(), "--trust genesis.json") {
			t.Fatalf("from height 1 without the genesis: %v", err)
		}
		// A genesis that opened the account with another balance.
		g, err := app.DecodeGenesis(ch.Genesis.AppState)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for i := range g.Ledgers {
			for j, bal := range g.Ledgers[i].Balances {
				if bal.Account == ch.Sender.String() && bal.Asset == "CNY" {
					g.Ledgers[i].Balances[j].Amount++
					found = true
				}
			}
		}
		other := *ch.Genesis
		if other.AppState, err = json.Marshal(g); err != nil || !found {
			t.Fatalf("the sender's genesis balance: found %v, %v", found, err)
		}
		if _, err := proof.Verify(reencode(t, b1), proof.Trust{Genesis: &other, Guomi: true}); !errors.Is(err, proof.ErrCompleteness) {
			t.Fatalf("another opening balance: %v", err)
		}
		x := reencode(t, b1)
		x.Completeness.Before = b.Completeness.Before
		if _, err := proof.Verify(x, proof.Trust{Genesis: ch.Genesis}); !errors.Is(err, proof.ErrMalformed) {
			t.Fatalf("a before bundle from height 1: %v", err)
		}
	})
}
