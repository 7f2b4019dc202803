package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	rpcclient "github.com/cometbft/cometbft/rpc/client"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/node/localnet"
)

// nodeProc is one node home run as `jinlian start` processes, one after
// another (started again after each kill or stop), each in its own
// process group, appending to one log file.
type nodeProc struct {
	name, home string
	bin        string // the binary the next start runs
	rpcAddr    string
	client     rpcclient.Client
	logPath    string
	// args follow `start --home HOME`; env adds to the test's environment
	// (nil: the localnet's passphrase for the node keys).
	args []string
	env  []string

	mu     sync.Mutex
	cur    *procRun
	paused bool
}

// procRun is one run of a node process.
type procRun struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // set before exited is closed
	killed bool  // by the test
}

// start runs `jinlian start` on the home and returns once the process runs.
func (p *nodeProc) start(t *testing.T) {
	t.Helper()
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(p.bin, append([]string{"start", "--home", p.home}, p.args...)...)
	env := p.env
	if env == nil {
		env = []string{gmcrypto.PassphraseEnv + "=" + localnet.Passphrase}
	}
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	fmt.Fprintf(logf, "=== %s: %s\n", time.Now().Format(time.StampMilli), strings.Join(cmd.Args, " "))
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		t.Fatalf("start %s: %v", p.name, err)
	}
	r := &procRun{cmd: cmd, exited: make(chan struct{})}
	go func() {
		r.err = cmd.Wait()
		_ = logf.Close()
		close(r.exited)
	}()
	t.Cleanup(r.kill)
	p.mu.Lock()
	p.cur, p.paused = r, false
	p.mu.Unlock()
}

func (p *nodeProc) run() *procRun {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cur
}

// kill sends SIGKILL to the process group of the current run and reaps it.
func (p *nodeProc) kill() {
	if r := p.run(); r != nil {
		r.kill()
	}
}

func (r *procRun) kill() {
	select {
	case <-r.exited:
		return
	default:
	}
	r.killed = true
	_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGCONT)
	_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
	<-r.exited
}

// stop sends SIGTERM, as systemd does, and wants a clean exit.
func (p *nodeProc) stop(t *testing.T, ctx context.Context) {
	t.Helper()
	r := p.run()
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
		if r.err != nil {
			t.Fatalf("%s after SIGTERM: %v\n%s", p.name, r.err, logExcerpt(p.logText()))
		}
	case <-ctx.Done():
		t.Fatalf("%s did not stop on SIGTERM", p.name)
	}
}

// running reports whether the node has a live process.
func (p *nodeProc) running() bool {
	r := p.run()
	if r == nil {
		return false
	}
	select {
	case <-r.exited:
		return false
	default:
		return true
	}
}

// up reports whether the node runs and is not paused.
func (p *nodeProc) up() bool {
	p.mu.Lock()
	paused := p.paused
	p.mu.Unlock()
	return !paused && p.running()
}

// exitErr is how the current run ended (nil while it runs).
func (p *nodeProc) exitErr() error {
	r := p.run()
	if r == nil {
		return nil
	}
	select {
	case <-r.exited:
		return r.err
	default:
		return nil
	}
}

// pause stops (SIGSTOP) or continues (SIGCONT) the process group.
func (p *nodeProc) pause(t *testing.T, stop bool) {
	t.Helper()
	sig := syscall.SIGCONT
	if stop {
		sig = syscall.SIGSTOP
	}
	if err := syscall.Kill(-p.run().cmd.Process.Pid, sig); err != nil {
		t.Fatalf("%s: %v: %v", p.name, sig, err)
	}
	p.mu.Lock()
	p.paused = stop
	p.mu.Unlock()
}

// wait waits for the current run to exit by itself and returns how it
// ended; exited is false when ctx ended first.
func (p *nodeProc) wait(ctx context.Context) (err error, exited bool) {
	r := p.run()
	select {
	case <-r.exited:
		return r.err, true
	case <-ctx.Done():
		return nil, false
	}
}

// logText is the node's log so far.
func (p *nodeProc) logText() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

// height is the node's latest height, 0 when it does not answer.
func (p *nodeProc) height(ctx context.Context) int64 {
	if !p.up() {
		return 0
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	h, err := heightOf(ctx, p.client)
	if err != nil {
		return 0
	}
	return h
}

// logExcerpt is the last 4 KiB of a node's log, or, when it crashed, the
// crash and what came before it rather than the goroutine dump.
func logExcerpt(s string) string {
	end := len(s)
	for _, mark := range []string{"\npanic: ", "\nfatal error: "} {
		if k := strings.Index(s, mark); k >= 0 {
			end = min(len(s), k+2048)
			break
		}
	}
	return s[max(0, end-4096):end]
}

func clientsOf(ps []*nodeProc) []rpcclient.Client {
	out := make([]rpcclient.Client, len(ps))
	for i, p := range ps {
		out[i] = p.client
	}
	return out
}
