package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/ca"
	"github.com/jinlian-ledger/jinlian/internal/heavytest"
	"github.com/jinlian-ledger/jinlian/node/localnet"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

const (
	wcTimeoutCommit = 200 * time.Millisecond
	// wcRestarted is the validator that is killed with SIGKILL mid-run and
	// started again with empty caches.
	wcRestarted = 2
	// wcHoldBlocks is how long the regulator's hold lasts.
	wcHoldBlocks = 8
	// wcWait bounds each wait for a commit or a height: a node that
	// computed another app hash stops, and the test should say so soon.
	wcWait = 30 * time.Second
)

// TestWarmAndColdNodesAgree runs a four-validator network as four
// `jinlian start` processes, so every validator has its own certificate and
// signature caches, warmed by CheckTx as its mempool sees transactions. The
// workload leans on state-dependent authorisation: members of four banks
// pay each other, a bank revokes a member's certificate that every cache
// holds, a member tries to issue, the regulator holds an account until a
// height, and a double spend sent to two validators at once puts a refused
// transfer into a block. One validator is killed with SIGKILL under load
// and restarted with empty signature caches (its replay set comes back
// from its journal). Then a cold node (the localnet's registered
// observer, never started before) block-syncs from height 1 and
// re-executes every block. Every height's app hash as each process computed
// it (/block_results) and every transaction result must be the same on all
// five; the test names the first height where they are not.
func TestWarmAndColdNodesAgree(t *testing.T) {
	heavytest.Begin(t, "builds the jinlian binary and runs five node processes")
	started := time.Now()
	bin := buildJinlian(t)
	t.Logf("built jinlian in %v", time.Since(started).Round(time.Millisecond))
	started = time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	e := newWarmColdEnv(t, ctx, bin)
	vals, cold := e.procs[:4], e.procs[4]
	for _, p := range vals {
		p.start(t)
	}
	rec := newResultRecorder(e.procs)
	go rec.run(ctx)
	t.Cleanup(func() {
		rec.stop()
		if t.Failed() {
			rec.report(t)
		}
	})
	e.heightAll(vals, 2)

	// Members of every bank, registered by their bank's admin; the banks
	// fund them. Every validator's CheckTx verifies their certificates.
	var regs []string
	for i, m := range e.members {
		regs = append(regs, e.send(i, e.banks[i], permission.SystemLedger, &txpb.Message{Body: &txpb.Message_RegisterIdentity{
			RegisterIdentity: &txpb.RegisterIdentity{Address: m.addr.Bytes(), Name: m.name, Roles: []string{permission.RoleMember}, Certificate: m.signer.CertPEM}}}))
	}
	e.committed(regs...)
	var fund []string
	for i, m := range e.members {
		fund = append(fund, e.send(i, e.banks[i], ledgerName, op{opTransfer, e.banks[i], m, 10_000}.message()))
	}
	e.committed(fund...)
	e.payRound(vals, 1)
	e.payRound(vals, 2)

	// A validator dies with a round in flight; the others go on; it comes
	// back with empty caches and catches up.
	round := e.payRoundAsync(append(vals[:wcRestarted:wcRestarted], vals[wcRestarted+1:]...), 3)
	vals[wcRestarted].kill()
	e.committed(round...)
	e.payRound(vals[:wcRestarted], 4)
	vals[wcRestarted].start(t)
	e.heightAll(vals, maxOf(heights(t, ctx, clientsOf(vals[:wcRestarted]))))
	e.payRound(vals, 5)

	// bankB revokes bob's certificate, which every warm cache has verified.
	alice, bob, carol, dave := e.members[0], e.members[1], e.members[2], e.members[3]
	bobCert, err := gmcrypto.ParseCertificatePEM(bob.signer.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	e.committed(e.send(0, e.banks[1], permission.SystemLedger, &txpb.Message{Body: &txpb.Message_RevokeCertificate{
		RevokeCertificate: &txpb.RevokeCertificate{Serial: bobCert.Serial(), Reason: "key compromise"}}}))
	e.bobRevoked = true
	certCode := permission.ErrCertificate.Code()
	e.refusedEverywhere(vals, "revoked bob pays", bob, ledgerName, op{opTransfer, bob, alice, 1}.message(), certCode, "revoked")
	e.payRound(vals, 6) // everyone else still pays bob, and the others

	// A member may not issue: refused everywhere alike.
	e.refusedEverywhere(vals, "member alice issues", alice, ledgerName, op{opIssue, alice, alice, 5}.message(), 0, "")

	// The regulator holds carol's account until a height.
	until := maxOf(heights(t, ctx, clientsOf(vals))) + wcHoldBlocks
	e.committed(e.send(3, e.regulator, permission.SystemLedger, &txpb.Message{Body: &txpb.Message_Propose{Propose: &txpb.Propose{
		Action: &txpb.Propose_PlaceHold{PlaceHold: &txpb.PlaceHold{Ledger: ledgerName, Account: carol.addr.Bytes(), Reason: "e2e warm/cold", ExpiryHeight: until}}}}}))
	e.refusedEverywhere(vals, "held carol pays", carol, ledgerName, op{opTransfer, carol, alice, 1}.message(), permission.ErrHeld.Code(), "")

	// A double spend sent to two validators at once: each admits its half,
	// and the one that lands second is refused inside a block.
	e.doubleSpend(dave, alice)

	// The hold expires at its height on every node.
	e.heightAll(vals, until+1)
	e.committed(e.send(1, carol, ledgerName, op{opTransfer, carol, dave, 1}.message()))
	e.payRound(vals, 7)
	workEnd := time.Now()

	// The cold node: the registered observer, started now, block-syncs and
	// executes every block from height 1 with empty caches.
	target := maxOf(heights(t, ctx, clientsOf(vals)))
	cold.start(t)
	e.heightAll(e.procs, target+1)
	if h, err := heightOf(ctx, cold.client); err != nil || h < target {
		t.Fatalf("cold node at height %d (%v), want ≥ %d", h, err, target)
	}
	syncEnd := time.Now()
	e.refusedEverywhere([]*nodeProc{cold}, "revoked bob pays (cold node)", bob, ledgerName, op{opTransfer, bob, alice, 1}.message(), certCode, "revoked")

	rec.stop()
	rec.poll(ctx) // whatever the last tick missed
	if err := rec.firstDivergence(target, true); err != nil {
		t.Fatal(err)
	}
	for _, p := range e.procs {
		if err := rec.matchesHeaders(ctx, p, target); err != nil {
			t.Fatal(err)
		}
	}
	failed := rec.refusedInBlocks(target)
	if failed == 0 {
		t.Fatal("no block carried a refused transaction: the results comparison covered only successes")
	}
	checkAppMatchesChain(t, ctx, clientsOf(e.procs))
	t.Logf("heights 1..%d agree on 4 validators (%s restarted) and a cold node; %d txs sent, %d refused inside blocks; workload %v, cold sync %v, total %v",
		target, vals[wcRestarted].name, e.sent, failed, workEnd.Sub(started).Round(time.Millisecond),
		syncEnd.Sub(workEnd).Round(time.Millisecond), time.Since(started).Round(time.Millisecond))
}

// warmColdEnv is the network's homes, node processes and signers.
type warmColdEnv struct {
	t         *testing.T
	ctx       context.Context
	chainID   string
	procs     []*nodeProc // four validators, then the cold observer
	banks     []*account  // the banks' admins
	regulator *account
	members   []*account        // alice@bankA, bob@bankB, carol@bankC, dave@bankD
	sent      int               // txs handed to nodes, refused ones too
	raw       map[string][]byte // tx id → bytes, of every tx sent
	// bobRevoked leaves bob out of payment rounds once his certificate
	// is revoked.
	bobRevoked bool
}

// newWarmColdEnv prepares a localnet's homes (four validators, one
// observer) on free ports without starting anything.
func newWarmColdEnv(t *testing.T, ctx context.Context, bin string) *warmColdEnv {
	t.Helper()
	base, err := consensus.FreeBasePort(5)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ln, err := localnet.Prepare(localnet.Options{Home: filepath.Join(dir, "localnet"), Validators: 4, Observers: 1,
		BasePort: base, TimeoutCommit: wcTimeoutCommit})
	if err != nil {
		t.Fatal(err)
	}
	e := &warmColdEnv{t: t, ctx: ctx, chainID: ln.Network.ChainID, banks: loadDemoAccounts(t, ln.Identities), raw: map[string][]byte{}}
	for _, id := range ln.Identities {
		if id.Org == localnet.RegulatorOrg {
			info, key, err := gmcrypto.LoadKey(id.KeyFile, []byte(localnet.Passphrase))
			if err != nil {
				t.Fatal(err)
			}
			e.regulator = &account{name: id.Name, signer: wire.Signer{Key: key, MSPID: id.Org, CertPEM: []byte(info.Certificate)}, addr: key.Public().Address()}
		}
	}
	if len(e.banks) != 4 || e.regulator == nil {
		t.Fatalf("localnet has %d banks, regulator %v", len(e.banks), e.regulator != nil)
	}
	for i, name := range []string{"alice", "bob", "carol", "dave"} {
		e.members = append(e.members, newMember(t, ln.Home, localnet.Orgs[i], name))
	}
	for _, n := range ln.Network.Nodes {
		c, err := rpchttp.NewWithTimeout(n.RPCAddr, "/websocket", 10)
		if err != nil {
			t.Fatal(err)
		}
		e.procs = append(e.procs, &nodeProc{name: n.Moniker, home: n.Home, bin: bin, rpcAddr: n.RPCAddr, client: c,
			logPath: filepath.Join(dir, n.Moniker+".log"), args: []string{"--log.level", "warn"}})
	}
	if len(e.procs) != 5 || ln.Network.Nodes[4].Power != 0 {
		t.Fatalf("localnet nodes: %+v, want four validators and an observer", ln.Network.Nodes)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, p := range e.procs {
			t.Logf("%s log:\n%s", p.name, logExcerpt(p.logText()))
		}
	})
	return e
}

