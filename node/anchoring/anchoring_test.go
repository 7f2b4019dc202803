package anchoring

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	coretypes "github.com/cometbft/cometbft/rpc/core/types"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/checkpoint"
)

// fakeNode answers /checkpoint 0 with an error for its first fails
// queries (a node that has no state yet), then with r.
type fakeNode struct {
	fails int
	r     app.CheckpointResponse
}

func (f *fakeNode) ABCIQuery(_ context.Context, path string, data cmtbytes.HexBytes) (*coretypes.ResultABCIQuery, error) {
	if path != app.QueryCheckpoint || string(data) != "0" {
		return nil, errors.New("unexpected query " + path + " " + string(data))
	}
	if f.fails > 0 {
		f.fails--
		return &coretypes.ResultABCIQuery{Response: abci.ResponseQuery{Code: 1, Log: "internal error: unknown ledger _system at height 0"}}, nil
	}
	b, _ := json.Marshal(f.r)
	return &coretypes.ResultABCIQuery{Response: abci.ResponseQuery{Value: b}}, nil
}

// A localnet's anchoring waits for the node's first block (the node
// answers errors until then), says so when the genesis has no checkpoints,
// and, with no chain to anchor on, says that anchoring is off; in neither
// case does it start anything.
func TestStartLocalnetWaitsAndSaysWhy(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no geth
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, c := range []struct {
		name string
		node *fakeNode
		want string
	}{
		{"no checkpoints", &fakeNode{fails: 3}, "checkpoints are off in this localnet's genesis"},
		{"no chain", &fakeNode{fails: 3, r: app.CheckpointResponse{Interval: 5, Slots: 8, Checkpoint: &checkpoint.Checkpoint{ChainID: "x"}}}, OffHint},
	} {
		t.Run(c.name, func(t *testing.T) {
			var w bytes.Buffer
			stop, err := StartLocalnet(ctx, &w, c.node, t.TempDir(), t.TempDir(), LocalnetEth{}, nil)
			if err != nil || stop != nil || strings.TrimSpace(w.String()) != c.want || c.node.fails != 0 {
				t.Fatalf("StartLocalnet: stop %v, err %v, said %q, %d failures left", stop != nil, err, w.String(), c.node.fails)
			}
		})
	}
	// A node that never gets its first block: the start gives up with ctx.
	short, cancel2 := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel2()
	if _, err := Start(short, Options{Node: &fakeNode{fails: 1 << 30}, Home: t.TempDir(), Chain: nil}); err == nil {
		t.Fatal("Start without a chain")
	}
	if _, err := waitCheckpoint0(short, &fakeNode{fails: 1 << 30}); err == nil || !strings.Contains(err.Error(), "unknown ledger _system") {
		t.Fatalf("waiting for a node without block 1: %v", err)
	}
}

func TestDialAddr(t *testing.T) {
	for in, want := range map[string]string{
		"tcp://0.0.0.0:26657":   "tcp://127.0.0.1:26657",
		"tcp://[::]:26657":      "tcp://127.0.0.1:26657",
		"tcp://:26657":          "tcp://127.0.0.1:26657",
		"tcp://10.0.0.5:26657":  "tcp://10.0.0.5:26657",
		"unix:///tmp/rpc.sock":  "unix:///tmp/rpc.sock",
		"http://127.0.0.1:1234": "http://127.0.0.1:1234",
	} {
		if got := DialAddr(in); got != want {
			t.Errorf("DialAddr(%q) = %q, want %q", in, got, want)
		}
	}
}
