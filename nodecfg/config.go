package nodecfg

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	// The zone database, for recon.timezone on hosts without one
	// (/usr/share/zoneinfo): about 450 kB of the binary.
	_ "time/tzdata"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// FileName is the config file inside <home>/config.
const FileName = "jinlian.toml"

// Modes a node runs in.
const (
	ModeValidator = "validator"
	ModeObserver  = "observer"
)

// TLS modes of the HTTP API (api.tls).
const (
	APITLSNone  = "none"  // plain HTTP; keep api.listen on loopback
	APITLSTLS13 = "tls13" // standard TLS 1.3 (ECDSA or Ed25519 certificates)
	APITLSGM    = "gmtls" // GM TLS, GM/T 0024: dual SM2 certificates, ECC_SM4_CBC_SM3
	// RegulatorTLSAuto serves the regulator API with the api.* transport:
	// TLS wherever the node's API has certificates.
	RegulatorTLSAuto = "auto"
)

// What a node's event indexer indexes (events.index). Events are not part
// of consensus (CometBFT hashes only a result's code and data), so nodes of
// one chain may choose differently.
const (
	// EventsIndexAuto is full on observers and none on validators (ADR
	// 0028): those that serve the API (api.listen) answer it from their
	// movement index and blocks; one whose movement index is off
	// (recon.movement_index = false) keeps the lean index instead.
	EventsIndexAuto = "auto"
	EventsIndexFull = "full" // every attribute the app marks indexable
	EventsIndexLean = "lean" // only the tx id, the sender, the recipient and their organisations
	// EventsIndexNone keeps no tx index: CometBFT's indexer is null.
	EventsIndexNone = "none"
)

// DefaultTimeZone is recon.timezone's default: China Standard Time, the
// business day of the consortium's banks.
const DefaultTimeZone = "Asia/Shanghai"

// DefaultMinFreeDiskMB is node.min_free_disk_mb's default: room for the
// ledger's memtables and value-log files to be written out at a clean stop,
// with a margin for the blocks that arrive between two checks.
const DefaultMinFreeDiskMB = 256

// DefaultBlockSyncGap is node.block_sync_gap's default. Consensus gossip
// fetches one height per exchange with a peer (886–2,457 blocks/min
// measured, docs/operations.md) and block sync about 2,400 blocks/min after
// a restart of a few seconds: under this gap gossip catches up in about
// 20 s at worst, over it a restart into block sync is quicker (a node
// 1,300 heights behind after a 30-minute partition took 89 s by gossip).
const DefaultBlockSyncGap = 300

// DefaultMaxProposalTxs is node.max_proposal_txs's default: a block that
// every validator of a loaded 2-core machine verifies, executes and commits
// in under a second; it cost no throughput with 1 and 4 validators and kept
// 7 committing (docs/performance.md, "Throughput").
const DefaultMaxProposalTxs = 2000

// Location is recon.timezone loaded (Validate has checked that it loads).
func (c *Config) Location() (*time.Location, error) {
	loc, err := time.LoadLocation(c.Recon.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("config recon.timezone = %q: %w", c.Recon.TimeZone, err)
	}
	return loc, nil
}

// EventsIndex is the tx index the node keeps: events.index, with auto
// resolved (EventsIndexFull, EventsIndexLean or EventsIndexNone).
func (c *Config) EventsIndex() string {
	switch {
	case c.Events.Index != EventsIndexAuto:
		return c.Events.Index
	case c.Node.Mode != ModeValidator:
		return EventsIndexFull
	case c.API.Listen != "" && !c.Recon.MovementIndex:
		return EventsIndexLean
	default:
		return EventsIndexNone
	}
}

// LeanIndex reports whether the app marks only the lean attribute set
// indexable: on every node that does not index in full.
func (c *Config) LeanIndex() bool { return c.EventsIndex() != EventsIndexFull }

// NoTxIndex reports whether the node keeps no tx index (events.index =
// none, or auto on a validator).
func (c *Config) NoTxIndex() bool { return c.EventsIndex() == EventsIndexNone }

