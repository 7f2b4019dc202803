package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/internal/heavytest"
)

// A scheduled upgrade with two real builds of jinlian, as operators run
// it (docs/upgrades.md): the old release (a plain build) schedules upgrade
// "test-upgrade" by governance; the new release (-tags upgradetest, which
// carries its migration) refuses to start before the height; the old
// release stops at the height naming the upgrade, and refuses to start
// again; the new release migrates there and goes on; the old release then
// refuses the chain for good.
func TestScheduledUpgradeWithTwoBuilds(t *testing.T) {
	heavytest.Begin(t, "builds two releases and runs a localnet with each")
	oldBin := buildJinlianTags(t, "")
	newBin := buildJinlianTags(t, "upgradetest")
	ctx := heavytest.Context(t, 8*time.Minute)
	home := filepath.Join(t.TempDir(), "ln")
	base, err := consensus.FreeBasePort(1)
	if err != nil {
		t.Fatal(err)
	}
	rpc := "tcp://127.0.0.1:" + strconv.Itoa(base+1)
	c, err := rpchttp.New(rpc, "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	height := func() int64 {
		st, err := c.Status(ctx)
		if err != nil {
			return 0
		}
		return st.SyncInfo.LatestBlockHeight
	}
	cli := func(bin string, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, bin, append(args, "--node", rpc, "-o", "json")...)
		cmd.Env = append(os.Environ(), "JINLIAN_PASSPHRASE=localnet")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	old := startUpgradeNet(t, ctx, oldBin, home, base)
	if old.info == nil {
		t.Fatalf("old release did not start: %v\n%s", old.err, old.log())
	}
	waitFor(t, ctx, "height 2", func() bool { return height() >= 2 })
	at := height() + 12
	out, err := cli(oldBin, "gov", "propose", "schedule-upgrade", "--from", old.info.Identities[0].KeyFile,
		"--name", "test-upgrade", "--height", strconv.FormatInt(at, 10), "--info", "the upgradetest build")
	if err != nil {
		t.Fatalf("schedule-upgrade: %v\n%s", err, out)
	}
	out, err = cli(oldBin, "query", "upgrade")
	var st app.UpgradeStatus
	if err != nil || json.Unmarshal([]byte(out), &st) != nil || st.Plan == nil || st.Plan.Name != "test-upgrade" || st.Plan.Height != at {
		t.Fatalf("query upgrade: %v\n%s", err, out)
	}
	old.stop(t)

	// The new release, too early: refused, naming the upgrade.
	early := startUpgradeNet(t, ctx, newBin, home, base)
	if early.info != nil || !strings.Contains(early.log(), "binary upgraded before the upgrade height") || !strings.Contains(early.log(), "test-upgrade") {
		t.Fatalf("new release before the height: started %v, %v\n%s", early.info != nil, early.err, early.log())
	}

	// The old release runs to the height and stops there, naming it.
	old = startUpgradeNet(t, ctx, oldBin, home, base)
	if old.info == nil {
		t.Fatalf("old release did not start again: %v\n%s", old.err, old.log())
	}
	select {
	case <-old.exited:
	case <-ctx.Done():
		t.Fatalf("the old release did not stop at height %d (at %d)", at, height())
	}
	if !strings.Contains(old.log(), `UPGRADE "test-upgrade" NEEDED at height `+strconv.FormatInt(at, 10)) {
		t.Fatalf("old release stopped without naming the upgrade: %v\n%s", old.err, old.log())
	}
	again := startUpgradeNet(t, ctx, oldBin, home, base)
	if again.info != nil || !strings.Contains(again.log(), `UPGRADE "test-upgrade" NEEDED`) {
		t.Fatalf("old release restarted at the height: started %v\n%s", again.info != nil, again.log())
	}

	// The new release migrates at the height and goes on.
	upgraded := startUpgradeNet(t, ctx, newBin, home, base)
	if upgraded.info == nil {
		t.Fatalf("new release at the height: %v\n%s", upgraded.err, upgraded.log())
	}
	waitFor(t, ctx, "the chain past the upgrade", func() bool { return height() >= at+3 })
	out, err = cli(newBin, "query", "upgrade")
	st = app.UpgradeStatus{}
	if err != nil || json.Unmarshal([]byte(out), &st) != nil || st.Plan != nil || len(st.Applied) != 1 || st.Applied[0] != (app.AppliedUpgrade{Name: "test-upgrade", Height: at}) {
		t.Fatalf("query upgrade after the upgrade: %v\n%s", err, out)
	}
	upgraded.stop(t)

	// The old release refuses the upgraded chain.
	stale := startUpgradeNet(t, ctx, oldBin, home, base)
	if stale.info != nil || !strings.Contains(stale.log(), `applied upgrade "test-upgrade"`) {
		t.Fatalf("old release on the upgraded chain: started %v\n%s", stale.info != nil, stale.log())
	}
}

