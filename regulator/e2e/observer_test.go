package e2e

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/p2p"

	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/cmtlogtest"
	"github.com/jinlian-ledger/jinlian/internal/heavytest"
	"github.com/jinlian-ledger/jinlian/node"
	"github.com/jinlian-ledger/jinlian/nodecfg"
	"github.com/jinlian-ledger/jinlian/regulator"
	"github.com/jinlian-ledger/jinlian/wire"
)

func TestObserverOnLocalnet(t *testing.T) {
	heavytest.Begin(t, "starts a localnet")
	logs := cmtlogtest.New(t)
	n := startLocalnetLogged(t, nil, logs)
	t.Run("index, restart mid-stream, equal to a fresh replay", func(t *testing.T) { testRestartEqualsReplay(t, n) })
	t.Run("confidential payload", func(t *testing.T) { testConfidential(t, n) })
	t.Run("unregistered node is refused", func(t *testing.T) { testUnregisteredNode(t, n, logs) })
	t.Run("report anchored to a certified app hash", func(t *testing.T) { testReportAnchor(t, n) })
}

// A report's anchor is the real chain's: the app hash its QC certifies is
// the one the next block's header carries.
func testReportAnchor(t *testing.T, n *testnet) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := n.obs.Client().Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h := st.SyncInfo.LatestBlockHeight
	r := &regulator.Report{IndexedHeight: h, LastHeight: h - 3}
	regulator.AnchorReport(ctx, r, regulator.QCFromBlocks(n.obs.Client()))
	if r.Anchor == nil {
		t.Fatalf("no anchor at height %d: %s", h, r.AnchorError)
	}
	if r.Anchor.Height < h-2 || !r.Anchor.Covers || r.Anchor.Signers < 1 {
		t.Fatalf("anchor %+v for indexed height %d", r.Anchor, h)
	}
	next := r.Anchor.Height + 1
	blk, err := n.obs.Client().Block(ctx, &next)
	if err != nil {
		t.Fatal(err)
	}
	if got := blk.Block.AppHash.String(); !strings.EqualFold(got, r.Anchor.AppHash) {
		t.Fatalf("anchor app hash %s, block %d carries %s", r.Anchor.AppHash, next, got)
	}
}

func testRestartEqualsReplay(t *testing.T, n *testnet) {
	dirA := t.TempDir()
	src := &capped{BlockSource: n.obs.Client()}
	src.max.Store(math.MaxInt64)
	svc := newService(t, src, regulator.QueryFromClient(n.obs.Client()), dirA, nil, "")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Traffic keeps flowing while the observer (node and index) restarts.
	type sent struct {
		id     string
		height int64
		large  bool
	}
	out := make(chan sent, 64)
	half := make(chan struct{})
	errc := make(chan error, 1)
	recipients := n.newMembers(t, 16)
	go func() {
		defer close(out)
		defer close(half)
		for i, k := range recipients {
			amount := uint64(1_000 + i)
			if i%5 == 0 {
				amount = 150_000 // a large transfer
			}
			id, h, err := n.tryTransfer(k.Public().Address(), amount, nil)
			if err != nil {
				errc <- err
				return
			}
			out <- sent{id, h, amount >= 100_000}
			if i == 5 {
				half <- struct{}{}
			}
		}
	}()
	<-half
	if err := svc.Stop(); err != nil {
		t.Fatal(err)
	}
	n.restartObserver(t)
	src = &capped{BlockSource: n.obs.Client()}
	src.max.Store(math.MaxInt64)
	svc = newService(t, src, regulator.QueryFromClient(n.obs.Client()), dirA, nil, "")
	var txs []sent
	for s := range out {
		txs = append(txs, s)
	}
	select {
	case err := <-errc:
		t.Fatal(err)
	default:
	}
	last := txs[len(txs)-1].height
	if err := consensus.WaitForHeight(ctx, n.obs.Client(), last); err != nil {
		t.Fatal(err)
	}
	st, err := n.obs.Client().Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	src.max.Store(st.SyncInfo.LatestBlockHeight)
	waitIndexed(t, svc, st.SyncInfo.LatestBlockHeight)
	time.Sleep(100 * time.Millisecond) // a round that saw one more block finishes
	hA, _ := svc.Index().LastHeight()

	// Every sent transfer is indexed once, and each large one raised its alert.
	c := regulator.NewClient(svc.URL(), n.regKey)
	page, err := c.Txs(ctx, url.Values{"account": {n.bankA.Key.Public().Address().String()}, "limit": {"1000"}})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range page.Items {
		seen[e.TxID]++
	}
	alerts, err := c.Alerts(ctx, url.Values{"rule": {regulator.RuleLarge}})
	if err != nil {
		t.Fatal(err)
	}
	alerted := map[string]bool{}
	for _, a := range alerts.Items {
		alerted[a.TxIDs[0]] = true
	}
	for _, s := range txs {
		if seen[s.id] != 1 {
			t.Errorf("tx %s at %d indexed %d times", s.id, s.height, seen[s.id])
		}
		if s.large != alerted[s.id] {
			t.Errorf("tx %s: large %v, alerted %v", s.id, s.large, alerted[s.id])
		}
	}

	// A fresh index replayed from genesis to the same height is identical.
	fresh := &capped{BlockSource: n.obs.Client()}
	fresh.max.Store(hA)
	svcB := newService(t, fresh, regulator.QueryFromClient(n.obs.Client()), t.TempDir(), nil, "")
	waitIndexed(t, svcB, hA)
	da, err := svc.Index().Dump()
	if err != nil {
		t.Fatal(err)
	}
	db, err := svcB.Index().Dump()
	if err != nil {
		t.Fatal(err)
	}
	if hB, _ := svcB.Index().LastHeight(); hB != hA {
		t.Fatalf("replay at %d, restarted index at %d", hB, hA)
	}
	if len(da) != len(db) {
		t.Fatalf("restarted index has %d keys, fresh replay %d", len(da), len(db))
	}
	for i := range da {
		if !bytes.Equal(da[i][0], db[i][0]) || !bytes.Equal(da[i][1], db[i][1]) {
			t.Fatalf("key %d differs: %q=%q vs %q=%q", i, da[i][0], da[i][1], db[i][0], db[i][1])
		}
	}
	t.Logf("restarted observer and fresh replay agree on %d keys at height %d (%d transfers, %d large alerts)", len(da), hA, len(txs), len(alerts.Items))
	_ = svcB.Stop()
	_ = svc.Stop()
}