// Config is a node's jinlian settings.
type Config struct {
	Home string `mapstructure:"-"`

	Node struct {
		Mode string `mapstructure:"mode"`
		// MinFreeDiskMB is the free space, in MB, below which the node
		// stops (and refuses to start): its databases map files into
		// memory, and a write to a full disk there crashes the process.
		MinFreeDiskMB int `mapstructure:"min_free_disk_mb"`
		// BlockSyncGap is how many heights behind its peers a node
		// following consensus may fall before jinlian start restarts it
		// into block sync (0 = never).
		BlockSyncGap int `mapstructure:"block_sync_gap"`
		// MaxProposalTxs caps the transactions in a block this node
		// proposes (0: only block.max_bytes); see app.Options.
		MaxProposalTxs int `mapstructure:"max_proposal_txs"`
	} `mapstructure:"node"`
	API struct {
		Listen string `mapstructure:"listen"`
		// TLS is APITLSNone, APITLSTLS13 or APITLSGM. File paths that are
		// not absolute are relative to Home (see HomePath).
		TLS         string `mapstructure:"tls"`
		CertFile    string `mapstructure:"cert_file"`     // server certificate (gmtls: the signing one)
		KeyFile     string `mapstructure:"key_file"`      // its PKCS#8 PEM key
		EncCertFile string `mapstructure:"enc_cert_file"` // gmtls: the encryption certificate
		EncKeyFile  string `mapstructure:"enc_key_file"`  // gmtls: its PKCS#8 PEM key
		// ClientCAFile, when set, turns on mutual TLS: clients must present
		// a certificate that chains to a CA in this PEM bundle.
		ClientCAFile string `mapstructure:"client_ca_file"`
	} `mapstructure:"api"`
	Log struct {
		Level  string `mapstructure:"level"`
		Format string `mapstructure:"format"`
	} `mapstructure:"log"`
	Ledger struct {
		CacheSize int `mapstructure:"cache_size"`
		// InnerCacheMB bounds each sub-ledger's cache of encoded inner
		// nodes below the IAVL node cache, in MiB; 0 turns it off.
		InnerCacheMB int `mapstructure:"inner_cache_mb"`
		// BlockCacheMB is Badger's cache of decompressed, checked table
		// blocks, in MiB.
		BlockCacheMB int `mapstructure:"block_cache_mb"`
		// LevelZeroTables is how many tables Badger's level 0 of the
		// ledger database holds before they are compacted (ADR 0030).
		LevelZeroTables int `mapstructure:"level_zero_tables"`
		// ValueThreshold: values of the ledger database of at least this
		// many bytes are kept in Badger's value log, outside its LSM tree
		// (0: every value in the LSM tree; ADR 0031).
		ValueThreshold int `mapstructure:"value_threshold"`
		// FlatIndex keeps the flat index of the latest state beside the
		// trees (ADR 0019); off, reads of the latest state walk the trees.
		FlatIndex bool `mapstructure:"flat_index"`
	} `mapstructure:"ledger"`
	// Pruning bounds a validator's disk (docs/operations.md, "Bounded
	// disk"); zero everywhere keeps everything, as observers must.
	Pruning struct {
		// KeepRecent is how many recent state versions (heights) the IAVL
		// trees keep; 0 keeps every version.
		KeepRecent int `mapstructure:"keep_recent"`
		// Interval is how many blocks pass between two prunings.
		Interval int `mapstructure:"interval"`
		// RetainBlocks is how many recent blocks CometBFT keeps (the app's
		// retain height); 0 keeps every block.
		RetainBlocks int `mapstructure:"retain_blocks"`
		// SpentIDs deletes replay-protection records older than twice the
		// longest replay window governance may set.
		SpentIDs bool `mapstructure:"spent_ids"`
	} `mapstructure:"pruning"`
	// Statesync is what this node offers joining nodes (docs/operations.md,
	// "Joining by state sync"); joining itself is CometBFT's [statesync] in
	// config.toml.
	Statesync struct {
		// SnapshotInterval: a snapshot of the state every so many heights
		// (0: none).
		SnapshotInterval int `mapstructure:"snapshot_interval"`
		// SnapshotKeepRecent: how many snapshots are kept (0: all).
		SnapshotKeepRecent int `mapstructure:"snapshot_keep_recent"`
	} `mapstructure:"statesync"`
	Events struct {
		// Index is EventsIndexAuto, EventsIndexFull, EventsIndexLean or
		// EventsIndexNone.
		Index string `mapstructure:"index"`
		// ReindexFrom is the first height whose tx index the node checks
		// and repairs at start (0: the last 1000 heights). A one-off for
		// holes older than that: jinlian start --events.reindex_from 1.
		ReindexFrom int `mapstructure:"reindex_from"`
	} `mapstructure:"events"`
	Recon struct {
		// TimeZone cuts business days for statements (IANA name, as
		// time.LoadLocation takes it).
		TimeZone string `mapstructure:"timezone"`
		// MovementIndex keeps the node's own index of movements by
		// organisation for statements, and of transfers by memo for the
		// API's search (movements.db), on a node that serves the API.
		MovementIndex bool `mapstructure:"movement_index"`
	} `mapstructure:"recon"`
	Regulator struct {
		Listen string `mapstructure:"listen"`
		Rules  string `mapstructure:"rules"`
		Key    string `mapstructure:"key"`
		// TLS is RegulatorTLSAuto (the api.* transport and certificates),
		// or APITLSNone, APITLSTLS13, APITLSGM with the tls_* files below
		// (each empty one taken from its api.* twin).
		TLS             string `mapstructure:"tls"`
		TLSCertFile     string `mapstructure:"tls_cert_file"`
		TLSKeyFile      string `mapstructure:"tls_key_file"`
		TLSEncCertFile  string `mapstructure:"tls_enc_cert_file"`
		TLSEncKeyFile   string `mapstructure:"tls_enc_key_file"`
		TLSClientCAFile string `mapstructure:"tls_client_ca_file"`
		// Hosts are the names clients address the API by, comma separated
		// (signed requests are bound to one of them).
		Hosts string `mapstructure:"hosts"`
		// InsecurePlainHTTP allows plain HTTP on an address that is not loopback.
		InsecurePlainHTTP bool `mapstructure:"insecure_plain_http"`
		// SQL is the PostgreSQL database the regulator loads its tables
		// into (empty: CometBFT's tx_index.psql-conn when its psql sink is
		// on, else none).
		SQL string `mapstructure:"sql"`
		// RecentCacheMB bounds the memory of the rules' cache of the
		// recent movements of the accounts they read (MiB).
		RecentCacheMB int `mapstructure:"recent_cache_mb"`
		// IndexMemtableMB is the size of each memtable of the regulator
		// index's Badger (MiB); its table builders keep buffers of two to
		// three times that, up to eight of them.
		IndexMemtableMB int `mapstructure:"index_memtable_mb"`
	} `mapstructure:"regulator"`
	// Checkpoint configures the prover and relayer a node may run
	// (docs/checkpoints.md): it proves the chain's checkpoints and submits
	// them to the CheckpointAnchor at Anchor over the Ethereum JSON-RPC
	// endpoint EthRPC, paying with the secp256k1 key in EthKey.
	Checkpoint struct {
		Prover bool   `mapstructure:"prover"`
		EthRPC string `mapstructure:"eth_rpc"`
		EthKey string `mapstructure:"eth_key"`
		Anchor string `mapstructure:"anchor"`
		Keys   string `mapstructure:"keys"`
	} `mapstructure:"checkpoint"`
}

