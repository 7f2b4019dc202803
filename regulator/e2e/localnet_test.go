package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	cmtlog "github.com/cometbft/cometbft/libs/log"
	coretypes "github.com/cometbft/cometbft/rpc/core/types"

	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/ca"
	"github.com/jinlian-ledger/jinlian/node"
	"github.com/jinlian-ledger/jinlian/node/localnet"
	"github.com/jinlian-ledger/jinlian/node/localnet/localnettest"
	"github.com/jinlian-ledger/jinlian/nodecfg"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/regulator"
	"github.com/jinlian-ledger/jinlian/wire"
)

// rulesTOML scales the large-amount threshold to the localnet's balances.
const rulesTOML = `
[large_amount]
[large_amount.thresholds]
CNY = 100000
[structuring]
window = "1h"
count = 3
margin = 0.1
[velocity]
window = "10m"
max_count = 100
[fast_in_fast_out]
window = "30m"
percent = 80
[fast_in_fast_out.min_amount]
CNY = 50000
[cross_border]
[cross_border.default_limit]
CNY = 100000000
`

type testnet struct {
	h        *localnettest.Net // stops the nodes it holds when the test ends
	ln       *localnet.Net
	val, obs *node.Node
	bankA    wire.Signer
	regKey   *gmcrypto.PrivateKey
	regAddr  string
}

func passphrase(string) ([]byte, error) { return []byte(localnet.Passphrase), nil }

// startLocalnet starts one validator (bankA) and one regulator observer;
// prepare may edit the homes before they start.
func startLocalnet(t *testing.T, prepare func(ln *localnet.Net)) *testnet {
	t.Helper()
	return startLocalnetLogged(t, prepare, nil)
}

// startLocalnetLogged is startLocalnet with the nodes' CometBFT logs going
// to cometLogger (nil: errors only, on stderr).
func startLocalnetLogged(t *testing.T, prepare func(ln *localnet.Net), cometLogger cmtlog.Logger) *testnet {
	t.Helper()
	h := localnettest.Start(t, localnettest.Options{Options: localnet.Options{Home: filepath.Join(t.TempDir(), "ln"), Validators: 1, Observers: 1},
		Prepare: prepare, CometLogger: cometLogger})
	ln := h.Net
	n := &testnet{h: h, ln: ln, val: h.Nodes[0], obs: h.Nodes[1]}
	info, key, err := gmcrypto.LoadKey(filepath.Join(localnet.KeysDir(ln.Home), "bankA.json"), []byte(localnet.Passphrase))
	if err != nil {
		t.Fatal(err)
	}
	n.bankA = wire.Signer{Key: key, MSPID: info.Org, CertPEM: []byte(info.Certificate)}
	if _, n.regKey, err = gmcrypto.LoadKey(filepath.Join(localnet.KeysDir(ln.Home), "regulator.json"), []byte(localnet.Passphrase)); err != nil {
		t.Fatal(err)
	}
	n.regAddr = n.regKey.Public().Address().String()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := consensus.WaitForHeight(ctx, n.obs.Client(), 2); err != nil {
		t.Fatalf("observer does not follow the chain: %v", err)
	}
	return n
}

// transfer signs and commits a transfer from bankA; it returns the tx id
// and height.
func (n *testnet) transfer(t testing.TB, to gmcrypto.Address, amount uint64, conf *txpb.Confidential) (string, int64) {
	t.Helper()
	id, h, err := n.tryTransfer(to, amount, conf)
	if err != nil {
		t.Fatal(err)
	}
	return id, h
}

