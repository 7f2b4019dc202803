package node

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeAnchor writes a shell script that plays jinlian-anchor and points
// $JINLIAN_ANCHOR at it.
func fakeAnchor(t *testing.T, script string) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, AnchorCommand)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(AnchorCommandEnv, p)
	return dir
}

// syncBuffer is a bytes.Buffer for the supervisor's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The supervisor of jinlian-anchor: ready at its first line of output, an
// exit before that is a start error carrying the process's last words, an
// exit after it is restarted (with Restart), and Stop ends it.
func TestAnchorProcess(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	t.Run("refuses to start", func(t *testing.T) {
		fakeAnchor(t, "echo 'some log' >&2\necho 'Error: anchor 0xAB trusts another epoch 0: it was deployed for another chain' >&2\nexit 1\n")
		var logs syncBuffer
		_, err := StartAnchorProcess(ctx, AnchorProcessOptions{Args: []string{"run"}, Stderr: &logs})
		if err == nil || !strings.Contains(err.Error(), "exit status 1: anchor 0xAB trusts another epoch 0: it was deployed for another chain") {
			t.Fatalf("start of a prover that refuses: %v", err)
		}
		if !strings.Contains(logs.String(), "some log") {
			t.Fatalf("its log was not passed on: %q", logs.String())
		}
	})

	t.Run("ready, restarted, stopped", func(t *testing.T) {
		dir := t.TempDir()
		runs := filepath.Join(dir, "runs")
		// Each run appends its arguments; the first exits once ready, the
		// next ones stay until stopped.
		fakeAnchor(t, `echo "$@" >> `+runs+`
echo "proving the checkpoints of tcp://127.0.0.1:1"
if [ $(wc -l < `+runs+`) -eq 1 ]; then exit 3; fi
trap 'echo stopped >> `+runs+`; exit 0' TERM
while :; do sleep 0.1; done
`)
		var out syncBuffer
		p, err := StartAnchorProcess(ctx, AnchorProcessOptions{Args: []string{"run", "--home", "/h"}, Out: &out, Restart: true})
		if err != nil {
			t.Fatal(err)
		}
		for !strings.Contains(readFile(runs), "run --home /h\nrun --home /h\n") {
			if ctx.Err() != nil {
				t.Fatalf("not restarted after it exited: runs %q", readFile(runs))
			}
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond) // its trap is set
		p.Stop()
		p.Stop()
		if got := readFile(runs); !strings.HasSuffix(got, "stopped\n") {
			t.Fatalf("Stop did not stop it with SIGTERM: runs %q", got)
		}
		if !strings.Contains(out.String(), "proving the checkpoints of") {
			t.Fatalf("its output was not passed on: %q", out.String())
		}
	})

	t.Run("says what it did and exits", func(t *testing.T) {
		fakeAnchor(t, "echo 'checkpoint anchoring is off'\nexit 0\n")
		for i := 0; i < 20; i++ { // ready and exited are both closed: either may be seen first
			var out syncBuffer
			p, err := StartAnchorProcess(ctx, AnchorProcessOptions{Args: []string{"localnet"}, Out: &out})
			if err != nil {
				t.Fatalf("a process that exits after its line: %v", err)
			}
			p.Stop()
			if out.String() != "checkpoint anchoring is off\n" {
				t.Fatalf("its line: %q", out.String())
			}
		}
	})

	t.Run("not installed", func(t *testing.T) {
		t.Setenv(AnchorCommandEnv, "")
		t.Setenv("PATH", t.TempDir())
		if _, err := StartAnchorProcess(ctx, AnchorProcessOptions{Args: []string{"run"}}); !errors.Is(err, ErrNoAnchorCommand) {
			t.Fatalf("without jinlian-anchor: %v", err)
		}
	})
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}