// defaults, in key order; each also becomes a flag via BindFlags.
var defaults = []struct {
	key   string
	value any
	usage string
}{
	{"node.mode", ModeValidator, "node mode: validator or observer"},
	{"node.min_free_disk_mb", DefaultMinFreeDiskMB, "free space (MB) on the data directory's file system below which the node stops cleanly and refuses to start (0 = never)"},
	{"node.block_sync_gap", DefaultBlockSyncGap, "heights behind its peers (at least two of them) at which a node following consensus restarts itself into block sync, which catches up faster (0 = never)"},
	{"node.max_proposal_txs", DefaultMaxProposalTxs, "validators: most transactions in a block this node proposes, so that every validator verifies, executes and commits it quickly under load (0 = only the genesis block.max_bytes); blocks of other validators are accepted whatever their size"},
	{"api.listen", "", "address of the HTTP API (empty = off), e.g. 127.0.0.1:26680"},
	{"api.tls", APITLSNone, "API transport security: none, tls13 or gmtls"},
	{"api.cert_file", "", "API server certificate, PEM (gmtls: the SM2 signing certificate)"},
	{"api.key_file", "", "key of api.cert_file, PKCS#8 PEM"},
	{"api.enc_cert_file", "", "gmtls only: the SM2 encryption certificate, PEM"},
	{"api.enc_key_file", "", "gmtls only: key of api.enc_cert_file, PKCS#8 PEM"},
	{"api.client_ca_file", "", "CA bundle, PEM; when set, API clients must present a certificate from one of these CAs"},
	{"log.level", "info", "log level: debug, info, warn, error"},
	{"log.format", "text", "log format: text or json"},
	{"ledger.cache_size", 100000, "IAVL node cache per sub-ledger"},
	{"ledger.inner_cache_mb", 1024, "cache of each sub-ledger's tree below the IAVL node cache: its upper and middle levels, all of it when it fits, MiB (0 = off)"},
	{"ledger.block_cache_mb", 256, "Badger block cache of the ledger database, MiB (16 at least)"},
	{"ledger.level_zero_tables", 5, "tables in Badger's level 0 of the ledger database before they are compacted (5..50; 10 for millions of accounts, ADR 0030)"},
	{"ledger.value_threshold", 0, "values of the ledger database of at least this many bytes go to Badger's value log, outside its LSM tree (0..1048576; 0 = every value in the LSM tree; 64 for ten million accounts: the trees' nodes, ADR 0031)"},
	{"ledger.flat_index", true, "keep a flat copy of the latest state beside the trees, so a read of it is one lookup (off: reads walk the trees; a start with it on after a run with it off rebuilds it)"},
	{"pruning.keep_recent", 0, "validators: state versions (heights) kept; older ones are deleted (0 = keep every version; at least 10 otherwise)"},
	{"pruning.interval", 100, "validators: blocks between two prunings"},
	{"pruning.retain_blocks", 0, "validators: recent blocks CometBFT keeps, older ones are deleted with their QCs (0 = keep every block; at least 10 otherwise)"},
	{"pruning.spent_ids", false, "validators: delete replay-protection records older than twice the longest replay window (2 × 86400 s + 1 h); jinlian query tx then finds only newer ids"},
	{"statesync.snapshot_interval", 0, "snapshot of the state every so many heights, under <home>/data/snapshots, served to nodes joining by state sync (0 = none)"},
	{"statesync.snapshot_keep_recent", 2, "snapshots kept (0 = all)"},
	{"events.index", EventsIndexAuto, "event attributes the node indexes: full (all, as the psql sink and tx_search by ledger, org, type, asset or amount need), lean (tx id, sender, recipient and their organisations), none (no tx index: CometBFT's indexer null; with api.listen, the API reads its movement index and the blocks instead, so recon.movement_index must be on) or auto (full on observers, none on validators: lean on one serving the API with recon.movement_index off)"},
	{"events.reindex_from", 0, "first height whose tx index the node checks and repairs at start (0 = the last 1000 heights; 1 = every height, once, for holes left by an older version)"},
	{"recon.timezone", DefaultTimeZone, "time zone that cuts business days for statements: an IANA name such as Asia/Shanghai, or UTC"},
	{"recon.movement_index", true, "nodes serving the API: keep an index of every movement by organisation and of transfers by memo (data/movements.db), from which statements read a day in one scan and memo searches a page, instead of searching the tx index"},
	{"regulator.listen", "", "observers: address of the regulator API (empty = off; localnet: P2P port + 3)"},
	{"regulator.rules", "", "observers: rule file, TOML (empty = <home>/config/regulator_rules.toml, written with defaults on first start)"},
	{"regulator.key", "", "observers: regulator key file for decrypting confidential payloads through the API (empty = off)"},
	{"regulator.tls", RegulatorTLSAuto, "observers: regulator API transport: auto (as api.tls, with its certificates), none, tls13 or gmtls"},
	{"regulator.tls_cert_file", "", "observers: regulator API server certificate, PEM (empty = api.cert_file)"},
	{"regulator.tls_key_file", "", "observers: key of regulator.tls_cert_file, PKCS#8 PEM (empty = api.key_file)"},
	{"regulator.tls_enc_cert_file", "", "observers, gmtls: the SM2 encryption certificate (empty = api.enc_cert_file)"},
	{"regulator.tls_enc_key_file", "", "observers, gmtls: key of regulator.tls_enc_cert_file (empty = api.enc_key_file)"},
	{"regulator.tls_client_ca_file", "", "observers: CA bundle for mutual TLS on the regulator API (empty = api.client_ca_file)"},
	{"regulator.hosts", "", "observers: names clients reach the regulator API by, comma separated (empty = the listen address; needed when it listens on every interface)"},
	{"regulator.insecure_plain_http", false, "observers: allow the regulator API over plain HTTP on an address that is not loopback"},
	{"regulator.sql", "", "observers: PostgreSQL connection string the regulator loads its tables into, from its own index (empty = tx_index.psql-conn when CometBFT's psql sink is on, else none)"},
	{"regulator.recent_cache_mb", 1024, "observers: memory of the rules' cache of recent movements, MiB (16 at least; a day of a million transfers among ten accounts takes about 800)"},
	{"regulator.index_memtable_mb", 64, "observers: memtable size of the regulator index, MiB (16..256; its table builders hold up to about 30 times this: 64 holds about 2 GB, 32 about 1 GB, indexing a fifth slower)"},
	{"checkpoint.prover", false, "prove this chain's checkpoints and submit them to the anchor on Ethereum (needs checkpoint.eth_rpc, checkpoint.eth_key, checkpoint.anchor)"},
	{"checkpoint.eth_rpc", "", "prover: Ethereum JSON-RPC endpoint of the anchor (alias --eth-rpc)"},
	{"checkpoint.eth_key", "", "prover: file with the hex secp256k1 key that pays for submissions (alias --eth-key)"},
	{"checkpoint.anchor", "", "prover: CheckpointAnchor address (alias --anchor; empty = from <home>/data/checkpoints/anchor.json, which checkpoint deploy writes)"},
	{"checkpoint.keys", "", "prover: directory of the circuit's proving keys (empty = the INSECURE development keys)"},
}

