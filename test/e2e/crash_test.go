package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	rpcclient "github.com/cometbft/cometbft/rpc/client"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/internal/heavytest"
	"github.com/jinlian-ledger/jinlian/node/localnet"
)

const (
	crashTimeoutCommit = "200ms"
	crashSIGKILLCycles = 2
	// The fail point is drawn from [crashFailIndex, +crashFailIndexSpread).
	// fail.Fail's call counter is one unsynchronised global shared by the
	// four nodes (the race detector flags it; nothing else in a -race
	// build of this test does), so indexes are approximate: some tens of
	// calls per block, which lands the crash a few blocks into the load,
	// anywhere in the commit path of whichever node gets there.
	crashFailIndex       = 150
	crashFailIndexSpread = 40
	// crashCommittedBeforeKill is how many load txs must be seen committed
	// in a cycle before the localnet is killed.
	crashCommittedBeforeKill = 40
	loadBatch                = 8
)

// buildJinlian builds cmd/jinlian from this module into a temp dir.
func buildJinlian(t *testing.T) string { return buildJinlianTags(t, "") }

// localnetInfo is what `jinlian localnet --output json` prints once every
// node has started.
type localnetInfo struct {
	ChainID    string              `json:"chain_id"`
	Resumed    bool                `json:"resumed"`
	Passphrase string              `json:"passphrase"`
	Nodes      []map[string]string `json:"nodes"`
	Identities []localnet.Identity `json:"identities"`
}

// localnetProc is a `jinlian localnet` child process.
type localnetProc struct {
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error // set before exited is closed
	info    localnetInfo
	clients []rpcclient.Client

	mu  sync.Mutex
	out bytes.Buffer // stdout after the localnet's JSON
}

func (p *localnetProc) stdout() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// terminate stops the localnet with SIGTERM and wants a clean exit.
func (p *localnetProc) terminate(t *testing.T, ctx context.Context) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
		if p.waitErr != nil {
			t.Fatalf("localnet after SIGTERM: %v", p.waitErr)
		}
	case <-ctx.Done():
		t.Fatal("localnet did not stop on SIGTERM")
	}
}

