package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	rpcclient "github.com/cometbft/cometbft/rpc/client"

	"github.com/jinlian-ledger/jinlian/internal/heavytest"
	"github.com/jinlian-ledger/jinlian/node/localnet"
)

// faultsEnv selects the fault campaign's profile: unset runs the short
// one (part of `go test ./...`), "long" the long one (scripts/faults).
const faultsEnv = "JINLIAN_FAULTS"

// faultProfile sizes the campaign.
type faultProfile struct {
	name       string
	kills      int           // kill -9 of a random validator under load, then restart
	maxDown    time.Duration // a killed validator stays down up to this long
	lagDown    time.Duration // a validator stopped this long, then restarted (catch-up rate)
	partition  time.Duration // one validator cut off (1|3)
	blackhole  bool          // the 1|3 partition drops bytes instead of resetting connections
	split      time.Duration // 2|2: no quorum
	pause      time.Duration // SIGSTOP of one validator
	idleConns  int           // connections that never send a request, held on one node's RPC
	diskFull   time.Duration // one validator's disk stays full this long
	tmpfsBytes int64         // size of the file system under that validator
	rate       int           // transfers per second offered
	budget     time.Duration
	// syncGap, when not 0, is every node's node.block_sync_gap; rejoinOnly
	// runs the 1|3 partition alone.
	syncGap    int
	rejoinOnly bool
}

var (
	shortFaults = faultProfile{name: "short", kills: 2, maxDown: 2 * time.Second, lagDown: 15 * time.Second,
		partition: 15 * time.Second, split: 6 * time.Second, pause: 6 * time.Second, idleConns: 1000,
		diskFull: 5 * time.Second, tmpfsBytes: 1 << 30, rate: 30, budget: 7 * time.Minute}
	longFaults = faultProfile{name: "long", kills: 100, maxDown: 10 * time.Second, lagDown: 10 * time.Minute,
		partition: 30 * time.Minute, blackhole: true, split: time.Minute, pause: time.Minute, idleConns: 1000,
		diskFull: time.Minute, tmpfsBytes: 6 << 30, rate: 40, budget: 3 * time.Hour}
	// rejoinFaults is the long partition alone, shorter, with a gap it
	// leaves behind: the restart into block sync (scripts/faults rejoin).
	rejoinFaults = faultProfile{name: "rejoin", partition: 5 * time.Minute, blackhole: true, rate: 40,
		syncGap: 100, rejoinOnly: true, budget: 20 * time.Minute}
	// rejoinLongFaults is the long profile's 30-minute partition alone,
	// with the default node.block_sync_gap (scripts/faults rejoin-long).
	rejoinLongFaults = faultProfile{name: "rejoin-long", partition: 30 * time.Minute, blackhole: true, rate: 40,
		rejoinOnly: true, budget: 50 * time.Minute}
)