// AddFlags registers a --<key> flag for every config key.
func AddFlags(fs *pflag.FlagSet) {
	for _, d := range defaults {
		switch v := d.value.(type) {
		case string:
			fs.String(d.key, v, d.usage)
		case int:
			fs.Int(d.key, v, d.usage)
		case bool:
			fs.Bool(d.key, v, d.usage)
		}
	}
}

// EnvName is the environment variable of a config key: api.listen → JINLIAN_API_LISTEN.
func EnvName(key string) string {
	return "JINLIAN_" + strings.ToUpper(strings.NewReplacer(".", "_").Replace(key))
}

// Path is the config file of a home.
func Path(home string) string { return filepath.Join(home, "config", FileName) }

// Load reads <home>/config/jinlian.toml (absent is fine), the environment
// and the flags that were set, and validates the result.
func Load(home string, fs *pflag.FlagSet) (*Config, error) {
	v := newViper()
	// Bind each key to its own variable rather than AutomaticEnv: with
	// AutomaticEnv a variable named after a whole table (JINLIAN_NODE, which
	// the CLI uses for --node) would hide that table.
	for _, d := range defaults {
		if err := v.BindEnv(d.key, EnvName(d.key)); err != nil {
			return nil, err
		}
	}
	v.SetConfigFile(Path(home))
	v.SetConfigType("toml")
	if err := v.ReadInConfig(); err != nil && !errors.Is(err, os.ErrNotExist) {
		var nf viper.ConfigFileNotFoundError
		if !errors.As(err, &nf) {
			return nil, fmt.Errorf("read %s: %w", Path(home), err)
		}
	}
	if fs != nil {
		for _, d := range defaults {
			if f := fs.Lookup(d.key); f != nil && f.Changed {
				if err := v.BindPFlag(d.key, f); err != nil {
					return nil, err
				}
			}
		}
	}
	var c Config
	if err := v.UnmarshalExact(&c); err != nil {
		return nil, fmt.Errorf("config %s: %w", Path(home), err)
	}
	c.Home = home
	return &c, c.Validate()
}

