package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	rpcclient "github.com/cometbft/cometbft/rpc/client"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/checkpoint"
	"github.com/jinlian-ledger/jinlian/consensus/prover/relay/anchortest"
	"github.com/jinlian-ledger/jinlian/nodecfg"
)

// headerAt answers Commit for block 31 only, with app hash appHash.
type headerAt struct {
	rpcclient.SignClient
	appHash []byte
	reads   *int // counts Commit calls when set
}

func (h headerAt) Commit(_ context.Context, height *int64) (*ctypes.ResultCommit, error) {
	if h.reads != nil {
		*h.reads++
	}
	if height == nil || *height != 31 {
		return nil, fmt.Errorf("no header at %v", height)
	}
	return &ctypes.ResultCommit{SignedHeader: cmttypes.SignedHeader{Header: &cmttypes.Header{Height: 31, AppHash: h.appHash}}, CanonicalCommit: true}, nil
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestAnchoringStatus: GET /v1/anchoring's source reads the contract that
// the configuration or anchor.json names, on a real (development)
// Ethereum chain, and says whether the anchored app hash is the chain's;
// without an anchor it is api.ErrNoAnchor.
func TestAnchoringStatus(t *testing.T) {
	const chainID = "jinlian-anchoring-status"
	anchored, other := bytes.Repeat([]byte{0xa1}, 32), bytes.Repeat([]byte{0xb2}, 32)
	cp := checkpoint.Checkpoint{ChainID: chainID, Epoch: 3, Height: 30}
	copy(cp.AppHash[:], anchored)
	rpc, contract := anchortest.Serve(t, cp)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	cases := []struct {
		name      string
		cfg       func(c *nodecfg.Config)
		chainHash []byte
		match     bool
		err       string
	}{
		{"no anchor", func(*nodecfg.Config) {}, anchored, false, "not told where the checkpoint anchor is"},
		{"only the contract", func(c *nodecfg.Config) { c.Checkpoint.Anchor = contract }, anchored, false, "not told"},
		{"from the configuration, matching", func(c *nodecfg.Config) { c.Checkpoint.EthRPC, c.Checkpoint.Anchor = rpc, contract }, anchored, true, ""},
		{"from anchor.json, differing", func(c *nodecfg.Config) {
			if err := nodecfg.WriteAnchorInfo(c.Home, nodecfg.AnchorInfo{Contract: contract, RPC: rpc}); err != nil {
				t.Fatal(err)
			}
		}, other, false, ""},
		{"Ethereum down", func(c *nodecfg.Config) {
			c.Checkpoint.EthRPC, c.Checkpoint.Anchor = "http://"+freeAddr(t), contract
		}, anchored, false, "anchor " + contract},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := nodecfg.Default(t.TempDir())
			c.cfg(cfg)
			st, err := anchoringStatus(chainID, headerAt{appHash: c.chainHash}, cfg)(ctx)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("%+v, %v: want an error naming %q", st, err, c.err)
				}
				if noAnchor := strings.HasPrefix(c.err, "not told"); noAnchor != errors.Is(err, api.ErrNoAnchor) {
					t.Fatalf("%v: api.ErrNoAnchor is %v, want %v", err, !noAnchor, noAnchor)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.Epoch != 3 || st.Height != 30 || st.RPC != rpc || !strings.EqualFold(st.Contract, contract) || st.Match != c.match ||
				!strings.EqualFold(st.ChainAppHash, fmt.Sprintf("%X", c.chainHash)) || st.EthTx == "" {
				t.Fatalf("status %+v", st)
			}
		})
	}
	// Asked again at once, the status is served from the last read: one
	// read of the contract and the header, not one per client.
	reads := 0
	cfg := nodecfg.Default(t.TempDir())
	cfg.Checkpoint.EthRPC, cfg.Checkpoint.Anchor = rpc, contract
	src := anchoringStatus(chainID, headerAt{appHash: anchored, reads: &reads}, cfg)
	for range 3 {
		if st, err := src(ctx); err != nil || !st.Match {
			t.Fatalf("%+v, %v", st, err)
		}
	}
	if reads != 1 {
		t.Fatalf("three requests read the header %d times, want 1", reads)
	}
}