// newMember issues a client certificate from org's localnet CA for a new
// key; the org's admin must register it before it transacts.
func newMember(t *testing.T, home, org, name string) *account {
	t.Helper()
	auth, err := ca.Load(localnet.CADir(home, org), []byte(localnet.Passphrase))
	if err != nil {
		t.Fatal(err)
	}
	k, err := gmcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := auth.Issue(name, gmcrypto.RoleClient, k.Public(), 30, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return &account{name: name + "@" + org, signer: wire.Signer{Key: k, MSPID: org, CertPEM: cert.PEM()}, addr: k.Public().Address()}
}

func (e *warmColdEnv) build(who *account, ledgerName string, m *txpb.Message) ([]byte, string) {
	e.t.Helper()
	raw, id, err := wire.BuildTx(who.signer, e.chainID, ledgerName, time.Now(), m)
	if err != nil {
		e.t.Fatal(err)
	}
	e.raw[id] = raw
	return raw, id
}

// send hands a transaction to validator node and wants it admitted.
func (e *warmColdEnv) send(node int, who *account, ledgerName string, m *txpb.Message) string {
	e.t.Helper()
	raw, id := e.build(who, ledgerName, m)
	res, err := e.procs[node].client.BroadcastTxSync(e.ctx, raw)
	if err != nil {
		e.t.Fatalf("broadcast to %s: %v", e.procs[node].name, err)
	}
	if res.Code != 0 {
		e.t.Fatalf("%s refused %s's tx: code %d (%s): %s", e.procs[node].name, who.name, res.Code, res.Codespace, res.Log)
	}
	e.sent++
	return id
}

// committed waits until every tx is committed, asking node0 (which is
// never restarted), and wants each executed.
// It returns once every running node's app has committed them, so that the
// next transactions are checked against state that holds them.
func (e *warmColdEnv) committed(ids ...string) {
	e.t.Helper()
	var top int64
	for _, id := range ids {
		r, h := e.resultOf(id)
		if r.code != 0 {
			e.t.Fatalf("tx %s refused in its block: code %d (%s): %s", id, r.code, r.codespace, r.log)
		}
		top = max(top, h)
	}
	e.appsAt(top)
}

// heightAll waits until every node of ps has block h, for at most
// wcWait.
func (e *warmColdEnv) heightAll(ps []*nodeProc, h int64) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, wcWait)
	defer cancel()
	for _, p := range ps {
		if err := consensus.WaitForHeight(ctx, p.client, h); err != nil {
			got, _ := heightOf(e.ctx, p.client)
			e.t.Fatalf("%s at height %d, want %d: %v", p.name, got, h, err)
		}
	}
}

