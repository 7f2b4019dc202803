package consensus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cometbft/cometbft/abci/example/kvstore"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/libs/log"

	"github.com/jinlian-ledger/jinlian/api"
)

// failingApp is a kvstore whose FinalizeBlock fails once fail is set, as
// an app whose disk is full does: CometBFT panics in finalizeCommit and
// its consensus state machine stops (CONSENSUS FAILURE).
type failingApp struct {
	*kvstore.Application
	fail atomic.Bool
}

func (a *failingApp) FinalizeBlock(ctx context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	if a.fail.Load() {
		return nil, errors.New("write ledger: no space left on device")
	}
	return a.Application.FinalizeBlock(ctx, req)
}

// TestHaltedNodeReportsUnhealthy stops the consensus of a running node
// through its app and expects the node to say so everywhere: Halted and
// HaltErr name the cause and the fix, Health and the API's /healthz turn
// unhealthy, while the process and RPC stay up.
func TestHaltedNodeReportsUnhealthy(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node: e2e, skipped with -short")
	}
	net := writeTestNetwork(t, 1)
	app := &failingApp{Application: kvstore.NewInMemoryApplication()}
	n, err := StartNode(net.Nodes[0].Home, app, NodeOptions{Logger: log.NewNopLogger(), SuperviseInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Stop() })
	srv, err := api.Start(api.Options{Listen: "127.0.0.1:0", RPC: n.RPCAddr(), Status: n.Client(), Health: n.Health})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	healthz := func() (int, map[string]any) {
		t.Helper()
		resp, err := http.Get(srv.URL() + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body
	}

	waitAll(t, []*Node{n}, 3)
	if code, body := healthz(); code != http.StatusOK || n.Health() != nil {
		t.Fatalf("running node: /healthz %d %v, Health %v", code, body, n.Health())
	}
	app.fail.Store(true)
	select {
	case <-n.Halted():
	case <-time.After(30 * time.Second):
		t.Fatal("consensus failed but Halted never closed")
	}
	err = n.HaltErr()
	var he *HaltError
	if !errors.As(err, &he) || !errors.Is(err, ErrConsensusHalted) {
		t.Fatalf("HaltErr %v, want a *HaltError", err)
	}
	if !strings.Contains(he.Cause, "no space left on device") || !strings.Contains(he.Fix, "disk of "+n.Home()) {
		t.Fatalf("halt cause %q, fix %q: want the app's error and the disk advice", he.Cause, he.Fix)
	}
	if err := n.Health(); !errors.Is(err, ErrConsensusHalted) {
		t.Fatalf("Health of a halted node: %v", err)
	}
	code, body := healthz()
	if code != http.StatusServiceUnavailable || body["status"] != "unhealthy" || !strings.Contains(fmt.Sprint(body["error"]), "consensus halted") {
		t.Fatalf("/healthz of a halted node: %d %v", code, body)
	}
	// The RPC still answers, at the frozen height: only the checks above tell.
	if _, err := n.Client().Status(context.Background()); err != nil {
		t.Fatalf("RPC of a halted node: %v", err)
	}
}
