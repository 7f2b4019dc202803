package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/heavytest"
	"github.com/jinlian-ledger/jinlian/node/localnet"
	"github.com/jinlian-ledger/jinlian/nodecfg"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/recon"
	"github.com/jinlian-ledger/jinlian/wire"
)

// feedClient follows GET /v1/events of one node as one identity,
// reconnecting from the last cursor it saw whenever the stream breaks,
// and keeps every movement it received.
type feedClient struct {
	node api.Node
	hc   *http.Client

	mu         sync.Mutex
	got        []recon.Movement
	cursor     string // the last id seen
	reconnects []string
	refused    error
}

func (f *feedClient) follow(ctx context.Context, from string) {
	f.cursor = from
	for ctx.Err() == nil {
		err := f.node.FollowEvents(ctx, f.hc, "", "", f.cursorNow(), func(c string, m *recon.Movement) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.cursor = c
			if m != nil {
				f.got = append(f.got, *m)
			}
			return nil
		})
		var refused *api.Error
		if errors.As(err, &refused) {
			f.mu.Lock()
			f.refused = err
			f.mu.Unlock()
			return
		}
		if ctx.Err() != nil {
			return
		}
		f.mu.Lock()
		f.reconnects = append(f.reconnects, f.cursor)
		f.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(300 * time.Millisecond):
		}
	}
}

func (f *feedClient) cursorNow() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cursor
}

// key is a movement as the test compares it: where, whose, what.
func movementKey(m recon.Movement) string {
	return fmt.Sprintf("%s %s %s %s/%s %s %s %d %s %s@%s %q %s %s", m.Cursor, m.Time.UTC().Format(time.RFC3339Nano), m.Org, m.Ledger, m.Asset,
		m.Kind, m.Direction, m.Amount, m.Account, m.Counterparty, m.CounterpartyOrg, m.Memo, m.TxID, m.Result)
}