// appsAt waits until the app of every running node has committed height h.
func (e *warmColdEnv) appsAt(h int64) {
	e.t.Helper()
	for _, p := range e.procs {
		if !p.running() {
			continue
		}
		ctx, cancel := context.WithTimeout(e.ctx, wcWait)
		waitFor(e.t, ctx, fmt.Sprintf("%s's app at height %d", p.name, h), func() bool {
			info, err := p.client.ABCIInfo(ctx)
			return err == nil && info.Response.LastBlockHeight >= h
		})
		cancel()
	}
}

// resultOf waits until tx id is committed (executed or refused in a block)
// and returns its result, as node0 reports it.
func (e *warmColdEnv) resultOf(id string) (txResult, int64) {
	e.t.Helper()
	c := e.procs[0].client
	ctx, cancel := context.WithTimeout(e.ctx, wcWait)
	defer cancel()
	h, err := waitTx(ctx, c, id)
	if err != nil {
		e.t.Fatal(err)
	}
	b, err := c.Block(e.ctx, &h)
	if err != nil {
		e.t.Fatal(err)
	}
	res, err := c.BlockResults(e.ctx, &h)
	if err != nil {
		e.t.Fatal(err)
	}
	for i, tx := range b.Block.Txs {
		if bytes.Equal(tx, e.raw[id]) {
			r := res.TxsResults[i]
			return txResult{r.Code, r.Codespace, r.Log}, h
		}
	}
	e.t.Fatalf("tx %s: the app places it at height %d, which does not carry it", id, h)
	return txResult{}, 0
}