// startLocalnetProc runs the localnet binary on home and waits until it
// prints its nodes and every node's RPC answers.
func startLocalnetProc(t *testing.T, ctx context.Context, bin, home string, base int, stderr io.Writer, env []string) *localnetProc {
	t.Helper()
	cmd := exec.Command(bin, "localnet", "--home", home, "--base-port", strconv.Itoa(base),
		"--timeout-commit", crashTimeoutCommit, "--observers", "0", "--output", "json")
	cmd.Env = append(os.Environ(), env...)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &localnetProc{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		_ = pw.Close()
		close(p.exited)
	}()
	t.Cleanup(p.kill)
	infoc := make(chan error, 1)
	go func() {
		dec := json.NewDecoder(pr)
		infoc <- dec.Decode(&p.info)
		// Keep what follows (CometBFT's fail points print there).
		rest := io.MultiReader(dec.Buffered(), pr)
		buf := make([]byte, 4096)
		for {
			n, err := rest.Read(buf)
			p.mu.Lock()
			p.out.Write(buf[:n])
			p.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	select {
	case err := <-infoc:
		if err != nil {
			t.Fatalf("localnet output: %v", err)
		}
	case <-p.exited:
		t.Fatalf("localnet exited before it started: %v", p.waitErr)
	case <-ctx.Done():
		t.Fatal("localnet did not start in time")
	}
	if len(p.info.Nodes) != 4 || len(p.info.Identities) != 4 {
		t.Fatalf("localnet reports %d nodes and %d identities", len(p.info.Nodes), len(p.info.Identities))
	}
	for i, n := range p.info.Nodes {
		want := fmt.Sprintf("tcp://127.0.0.1:%d", base+consensus.PortsPerNode*i+1)
		if n["rpc"] != want {
			t.Fatalf("node%d rpc %q, want %q", i, n["rpc"], want)
		}
		c, err := rpchttp.NewWithTimeout(n["rpc"], "/websocket", 10)
		if err != nil {
			t.Fatal(err)
		}
		p.clients = append(p.clients, c)
	}
	waitAllHeight(t, ctx, p.clients, 1)
	return p
}

// kill sends SIGKILL (no chance to flush or close anything) and reaps the
// process. It does nothing to a process that has exited.
func (p *localnetProc) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// sentTx is a load transaction that was handed to a node.
type sentTx struct {
	id string
	op op
}

// loadGen sends transfers among the demo banks without pause: a batch of
// broadcast_tx_sync spread over the nodes, then polling the app's /tx query
// (on another node) until each is committed, then the next batch.
type loadGen struct {
	chainID string
	clients []rpcclient.Client
	banks   []*account
	stop    chan struct{}
	done    chan struct{}

	mu        sync.Mutex
	sent      []sentTx         // every tx handed to a node, in order
	committed map[string]int64 // tx id → height, as observed
	cycleSent int              // len(sent) when this run began
	cycleSeen int              // commits observed by this run
	err       error            // why the run ended
	broken    bool             // it ended on something other than an unreachable node
}

func (l *loadGen) start(clients []rpcclient.Client) {
	l.mu.Lock()
	l.clients, l.cycleSent, l.cycleSeen, l.err, l.broken = clients, len(l.sent), 0, nil, false
	l.mu.Unlock()
	l.stop, l.done = make(chan struct{}), make(chan struct{})
	go l.run()
}

func (l *loadGen) end(err error, broken bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.err, l.broken = err, broken
}

func (l *loadGen) run() {
	defer close(l.done)
	ctx := context.Background()
	n := len(l.clients)
	for k := 0; ; {
		pending := map[string]int{} // id → node it was sent to
		for range loadBatch {
			k++
			from := l.banks[k%4]
			to := l.banks[(k+1+k/4%3)%4] // every ordered pair of banks in turn
			o := op{opTransfer, from, to, uint64(1 + k%97)}
			raw, id, err := o.build(l.chainID)
			if err != nil {
				l.end(err, true)
				return
			}
			l.mu.Lock()
			l.sent = append(l.sent, sentTx{id, o})
			l.mu.Unlock()
			node := k % n
			res, err := l.clients[node].BroadcastTxSync(ctx, raw)
			if err != nil {
				l.end(fmt.Errorf("broadcast to node%d: %w", node, err), false)
				return
			}
			if res.Code != 0 {
				l.end(fmt.Errorf("node%d refused %v: code %d: %s", node, o, res.Code, res.Log), true)
				return
			}
			pending[id] = node
		}
		deadline := time.Now().Add(20 * time.Second)
		for len(pending) > 0 {
			for id, node := range pending {
				h, found, err := txHeight(ctx, l.clients[(node+1)%n], id)
				if err != nil {
					l.end(err, false)
					return
				}
				if found {
					l.mu.Lock()
					l.committed[id] = h
					l.cycleSeen++
					l.mu.Unlock()
					delete(pending, id)
				}
			}
			if len(pending) > 0 && time.Now().After(deadline) {
				l.end(fmt.Errorf("%d txs not committed within 20s", len(pending)), true)
				return
			}
			select {
			case <-l.stop:
				return
			case <-time.After(pollInterval):
			}
		}
	}
}

// finish stops a run whose nodes are gone and fails the test if it had
// broken down before.
func (l *loadGen) finish(t *testing.T) {
	t.Helper()
	close(l.stop)
	<-l.done
	if l.broken {
		t.Fatalf("load failed: %v", l.err)
	}
}

// maxHeight is the highest height a commit was observed at.
func (l *loadGen) maxHeight() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var h int64
	for _, v := range l.committed {
		h = max(h, v)
	}
	return h
}

// progress returns the commits observed in this run and the txs of this
// run not yet seen committed.
func (l *loadGen) progress() (seen, inFlight int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cycleSeen, len(l.sent) - l.cycleSent - l.cycleSeen
}

// running fails the test if the load ended by itself.
func (l *loadGen) running(t *testing.T) {
	t.Helper()
	select {
	case <-l.done:
		t.Fatalf("load stopped before the kill: %v", l.err)
	default:
	}
}

// TestCrashRecovery kills a `jinlian localnet` process while it commits a
// steady load of transfers, restarts it on the same home, and checks that
// nothing observed as committed was lost or moved, that the chain goes on,
// that the nodes agree on every app hash and that balances match exactly
// the transfers the chain reports committed. Twice with SIGKILL at a random
// moment, then once from inside the commit path with CometBFT's fail points
// (FAIL_TEST_INDEX makes the process exit at the n-th fail.Fail call, which
// sit between saving the block, the app's Commit and saving the state).
func TestCrashRecovery(t *testing.T) {
	heavytest.Begin(t, "builds the jinlian binary and kills it under load")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()
	started := time.Now()
	c, p := newCrashRun(t, ctx)
	load := &loadGen{chainID: c.chainID, banks: c.banks, committed: map[string]int64{}}

	for cycle := 1; cycle <= crashSIGKILLCycles; cycle++ {
		load.start(p.clients)
		waitFor(t, ctx, "load commits before the kill", func() bool {
			load.running(t)
			seen, _ := load.progress()
			return seen >= crashCommittedBeforeKill
		})
		// Kill mid-load, at a moment that varies against the block cycle.
		time.Sleep(rand.N(400 * time.Millisecond))
		waitFor(t, ctx, "a tx in flight", func() bool {
			load.running(t)
			_, inFlight := load.progress()
			return inFlight > 0
		})
		preKill := maxOf(heights(t, ctx, p.clients))
		_, inFlight := load.progress()
		p.kill()
		var ee *exec.ExitError
		if !errors.As(p.waitErr, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("localnet exit: %v, want killed by SIGKILL", p.waitErr)
		}
		load.finish(t)
		p = c.restartAndVerify(t, ctx, load, preKill, fmt.Sprintf("SIGKILL %d with %d txs in flight", cycle, inFlight))
	}

	// A clean stop works after the crashes; then a crash inside the
	// commit path of whichever node reaches the fail point first.
	p.terminate(t, ctx)
	p = c.crashAtFailPoint(t, ctx, load, crashFailIndex+rand.IntN(crashFailIndexSpread))

	p.terminate(t, ctx)
	t.Logf("crash test took %v", time.Since(started).Round(time.Millisecond))
}

// crashRun is one localnet home that TestCrashRecovery keeps restarting.
type crashRun struct {
	bin, home string
	base      int
	log       io.Writer
	chainID   string
	banks     []*account
}

// newCrashRun builds the binary, creates a localnet home on free ports and
// starts it.
func newCrashRun(t *testing.T, ctx context.Context) (*crashRun, *localnetProc) {
	t.Helper()
	started := time.Now()
	bin := buildJinlian(t)
	t.Logf("built jinlian in %v", time.Since(started).Round(time.Millisecond))
	dir := t.TempDir()
	c := &crashRun{bin: bin, home: filepath.Join(dir, "localnet")}
	logPath := filepath.Join(dir, "localnet.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = logFile.Close() })
	c.log = logFile
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("localnet log (last 4 KiB):\n%s", b[max(0, len(b)-4096):])
		}
	})
	if c.base, err = consensus.FreeBasePort(4); err != nil {
		t.Fatal(err)
	}

	p := c.start(t, ctx, nil)
	if p.info.Resumed {
		t.Fatal("first start of an empty home reports a resumed localnet")
	}
	c.chainID = p.info.ChainID
	c.banks = loadDemoAccounts(t, p.info.Identities)
	return c, p
}