// Validate checks every key and names the one that is wrong.
func (c *Config) Validate() error {
	switch c.Node.Mode {
	case ModeValidator, ModeObserver:
	default:
		return fmt.Errorf("config node.mode = %q: want %q or %q", c.Node.Mode, ModeValidator, ModeObserver)
	}
	if c.Node.MinFreeDiskMB < 0 {
		return fmt.Errorf("config node.min_free_disk_mb = %d: want 0 (never) or more", c.Node.MinFreeDiskMB)
	}
	if c.Node.BlockSyncGap < 0 {
		return fmt.Errorf("config node.block_sync_gap = %d: want 0 (never) or more", c.Node.BlockSyncGap)
	}
	if c.Node.MaxProposalTxs < 0 {
		return fmt.Errorf("config node.max_proposal_txs = %d: want 0 (no cap) or more", c.Node.MaxProposalTxs)
	}
	if c.API.Listen != "" {
		if _, _, err := net.SplitHostPort(c.API.Listen); err != nil {
			return fmt.Errorf("config api.listen = %q: %v", c.API.Listen, err)
		}
	}
	if err := c.validateAPITLS(); err != nil {
		return err
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("config log.level = %q: want debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		return fmt.Errorf("config log.format = %q: want text or json", c.Log.Format)
	}
	if c.Ledger.CacheSize < 0 {
		return fmt.Errorf("config ledger.cache_size = %d: must not be negative", c.Ledger.CacheSize)
	}
	if c.Ledger.InnerCacheMB < 0 || c.Ledger.InnerCacheMB > 1<<20 {
		return fmt.Errorf("config ledger.inner_cache_mb = %d: want 0..1048576 (MiB, 0 = off)", c.Ledger.InnerCacheMB)
	}
	if c.Ledger.BlockCacheMB < 16 || c.Ledger.BlockCacheMB > 1<<20 {
		return fmt.Errorf("config ledger.block_cache_mb = %d: want 16..1048576 (MiB)", c.Ledger.BlockCacheMB)
	}
	if c.Ledger.LevelZeroTables < 5 || c.Ledger.LevelZeroTables > 50 {
		return fmt.Errorf("config ledger.level_zero_tables = %d: want 5..50", c.Ledger.LevelZeroTables)
	}
	if c.Ledger.ValueThreshold < 0 || c.Ledger.ValueThreshold > 1<<20 {
		return fmt.Errorf("config ledger.value_threshold = %d: want 0..1048576 (bytes, 0 = every value in the LSM tree)", c.Ledger.ValueThreshold)
	}
	if c.Regulator.RecentCacheMB < 16 || c.Regulator.RecentCacheMB > 1<<20 {
		return fmt.Errorf("config regulator.recent_cache_mb = %d: want 16..1048576 (MiB)", c.Regulator.RecentCacheMB)
	}
	if c.Regulator.IndexMemtableMB < 16 || c.Regulator.IndexMemtableMB > 256 {
		return fmt.Errorf("config regulator.index_memtable_mb = %d: want 16..256 (MiB)", c.Regulator.IndexMemtableMB)
	}
	if c.Statesync.SnapshotInterval < 0 || c.Statesync.SnapshotKeepRecent < 0 {
		return fmt.Errorf("config statesync.snapshot_interval = %d, snapshot_keep_recent = %d: want 0 (off / keep all) or more",
			c.Statesync.SnapshotInterval, c.Statesync.SnapshotKeepRecent)
	}
	if err := c.validatePruning(); err != nil {
		return err
	}
	switch c.Events.Index {
	case EventsIndexAuto, EventsIndexFull, EventsIndexLean:
	case EventsIndexNone:
		if c.API.Listen != "" && !c.Recon.MovementIndex {
			return fmt.Errorf("config events.index = %q with api.listen = %q and recon.movement_index = false: without a tx index the API's statements and memo searches read the movement index; set recon.movement_index = true, or events.index = %q", EventsIndexNone, c.API.Listen, EventsIndexLean)
		}
	default:
		return fmt.Errorf("config events.index = %q: want %q, %q, %q or %q", c.Events.Index, EventsIndexAuto, EventsIndexFull, EventsIndexLean, EventsIndexNone)
	}
	if c.Events.ReindexFrom < 0 {
		return fmt.Errorf("config events.reindex_from = %d: must not be negative", c.Events.ReindexFrom)
	}
	if c.Recon.TimeZone == "" {
		return fmt.Errorf("config recon.timezone is empty: want an IANA time zone such as %q, or \"UTC\"", DefaultTimeZone)
	}
	if _, err := c.Location(); err != nil {
		return err
	}
	if c.Regulator.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Regulator.Listen); err != nil {
			return fmt.Errorf("config regulator.listen = %q: %v", c.Regulator.Listen, err)
		}
	}
	if err := c.validateRegulatorTLS(); err != nil {
		return err
	}
	if a := c.Checkpoint.Anchor; a != "" && !isHexAddress(a) {
		return fmt.Errorf("config checkpoint.anchor = %q: want an Ethereum address (0x and 40 hex digits)", a)
	}
	if c.Checkpoint.Prover && (c.Checkpoint.EthRPC == "" || c.Checkpoint.EthKey == "") {
		return fmt.Errorf("config checkpoint.prover = true needs checkpoint.eth_rpc (--eth-rpc) and checkpoint.eth_key (--eth-key)")
	}
	return nil
}