// TestEventFeedAcrossRestart runs a four-validator localnet as processes,
// bankA's validator serving the GM TLS API with mutual TLS. The regulator
// and bankA follow GET /v1/events from height 1 while members of four
// banks pay each other; bankA's validator is killed with SIGKILL
// mid-stream, blocks commit without it, and it is started again; both
// clients resume from their Last-Event-ID. What each received must equal,
// exactly, the movements of the blocks another validator committed
// (regulator: all; bankA: its own, both directions), and the JSON pages
// must walk the same sequence.
func TestEventFeedAcrossRestart(t *testing.T) {
	heavytest.Begin(t, "builds the jinlian binary and runs four node processes")
	bin := buildJinlian(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	base, err := consensus.FreeBasePort(5)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ln, err := localnet.Prepare(localnet.Options{Home: filepath.Join(dir, "localnet"), Validators: 4, Observers: 1,
		BasePort: base, TimeoutCommit: 200 * time.Millisecond, CheckpointInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	apiURL, apiCA := gatedAPIConfig(t, ln, 0, base, "bankA", "bankB", localnet.RegulatorOrg)
	var procs []*nodeProc
	for _, n := range ln.Network.Nodes[:4] {
		c, err := rpchttp.NewWithTimeout(n.RPCAddr, "/websocket", 10)
		if err != nil {
			t.Fatal(err)
		}
		p := &nodeProc{name: n.Moniker, home: n.Home, bin: bin, rpcAddr: n.RPCAddr, client: c,
			logPath: filepath.Join(dir, n.Moniker+".log"), args: []string{"--log.level", "warn"}}
		p.start(t)
		procs = append(procs, p)
	}
	waitAllHeight(t, ctx, clientsOf(procs), 2)
	t.Setenv(gmcrypto.PassphraseEnv, localnet.Passphrase)
	ids := map[string]localnet.Identity{}
	for _, id := range ln.Identities {
		ids[id.Org] = id
	}
	client := func(org string) *feedClient {
		t.Helper()
		n := api.Node{Addr: apiURL, TLS: api.ClientTLS{Mode: nodecfg.APITLSGM, CAFile: apiCA, KeyFile: ids[org].KeyFile}}
		hc, err := n.HTTPClient()
		if err != nil {
			t.Fatal(err)
		}
		return &feedClient{node: n, hc: hc}
	}
	regulator, bankA, bankB := client(localnet.RegulatorOrg), client("bankA"), client("bankB")
	followCtx, stopFollowing := context.WithCancel(ctx)
	var following sync.WaitGroup
	for _, f := range []*feedClient{regulator, bankA} {
		following.Go(func() { f.follow(followCtx, "1") })
	}

	// Members of four banks pay each other through bankB's validator,
	// which stays up.
	banks := loadDemoAccounts(t, ln.Identities)
	payer := procs[1].client
	var sent []string
	pay := func(i int) {
		t.Helper()
		from, to := banks[i%4], banks[(i+1+i/4)%4]
		if from == to {
			to = banks[(i+2)%4]
		}
		msg := &txpb.Message{Body: &txpb.Message_Transfer{Transfer: &txpb.Transfer{Asset: assetCNY, To: to.addr.Bytes(), Amount: uint64(10 + i),
			Memo: fmt.Sprintf("FEED-%03d", i)}}}
		raw, id, err := wire.BuildTx(from.signer, ln.Network.ChainID, ledgerName, time.Now(), msg)
		if err != nil {
			t.Fatal(err)
		}
		res, err := payer.BroadcastTxSync(ctx, raw)
		if err != nil || res.Code != 0 {
			t.Fatalf("pay %d: %v %+v", i, err, res)
		}
		sent = append(sent, id)
	}
	for i := range 12 {
		pay(i)
		time.Sleep(100 * time.Millisecond)
	}
	// Mid-stream: the clients have received some of the payments, others
	// are in flight; kill bankA's node.
	waitFor(t, ctx, "the regulator's first movements", func() bool { return len(regulator.snapshot()) >= 6 })
	procs[0].kill()
	for i := 12; i < 24; i++ {
		pay(i)
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := waitTx(ctx, payer, sent[len(sent)-1]); err != nil {
		t.Fatal(err)
	}
	procs[0].start(t)
	for i := 24; i < 36; i++ {
		pay(i)
		time.Sleep(50 * time.Millisecond)
	}
	final, err := waitTx(ctx, payer, sent[len(sent)-1])
	if err != nil {
		t.Fatal(err)
	}
	waitAllHeight(t, ctx, clientsOf(procs), final+1)
	waitFor(t, ctx, "both clients caught up", func() bool {
		for _, f := range []*feedClient{regulator, bankA} {
			c, err := recon.ParseCursor(f.cursorNow())
			if err != nil || c.Height <= final {
				return false
			}
		}
		return true
	})
	stopFollowing()
	following.Wait()
	for _, f := range []*feedClient{regulator, bankA} {
		if f.refused != nil {
			t.Fatalf("a client was refused: %v", f.refused)
		}
		if len(f.reconnects) == 0 {
			t.Fatal("no client reconnected: the node was not killed mid-stream")
		}
	}

	// The committed sequence, from bankB's validator's block store over
	// its RPC, through the same decoder.
	var want []recon.Movement
	for h := int64(1); h <= final; h++ {
		blk, err := payer.Block(ctx, &h)
		if err != nil {
			t.Fatal(err)
		}
		res, err := payer.BlockResults(ctx, &h)
		if err != nil {
			t.Fatal(err)
		}
		for i, tx := range blk.Block.Txs {
			rows, err := recon.TxMovements(&abci.TxResult{Height: h, Index: uint32(i), Tx: tx, Result: *res.TxsResults[i]}, blk.Block.Time)
			if err != nil {
				t.Fatal(err)
			}
			for m, r := range rows {
				want = append(want, recon.Movement{Cursor: recon.Cursor{Height: h, Tx: uint32(i), Move: uint32(m) + 1}.String(), Move: uint32(m), OrgRow: r})
			}
		}
	}
	memos := map[string]int{}
	for _, m := range want {
		if strings.HasPrefix(m.Memo, "FEED-") {
			memos[m.Memo]++
		}
	}
	if len(memos) != len(sent) {
		t.Fatalf("%d payments in the blocks, %d sent", len(memos), len(sent))
	}
	for memo, n := range memos {
		if n != 2 {
			t.Fatalf("payment %s has %d movements, want a debit and a credit", memo, n)
		}
	}
	upTo := func(ms []recon.Movement, org string) []string {
		var out []string
		for _, m := range ms {
			if m.Height <= final && (org == "" || m.Org == org) {
				out = append(out, movementKey(m))
			}
		}
		return out
	}
	same := func(who string, got, want []string) {
		t.Helper()
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("%s received %d movements, %d committed:\n%s\nwant:\n%s", who, len(got), len(want), strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	same("the regulator's stream", upTo(regulator.snapshot(), ""), upTo(want, ""))
	same("bankA's stream", upTo(bankA.snapshot(), ""), upTo(want, "bankA"))
	t.Logf("%d movements (bankA %d) over heights 1..%d; reconnects from %v (regulator) and %v (bankA)",
		len(upTo(want, "")), len(upTo(want, "bankA")), final, regulator.reconnects, bankA.reconnects)

	// The JSON pages walk the same sequence.
	var paged []recon.Movement
	for cur := "1"; ; {
		var p recon.Page
		if err := regulator.node.Get(ctx, regulator.hc, "/v1/events?format=json&limit=7&cursor="+cur, &p); err != nil {
			t.Fatal(err)
		}
		paged = append(paged, p.Movements...)
		next, _ := recon.ParseCursor(p.Next)
		if next.Height > final {
			break
		}
		cur = p.Next
	}
	same("the regulator's pages", upTo(paged, ""), upTo(want, ""))

	// bankB asks bankA's node for bankA's feed: refused and logged.
	var p recon.Page
	err = bankB.node.Get(ctx, bankB.hc, "/v1/events?format=json&cursor=1&org=bankA", &p)
	var refused *api.Error
	if !errors.As(err, &refused) || refused.Status != http.StatusForbidden || !strings.Contains(err.Error(), "may not read the movements of bankA") {
		t.Fatalf("bankB read bankA's feed: %v", err)
	}
	if log := procs[0].logText(); !strings.Contains(log, "api: events refused") {
		t.Fatalf("no audit entry for the refusal in bankA's node log:\n%s", logExcerpt(log))
	}
	// A cursor from the future and a malformed one.
	for q, want := range map[string]string{"cursor=999999": "from the future", "cursor=1.2": "malformed cursor"} {
		err := bankB.node.Get(ctx, bankB.hc, "/v1/events?format=json&"+q, &p)
		if !errors.As(err, &refused) || refused.Status != http.StatusBadRequest || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func (f *feedClient) snapshot() []recon.Movement {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recon.Movement(nil), f.got...)
}

// gatedAPIConfig has node i serve the GM TLS API on its spare port, with
// mutual TLS for the clients of orgs' CAs; it returns the URL and the CA
// of the server's certificate.
func gatedAPIConfig(t *testing.T, ln *localnet.Net, i, base int, orgs ...string) (url, caFile string) {
	t.Helper()
	home := ln.Network.Nodes[i].Home
	certs, err := api.GenerateCertificates(api.CertOptions{Dir: filepath.Join(t.TempDir(), "api"), Mode: nodecfg.APITLSGM, Org: "bankA", Client: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := nodecfg.Load(home, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", base+consensus.PortsPerNode*i+2)
	cfg.API.Listen, cfg.API.TLS = addr, nodecfg.APITLSGM
	cfg.API.CertFile, cfg.API.KeyFile, cfg.API.EncCertFile, cfg.API.EncKeyFile = certs.Cert, certs.Key, certs.EncCert, certs.EncKey
	var cas []byte
	for _, org := range orgs {
		b, err := os.ReadFile(filepath.Join(localnet.CADir(ln.Home, org), "ca.crt.pem"))
		if err != nil {
			t.Fatal(err)
		}
		cas = append(cas, b...)
	}
	cfg.API.ClientCAFile = filepath.Join(t.TempDir(), "clients.pem")
	if err := os.WriteFile(cfg.API.ClientCAFile, cas, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := cfg.WriteFile(); err != nil {
		t.Fatal(err)
	}
	return "https://" + addr, certs.CA
}