func (c *crashRun) start(t *testing.T, ctx context.Context, env []string) *localnetProc {
	t.Helper()
	return startLocalnetProc(t, ctx, c.bin, c.home, c.base, c.log, env)
}

// crashAtFailPoint starts the localnet so that it exits at CometBFT fail
// point failAt, puts it under load until it does, then restarts and
// verifies it. The localnet must not be running.
func (c *crashRun) crashAtFailPoint(t *testing.T, ctx context.Context, load *loadGen, failAt int) *localnetProc {
	t.Helper()
	p := c.start(t, ctx, []string{fmt.Sprintf("FAIL_TEST_INDEX=%d", failAt)})
	load.start(p.clients)
	select {
	case <-p.exited:
	case <-load.done:
		// It stops when the nodes vanish, or breaks before.
		if load.broken {
			t.Fatalf("load failed before fail point %d: %v", failAt, load.err)
		}
	case <-ctx.Done():
	}
	select {
	case <-p.exited:
	case <-ctx.Done():
		t.Fatalf("fail point %d not reached", failAt)
	}
	var ee *exec.ExitError
	if !errors.As(p.waitErr, &ee) || ee.ExitCode() != 1 || !strings.Contains(p.stdout(), fmt.Sprintf("*** fail-test %d ***", failAt)) {
		t.Fatalf("localnet exit: %v, stdout %q: want exit 1 at fail point %d", p.waitErr, p.stdout(), failAt)
	}
	load.finish(t)
	seen, inFlight := load.progress()
	if seen == 0 {
		t.Fatalf("fail point %d hit before any load tx committed", failAt)
	}
	return c.restartAndVerify(t, ctx, load, load.maxHeight(), fmt.Sprintf("fail point %d with %d txs in flight", failAt, inFlight))
}