// buildJinlianTags builds cmd/jinlian with the build tags (may be empty).
func buildJinlianTags(t *testing.T, tags string) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "jinlian")
	args := []string{"build", "-o", bin}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	build := exec.Command("go", append(args, "./cmd/jinlian")...)
	build.Dir = filepath.Dir(strings.TrimSpace(string(out)))
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build -tags %q ./cmd/jinlian: %v\n%s", tags, err, out)
	}
	return bin
}

// upgradeNet is a one-validator `jinlian localnet` process.
type upgradeNet struct {
	cmd    *exec.Cmd
	info   *localnetInfo // nil when it exited before it started
	err    error         // its exit, once exited is closed
	exited chan struct{}
	mu     sync.Mutex
	buf    bytes.Buffer // stderr and what follows the JSON on stdout
}

func (n *upgradeNet) log() string { n.mu.Lock(); defer n.mu.Unlock(); return n.buf.String() }

func (n *upgradeNet) Write(p []byte) (int, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.buf.Write(p)
}

// startUpgradeNet starts bin's localnet on home and returns once it has
// printed its nodes, or has exited.
func startUpgradeNet(t *testing.T, ctx context.Context, bin, home string, base int) *upgradeNet {
	t.Helper()
	n := &upgradeNet{exited: make(chan struct{})}
	n.cmd = exec.Command(bin, "localnet", "--home", home, "--validators", "1", "--observers", "0", "--base-port", strconv.Itoa(base),
		"--timeout-commit", "200ms", "--checkpoint-interval", "-1", "--output", "json")
	pr, pw := io.Pipe()
	n.cmd.Stdout, n.cmd.Stderr = pw, n
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		n.err = n.cmd.Wait()
		_ = pw.Close()
		close(n.exited)
	}()
	t.Cleanup(func() {
		_ = n.cmd.Process.Signal(syscall.SIGKILL)
		<-n.exited
	})
	infoc := make(chan *localnetInfo, 1)
	go func() {
		var info localnetInfo
		dec := json.NewDecoder(pr)
		if dec.Decode(&info) != nil {
			infoc <- nil
			_, _ = io.Copy(n, pr)
			return
		}
		infoc <- &info
		_, _ = io.Copy(n, io.MultiReader(dec.Buffered(), pr))
	}()
	select {
	case n.info = <-infoc:
	case <-ctx.Done():
		t.Fatalf("%s localnet neither started nor exited\n%s", bin, n.log())
	}
	if n.info == nil {
		<-n.exited
	}
	return n
}

// stop stops the localnet with SIGTERM.
func (n *upgradeNet) stop(t *testing.T) {
	t.Helper()
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
		var ee *exec.ExitError
		if n.err != nil && !errors.As(n.err, &ee) {
			t.Fatal(n.err)
		}
	case <-time.After(time.Minute):
		t.Fatalf("localnet did not stop on SIGTERM\n%s", n.log())
	}
}
