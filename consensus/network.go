package consensus

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	cfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/crypto"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/types"
	cmttime "github.com/cometbft/cometbft/types/time"
)

// Localnet defaults.
const (
	DefaultBasePort      = 26600
	DefaultChainID       = "jinlian-localnet"
	DefaultTimeoutCommit = 300 * time.Millisecond
	// DefaultMaxBlockBytes caps blocks well under CometBFT's 21 MB default,
	// at which throughput collapses under a backlog.
	DefaultMaxBlockBytes int64 = 4 << 20

	// PortsPerNode is the stride between nodes' ports: P2P at +0, RPC at +1,
	// +2..+9 for the embedding application (API, metrics...).
	PortsPerNode = 10

	manifestFile = "network.json"
)

// ManifestFile is where WriteNetwork describes the network it wrote in
// dir; LoadNetwork reads it.
func ManifestFile(dir string) string { return filepath.Join(dir, manifestFile) }

// ErrNetworkExists is returned by WriteNetwork for a Dir that is not empty.
var ErrNetworkExists = errors.New("network directory is not empty")

var monikerRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// NodeSpec describes one node of a network to generate.
type NodeSpec struct {
	Moniker string
	Power   int64 // 0 = non-validator (observer/full node)
}

// NetworkOptions describe a network of nodes on 127.0.0.1.
type NetworkOptions struct {
	Dir      string // node i's home is Dir/<Moniker>
	ChainID  string // default DefaultChainID
	Nodes    []NodeSpec
	BasePort int             // node i: P2P BasePort+10i, RPC +1, +2..+9 reserved; default DefaultBasePort
	AppState json.RawMessage // genesis app_state, verbatim
	// AppStateFunc, when set, computes app_state once the nodes' keys exist
	// (for registrations that name validator addresses); it overrides AppState.
	AppStateFunc func(nodes []NetworkNode) (json.RawMessage, error)

	TimeoutCommit              time.Duration // config consensus.timeout_commit; default DefaultTimeoutCommit
	MaxBlockBytes              int64         // genesis block.max_bytes; default DefaultMaxBlockBytes
	VoteExtensionsEnableHeight int64         // genesis abci.vote_extensions_enable_height; 0 = disabled
}

// NetworkNode is one generated node.
type NetworkNode struct {
	Moniker string
	Home    string
	NodeID  string // p2p id
	P2PAddr string // 127.0.0.1:port
	RPCAddr string // tcp://127.0.0.1:port
	Power   int64
	PubKey  crypto.PubKey // consensus (ed25519) key
}

// PeerAddr is the node's id@host:port, as persistent_peers lists it.
func (n NetworkNode) PeerAddr() string { return n.NodeID + "@" + n.P2PAddr }

// Network is a generated network.
type Network struct {
	Dir     string
	ChainID string
	Nodes   []NetworkNode
	Genesis *types.GenesisDoc
}

// manifest is Dir/network.json: which homes form the network, in order.
type manifest struct {
	ChainID  string   `json:"chain_id"`
	BasePort int      `json:"base_port"`
	Monikers []string `json:"monikers"`
}

func (o *NetworkOptions) withDefaults() (NetworkOptions, error) {
	out := *o
	if out.Dir == "" {
		return out, errors.New("network dir is empty")
	}
	if out.ChainID == "" {
		out.ChainID = DefaultChainID
	}
	if out.BasePort == 0 {
		out.BasePort = DefaultBasePort
	}
	if out.TimeoutCommit == 0 {
		out.TimeoutCommit = DefaultTimeoutCommit
	}
	if out.MaxBlockBytes == 0 {
		out.MaxBlockBytes = DefaultMaxBlockBytes
	}
	if len(out.Nodes) == 0 {
		return out, errors.New("network has no nodes")
	}
	if out.BasePort < 1024 || out.BasePort+PortsPerNode*len(out.Nodes) > 65536 {
		return out, fmt.Errorf("base port %d leaves no room for %d nodes", out.BasePort, len(out.Nodes))
	}
	if out.TimeoutCommit < 0 || out.MaxBlockBytes < 0 || out.VoteExtensionsEnableHeight < 0 {
		return out, errors.New("negative timeout commit, max block bytes or vote extensions height")
	}
	seen := map[string]bool{}
	var validators int
	for i, n := range out.Nodes {
		if !monikerRE.MatchString(n.Moniker) {
			return out, fmt.Errorf("node %d: moniker %q must match %s", i, n.Moniker, monikerRE)
		}
		if seen[n.Moniker] {
			return out, fmt.Errorf("node %d: duplicate moniker %q", i, n.Moniker)
		}
		seen[n.Moniker] = true
		if n.Power < 0 {
			return out, fmt.Errorf("node %s: negative power %d", n.Moniker, n.Power)
		}
		if n.Power > 0 {
			validators++
		}
	}
	if validators == 0 {
		return out, errors.New("network has no validator (every power is 0)")
	}
	if len(out.AppState) > 0 && !json.Valid(out.AppState) {
		return out, errors.New("app state is not valid JSON")
	}
	return out, nil
}