func isHexAddress(s string) bool {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if len(s) != 40 {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

func (c *Config) validateAPITLS() error {
	a := c.API
	files := []struct{ key, value string }{
		{"api.cert_file", a.CertFile}, {"api.key_file", a.KeyFile},
		{"api.enc_cert_file", a.EncCertFile}, {"api.enc_key_file", a.EncKeyFile},
		{"api.client_ca_file", a.ClientCAFile},
	}
	switch a.TLS {
	case APITLSNone:
		for _, f := range files {
			if f.value != "" {
				return fmt.Errorf("config %s = %q but api.tls = %q: set api.tls to %q or %q, or clear %s", f.key, f.value, a.TLS, APITLSTLS13, APITLSGM, f.key)
			}
		}
		return nil
	case APITLSTLS13, APITLSGM:
	default:
		return fmt.Errorf("config api.tls = %q: want %q, %q or %q", a.TLS, APITLSNone, APITLSTLS13, APITLSGM)
	}
	for _, f := range files {
		switch {
		case f.value == "" && (f.key == "api.cert_file" || f.key == "api.key_file"):
			return fmt.Errorf("config %s is empty: api.tls = %q needs a server certificate and key", f.key, a.TLS)
		case f.value == "" && a.TLS == APITLSGM && (f.key == "api.enc_cert_file" || f.key == "api.enc_key_file"):
			return fmt.Errorf("config %s is empty: api.tls = %q needs an SM2 encryption certificate and key besides the signing pair", f.key, a.TLS)
		case f.value != "" && a.TLS == APITLSTLS13 && (f.key == "api.enc_cert_file" || f.key == "api.enc_key_file"):
			return fmt.Errorf("config %s = %q: only api.tls = %q uses an encryption certificate", f.key, f.value, APITLSGM)
		}
	}
	return nil
}

// RegulatorTLSFiles is the regulator API's resolved transport: the mode
// and the files, each regulator.tls_* key falling back on its api.* twin,
// paths resolved against the home.
type RegulatorTLSFiles struct {
	Mode, CertFile, KeyFile, EncCertFile, EncKeyFile, ClientCAFile string
}

// RegulatorTLS resolves regulator.tls and its files.
func (c *Config) RegulatorTLS() RegulatorTLSFiles {
	r, a := c.Regulator, c.API
	pick := func(own, api string) string {
		if own != "" {
			return c.HomePath(own)
		}
		return c.HomePath(api)
	}
	mode := r.TLS
	if mode == RegulatorTLSAuto || mode == "" {
		mode = a.TLS
		if mode == "" {
			mode = APITLSNone
		}
	}
	if mode == APITLSNone {
		return RegulatorTLSFiles{Mode: APITLSNone}
	}
	out := RegulatorTLSFiles{Mode: mode, CertFile: pick(r.TLSCertFile, a.CertFile), KeyFile: pick(r.TLSKeyFile, a.KeyFile),
		ClientCAFile: pick(r.TLSClientCAFile, a.ClientCAFile)}
	if mode == APITLSGM {
		out.EncCertFile, out.EncKeyFile = pick(r.TLSEncCertFile, a.EncCertFile), pick(r.TLSEncKeyFile, a.EncKeyFile)
	}
	return out
}

func (c *Config) validateRegulatorTLS() error {
	switch c.Regulator.TLS {
	case RegulatorTLSAuto, "", APITLSNone, APITLSTLS13, APITLSGM:
	default:
		return fmt.Errorf("config regulator.tls = %q: want %q, %q, %q or %q", c.Regulator.TLS, RegulatorTLSAuto, APITLSNone, APITLSTLS13, APITLSGM)
	}
	t := c.RegulatorTLS()
	switch {
	case t.Mode != APITLSNone && (t.CertFile == "" || t.KeyFile == ""):
		return fmt.Errorf("config regulator.tls = %q needs a server certificate and key: set regulator.tls_cert_file and regulator.tls_key_file (or api.cert_file and api.key_file)", t.Mode)
	case t.Mode == APITLSGM && (t.EncCertFile == "" || t.EncKeyFile == ""):
		return fmt.Errorf("config regulator.tls = %q needs an SM2 encryption certificate and key: set regulator.tls_enc_cert_file and regulator.tls_enc_key_file (or their api.* twins)", t.Mode)
	}
	return nil
}

// RegulatorHosts splits regulator.hosts.
func (c *Config) RegulatorHosts() []string {
	var out []string
	for _, h := range strings.Split(c.Regulator.Hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			out = append(out, h)
		}
	}
	return out
}

// HomePath resolves a file path from the config: absolute paths stay, and
// relative ones are relative to the home, as CometBFT's are.
func (c *Config) HomePath(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Home, p)
}