// TestFaultCampaign runs a network of four validator processes under a
// steady load of transfers through the faults a bank's operations team
// sees (docs/operations.md), then checks, Jepsen-style, what the load saw
// against what every node holds: every transaction a node reported
// committed is in every node's app and tx index at the same height, the
// nodes agree on the app hash of every height, balances equal the
// transfers the chain reports, and the supply invariant holds. It prints
// a table of the perturbations and their recovery times.
//
// The short profile runs in `go test ./...`; JINLIAN_FAULTS=long (or
// scripts/faults) runs the long one: 100 kills, a 30-minute partition, a
// minute of full disk, about an hour in all.
func TestFaultCampaign(t *testing.T) {
	prof := shortFaults
	switch os.Getenv(faultsEnv) {
	case "":
	case "long":
		prof = longFaults
	case "rejoin":
		prof = rejoinFaults
	case "rejoin-long":
		prof = rejoinLongFaults
	default:
		t.Fatalf("%s=%q: want long, rejoin, rejoin-long or nothing", faultsEnv, os.Getenv(faultsEnv))
	}
	if testing.Short() {
		t.Skip("the fault campaign runs four node processes for minutes")
	}
	if prof.name == "short" {
		heavytest.Long(t, "builds the jinlian binary and runs four validator processes through faults")
	}
	// The long profile is run by hand (scripts/faults) and does not hold
	// the heavy-test lock for its hour: other tests may share the cores.
	ctx := heavytest.Context(t, prof.budget)
	bin := buildJinlian(t)

	// One validator's home on a small file system of its own, to fill.
	mnt, tmpfsErr := "", errors.New("not in this profile")
	if prof.tmpfsBytes > 0 {
		mnt, tmpfsErr = mountTmpfs(t, prof.tmpfsBytes)
	}
	onTmpfs := -1
	if tmpfsErr == nil {
		onTmpfs = 3
	}
	var args []string
	if prof.syncGap != 0 {
		args = []string{"--node.block_sync_gap", strconv.Itoa(prof.syncGap)}
	}
	f := newFaultNet(t, ctx, bin, mnt, onTmpfs, args...)
	load := newFaultLoad(f, prof.rate)
	go load.run(ctx)
	c := &campaign{f: f, load: load, prof: prof}
	defer func() {
		if t.Failed() {
			t.Logf("campaign so far:\n%s", c.table())
		}
	}()
	c.waitCommits(ctx, 20)
	if prof.rejoinOnly {
		c.cutOff(ctx, 2, prof.partition, prof.blackhole)
		c.audit(ctx)
		t.Logf("fault campaign (%s profile):\n%s", prof.name, c.table())
		return
	}

	for k := range prof.kills {
		c.killRestart(ctx, rand.IntN(4), rand.N(prof.maxDown+1))
		if k%10 == 9 {
			t.Logf("%d kills done", k+1)
		}
	}
	c.catchUp(ctx, 1, prof.lagDown)
	c.cutOff(ctx, 2, prof.partition, prof.blackhole)
	c.noQuorum(ctx, prof.split)
	c.pauseNode(ctx, 0, prof.pause)
	c.twoDown(ctx, 1, 3)
	c.allDown(ctx)
	c.idleRPC(ctx, 2, prof.idleConns)
	if tmpfsErr != nil {
		c.note("disk full (ENOSPC)", "not run: "+tmpfsErr.Error())
	} else {
		c.diskFull(ctx, onTmpfs, mnt, prof.diskFull)
	}
	c.note("clock skew ±1 h", "not injected: a Go process reads the wall clock through the vDSO and Linux time namespaces do not shift CLOCK_REALTIME; the watch is unit-tested (consensus TestClockWatch, TestCheckClockAtStart)")

	c.audit(ctx)
	t.Logf("fault campaign (%s profile):\n%s", prof.name, c.table())
}

// campaign runs the perturbations and keeps the table.
type campaign struct {
	f    *faultNet
	load *faultLoad
	prof faultProfile
	rows []*faultRow
	sum  faultSummary
}

type faultRow struct {
	what     string
	times    int
	recovery []time.Duration
	notes    []string
}

type faultSummary struct {
	sent, committed, refused, checked int
	appLost, indexLost, divergences   int
	final                             int64
}

func (c *campaign) row(what string) *faultRow {
	for _, r := range c.rows {
		if r.what == what {
			return r
		}
	}
	r := &faultRow{what: what}
	c.rows = append(c.rows, r)
	return r
}

func (c *campaign) record(what string, recovery time.Duration, note string) {
	r := c.row(what)
	r.times++
	r.recovery = append(r.recovery, recovery)
	if note != "" && len(r.notes) < 3 {
		r.notes = append(r.notes, note)
	}
}

func (c *campaign) note(what, note string) { c.row(what).notes = append(c.row(what).notes, note) }

