package consensus

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	cfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/types"
)

func TestWriteNetworkLoadNetworkRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "net")
	opts := NetworkOptions{
		Dir:                        dir,
		ChainID:                    "roundtrip",
		BasePort:                   31000,
		AppState:                   json.RawMessage(`{"ledgers":["payments"]}`),
		VoteExtensionsEnableHeight: 2,
		Nodes:                      []NodeSpec{{"bankA", 10}, {"bankB", 5}, {"regulator", 0}},
	}
	net, err := WriteNetwork(opts)
	if err != nil {
		t.Fatal(err)
	}
	g := net.Genesis
	switch {
	case g.ChainID != "roundtrip", len(g.Validators) != 2:
		t.Fatalf("genesis %s with %d validators", g.ChainID, len(g.Validators))
	case g.ConsensusParams.Block.MaxBytes != DefaultMaxBlockBytes:
		t.Fatalf("block max bytes %d", g.ConsensusParams.Block.MaxBytes)
	case g.ConsensusParams.ABCI.VoteExtensionsEnableHeight != 2:
		t.Fatalf("vote extensions height %d", g.ConsensusParams.ABCI.VoteExtensionsEnableHeight)
	case string(g.AppState) != `{"ledgers":["payments"]}`:
		t.Fatalf("app state %s", g.AppState)
	}
	wantAddrs := []string{"127.0.0.1:31000", "127.0.0.1:31010", "127.0.0.1:31020"}
	for i, n := range net.Nodes {
		if n.P2PAddr != wantAddrs[i] || n.RPCAddr != "tcp://"+wantAddrs[i][:len(wantAddrs[i])-1]+"1" {
			t.Fatalf("node %d addrs %s %s", i, n.P2PAddr, n.RPCAddr)
		}
		c, err := LoadConfig(n.Home)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case c.Moniker != n.Moniker:
			t.Fatalf("moniker %q", c.Moniker)
		case !c.P2P.AllowDuplicateIP, c.P2P.AddrBookStrict, c.P2P.PexReactor, c.FilterPeers:
			t.Fatalf("%s p2p config %+v filter_peers=%v", n.Moniker, c.P2P, c.FilterPeers)
		case c.TxIndex.Indexer != "kv", c.Consensus.TimeoutCommit != DefaultTimeoutCommit:
			t.Fatalf("%s indexer %q timeout_commit %v", n.Moniker, c.TxIndex.Indexer, c.Consensus.TimeoutCommit)
		}
		for j, other := range net.Nodes {
			if has := bytes.Contains([]byte(c.P2P.PersistentPeers), []byte(other.PeerAddr())); has != (i != j) {
				t.Fatalf("%s persistent_peers %q vs %s", n.Moniker, c.P2P.PersistentPeers, other.PeerAddr())
			}
		}
	}

	loaded, err := LoadNetwork(dir)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.ChainID != net.ChainID || len(loaded.Nodes) != len(net.Nodes) {
		t.Fatalf("loaded %s with %d nodes", loaded.ChainID, len(loaded.Nodes))
	}
	for i := range net.Nodes {
		a, b := net.Nodes[i], loaded.Nodes[i]
		if a.Moniker != b.Moniker || a.Home != b.Home || a.NodeID != b.NodeID || a.P2PAddr != b.P2PAddr ||
			a.RPCAddr != b.RPCAddr || a.Power != b.Power || !a.PubKey.Equals(b.PubKey) {
			t.Fatalf("node %d: wrote %+v, loaded %+v", i, a, b)
		}
	}
	if !bytes.Equal(loaded.Genesis.ValidatorHash(), net.Genesis.ValidatorHash()) {
		t.Fatal("loaded genesis has other validators")
	}

	if _, err := WriteNetwork(opts); !errors.Is(err, ErrNetworkExists) {
		t.Fatalf("second WriteNetwork: %v, want ErrNetworkExists", err)
	}
}

func TestWriteNetworkRejects(t *testing.T) {
	tests := []struct {
		name  string
		nodes []NodeSpec
		port  int
	}{
		{"no nodes", nil, 0},
		{"no validator", []NodeSpec{{"a", 0}, {"b", 0}}, 0},
		{"negative power", []NodeSpec{{"a", 1}, {"b", -1}}, 0},
		{"duplicate moniker", []NodeSpec{{"a", 1}, {"a", 1}}, 0},
		{"moniker escapes dir", []NodeSpec{{"../a", 1}}, 0},
		{"empty moniker", []NodeSpec{{"", 1}}, 0},
		{"ports past 65535", []NodeSpec{{"a", 1}, {"b", 1}}, 65520},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := WriteNetwork(NetworkOptions{Dir: dir, Nodes: tt.nodes, BasePort: tt.port}); err == nil {
				t.Fatal("accepted")
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Fatalf("left %d entries behind", len(entries))
			}
		})
	}
}