// WriteFile writes c as <home>/config/jinlian.toml.
func (c *Config) WriteFile() error {
	body := fmt.Sprintf(`# jinlian node configuration. Every key has an env twin (JINLIAN_API_LISTEN
# for api.listen) and a flag (--api.listen); precedence flag > env > file.

[node]
mode = %q
# The node stops cleanly, and refuses to start, when the file system of
# its data directory has less free space than this (MB; 0 = never).
min_free_disk_mb = %d
# A node following consensus that falls this many heights behind two of its
# peers (after a long partition) restarts itself into block sync, which
# catches up faster than consensus gossip (0 = never).
block_sync_gap = %d
# Validators: most transactions in a block this node proposes (0 = only the
# genesis block.max_bytes). Blocks of other validators are accepted whatever
# their size.
max_proposal_txs = %d

[api]
listen = %q
# none, tls13 or gmtls (docs/api.md). Relative paths are relative to the home.
tls = %q
cert_file = %q
key_file = %q
enc_cert_file = %q
enc_key_file = %q
client_ca_file = %q

[log]
level = %q
format = %q

[ledger]
cache_size = %d
inner_cache_mb = %d
block_cache_mb = %d
level_zero_tables = %d
value_threshold = %d
flat_index = %t

# Bounded disk, validators only (docs/operations.md): 0 keeps everything.
[pruning]
keep_recent = %d
interval = %d
retain_blocks = %d
spent_ids = %t

# Snapshots served to nodes joining by state sync (docs/operations.md):
# one every snapshot_interval heights (0 = none), the newest
# snapshot_keep_recent kept.
[statesync]
snapshot_interval = %d
snapshot_keep_recent = %d

# Which event attributes the tx indexer indexes: auto, full, lean or none
# (auto: full on observers, lean on validators serving the API, none on
# validators without it).
[events]
index = %q
reindex_from = %d

# Statements: business days are cut at midnight in this time zone.
[recon]
timezone = %q
movement_index = %t

# Observers only: the regulator's index, rules and API.
[regulator]
listen = %q
rules = %q
key = %q
# auto (as [api], with its certificates), none, tls13 or gmtls; empty
# tls_* files are taken from their api.* twins (docs/regulator.md).
tls = %q
tls_cert_file = %q
tls_key_file = %q
tls_enc_cert_file = %q
tls_enc_key_file = %q
tls_client_ca_file = %q
# Names clients use, comma separated: signed requests are bound to the host.
hosts = %q
# Plain HTTP on an address that is not loopback is refused unless this is true.
insecure_plain_http = %t
# PostgreSQL for analysts (docs/regulator.md): the regulator's tables, loaded
# from its own index; empty = CometBFT's tx_index.psql-conn if that is set.
sql = %q
# Memory of the rules' cache of recent movements, MiB.
recent_cache_mb = %d
# Memtable of the regulator index, MiB: its Badger holds up to about 30
# times this in table builders (64: about 2 GB; 32: about 1 GB, a fifth slower).
index_memtable_mb = %d

# Checkpoint prover and relayer (docs/checkpoints.md).
[checkpoint]
prover = %t
eth_rpc = %q
eth_key = %q
anchor = %q
keys = %q
`, c.Node.Mode, c.Node.MinFreeDiskMB, c.Node.BlockSyncGap, c.Node.MaxProposalTxs, c.API.Listen, c.API.TLS, c.API.CertFile, c.API.KeyFile, c.API.EncCertFile, c.API.EncKeyFile, c.API.ClientCAFile, c.Log.Level, c.Log.Format, c.Ledger.CacheSize, c.Ledger.InnerCacheMB, c.Ledger.BlockCacheMB, c.Ledger.LevelZeroTables, c.Ledger.ValueThreshold, c.Ledger.FlatIndex,
		c.Pruning.KeepRecent, c.Pruning.Interval, c.Pruning.RetainBlocks, c.Pruning.SpentIDs,
		c.Statesync.SnapshotInterval, c.Statesync.SnapshotKeepRecent,
		c.Events.Index, c.Events.ReindexFrom, c.Recon.TimeZone, c.Recon.MovementIndex, c.Regulator.Listen, c.Regulator.Rules, c.Regulator.Key,
		c.Regulator.TLS, c.Regulator.TLSCertFile, c.Regulator.TLSKeyFile, c.Regulator.TLSEncCertFile, c.Regulator.TLSEncKeyFile, c.Regulator.TLSClientCAFile,
		c.Regulator.Hosts, c.Regulator.InsecurePlainHTTP, c.Regulator.SQL, c.Regulator.RecentCacheMB, c.Regulator.IndexMemtableMB,
		c.Checkpoint.Prover, c.Checkpoint.EthRPC, c.Checkpoint.EthKey, c.Checkpoint.Anchor, c.Checkpoint.Keys)
	if err := os.MkdirAll(filepath.Dir(Path(c.Home)), 0o755); err != nil {
		return err
	}
	return os.WriteFile(Path(c.Home), []byte(body), 0o644)
}

