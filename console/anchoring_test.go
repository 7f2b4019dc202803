package console

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/p2p"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/checkpoint"
	"github.com/jinlian-ledger/jinlian/consensus/prover/relay/anchortest"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
)

// anchorChain is an in-process Ethereum chain serving JSON-RPC over HTTP
// with a CheckpointAnchor that trusts (as a chain's anchor trusts its
// epoch 0) checkpoint 3 of chain statusChain: height 30, app hash
// anchored. It returns the endpoint and the contract.
func anchorChain(t *testing.T, anchored []byte) (url, contract string) {
	t.Helper()
	cp := checkpoint.Checkpoint{ChainID: statusChain, Epoch: 3, Height: 30}
	copy(cp.AppHash[:], anchored)
	return anchortest.Serve(t, cp)
}

const statusChain = "jinlian-status"

// checkpointNode is a node whose chain defines a checkpoint every
// interval blocks and whose block 31 carries app hash appHash.
func checkpointNode(t *testing.T, interval int64, appHash []byte) string {
	return fakeNode(t, func(method string, params map[string]json.RawMessage) (any, string) {
		switch method {
		case "abci_query":
			if path, data := queryOf(params); path == queryCheckpoint && string(data) == "0" {
				return queryResult(map[string]any{"checkpoint_interval": interval, "checkpoint_slots": 4}), ""
			}
		case "status":
			return &ctypes.ResultStatus{NodeInfo: p2p.DefaultNodeInfo{Network: statusChain}, SyncInfo: ctypes.SyncInfo{LatestBlockHeight: 40, LatestBlockTime: time.Now()}}, ""
		case "commit":
			var h string
			_ = json.Unmarshal(params["height"], &h)
			if h == "31" {
				return &ctypes.ResultCommit{SignedHeader: cmttypes.SignedHeader{Header: &cmttypes.Header{Height: 31, AppHash: appHash}}, CanonicalCommit: true}, ""
			}
		}
		return nil, ""
	})
}