func testConfidential(t *testing.T, n *testnet) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	svc := newService(t, n.obs.Client(), regulator.QueryFromClient(n.obs.Client()), t.TempDir(), n.regKey, "")
	defer svc.Stop()

	plaintext := []byte("LC 2026/7781: 120 t copper cathode, Shanghai -> Rotterdam, beneficiary Hai Feng Metals")
	recipientKey, recipient := n.newMember(t)
	outsiderKey, _ := newAddr(t)
	c, err := wire.SealConfidential(plaintext, []*gmcrypto.PublicKey{n.bankA.Key.Public(), recipientKey.Public(), n.regKey.Public()})
	if err != nil {
		t.Fatal(err)
	}
	id, h := n.transfer(t, recipient, 500, c)
	// Without the regulator's key the app refuses the payload.
	c2, _ := wire.SealConfidential(plaintext, []*gmcrypto.PublicKey{n.bankA.Key.Public(), recipientKey.Public()})
	raw2, _, _ := wire.BuildTx(n.bankA, n.ln.Network.ChainID, "payments", time.Now(), transferMsg(recipient, 1, c2))
	if res, err := n.val.Client().BroadcastTxSync(ctx, raw2); err != nil || res.Code == 0 || !strings.Contains(res.Log, "regulator") {
		t.Fatalf("payload not readable by the regulator was accepted: %+v %v", res, err)
	}

	// The validator's stored copy holds ciphertext only.
	b, err := n.val.Client().Block(ctx, &h)
	if err != nil {
		t.Fatal(err)
	}
	var raw []byte
	for _, tx := range b.Block.Txs {
		if d, err := wire.DecodeTx(tx); err == nil && d.ID == id {
			raw = tx
		}
	}
	if raw == nil {
		t.Fatalf("tx %s not in block %d", id, h)
	}
	if bytes.Contains(raw, plaintext[:16]) {
		t.Fatal("the block carries the plaintext")
	}
	needle := plaintext[:16]
	_ = filepath.WalkDir(n.val.Home(), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if data, err := os.ReadFile(p); err == nil && bytes.Contains(data, needle) {
			t.Errorf("validator file %s contains the plaintext", p)
		}
		return nil
	})

	// A non-party cannot decrypt; the parties and the regulator can.
	if _, err := regulator.DecryptTx(raw, outsiderKey); !errors.Is(err, regulator.ErrNotReader) {
		t.Fatalf("outsider: %v", err)
	}
	for name, k := range map[string]*gmcrypto.PrivateKey{"sender": n.bankA.Key, "recipient": recipientKey} {
		if pt, err := regulator.DecryptTx(raw, k); err != nil || !bytes.Equal(pt, plaintext) {
			t.Fatalf("%s cannot decrypt: %v", name, err)
		}
	}
	waitIndexed(t, svc, h)
	cl := regulator.NewClient(svc.URL(), n.regKey)
	d, err := cl.Decrypt(ctx, id)
	if err != nil || d.Plaintext != string(plaintext) {
		t.Fatalf("regulator API decrypt: %+v %v", d, err)
	}
	// A bank's identity gets no answer from the regulator API, and the
	// attempt is in the audit log next to the regulator's decryption.
	if _, err := regulator.NewClient(svc.URL(), n.bankA.Key).Decrypt(ctx, id); err == nil {
		t.Fatal("a bank decrypted through the regulator API")
	}
	audit, err := cl.Audit(ctx, url.Values{"limit": {"100"}})
	if err != nil {
		t.Fatal(err)
	}
	var who []string
	for _, e := range audit.Items {
		if e.Action == "decrypt" {
			who = append(who, e.Who)
		}
	}
	if len(who) != 2 || who[0] != n.regAddr || who[1] != n.bankA.Key.Public().Address().String() {
		t.Fatalf("audited decryptions by %v", who)
	}
}

