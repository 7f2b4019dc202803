package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	cmtlog "github.com/cometbft/cometbft/libs/log"

	"github.com/jinlian-ledger/jinlian/regulator"
)

// errorLog keeps the error lines of CometBFT's loggers.
type errorLog struct {
	mu    *sync.Mutex
	lines *[]string
	kv    []any
}

func newErrorLog() errorLog { return errorLog{mu: &sync.Mutex{}, lines: &[]string{}} }

func (l errorLog) Debug(string, ...any) {}
func (l errorLog) Info(string, ...any)  {}
func (l errorLog) Error(msg string, keyvals ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	*l.lines = append(*l.lines, strings.TrimSpace(fmt.Sprintln(append(append([]any{msg}, l.kv...), keyvals...)...)))
}
func (l errorLog) With(keyvals ...any) cmtlog.Logger {
	l.kv = append(append([]any{}, l.kv...), keyvals...)
	return l
}

func (l errorLog) matching(s string) []string {
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

// TestObserverReadsOnlySavedResults: an observer polling its node as fast
// as it can for 25 blocks, with transfers in them, never asks for the
// results of a block the node has saved but not yet executed, so CometBFT
// logs no "failed to LoadFinalizeBlockResponse … could not find results".
func TestObserverReadsOnlySavedResults(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a localnet")
	}
	logs := newErrorLog()
	n := startLocalnetLogged(t, nil, logs)
	rules, err := regulator.ParseRules([]byte(rulesTOML))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := regulator.New(regulator.Config{Source: n.obs.Client(), Query: regulator.QueryFromClient(n.obs.Client()),
		Rules: rules, PollInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer svc.Stop()
	recipients := n.newMembers(t, 1)
	from, _ := svc.Index().LastHeight()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := 0; ; i++ {
		if i < 10 {
			n.transfer(t, recipients[0].Public().Address(), uint64(1_000+i), nil)
		}
		last, _ := svc.Index().LastHeight()
		if last >= from+25 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("index at %d, want %d", last, from+25)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if bad := logs.matching("LoadFinalizeBlockResponse"); len(bad) > 0 {
		t.Fatalf("CometBFT logged %d failed results reads, e.g. %s", len(bad), bad[0])
	}
	if bad := logs.matching("could not find results"); len(bad) > 0 {
		t.Fatalf("CometBFT logged: %s", bad[0])
	}
}