func TestLoadNetworkRejectsForeignDir(t *testing.T) {
	if _, err := LoadNetwork(t.TempDir()); err == nil {
		t.Fatal("loaded a network from an empty dir")
	}
}

// genesisFor returns a valid one-validator genesis.
func genesisFor(t *testing.T, chainID string) []byte {
	t.Helper()
	net, err := WriteNetwork(NetworkOptions{Dir: t.TempDir(), ChainID: chainID, Nodes: []NodeSpec{{"v", 1}}})
	if err != nil {
		t.Fatal(err)
	}
	bz, err := os.ReadFile(filepath.Join(net.Nodes[0].Home, "config", "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	return bz
}

func TestInitHome(t *testing.T) {
	gen := genesisFor(t, "real-chain")
	home := filepath.Join(t.TempDir(), "bankA")
	keyFiles := []string{"config/node_key.json", "config/priv_validator_key.json", "data/priv_validator_state.json"}

	for _, bad := range [][]byte{{}, []byte("{"), []byte(`{"chain_id":""}`)} {
		if err := InitHome(home, bad, "bankA"); err == nil {
			t.Fatalf("accepted genesis %q", bad)
		}
		if _, err := os.Stat(home); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("bad genesis %q left a home behind", bad)
		}
	}

	// Without a genesis, keys and config are prepared and no genesis is written.
	keysOnly := filepath.Join(t.TempDir(), "bankB")
	if err := InitHome(keysOnly, nil, "bankB"); err != nil {
		t.Fatal(err)
	}
	for _, f := range keyFiles {
		if _, err := os.Stat(filepath.Join(keysOnly, f)); err != nil {
			t.Fatalf("keys-only init lacks %s: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(keysOnly, "config/genesis.json")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("keys-only init wrote a genesis: %v", err)
	}
	if err := InitHome(keysOnly, gen, "bankB"); err != nil {
		t.Fatalf("installing the genesis after a keys-only init: %v", err)
	}

	err := InitHome(home, gen, "bankA", func(c *cfg.Config) { c.P2P.ListenAddress = "tcp://0.0.0.0:36656" })
	if err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	if c.Moniker != "bankA" || c.P2P.ListenAddress != "tcp://0.0.0.0:36656" || c.TxIndex.Indexer != "kv" ||
		c.Consensus.PeerGossipSleepDuration != defaultPeerGossipSleep {
		t.Fatalf("config moniker %q p2p %q indexer %q peer_gossip_sleep_duration %s", c.Moniker, c.P2P.ListenAddress, c.TxIndex.Indexer, c.Consensus.PeerGossipSleepDuration)
	}
	if _, err := types.GenesisDocFromFile(c.GenesisFile()); err != nil {
		t.Fatal(err)
	}
	keys := map[string][]byte{}
	for _, f := range keyFiles {
		if keys[f], err = os.ReadFile(filepath.Join(home, f)); err != nil {
			t.Fatal(err)
		}
	}

	// Again, with the same genesis: nothing changes.
	if err := InitHome(home, gen, "other", func(c *cfg.Config) { c.Moniker = "other" }); err != nil {
		t.Fatal(err)
	}
	for _, f := range keyFiles {
		if bz, _ := os.ReadFile(filepath.Join(home, f)); !bytes.Equal(bz, keys[f]) {
			t.Fatalf("%s was overwritten", f)
		}
	}
	if c, _ := LoadConfig(home); c.Moniker != "bankA" {
		t.Fatalf("config was overwritten: moniker %q", c.Moniker)
	}

	// Another chain's genesis is refused.
	if err := InitHome(home, genesisFor(t, "other-chain"), "bankA"); !errors.Is(err, ErrGenesisMismatch) {
		t.Fatalf("other genesis: %v, want ErrGenesisMismatch", err)
	}

	// A key without a sign state (copied from elsewhere) keeps the key.
	if err := os.Remove(filepath.Join(home, "data/priv_validator_state.json")); err != nil {
		t.Fatal(err)
	}
	if err := InitHome(home, gen, "bankA"); err != nil {
		t.Fatal(err)
	}
	if bz, _ := os.ReadFile(filepath.Join(home, "config/priv_validator_key.json")); !bytes.Equal(bz, keys["config/priv_validator_key.json"]) {
		t.Fatal("validator key replaced")
	}
}

func TestLoadConfigErrors(t *testing.T) {
	if _, err := LoadConfig(t.TempDir()); !errors.Is(err, ErrNotInitialized) {
		t.Fatalf("empty home: %v", err)
	}
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, "config"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ConfigFile(home), []byte("[consensus]\ntimeout_commit = \"-1s\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(home); err == nil {
		t.Fatal("accepted a negative timeout_commit")
	}
	if err := os.WriteFile(ConfigFile(home), []byte("[consensus]\ntimeout_commit = \"250ms\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	if c.Consensus.TimeoutCommit != 250*time.Millisecond || c.RootDir != home {
		t.Fatalf("timeout_commit %v root %q", c.Consensus.TimeoutCommit, c.RootDir)
	}
}