// payRoundAsync has every member pay every other member, spread over
// nodes, and returns the tx ids without waiting.
func (e *warmColdEnv) payRoundAsync(nodes []*nodeProc, round int) []string {
	e.t.Helper()
	var ids []string
	k := 0
	for i, from := range e.members {
		if i == 1 && e.bobRevoked {
			continue
		}
		for j, to := range e.members {
			if i == j {
				continue
			}
			o := op{opTransfer, from, to, uint64(round*10 + j)}
			raw, id := e.build(from, ledgerName, o.message())
			n := nodes[k%len(nodes)]
			k++
			res, err := n.client.BroadcastTxSync(e.ctx, raw)
			if err != nil {
				e.t.Fatalf("broadcast %v to %s: %v", o, n.name, err)
			}
			if res.Code != 0 {
				e.t.Fatalf("%s refused %v: code %d: %s", n.name, o, res.Code, res.Log)
			}
			ids = append(ids, id)
		}
	}
	e.sent += len(ids)
	return ids
}

func (e *warmColdEnv) payRound(nodes []*nodeProc, round int) {
	e.t.Helper()
	e.committed(e.payRoundAsync(nodes, round)...)
}

// refusedEverywhere hands a fresh tx of who to each node: each must refuse
// it in CheckTx with the same code, codespace and log; wantCode and
// wantLog (when set) pin what.
func (e *warmColdEnv) refusedEverywhere(nodes []*nodeProc, what string, who *account, ledgerName string, m *txpb.Message, wantCode uint32, wantLog string) {
	e.t.Helper()
	var first *nodeProc
	var ref txResult
	for _, n := range nodes {
		raw, _ := e.build(who, ledgerName, m)
		res, err := n.client.BroadcastTxSync(e.ctx, raw)
		if err != nil {
			e.t.Fatalf("%s: broadcast to %s: %v", what, n.name, err)
		}
		got := txResult{res.Code, res.Codespace, res.Log}
		switch {
		case got.code == 0:
			e.t.Errorf("%s: %s admitted it", what, n.name)
		case wantCode != 0 && got.code != wantCode:
			e.t.Errorf("%s: %s refused it with code %d (%s): %s, want code %d", what, n.name, got.code, got.codespace, got.log, wantCode)
		case !strings.Contains(got.log, wantLog):
			e.t.Errorf("%s: %s refused it with %q, want a log naming %q", what, n.name, got.log, wantLog)
		case first != nil && !sameLogModuloIDs(got, ref):
			e.t.Errorf("%s: %s refused it with %v, %s with %v", what, n.name, got, first.name, ref)
		}
		if first == nil {
			first, ref = n, got
		}
	}
}