func testUnregisteredNode(t *testing.T, n *testnet, logs cmtlogtest.Log) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The filter answers: the registered observer is admitted, a fresh key is not.
	fresh := p2p.NodeKey{PrivKey: freshNodeKey()}
	for id, admit := range map[string]bool{n.obs.NodeID(): true, string(fresh.ID()): false} {
		res, err := n.val.App.Query(ctx, &abci.RequestQuery{Path: "/p2p/filter/id/" + id})
		if err != nil {
			t.Fatal(err)
		}
		if (res.Code == 0) != admit {
			t.Fatalf("node %s: filter code %d (%s), want admitted=%v", id, res.Code, res.Log, admit)
		}
	}

	// A real node with an unregistered key, dialling the validator, gets no peer.
	home := filepath.Join(t.TempDir(), "intruder")
	for _, f := range []string{"config/config.toml", "config/genesis.json", "config/priv_validator_key.json", "config/" + nodecfg.FileName, "data/priv_validator_state.json"} {
		b, err := os.ReadFile(filepath.Join(n.obs.Home(), f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(home, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(home, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	conf, err := consensus.LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	key, err := p2p.LoadOrGenNodeKey(conf.NodeKeyFile())
	if err != nil {
		t.Fatal(err)
	}
	base, err := consensus.FreeBasePort(1)
	if err != nil {
		t.Fatal(err)
	}
	conf.P2P.ListenAddress = "tcp://127.0.0.1:" + itoa(base)
	conf.RPC.ListenAddress = "tcp://127.0.0.1:" + itoa(base+1)
	conf.P2P.PersistentPeers = n.val.NodeID() + "@" + strings.TrimPrefix(n.val.Node.Config().P2P.ListenAddress, "tcp://")
	if err := consensus.WriteConfig(home, conf); err != nil {
		t.Fatal(err)
	}
	cfg, err := nodecfg.Load(home, nil)
	if err != nil {
		t.Fatal(err)
	}
	intruder, err := node.Start(context.Background(), cfg, node.Options{Passphrase: passphrase})
	if err != nil {
		t.Fatal(err)
	}
	defer intruder.Stop()
	// The intruder redials the validator, a persistent peer, every few
	// seconds: wait until the validator has refused it twice, checking all
	// along that it never lists it as a peer. (The intruder's own switch
	// may count the validator for an instant, until the validator closes
	// the connection.)
	refused := "filtered ID<" + string(key.ID()) + ">"
	for len(logs.Matching(refused)) < 2 {
		if n.val.CometNode().Switch().Peers().Has(key.ID()) {
			t.Fatal("validator accepted the unregistered node")
		}
		if ctx.Err() != nil {
			t.Fatalf("the validator logged %d refusals of the unregistered node %s in a minute, want 2", len(logs.Matching(refused)), key.ID())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n.val.CometNode().Switch().Peers().Has(key.ID()) {
		t.Fatal("validator accepted the unregistered node")
	}
	for intruder.CometNode().Switch().Peers().Size() != 0 {
		if ctx.Err() != nil {
			t.Fatalf("unregistered node %s keeps %d peers", key.ID(), intruder.CometNode().Switch().Peers().Size())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !n.val.CometNode().Switch().Peers().Has(p2p.ID(n.obs.NodeID())) {
		t.Fatal("validator dropped the registered observer")
	}
	if st, _ := intruder.Client().Status(ctx); st.SyncInfo.LatestBlockHeight != 0 {
		t.Fatalf("unregistered node synced to %d", st.SyncInfo.LatestBlockHeight)
	}
}
