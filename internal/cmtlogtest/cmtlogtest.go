// Package cmtlogtest is a CometBFT logger for tests that run in-process
// nodes: it keeps the error lines and the peer-filter refusals in memory,
// for tests to wait on (Matching), and prints them if the test fails.
// Tests only: nothing a node links imports it.
package cmtlogtest

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	cmtlog "github.com/cometbft/cometbft/libs/log"
)

// Log is a CometBFT logger for in-process nodes that keeps, in memory,
// the error lines and the peers refused by the peer filter (an Info line
// whose error says "filtered"), and prints the error lines in the test's
// log if the test fails.
type Log struct {
	mu    *sync.Mutex
	lines *[]string
	kv    []any
}

// New makes a Log that prints its kept lines into t's log if t fails.
func New(t testing.TB) Log {
	l := Log{mu: &sync.Mutex{}, lines: &[]string{}}
	t.Cleanup(func() {
		if t.Failed() {
			for _, line := range l.Matching("") {
				t.Log("CometBFT: " + line)
			}
		}
	})
	return l
}

func (l Log) Debug(string, ...any) {}

func (l Log) Info(msg string, keyvals ...any) {
	if line := l.line(msg, keyvals); strings.Contains(line, "filtered") {
		l.keep(line)
	}
}

func (l Log) Error(msg string, keyvals ...any) { l.keep(l.line(msg, keyvals)) }

func (l Log) With(keyvals ...any) cmtlog.Logger {
	l.kv = append(append([]any{}, l.kv...), keyvals...)
	return l
}

func (l Log) line(msg string, keyvals []any) string {
	return strings.TrimSpace(fmt.Sprintln(append(append([]any{msg}, l.kv...), keyvals...)...))
}

func (l Log) keep(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	*l.lines = append(*l.lines, line)
}

// Matching is the kept lines that contain s.
func (l Log) Matching(s string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range *l.lines {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return out
}