// sameLogModuloIDs compares two refusals of different txs of the same
// kind: code and codespace exactly, the log up to the tx id it names.
func sameLogModuloIDs(a, b txResult) bool {
	strip := func(s string) string {
		var out []string
		for _, w := range strings.Fields(s) {
			if len(w) == 64 && strings.Trim(w, "0123456789abcdef") == "" {
				w = "<id>"
			}
			out = append(out, w)
		}
		return strings.Join(out, " ")
	}
	return a.code == b.code && a.codespace == b.codespace && strip(a.log) == strip(b.log)
}

// doubleSpend has from spend most of its balance twice at once, once
// through node0 and once through node3: both admit their half (neither has
// seen the other), the other validators refuse the gossiped copy, and the
// half that lands second is refused inside a block by every node. If gossip
// beats one broadcast, it tries again.
func (e *warmColdEnv) doubleSpend(from, to *account) {
	e.t.Helper()
	for attempt := 1; attempt <= 5; attempt++ {
		bal, err := balanceOf(e.ctx, e.procs[0].client, from.addr)
		if err != nil {
			e.t.Fatal(err)
		}
		if bal < 100 {
			e.t.Fatalf("double spend: %s holds %d", from.name, bal)
		}
		raws := make([][]byte, 2)
		ids := make([]string, 2)
		for i := range raws {
			raws[i], ids[i] = e.build(from, ledgerName, op{opTransfer, from, to, bal - 20 - uint64(i)}.message())
		}
		codes := make([]uint32, 2)
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, node := range []int{0, 3} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := e.procs[node].client.BroadcastTxSync(e.ctx, raws[i])
				if err == nil {
					codes[i] = res.Code
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			e.t.Fatal(err)
		}
		e.sent += 2
		if codes[0] != 0 || codes[1] != 0 {
			// The loser was refused in CheckTx; the winner commits.
			for i := range ids {
				if codes[i] == 0 {
					e.committed(ids[i])
				}
			}
			continue
		}
		a, ha := e.resultOf(ids[0])
		b, hb := e.resultOf(ids[1])
		if (a.code == 0) == (b.code == 0) {
			e.t.Fatalf("double spend: results %+v and %+v, want one executed and one refused", a, b)
		}
		e.appsAt(max(ha, hb))
		// The bank tops the account up for the payments that follow.
		e.committed(e.send(3, e.banks[3], ledgerName, op{opTransfer, e.banks[3], from, 10_000}.message()))
		return
	}
	e.t.Fatal("no double spend got both halves admitted in 5 attempts")
}

// txResult is what a node reports for one transaction.
type txResult struct {
	code      uint32
	codespace string
	log       string
}

// heightResult is a node's own outcome of one block: the app hash it
// computed (not the proposer's header) and every transaction's result.
type heightResult struct {
	appHash []byte
	txs     []txResult
}

func (a heightResult) diff(b heightResult) string {
	var d []string
	if len(a.txs) != len(b.txs) {
		d = append(d, fmt.Sprintf("%d tx results vs %d", len(a.txs), len(b.txs)))
	} else {
		for i := range a.txs {
			if a.txs[i] != b.txs[i] {
				d = append(d, fmt.Sprintf("tx %d: %+v vs %+v", i, a.txs[i], b.txs[i]))
			}
		}
	}
	if !bytes.Equal(a.appHash, b.appHash) {
		d = append(d, fmt.Sprintf("app hash %X vs %X", a.appHash, b.appHash))
	}
	return strings.Join(d, "; ")
}

// resultRecorder polls every running node for the results of each height
// it has executed, as it executes them, so that a node that later dies
// (a node that computed another app hash halts on the next block) has
// still reported what it computed.
type resultRecorder struct {
	procs []*nodeProc
	once  sync.Once
	quit  chan struct{}
	done  chan struct{}

	mu  sync.Mutex
	got []map[int64]heightResult
}

