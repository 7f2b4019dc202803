package consensus

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	cfg "github.com/cometbft/cometbft/config"
	"github.com/spf13/viper"
)

// Mempool sizes for jinlian nodes. CometBFT's defaults allow 1 GiB of pending
// transactions; a bank node should refuse load long before that. 4,000
// transactions is two proposals at node.max_proposal_txs: offered more than
// it commits, a node refuses the rest at once instead of queueing seconds of
// work that every block rechecks (docs/operations.md, "Mempool size").
const (
	defaultMempoolSize        = 4000
	defaultMempoolMaxTxsBytes = 256 << 20
	defaultMempoolCacheSize   = 20000
)

// defaultPeerGossipSleep is jinlian's consensus.peer_gossip_sleep_duration
// (CometBFT's default: 100ms); see DefaultConfig.
const defaultPeerGossipSleep = 10 * time.Millisecond

// ErrNotInitialized is returned when a home has no config/config.toml.
var ErrNotInitialized = errors.New("home is not initialized")

// DefaultConfig returns CometBFT's default configuration rooted at home with
// jinlian's choices applied: the given moniker, the kv tx indexer, bounded
// mempool sizes and an RPC connection limit set by the open-file limit
// (max_open_connections = 0, see rpcConnLimit). Listen addresses stay
// CometBFT's (P2P on all interfaces port 26656, RPC on 127.0.0.1:26657).
func DefaultConfig(home, moniker string) *cfg.Config {
	c := cfg.DefaultConfig()
	c.SetRoot(home)
	if moniker != "" {
		c.Moniker = moniker
	}
	c.TxIndex.Indexer = "kv"
	c.Mempool.Size = defaultMempoolSize
	c.Mempool.MaxTxsBytes = defaultMempoolMaxTxsBytes
	c.Mempool.CacheSize = defaultMempoolCacheSize
	// As many RPC connections as the open-file limit allows (rpcConnLimit).
	c.RPC.MaxOpenConnections = 0
	// A peer with nothing new to gossip sleeps this long before it looks
	// again. A node catching up in consensus (after a partition: it left
	// block sync long ago) gets one height per such exchange, so CometBFT's
	// 100ms held it to ~600 blocks/min, behind a chain at 1 block/s by 0.6 s
	// per second (BenchmarkConsensusCatchUp).
	c.Consensus.PeerGossipSleepDuration = defaultPeerGossipSleep
	return c
}

// ConfigFile is the path of a home's config.toml.
func ConfigFile(home string) string {
	return filepath.Join(home, cfg.DefaultConfigDir, cfg.DefaultConfigFileName)
}

// LoadConfig reads <home>/config/config.toml the way CometBFT's own command
// does (viper over the defaults), roots it at home and validates it.
func LoadConfig(home string) (*cfg.Config, error) {
	path := ConfigFile(home)
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s is missing", ErrNotInitialized, path)
		}
		return nil, fmt.Errorf("stat config: %w", err)
	}
	v := viper.New()
	v.SetConfigFile(path)
	v.SetConfigType("toml")
	if err := v.ReadInConfig(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	c := cfg.DefaultConfig()
	if err := v.Unmarshal(c); err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	c.SetRoot(home)
	if err := c.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("invalid %s: %w", path, err)
	}
	return c, nil
}

// WriteConfig writes c as <home>/config/config.toml in CometBFT's template
// format, atomically (cfg.WriteConfigFile exits the process on a write error,
// so it only ever writes into a temporary file that is known to be writable).
func WriteConfig(home string, c *cfg.Config) error {
	dir := filepath.Join(home, cfg.DefaultConfigDir)
	if err := os.MkdirAll(dir, cfg.DefaultDirPerm); err != nil {
		return fmt.Errorf("create config dir: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".config.toml.*")
	if err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	tmpPath := tmp.Name()
	if err := tmp.Close(); err != nil {
		_ = os.Remove(tmpPath)
		return fmt.Errorf("write config: %w", err)
	}
	cfg.WriteConfigFile(tmpPath, c)
	if err := os.Rename(tmpPath, ConfigFile(home)); err != nil {
		_ = os.Remove(tmpPath)
		return fmt.Errorf("write config: %w", err)
	}
	return nil
}

// externalAddress is the host:port a node tells its peers to dial back when
// config.toml has no p2p.external_address: its listen address when that
// names one interface, else "" (CometBFT then advertises the listen address
// as it is, 0.0.0.0 for all interfaces, which peers cannot dial: set
// external_address in config.toml, docs/quickstart.md step 6).
func externalAddress(laddr string) string {
	hostPort := strings.TrimPrefix(laddr, "tcp://")
	host, _, err := net.SplitHostPort(hostPort)
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		return ""
	}
	return hostPort
}

// applyLocalnet tunes c for a static network of nodes on 127.0.0.1.
func applyLocalnet(c *cfg.Config, p2pPort, rpcPort int, peers string, timeoutCommit time.Duration) {
	c.P2P.ListenAddress = fmt.Sprintf("tcp://127.0.0.1:%d", p2pPort)
	c.RPC.ListenAddress = fmt.Sprintf("tcp://127.0.0.1:%d", rpcPort)
	c.P2P.PersistentPeers = peers
	// What peers dial back; the listen address is already one interface,
	// but say it, as a real node must (docs/quickstart.md).
	c.P2P.ExternalAddress = fmt.Sprintf("127.0.0.1:%d", p2pPort)
	// Without it every loopback node keeps a single peer and the chain stalls.
	c.P2P.AllowDuplicateIP = true
	c.P2P.AddrBookStrict = false
	// The peer set is static and complete: nothing to exchange.
	c.P2P.PexReactor = false
	// Loopback has no bandwidth to save; CometBFT's 100ms batching would add
	// up to a flush per gossip hop to every block.
	c.P2P.FlushThrottleTimeout = 10 * time.Millisecond
	c.FilterPeers = false
	c.Consensus.TimeoutCommit = timeoutCommit
}