// WriteNetwork generates node keys, validator keys, one genesis and a
// config.toml per node so that every home can be started with StartNode. It
// refuses a Dir that exists and is not empty.
func WriteNetwork(opts NetworkOptions) (*Network, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("write network: %w", err)
	}
	entries, err := os.ReadDir(o.Dir)
	switch {
	case err == nil && len(entries) > 0:
		return nil, fmt.Errorf("write network: %w: %s", ErrNetworkExists, o.Dir)
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("write network: %w", err)
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("write network: %w", err)
	}
	net, err := writeNetwork(o)
	if err != nil {
		// Dir was empty or absent: leave it empty again.
		for _, n := range o.Nodes {
			_ = os.RemoveAll(filepath.Join(o.Dir, n.Moniker))
		}
		_ = os.Remove(filepath.Join(o.Dir, manifestFile))
		return nil, fmt.Errorf("write network: %w", err)
	}
	return net, nil
}

func writeNetwork(o NetworkOptions) (*Network, error) {
	net := &Network{Dir: o.Dir, ChainID: o.ChainID}
	configs := make([]*cfg.Config, len(o.Nodes))
	var genVals []types.GenesisValidator
	for i, spec := range o.Nodes {
		home := filepath.Join(o.Dir, spec.Moniker)
		c := DefaultConfig(home, spec.Moniker)
		configs[i] = c
		if err := os.MkdirAll(filepath.Join(home, cfg.DefaultDataDir), cfg.DefaultDirPerm); err != nil {
			return nil, err
		}
		nodeKey, err := ensureNodeKey(c)
		if err != nil {
			return nil, err
		}
		pv, err := ensurePrivValidator(c)
		if err != nil {
			return nil, err
		}
		p2pPort := o.BasePort + PortsPerNode*i
		net.Nodes = append(net.Nodes, NetworkNode{
			Moniker: spec.Moniker,
			Home:    home,
			NodeID:  string(nodeKey.ID()),
			P2PAddr: fmt.Sprintf("127.0.0.1:%d", p2pPort),
			RPCAddr: fmt.Sprintf("tcp://127.0.0.1:%d", p2pPort+1),
			Power:   spec.Power,
			PubKey:  pv.Key.PubKey,
		})
		if spec.Power > 0 {
			genVals = append(genVals, types.GenesisValidator{
				Address: pv.Key.PubKey.Address(),
				PubKey:  pv.Key.PubKey,
				Power:   spec.Power,
				Name:    spec.Moniker,
			})
		}
	}

	if o.AppStateFunc != nil {
		st, err := o.AppStateFunc(net.Nodes)
		if err != nil {
			return nil, fmt.Errorf("app state: %w", err)
		}
		o.AppState = st
	}
	params := types.DefaultConsensusParams()
	params.Block.MaxBytes = o.MaxBlockBytes
	params.ABCI.VoteExtensionsEnableHeight = o.VoteExtensionsEnableHeight
	gen := &types.GenesisDoc{
		GenesisTime:     cmttime.Now(),
		ChainID:         o.ChainID,
		InitialHeight:   1,
		ConsensusParams: params,
		Validators:      genVals,
		AppState:        o.AppState,
	}
	if err := gen.ValidateAndComplete(); err != nil {
		return nil, fmt.Errorf("genesis: %w", err)
	}
	net.Genesis = gen

	for i, nn := range net.Nodes {
		var peers []string
		for j, other := range net.Nodes {
			if j != i {
				peers = append(peers, other.PeerAddr())
			}
		}
		c := configs[i]
		p2pPort := o.BasePort + PortsPerNode*i
		applyLocalnet(c, p2pPort, p2pPort+1, strings.Join(peers, ","), o.TimeoutCommit)
		if err := c.ValidateBasic(); err != nil {
			return nil, fmt.Errorf("node %s config: %w", nn.Moniker, err)
		}
		if err := WriteConfig(nn.Home, c); err != nil {
			return nil, fmt.Errorf("node %s: %w", nn.Moniker, err)
		}
		if err := gen.SaveAs(c.GenesisFile()); err != nil {
			return nil, fmt.Errorf("node %s: save genesis: %w", nn.Moniker, err)
		}
	}

	m := manifest{ChainID: o.ChainID, BasePort: o.BasePort}
	for _, n := range o.Nodes {
		m.Monikers = append(m.Monikers, n.Moniker)
	}
	bz, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(o.Dir, manifestFile), append(bz, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("write manifest: %w", err)
	}
	return net, nil
}