func newResultRecorder(procs []*nodeProc) *resultRecorder {
	r := &resultRecorder{procs: procs, quit: make(chan struct{}), done: make(chan struct{}), got: make([]map[int64]heightResult, len(procs))}
	for i := range r.got {
		r.got[i] = map[int64]heightResult{}
	}
	return r
}

func (r *resultRecorder) run(ctx context.Context) {
	defer close(r.done)
	for {
		r.poll(ctx)
		select {
		case <-r.quit:
			return
		case <-ctx.Done():
			return
		case <-time.After(150 * time.Millisecond):
		}
	}
}

func (r *resultRecorder) stop() {
	r.once.Do(func() { close(r.quit) })
	<-r.done
}

// poll fetches /block_results of every height a running node has and the
// recorder does not.
func (r *resultRecorder) poll(ctx context.Context) {
	for i, p := range r.procs {
		if !p.running() {
			continue
		}
		latest, err := heightOf(ctx, p.client)
		if err != nil {
			continue // starting, or just killed
		}
		for h := int64(1); h <= latest; h++ {
			r.mu.Lock()
			_, have := r.got[i][h]
			r.mu.Unlock()
			if have {
				continue
			}
			res, err := p.client.BlockResults(ctx, &h)
			if err != nil {
				break // saved but not executed yet
			}
			hr := heightResult{appHash: res.AppHash}
			for _, tr := range res.TxsResults {
				hr.txs = append(hr.txs, txResult{tr.Code, tr.Codespace, tr.Log})
			}
			r.mu.Lock()
			r.got[i][h] = hr
			r.mu.Unlock()
		}
	}
}

// report logs, after a failure, the first height where the results
// recorded so far differ, and which node processes exited on their own.
func (r *resultRecorder) report(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r.poll(ctx)
	var top int64
	r.mu.Lock()
	for _, m := range r.got {
		for h := range m {
			top = max(top, h)
		}
	}
	r.mu.Unlock()
	if err := r.firstDivergence(top, false); err != nil {
		t.Logf("results recorded before the failure: %v", err)
	} else {
		t.Logf("results recorded before the failure agree at heights 1..%d", top)
	}
	for _, p := range r.procs {
		p.mu.Lock()
		run := p.cur
		p.mu.Unlock()
		if run == nil {
			continue
		}
		select {
		case <-run.exited:
			if !run.killed {
				t.Logf("%s exited on its own: %v", p.name, run.err)
			}
		default:
		}
	}
}

// firstDivergence compares every node's results at heights 1..to and
// names the first height where two differ or (with all) where a node
// reported nothing.
func (r *resultRecorder) firstDivergence(to int64, all bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for h := int64(1); h <= to; h++ {
		var ref heightResult
		refName := ""
		var missing []string
		for i, p := range r.procs {
			got, ok := r.got[i][h]
			switch {
			case !ok:
				missing = append(missing, p.name)
			case refName == "":
				ref, refName = got, p.name
			default:
				if d := got.diff(ref); d != "" {
					return fmt.Errorf("nodes diverge at height %d: %s vs %s: %s", h, p.name, refName, d)
				}
			}
		}
		if all && len(missing) > 0 {
			return fmt.Errorf("no results at height %d from %v (process exited or stuck)", h, missing)
		}
	}
	return nil
}

// matchesHeaders checks that the app hash p computed at each height is the
// one the next block's header carries in p's block store.
func (r *resultRecorder) matchesHeaders(ctx context.Context, p *nodeProc, to int64) error {
	hs, err := appHashes(ctx, p.client, 2, to+1)
	if err != nil {
		return fmt.Errorf("%s: %w", p.name, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	i := 0
	for i < len(r.procs) && r.procs[i] != p {
		i++
	}
	for j, want := range hs {
		h := int64(j) + 1
		if got := r.got[i][h].appHash; !bytes.Equal(got, want) {
			return fmt.Errorf("%s computed app hash %X at height %d, the header of %d says %X", p.name, got, h, h+1, want)
		}
	}
	return nil
}

// refusedInBlocks counts the transactions refused inside blocks 1..to
// (by the first node; firstDivergence has shown the others agree).
func (r *resultRecorder) refusedInBlocks(to int64) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for h := int64(1); h <= to; h++ {
		for _, tr := range r.got[0][h].txs {
			if tr.code != 0 {
				n++
			}
		}
	}
	return n
}