// Default returns the defaults for home, ignoring file and environment.
func Default(home string) *Config {
	v := newViper()
	var c Config
	if err := v.UnmarshalExact(&c); err != nil {
		panic(err) // defaults match the struct by construction
	}
	c.Home = home
	return &c
}

func newViper() *viper.Viper {
	v := viper.New()
	for _, d := range defaults {
		v.SetDefault(d.key, d.value)
	}
	return v
}

// validatePruning checks [pruning]: observers keep everything (the
// regulator indexes every block, statements and reports read history).
func (c *Config) validatePruning() error {
	p := c.Pruning
	for _, f := range []struct {
		key string
		v   int
	}{{"keep_recent", p.KeepRecent}, {"retain_blocks", p.RetainBlocks}} {
		if f.v < 0 || (f.v > 0 && f.v < 10) {
			return fmt.Errorf("config pruning.%s = %d: want 0 (keep everything) or at least 10", f.key, f.v)
		}
	}
	if p.Interval < 1 {
		return fmt.Errorf("config pruning.interval = %d: want at least 1", p.Interval)
	}
	if c.Node.Mode == ModeObserver && (p.KeepRecent > 0 || p.RetainBlocks > 0 || p.SpentIDs) {
		return errors.New("config [pruning]: an observer keeps everything (its regulator indexes every block and reports read history): set keep_recent = 0, retain_blocks = 0 and spent_ids = false")
	}
	return nil
}

// DefaultHome is the home every jinlian binary uses without --home:
// $JINLIAN_HOME, else ~/.jinlian (.jinlian when there is no user home).
func DefaultHome() string {
	if h := os.Getenv("JINLIAN_HOME"); h != "" {
		return h
	}
	dir, err := os.UserHomeDir()
	if err != nil {
		return ".jinlian"
	}
	return filepath.Join(dir, ".jinlian")
}
