package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// chainOfPayments is a block and state store where each height 1..top
// holds one payment of bankA to bankB.
type chainOfPayments struct {
	mu  sync.Mutex
	top int64
}

func (c *chainOfPayments) Stored() (int64, int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return 1, c.top, nil
}

func (c *chainOfPayments) BlockTxs(h int64) (time.Time, []*abci.TxResult, error) {
	a, b := strings.Repeat("a1", 20), strings.Repeat("b1", 20)
	memo := fmt.Sprintf("PAY-%d", h)
	return time.Date(2026, 12, 3, 1, 0, int(h), 0, time.UTC), []*abci.TxResult{{Height: h, Tx: []byte(memo), Result: abci.ExecTxResult{Events: []abci.Event{
		wire.Event(&txpb.EventTransfer{Ledger: "payments", Asset: "CNY", From: a, To: b, Amount: uint64(h), ToOrg: "bankB", Memo: memo}),
		wire.Event(&txpb.EventJinlianTx{Id: "id-" + memo, Ledger: "payments", Sender: a, Org: "bankA", Type: "transfer"}),
	}}}}, nil
}

type statusOK struct{}

func (statusOK) Status(context.Context) (*ctypes.ResultStatus, error) {
	return &ctypes.ResultStatus{}, nil
}

// TestEventsFollowReconnects: `jinlian events follow` prints each
// movement once, in order; when the node's API goes away and comes back
// it resumes from the last cursor it printed, so the lines go on with no
// gap and no duplicate; a cursor the node refuses ends it.
func TestEventsFollowReconnects(t *testing.T) {
	chain := &chainOfPayments{top: 2}
	start := func(listen string) *api.Server {
		t.Helper()
		s, err := api.Start(api.Options{Listen: listen, RPC: "tcp://127.0.0.1:1", Status: statusOK{}, Events: chain})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := start("127.0.0.1:0")
	addr, url := s.Addr().String(), s.URL()
	out, errOut := &syncWriter{w: &bytes.Buffer{}}, &syncWriter{w: &bytes.Buffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- followEvents(ctx, api.Node{Addr: url}, nil, "", "", "1", time.Second, out, errOut, false)
	}()
	lines := func(n int) []string {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			ls := strings.Split(strings.TrimSpace(out.String()), "\n")
			if len(ls) >= n && ls[0] != "" {
				return ls
			}
			if time.Now().After(deadline) {
				t.Fatalf("after 20 s, %d lines:\n%s\nstderr:\n%s", len(ls), out.String(), errOut.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	lines(4)
	s.Stop() // the node restarts; two blocks commit meanwhile
	chain.mu.Lock()
	chain.top = 4
	chain.mu.Unlock()
	time.Sleep(300 * time.Millisecond)
	s = start(addr)
	defer s.Stop()
	got := lines(8)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("follow ended with %v", err)
	}
	var cursors []string
	for _, l := range got {
		cursors = append(cursors, strings.Fields(l)[0])
	}
	if want := "1.0.1 1.0.2 2.0.1 2.0.2 3.0.1 3.0.2 4.0.1 4.0.2"; strings.Join(cursors, " ") != want {
		t.Fatalf("cursors %v, want %s:\n%s", cursors, want, out.String())
	}
	if !strings.Contains(got[2], `h=2 tx=id-PAY-2 bankA payments CNY debit 2 `) || !strings.Contains(got[3], `(bankA) memo="PAY-2" ok`) {
		t.Fatalf("lines:\n%s", out.String())
	}
	if !strings.Contains(errOut.String(), `reconnecting in 1s from cursor "3.0.0"`) {
		t.Fatalf("stderr:\n%s", errOut.String())
	}

	// A cursor from the future is the node's refusal, not a reason to retry.
	err := followEvents(context.Background(), api.Node{Addr: url}, nil, "", "", "99", time.Second, out, errOut, false)
	if err == nil || !strings.Contains(err.Error(), "from the future") || !strings.Contains(err.Error(), "HTTP 400") {
		t.Fatalf("cursor 99: %v", err)
	}
	// -o json: one object per line.
	out.w.Reset()
	ctx, cancel = context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = followEvents(ctx, api.Node{Addr: url}, nil, "bankB", "", "4", time.Second, out, errOut, true)
	if l := strings.TrimSpace(out.String()); strings.Count(l, "\n") != 0 || !strings.HasPrefix(l, `{"cursor":"4.0.2","move":1,"org":"bankB"`) {
		t.Fatalf("json:\n%s", out.String())
	}
}