// LoadNetwork reads back a network written by WriteNetwork. Addresses, ids
// and keys come from the homes themselves, so edits to a config.toml show.
func LoadNetwork(dir string) (*Network, error) {
	bz, err := os.ReadFile(filepath.Join(dir, manifestFile))
	if err != nil {
		return nil, fmt.Errorf("load network: %w", err)
	}
	var m manifest
	if err := json.Unmarshal(bz, &m); err != nil {
		return nil, fmt.Errorf("load network: decode %s: %w", manifestFile, err)
	}
	if len(m.Monikers) == 0 {
		return nil, fmt.Errorf("load network: %s lists no nodes", manifestFile)
	}
	net := &Network{Dir: dir, ChainID: m.ChainID}
	var genBytes []byte
	for _, moniker := range m.Monikers {
		if !monikerRE.MatchString(moniker) {
			return nil, fmt.Errorf("load network: bad moniker %q", moniker)
		}
		home := filepath.Join(dir, moniker)
		c, err := LoadConfig(home)
		if err != nil {
			return nil, fmt.Errorf("load network: node %s: %w", moniker, err)
		}
		nodeKey, err := p2p.LoadNodeKey(c.NodeKeyFile())
		if err != nil {
			return nil, fmt.Errorf("load network: node %s: node key: %w", moniker, err)
		}
		key, err := readPVKey(c.PrivValidatorKeyFile())
		if err != nil {
			return nil, fmt.Errorf("load network: node %s: %w", moniker, err)
		}
		g, err := os.ReadFile(c.GenesisFile())
		if err != nil {
			return nil, fmt.Errorf("load network: node %s: %w", moniker, err)
		}
		if genBytes == nil {
			genBytes = g
			if net.Genesis, err = types.GenesisDocFromJSON(g); err != nil {
				return nil, fmt.Errorf("load network: node %s genesis: %w", moniker, err)
			}
		} else if !bytes.Equal(g, genBytes) {
			return nil, fmt.Errorf("load network: node %s genesis differs from node %s's", moniker, m.Monikers[0])
		}
		nn := NetworkNode{
			Moniker: moniker,
			Home:    home,
			NodeID:  string(nodeKey.ID()),
			P2PAddr: strings.TrimPrefix(c.P2P.ListenAddress, "tcp://"),
			RPCAddr: c.RPC.ListenAddress,
			PubKey:  key.PrivKey.PubKey(),
		}
		for _, v := range net.Genesis.Validators {
			if bytes.Equal(v.PubKey.Bytes(), nn.PubKey.Bytes()) {
				nn.Power = v.Power
			}
		}
		net.Nodes = append(net.Nodes, nn)
	}
	if net.ChainID != net.Genesis.ChainID {
		return nil, fmt.Errorf("load network: %s says chain %q, genesis says %q", manifestFile, net.ChainID, net.Genesis.ChainID)
	}
	return net, nil
}

// Homes lists the nodes' homes in order.
func (n *Network) Homes() []string {
	homes := make([]string, len(n.Nodes))
	for i, nn := range n.Nodes {
		homes[i] = nn.Home
	}
	return homes
}