// The overview's anchoring section: "not enabled" when the chain defines
// no checkpoints or the console does not know the anchor; else the latest
// anchored epoch, its Ethereum transaction, and whether its app hash is
// the chain's.
func TestAnchoringStatus(t *testing.T) {
	anchored := bytes.Repeat([]byte{0xa1}, 32)
	other := bytes.Repeat([]byte{0xb2}, 32)
	eth, contract := anchorChain(t, anchored)
	for _, c := range []struct {
		name     string
		interval int64
		chain    []byte // app hash in the header of block 31
		eth      bool   // the console knows the anchor
		down     bool   // its Ethereum endpoint is down
		lang     string
		want     []string
		not      []string
	}{
		{name: "chain without checkpoints", interval: 0, eth: true, lang: "zh", want: []string{`id="anchor-off"`, "未启用锚定", "checkpoint_interval"}, not: []string{`id="anchor"`}},
		{name: "console without anchor", interval: 5, lang: "en", want: []string{`id="anchor-off"`, "Anchoring not enabled", "--eth-rpc"}, not: []string{`id="anchor"`}},
		{name: "anchored, matching", interval: 5, chain: anchored, eth: true, lang: "zh",
			want: []string{`id="anchor-epoch">3 (`, `id="anchor-tx"><code>0x`, strings.ToUpper(hex.EncodeToString(anchored)), "一致：", "区块头 31"}, not: []string{"不一致", `id="anchor-error"`}},
		{name: "anchored, differing", interval: 5, chain: other, eth: true, lang: "en",
			want: []string{"differs: the app hash anchored", strings.ToUpper(hex.EncodeToString(other))}, not: []string{"matches:"}},
		{name: "Ethereum down", interval: 5, chain: anchored, eth: true, down: true, lang: "en",
			want: []string{`id="anchor-error"`, "Ethereum endpoint"}, not: []string{`id="anchor"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			k, _ := gmcrypto.GenerateKey()
			cfg := Config{Node: api.Node{Addr: checkpointNode(t, c.interval, c.chain)}, Key: k, Org: "bankA", Lang: c.lang, Listen: "127.0.0.1:0", Timeout: 3 * time.Second}
			if c.eth {
				cfg.EthRPC, cfg.Anchor = eth, contract
				if c.down {
					cfg.EthRPC = strings.Replace(unreachableNode(t), "tcp://", "http://", 1)
				}
			}
			s := newTestServerWith(t, cfg)
			checkAnchorSection(t, s, c.want, c.not)
		})
	}
	k, _ := gmcrypto.GenerateKey()
	for _, cfg := range []Config{
		{Node: api.Node{Addr: "tcp://127.0.0.1:1"}, Key: k, EthRPC: "http://127.0.0.1:8545"},
		{Node: api.Node{Addr: "tcp://127.0.0.1:1"}, Key: k, EthRPC: "http://127.0.0.1:8545", Anchor: "0x12"},
	} {
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "anchor") {
			t.Errorf("New with eth %q anchor %q: %v", cfg.EthRPC, cfg.Anchor, err)
		}
	}
}

// A console that is not told where the anchor is asks its node's API
// (GET /v1/anchoring), and says who read it; a node that does not know
// either turns the section off naming both settings.
func TestAnchoringStatusFromTheNode(t *testing.T) {
	anchored := bytes.Repeat([]byte{0xa1}, 32)
	status := &api.AnchoringStatus{Contract: "0x00000000000000000000000000000000000000aa", RPC: "http://eth.bank.example:8545", Epoch: 3, Height: 30,
		AppHash: strings.ToUpper(hex.EncodeToString(anchored)), ChainAppHash: strings.ToUpper(hex.EncodeToString(anchored)), Match: true, EthTx: "0x5151", EthBlock: 12}
	for _, c := range []struct {
		name   string
		source api.AnchoringSource
		want   []string
		not    []string
	}{
		{"the node reads the contract", func(context.Context) (*api.AnchoringStatus, error) { return status, nil },
			[]string{`id="anchor-epoch">3 (`, `id="anchor-tx"><code>0x5151`, "matches: the app hash", `id="anchor-source">the node, from the contract on Ethereum (<code>http://eth.bank.example:8545`},
			[]string{`id="anchor-off"`, `id="anchor-error"`}},
		{"the node does not know the anchor", func(context.Context) (*api.AnchoringStatus, error) { return nil, api.ErrNoAnchor },
			[]string{`id="anchor-off"`, "neither the node (checkpoint.eth_rpc, checkpoint.anchor) nor this console"}, []string{`id="anchor"`}},
		{"the node cannot read it", func(context.Context) (*api.AnchoringStatus, error) {
			return nil, errors.New("eth_call: connection refused")
		},
			[]string{`id="anchor-error"`, "connection refused", "HTTP 502"}, []string{`id="anchor"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			node, err := api.Start(api.Options{Listen: "127.0.0.1:0", RPC: checkpointNode(t, 5, anchored), Status: nopStatus{}, Anchoring: c.source})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = node.Stop() })
			k, _ := gmcrypto.GenerateKey()
			s := newTestServerWith(t, Config{Node: api.Node{Addr: node.URL()}, Key: k, Org: "bankA", Lang: "en", Listen: "127.0.0.1:0", Timeout: 3 * time.Second})
			checkAnchorSection(t, s, c.want, c.not)
		})
	}
}

// nopStatus answers the API's /healthz.
type nopStatus struct{}

func (nopStatus) Status(context.Context) (*ctypes.ResultStatus, error) {
	return &ctypes.ResultStatus{}, nil
}

// checkAnchorSection loads s's overview and checks that it holds every
// want and none of not.
func checkAnchorSection(t *testing.T, s *Server, want, not []string) {
	t.Helper()
	_, body := get(t, login(t, s), "http://"+s.Addr()+"/")
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("overview lacks %q", w)
		}
	}
	for _, n := range not {
		if strings.Contains(body, n) {
			t.Errorf("overview shows %q", n)
		}
	}
	if t.Failed() {
		i := strings.Index(body, "anchor")
		t.Logf("overview:\n%s", body[max(0, i-200):])
	}
}