// waitCommits waits until the load has seen n more commits.
func (c *campaign) waitCommits(ctx context.Context, n int64) {
	c.f.t.Helper()
	want := c.load.seen.Load() + n
	for c.load.seen.Load() < want {
		if ctx.Err() != nil {
			c.f.t.Fatalf("load: %d commits seen, waiting for %d: %v", c.load.seen.Load(), want, ctx.Err())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// killRestart kills validator i with SIGKILL mid-load, keeps it down for
// down, restarts it and times its return to the others' height.
func (c *campaign) killRestart(ctx context.Context, i int, down time.Duration) {
	t := c.f.t
	t.Helper()
	c.waitCommits(ctx, 5)
	time.Sleep(rand.N(300 * time.Millisecond))
	c.f.sigkill(i)
	time.Sleep(down)
	c.f.nodes[i].start(t)
	start := time.Now()
	target := c.f.top(ctx, i)
	c.record("kill -9 one validator, restart", c.f.reachHeight(ctx, i, target, start), "")
}

// catchUp stops validator i for down while the others go on, restarts it
// and measures how fast it catches up once its RPC answers (the process
// start, which replays nothing, is timed apart).
func (c *campaign) catchUp(ctx context.Context, i int, down time.Duration) {
	t := c.f.t
	t.Helper()
	c.f.sigkill(i)
	time.Sleep(down)
	c.f.nodes[i].start(t)
	start := time.Now()
	var from int64
	for from == 0 {
		if ctx.Err() != nil || !c.f.nodes[i].running() {
			t.Fatalf("node%d did not come back: %v %v", i, ctx.Err(), c.f.nodes[i].exitErr())
		}
		from = c.f.nodes[i].height(ctx)
		time.Sleep(20 * time.Millisecond)
	}
	up := time.Now()
	target := c.f.top(ctx, i)
	took := c.f.reachHeight(ctx, i, target, up)
	behind := target - from
	c.record("validator down, restart: catch-up", time.Since(start), fmt.Sprintf("down %v; %d blocks behind when its RPC answered (%.1f s after the start), caught up at %.0f blocks/min",
		down, behind, up.Sub(start).Seconds(), float64(behind)/took.Minutes()))
}

// cutOff partitions validator i from the other three for d; the three go
// on. After the heal it must rejoin by itself.
func (c *campaign) cutOff(ctx context.Context, i int, d time.Duration, blackhole bool) {
	t := c.f.t
	t.Helper()
	var rest [][]int
	var others []int
	for j := range c.f.nodes {
		if j != i {
			others = append(others, j)
		}
	}
	rest = append(rest, []int{i}, others)
	c.f.meshed(ctx, 30*time.Second)
	c.f.partition(blackhole, rest...)
	h0 := c.f.top(ctx, i)
	time.Sleep(d)
	h1, hi := c.f.top(ctx, i), c.f.nodes[i].height(ctx)
	if h1 <= h0 {
		t.Fatalf("partition 1|3: the three validators stalled at %d", h1)
	}
	if hi > h0+1 {
		t.Fatalf("partition 1|3: the cut-off node%d advanced to %d while cut off (the others %d→%d)", i, hi, h0, h1)
	}
	c.f.heal()
	start := time.Now()
	what := "partition 1|3 (connections reset), heal"
	if blackhole {
		what = "partition 1|3 (packets dropped), heal"
	}
	took := c.f.reachHeight(ctx, i, h1, start)
	how := "by consensus gossip"
	if strings.Contains(c.f.nodes[i].logText(), "restarting into block sync") {
		how = "restarted itself into block sync"
	}
	c.record(what, took, fmt.Sprintf("cut off %v, %d blocks behind, caught up %s at %.0f blocks/min", d, h1-hi, how, float64(h1-hi)/took.Minutes()))
}

// noQuorum splits the validators 2|2 for d: no side has two thirds, the
// chain stops without forking, and resumes after the heal.
func (c *campaign) noQuorum(ctx context.Context, d time.Duration) {
	t := c.f.t
	t.Helper()
	c.f.partition(false, []int{0, 1}, []int{2, 3})
	time.Sleep(2 * time.Second) // a height decided before the cut may still commit
	h0 := c.f.top(ctx)
	time.Sleep(d)
	if h1 := c.f.top(ctx); h1 > h0 {
		t.Fatalf("partition 2|2: the chain advanced from %d to %d without a quorum", h0, h1)
	}
	c.f.heal()
	start := time.Now()
	for c.f.top(ctx) <= h0 {
		if ctx.Err() != nil {
			t.Fatalf("partition 2|2: no block after the heal: %v", ctx.Err())
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.record("partition 2|2 (no quorum), heal: chain resumes", time.Since(start), fmt.Sprintf("halted at %d for %v", h0, d))
}

// pauseNode freezes validator i (SIGSTOP) for d, then lets it go on.
func (c *campaign) pauseNode(ctx context.Context, i int, d time.Duration) {
	t := c.f.t
	t.Helper()
	c.f.nodes[i].pause(t, true)
	time.Sleep(d)
	c.f.nodes[i].pause(t, false)
	start := time.Now()
	c.record("pause one validator (SIGSTOP), continue", c.f.reachHeight(ctx, i, c.f.top(ctx, i), start), fmt.Sprintf("paused %v", d))
}

// twoDown kills two validators: the chain stops; it resumes when one of
// them is back (3 of 4), and the other catches up.
func (c *campaign) twoDown(ctx context.Context, a, b int) {
	t := c.f.t
	t.Helper()
	c.f.sigkill(a)
	c.f.sigkill(b)
	time.Sleep(2 * time.Second)
	h0 := c.f.top(ctx)
	time.Sleep(3 * time.Second)
	if h1 := c.f.top(ctx); h1 > h0 {
		t.Fatalf("2 of 4 down: the chain advanced from %d to %d", h0, h1)
	}
	c.f.nodes[a].start(t)
	start := time.Now()
	for c.f.top(ctx) <= h0 {
		if ctx.Err() != nil {
			t.Fatalf("2 of 4 down: no block after node%d restarted: %v", a, ctx.Err())
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.record("2 of 4 killed: chain resumes after one restart", time.Since(start), "from the restart (process start included)")
	c.f.nodes[b].start(t)
	start = time.Now()
	c.f.reachHeight(ctx, b, c.f.top(ctx, b), start)
}

// allDown kills every validator at once and restarts them.
func (c *campaign) allDown(ctx context.Context) {
	t := c.f.t
	t.Helper()
	h0 := c.f.top(ctx)
	for i := range c.f.nodes {
		c.f.sigkill(i)
	}
	for _, n := range c.f.nodes {
		n.start(t)
	}
	start := time.Now()
	for c.f.top(ctx) <= h0 {
		if ctx.Err() != nil {
			t.Fatalf("all 4 killed: no block after the restart: %v", ctx.Err())
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.record("all 4 killed at once, restarted: chain resumes", time.Since(start), "from the restart (process start included)")
}

// idleRPC holds n connections to validator i's RPC that never send a
// request, and times a status request meanwhile. CometBFT ends an idle
// connection after 10 s, so an answer within 5 s is not their timeout.
func (c *campaign) idleRPC(ctx context.Context, i, n int) {
	t := c.f.t
	t.Helper()
	addr := strings.TrimPrefix(c.f.nodes[i].rpcAddr, "tcp://")
	var conns []net.Conn
	defer func() {
		for _, cn := range conns {
			_ = cn.Close()
		}
	}()
	for range n {
		cn, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			c.note("1,000 idle RPC connections", fmt.Sprintf("opened %d: %v", len(conns), err))
			break
		}
		conns = append(conns, cn)
	}
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	start := time.Now()
	if _, err := heightOf(qctx, c.f.nodes[i].client); err != nil {
		t.Fatalf("node%d's RPC did not answer within 5 s with %d idle connections open: %v", i, len(conns), err)
	}
	c.record("1,000 idle RPC connections: a status request answers", time.Since(start), fmt.Sprintf("%d held open", len(conns)))
}

// diskFull fills the file system under validator i until it stops, tries
// a restart on the full disk (as systemd's Restart=on-failure would), then
// frees the space and restarts it: it must resume and catch up.
func (c *campaign) diskFull(ctx context.Context, i int, mnt string, hold time.Duration) {
	t := c.f.t
	t.Helper()
	n := c.f.nodes[i]
	filler := filepath.Join(mnt, "filler")
	if err := fillDisk(filler, mnt, diskLeft); err != nil {
		t.Fatalf("fill %s: %v", mnt, err)
	}
	filled := time.Now()
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	err, exited := n.wait(wctx)
	cancel()
	if !exited {
		t.Fatalf("node%d kept running on a full disk for 2 minutes (height %d, the others %d)", i, n.height(ctx), c.f.top(ctx, i))
	}
	stopped := time.Since(filled)
	logText := n.logText()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !(strings.Contains(logText, "no space left on device") || strings.Contains(logText, "node.min_free_disk_mb")) || !strings.Contains(logText, mnt) {
		t.Fatalf("node%d on a full disk: exit %v; want exit 1 with a message naming the disk %s\n%s", i, err, mnt, logExcerpt(logText))
	}
	// A restart while the disk is still full is refused, saying why (as
	// systemd's Restart=on-failure would try).
	before := len(n.logText())
	n.start(t)
	wctx, cancel = context.WithTimeout(ctx, time.Minute)
	err, exited = n.wait(wctx)
	cancel()
	if !exited {
		t.Fatalf("node%d started on a full disk", i)
	}
	if again := n.logText()[before:]; !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(again, "node.min_free_disk_mb") || !strings.Contains(again, mnt) {
		t.Fatalf("node%d restarted on a full disk: exit %v; want exit 1 naming the disk and node.min_free_disk_mb\n%s", i, err, logExcerpt(again))
	}
	time.Sleep(hold)
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	n.start(t)
	start := time.Now()
	took := c.f.reachHeight(ctx, i, c.f.top(ctx, i), start)
	c.record("disk full on one validator (ENOSPC), space freed, restart", took,
		fmt.Sprintf("stopped %.1f s after the disk filled, naming it; a restart on the full disk refused; full for %v", stopped.Seconds(), hold))
}

// mountTmpfs mounts a tmpfs of size bytes for one node's home, or says why
// it cannot (not root, no mount in this container).
func mountTmpfs(t *testing.T, size int64) (string, error) {
	dir := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", err
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("mount -t tmpfs: %v: %s", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Logf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir, nil
}

// diskLeft is what fillDisk leaves free: below node.min_free_disk_mb's
// default (256 MB), so that the node's check stops it, and more than the
// node writes in the 5 s between two checks. Filled to the last byte, the
// outcome is a race: a write through the ledger's memory-mapped files can
// fault (SIGBUS, exit 2) before CometBFT's write fails (ENOSPC, exit 1);
// docs/operations.md, "A full disk".
const diskLeft = 64 << 20

// fillDisk writes path until the file system under dir has at most left
// bytes free.
func fillDisk(path, dir string, left uint64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for {
		var st syscall.Statfs_t
		if err := syscall.Statfs(dir, &st); err != nil {
			return err
		}
		if st.Bavail*uint64(st.Bsize) <= left {
			return f.Sync()
		}
		if _, err := f.Write(buf); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return nil
			}
			return err
		}
	}
}

// audit stops the load, brings every node to one height and checks what
// the load saw against every node.
func (c *campaign) audit(ctx context.Context) {
	t := c.f.t
	t.Helper()
	c.load.stop()
	clients := make([]rpcclient.Client, len(c.f.nodes))
	for i, n := range c.f.nodes {
		if !n.up() {
			t.Fatalf("node%d is not running at the audit: %v", i, n.exitErr())
		}
		clients[i] = n.client
	}
	top := c.f.top(ctx)
	waitAllHeight(t, ctx, clients, top+2)

	sent := c.load.sentTxs()
	observed := c.load.observed()
	verdicts := make([]txVerdict, len(sent))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1) - 1)
				if k >= len(sent) {
					return
				}
				verdicts[k] = c.checkTx(ctx, clients, sent[k], observed)
			}
		}()
	}
	wg.Wait()
	m := newLedgerModel(c.load.banks, localnet.Funding)
	for k, v := range verdicts {
		if v.committed {
			c.sum.committed++
			m.apply(sent[k].op)
		}
		if v.appLost {
			c.sum.appLost++
		}
		if v.indexLost {
			c.sum.indexLost++
		}
		if v.detail != "" && c.sum.appLost+c.sum.indexLost <= 5 {
			t.Errorf("tx %s: %s", sent[k].id, v.detail)
		}
	}
	c.sum.sent, c.sum.checked, c.sum.refused = len(sent), len(sent)*len(clients), int(c.load.refused.Load())

	final := minOf(heights(t, ctx, clients))
	c.sum.final = final
	var want [][]byte
	for i, cl := range clients {
		got, err := appHashes(ctx, cl, 1, final)
		if err != nil {
			t.Fatalf("node%d: %v", i, err)
		}
		if i == 0 {
			want = got
			continue
		}
		for h := range got {
			if !bytes.Equal(got[h], want[h]) {
				c.sum.divergences++
				if c.sum.divergences <= 3 {
					t.Errorf("app hash divergence at height %d: node%d %X, node0 %X", h+1, i, got[h], want[h])
				}
			}
		}
	}
	checkLedger(t, ctx, clients, m)
	checkAppMatchesChain(t, ctx, clients)
	if c.sum.appLost != 0 || c.sum.indexLost != 0 || c.sum.divergences != 0 {
		t.Errorf("lost from the app %d, from the tx index %d, divergent heights %d; want 0", c.sum.appLost, c.sum.indexLost, c.sum.divergences)
	}
}

// txVerdict is what the nodes hold of one sent transaction.
type txVerdict struct {
	committed, appLost, indexLost bool
	detail                        string
}

// checkTx asks every node's app and tx index for one sent transaction.
func (c *campaign) checkTx(ctx context.Context, clients []rpcclient.Client, s faultTx, observed map[string]int64) (v txVerdict) {
	var at int64 = -1
	for i, cl := range clients {
		h, found, err := txHeight(ctx, cl, s.id)
		if err != nil {
			v.appLost, v.detail = true, fmt.Sprintf("node%d: %v", i, err)
			return v
		}
		switch {
		case i == 0 && found:
			at = h
		case i == 0:
		case found != (at >= 0) || found && h != at:
			v.appLost, v.detail = true, fmt.Sprintf("node%d has it at %d (found %v), node0 at %d", i, h, found, at)
		}
	}
	if want, ok := observed[s.id]; ok && at != want {
		v.appLost, v.detail = true, fmt.Sprintf("observed committed at %d, node0 says %d", want, at)
	}
	if at < 0 {
		return v
	}
	v.committed = true
	for i, cl := range clients {
		res, err := cl.Tx(ctx, s.hash, false)
		if err == nil && res.Height != at {
			err = fmt.Errorf("indexed at height %d", res.Height)
		}
		if err != nil {
			v.indexLost = true
			if v.detail == "" {
				v.detail = fmt.Sprintf("node%d's tx index: %v; committed at %d", i, err, at)
			}
		}
	}
	return v
}

// table renders the campaign's figures.
func (c *campaign) table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "| perturbation | times | recovery median | recovery max | notes |\n|---|---|---|---|---|\n")
	for _, r := range c.rows {
		med, mx := "–", "–"
		if len(r.recovery) > 0 {
			d := slices.Clone(r.recovery)
			sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
			med, mx = d[len(d)/2].Round(time.Millisecond).String(), d[len(d)-1].Round(time.Millisecond).String()
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s |\n", r.what, r.times, med, mx, strings.Join(r.notes, "; "))
	}
	s := c.sum
	fmt.Fprintf(&b, "\ntransfers sent %d (refused at the door %d), committed %d; %d (tx, node) pairs checked in app and tx index;\n"+
		"lost from the app %d, from the tx index %d; app-hash divergences %d over heights 1..%d\n",
		s.sent, s.refused, s.committed, s.checked, s.appLost, s.indexLost, s.divergences, s.final)
	return b.String()
}

// faultTx is a transfer the load handed to a node.
type faultTx struct {
	id   string
	hash []byte
	op   op
}

// faultLoad offers transfers among the demo banks at a steady rate to
// whichever nodes are up, and notes which it sees committed.
type faultLoad struct {
	f       *faultNet
	banks   []*account
	rate    int
	seen    atomic.Int64
	refused atomic.Int64
	done    chan struct{}
	quit    chan struct{}

	mu        sync.Mutex
	sent      []faultTx
	pending   map[string]time.Time // id → when sent
	committed map[string]int64
}

func newFaultLoad(f *faultNet, rate int) *faultLoad {
	return &faultLoad{f: f, banks: f.banks, rate: rate, done: make(chan struct{}), quit: make(chan struct{}),
		pending: map[string]time.Time{}, committed: map[string]int64{}}
}

func (l *faultLoad) run(ctx context.Context) {
	defer close(l.done)
	tick := time.NewTicker(time.Second / time.Duration(l.rate))
	defer tick.Stop()
	lastPoll := time.Now()
	for k := 0; ; k++ {
		select {
		case <-l.quit:
			return
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		from := l.banks[k%4]
		to := l.banks[(k+1+k/4%3)%4]
		o := op{opTransfer, from, to, uint64(1 + k%97)}
		raw, id, err := o.build(l.f.chainID)
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(raw)
		l.mu.Lock()
		l.sent = append(l.sent, faultTx{id, sum[:], o})
		l.mu.Unlock()
		for try := range len(l.f.nodes) {
			n := l.f.nodes[(k+try)%len(l.f.nodes)]
			if !n.up() {
				continue
			}
			bctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			res, err := n.client.BroadcastTxSync(bctx, raw)
			cancel()
			if err != nil {
				continue
			}
			if res.Code != 0 {
				l.refused.Add(1)
				break
			}
			l.mu.Lock()
			l.pending[id] = time.Now()
			l.mu.Unlock()
			break
		}
		if time.Since(lastPoll) > 500*time.Millisecond {
			l.poll(ctx)
			lastPoll = time.Now()
		}
	}
}

// poll asks one node that is up about the pending transactions.
func (l *faultLoad) poll(ctx context.Context) {
	var n *nodeProc
	for _, c := range rand.Perm(len(l.f.nodes)) {
		if l.f.nodes[c].up() {
			n = l.f.nodes[c]
			break
		}
	}
	if n == nil {
		return
	}
	l.mu.Lock()
	ids := make([]string, 0, len(l.pending))
	for id, at := range l.pending {
		if time.Since(at) > time.Minute {
			delete(l.pending, id) // in doubt: the audit asks the chain
			continue
		}
		ids = append(ids, id)
	}
	l.mu.Unlock()
	for _, id := range ids {
		qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		h, found, err := txHeight(qctx, n.client, id)
		cancel()
		if err != nil {
			return
		}
		if found {
			l.mu.Lock()
			l.committed[id] = h
			delete(l.pending, id)
			l.mu.Unlock()
			l.seen.Add(1)
		}
	}
}

func (l *faultLoad) stop() {
	close(l.quit)
	<-l.done
}

func (l *faultLoad) sentTxs() []faultTx {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.sent)
}

func (l *faultLoad) observed() map[string]int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int64, len(l.committed))
	for id, h := range l.committed {
		out[id] = h
	}
	return out
}