// TestCrashFailPointSweep crashes the localnet at each of a range of
// CometBFT fail points in turn, e.g. JINLIAN_E2E_FAIL_SWEEP=100:24 for
// 100..123 (a range of a dozen or more covers every point of a block's
// commit path). Off unless the variable is set: it takes about 10 s a point.
func TestCrashFailPointSweep(t *testing.T) {
	spec := os.Getenv("JINLIAN_E2E_FAIL_SWEEP")
	if spec == "" || testing.Short() {
		t.Skip("set JINLIAN_E2E_FAIL_SWEEP=FROM:COUNT to sweep fail points")
	}
	heavytest.Begin(t, "builds the jinlian binary and kills it at each fail point")
	var from, count int
	if _, err := fmt.Sscanf(spec, "%d:%d", &from, &count); err != nil || from < 0 || count < 1 {
		t.Fatalf("JINLIAN_E2E_FAIL_SWEEP=%q: want FROM:COUNT", spec)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(count)*30*time.Second+time.Minute)
	defer cancel()
	c, p := newCrashRun(t, ctx)
	load := &loadGen{chainID: c.chainID, banks: c.banks, committed: map[string]int64{}}
	for failAt := from; failAt < from+count; failAt++ {
		p.terminate(t, ctx)
		p = c.crashAtFailPoint(t, ctx, load, failAt)
	}
	p.terminate(t, ctx)
}

// restartAndVerify starts the localnet again after a crash and checks what
// survived it.
func (c *crashRun) restartAndVerify(t *testing.T, ctx context.Context, load *loadGen, preKill int64, what string) *localnetProc {
	t.Helper()
	p := c.start(t, ctx, nil)
	if !p.info.Resumed || p.info.ChainID != c.chainID {
		t.Fatalf("restart: resumed=%v chain %q, want a resumed %q", p.info.Resumed, p.info.ChainID, c.chainID)
	}
	// The block being decided at the crash may still commit from the WAL;
	// two blocks after the resumed height every sent tx is either
	// committed or gone with the mempools.
	resumed := maxOf(heights(t, ctx, p.clients))
	waitAllHeight(t, ctx, p.clients, max(resumed, preKill)+2)
	checkObservedCommits(t, ctx, p.clients, load.committed)
	m, late := expectedLedger(t, ctx, p.clients[0], c.banks, load.sent, load.committed)
	checkLedger(t, ctx, p.clients, m)
	final := minOf(heights(t, ctx, p.clients))
	sameAppHashes(t, ctx, p.clients, final)
	checkAppMatchesChain(t, ctx, p.clients)
	t.Logf("%s at height ≥ %d: resumed at %d; %d observed commits kept, %d more found committed; app hashes 1..%d agree",
		what, preKill, resumed, len(load.committed), late, final)
	return p
}

// checkObservedCommits asserts that every node finds every tx observed
// committed, at the height it was observed at.
func checkObservedCommits(t *testing.T, ctx context.Context, clients []rpcclient.Client, committed map[string]int64) {
	t.Helper()
	for id, want := range committed {
		for i, c := range clients {
			h, found, err := txHeight(ctx, c, id)
			switch {
			case err != nil:
				t.Fatalf("node%d: %v", i, err)
			case !found:
				t.Fatalf("node%d lost tx %s, observed committed at height %d before the kill", i, id, want)
			case h != want:
				t.Fatalf("node%d has tx %s at height %d, observed at %d before the kill", i, id, h, want)
			}
		}
	}
}

// expectedLedger replays every sent transfer the chain reports committed
// onto the genesis balances. It returns the model and how many of the
// committed txs had not been observed by the load.
func expectedLedger(t *testing.T, ctx context.Context, c rpcclient.Client, banks []*account, sent []sentTx, observed map[string]int64) (*ledgerModel, int) {
	t.Helper()
	m := newLedgerModel(banks, localnet.Funding)
	var unobserved int
	for _, s := range sent {
		_, found, err := txHeight(ctx, c, s.id)
		if err != nil {
			t.Fatal(err)
		}
		if !found {
			continue
		}
		m.apply(s.op)
		if _, ok := observed[s.id]; !ok {
			unobserved++
		}
	}
	return m, unobserved
}

// waitFor polls cond until it holds or ctx ends.
func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}
