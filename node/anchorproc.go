package node

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// AnchorCommand is the program that proves checkpoints and relays them to
// Ethereum (cmd/jinlian-anchor). It links gnark and go-ethereum, which the
// jinlian binary does not: a node whose configuration turns the prover on
// runs it as a process of its own (StartAnchorProcess).
const AnchorCommand = "jinlian-anchor"

// AnchorCommandEnv, when set, names the jinlian-anchor executable.
const AnchorCommandEnv = "JINLIAN_ANCHOR"

// ErrNoAnchorCommand: jinlian-anchor is neither next to this executable
// nor on PATH.
var ErrNoAnchorCommand = errors.New(AnchorCommand + " not found next to this executable or on PATH")

// Anchorer is a running checkpoint prover and relayer: a jinlian-anchor
// process (AnchorProcess), or, in a development build, package
// node/anchoring's worker in this process.
type Anchorer interface{ Stop() }

// FindAnchorCommand is the jinlian-anchor executable: $JINLIAN_ANCHOR,
// else the one next to this executable, else the one on PATH.
func FindAnchorCommand() (string, error) {
	if p := os.Getenv(AnchorCommandEnv); p != "" {
		return p, nil
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), AnchorCommand)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	if p, err := exec.LookPath(AnchorCommand); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%w: install it with go install ./cmd/jinlian-anchor (or set %s)", ErrNoAnchorCommand, AnchorCommandEnv)
}

// AnchorProcessOptions configure StartAnchorProcess.
type AnchorProcessOptions struct {
	// Args are jinlian-anchor's arguments (e.g. run --home H).
	Args []string
	// Out receives the lines the process writes on its standard output
	// (what it started; the first line tells that it is ready); Stderr its
	// logs. nil: this process's standard error.
	Out, Stderr io.Writer
	// Restart restarts the process when it exits after it was ready, with
	// a growing delay (a node's prover); without it the process runs once
	// (a localnet's).
	Restart bool
	Logger  *slog.Logger
}

// AnchorProcess is a supervised jinlian-anchor process.
type AnchorProcess struct {
	bin  string
	opts AnchorProcessOptions
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// anchorRun is one run of the process.
type anchorRun struct {
	cmd    *exec.Cmd
	ready  chan struct{}
	exited chan struct{}
	err    error
	tail   *tailWriter
	start  time.Time
}

// StartAnchorProcess starts jinlian-anchor (FindAnchorCommand) with
// o.Args and waits, while ctx allows, until it is ready (its first line of
// output). A process that exits before is an error that carries the end of
// its log, so that a node refuses to start with a prover that cannot run
// (no anchor, an anchor of another chain, no Ethereum endpoint).
func StartAnchorProcess(ctx context.Context, o AnchorProcessOptions) (*AnchorProcess, error) {
	bin, err := FindAnchorCommand()
	if err != nil {
		return nil, err
	}
	if o.Out == nil {
		o.Out = os.Stderr
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	p := &AnchorProcess{bin: bin, opts: o, stop: make(chan struct{}), done: make(chan struct{})}
	r, err := p.spawn()
	if err != nil {
		return nil, err
	}
	select {
	case <-r.ready:
	case <-r.exited:
		select {
		case <-r.ready: // it said what it did, then exited (nothing to do)
		default:
			return nil, fmt.Errorf("%s %s: %v%s", bin, strings.Join(o.Args, " "), r.err, r.tail.last())
		}
	case <-ctx.Done():
		terminate(r)
		return nil, fmt.Errorf("%s did not get ready: %w", bin, ctx.Err())
	}
	go p.supervise(r)
	return p, nil
}

func (p *AnchorProcess) spawn() (*anchorRun, error) {
	cmd := exec.Command(p.bin, p.opts.Args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	r := &anchorRun{cmd: cmd, ready: make(chan struct{}), exited: make(chan struct{}), tail: &tailWriter{}, start: time.Now()}
	cmd.Stderr = io.MultiWriter(p.opts.Stderr, r.tail)
	cmd.WaitDelay = 5 * time.Second // a child of its (geth) holding the pipes
	stopWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", p.bin, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		first := true
		for sc.Scan() {
			fmt.Fprintln(p.opts.Out, sc.Text())
			if first {
				close(r.ready)
				first = false
			}
		}
		r.err = cmd.Wait()
		close(r.exited)
	}()
	return r, nil
}

// supervise waits for r to exit and, with Restart, starts it again, until
// Stop.
func (p *AnchorProcess) supervise(r *anchorRun) {
	defer close(p.done)
	backoff := time.Second
	for {
		select {
		case <-p.stop:
			terminate(r)
			return
		case <-r.exited:
		}
		if !p.opts.Restart {
			if r.err != nil {
				p.opts.Logger.Error("checkpoint prover exited", "cmd", p.bin, "err", r.err)
			}
			return
		}
		if time.Since(r.start) > 10*time.Minute {
			backoff = time.Second
		}
		p.opts.Logger.Error("checkpoint prover exited; restarting it", "cmd", p.bin, "err", r.err, "in", backoff)
		select {
		case <-p.stop:
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Minute)
		nr, err := p.spawn()
		if err != nil {
			p.opts.Logger.Error("checkpoint prover", "err", err)
			nr = &anchorRun{exited: make(chan struct{}), start: time.Now()}
			close(nr.exited)
		}
		r = nr
	}
}

// terminate asks the process to stop (SIGTERM) and kills it if it has not
// within 15 seconds.
func terminate(r *anchorRun) {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(15 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.exited
	}
}

// Stop stops the process and its supervision. It is safe to call more
// than once.
func (p *AnchorProcess) Stop() {
	p.once.Do(func() {
		close(p.stop)
		<-p.done
	})
}

// tailWriter keeps the last lines a process wrote, for an error.
type tailWriter struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tailWriter) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if n := len(t.buf); n > 2048 {
		t.buf = append(t.buf[:0], t.buf[n-2048:]...)
	}
	return len(b), nil
}

// last is ": " and the last line of the log, or "".
func (t *tailWriter) last() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.buf))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if s == "" {
		return ""
	}
	return ": " + strings.TrimPrefix(s, "Error: ")
}