func (n *testnet) tryTransfer(to gmcrypto.Address, amount uint64, conf *txpb.Confidential) (string, int64, error) {
	raw, id, err := wire.BuildTx(n.bankA, n.ln.Network.ChainID, "payments", time.Now(), transferMsg(to, amount, conf))
	if err != nil {
		return "", 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := n.val.Client().BroadcastTxCommit(ctx, raw)
	if err != nil {
		return "", 0, fmt.Errorf("broadcast: %w", err)
	}
	if res.CheckTx.Code != 0 || res.TxResult.Code != 0 {
		return "", 0, fmt.Errorf("tx %s rejected: %s %s", id, res.CheckTx.Log, res.TxResult.Log)
	}
	return id, res.Height, nil
}

// restartObserver stops the observer node and starts it again from its home.
func (n *testnet) restartObserver(t *testing.T) {
	t.Helper()
	home := n.obs.Home()
	if err := n.obs.Stop(); err != nil {
		t.Fatal(err)
	}
	n.obs, n.h.Nodes = nil, n.h.Nodes[:1]
	cfg, err := nodecfg.Load(home, nil)
	if err != nil {
		t.Fatal(err)
	}
	obs, err := node.Start(context.Background(), cfg, node.Options{Passphrase: passphrase, Logger: slog.New(slog.DiscardHandler), Regulator: node.RegulatorOptions{Listen: "127.0.0.1:0"}})
	if err != nil {
		t.Fatalf("restart observer: %v", err)
	}
	n.obs, n.h.Nodes = obs, append(n.h.Nodes, obs)
}

// capped hides blocks above max from a service, so that two services can
// be compared at one height while the chain goes on.
type capped struct {
	regulator.BlockSource
	max atomic.Int64
}

func (c *capped) Status(ctx context.Context) (*coretypes.ResultStatus, error) {
	st, err := c.BlockSource.Status(ctx)
	if err == nil && st.SyncInfo.LatestBlockHeight > c.max.Load() {
		cp := *st
		cp.SyncInfo.LatestBlockHeight = c.max.Load()
		return &cp, nil
	}
	return st, err
}

func newService(t *testing.T, src regulator.BlockSource, q regulator.QueryFunc, dir string, key *gmcrypto.PrivateKey, psql string) *regulator.Service {
	t.Helper()
	rules, err := regulator.ParseRules([]byte(rulesTOML))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := regulator.New(regulator.Config{Source: src, Query: q, IndexDir: dir, Rules: rules, Listen: "127.0.0.1:0",
		Key: key, SQLConn: psql, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return svc
}

func waitIndexed(t *testing.T, svc *regulator.Service, h int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := svc.WaitForHeight(ctx, h); err != nil {
		t.Fatal(err)
	}
}

func newAddr(t *testing.T) (*gmcrypto.PrivateKey, gmcrypto.Address) {
	k, err := gmcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k, k.Public().Address()
}

// newMember makes a key, has bankA's CA certify it and bankA's admin
// register it as a member (a ledger pays only registered identities).
func (n *testnet) newMember(t *testing.T) (*gmcrypto.PrivateKey, gmcrypto.Address) {
	t.Helper()
	keys := n.newMembers(t, 1)
	return keys[0], keys[0].Public().Address()
}

// newMembers registers count fresh members in as few blocks as the
// mempool takes: every registration but the last is broadcast without
// waiting, and the last is waited for (one sender's transactions are
// ordered in the order sent).
func (n *testnet) newMembers(t *testing.T, count int) []*gmcrypto.PrivateKey {
	t.Helper()
	auth, err := ca.Load(localnet.CADir(n.ln.Home, "bankA"), []byte(localnet.Passphrase))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	keys := make([]*gmcrypto.PrivateKey, count)
	for i := range keys {
		k, addr := newAddr(t)
		keys[i] = k
		cert, err := auth.Issue(fmt.Sprintf("member-%s", addr.String()[:8]), gmcrypto.RoleClient, k.Public(), 30, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		m := &txpb.Message{Body: &txpb.Message_RegisterIdentity{RegisterIdentity: &txpb.RegisterIdentity{Certificate: cert.PEM(), Roles: []string{"member"}}}}
		raw, _, err := wire.BuildTx(n.bankA, n.ln.Network.ChainID, permission.SystemLedger, time.Now(), m)
		if err != nil {
			t.Fatal(err)
		}
		if i < count-1 {
			if res, err := n.val.Client().BroadcastTxSync(ctx, raw); err != nil || res.Code != 0 {
				t.Fatalf("register %s: %v %+v", addr, err, res)
			}
			continue
		}
		res, err := n.val.Client().BroadcastTxCommit(ctx, raw)
		if err != nil || res.CheckTx.Code != 0 || res.TxResult.Code != 0 {
			t.Fatalf("register %s: %v %+v", addr, err, res)
		}
	}
	return keys
}
