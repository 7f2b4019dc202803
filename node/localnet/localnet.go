package localnet

import (
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/cometbft/cometbft/libs/log"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/checkpoint"
	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/contracts/payments"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/ca"
	"github.com/jinlian-ledger/jinlian/node"
	"github.com/jinlian-ledger/jinlian/nodecfg"
	"github.com/jinlian-ledger/jinlian/permission"
)

// Passphrase encrypts the localnet's demo keys. It is well known on
// purpose: the localnet is for development only.
const Passphrase = "localnet"

// BasePort puts node0's RPC on CometBFT's familiar 26657.
const BasePort = 26656

// Orgs are the organisations of a localnet, one per validator.
var Orgs = []string{"bankA", "bankB", "bankC", "bankD", "bankE", "bankF", "bankG", "bankH", "bankI", "bankJ"}

// RegulatorOrg is the organisation of the localnet's regulator,
// whose identity (keys/regulator.json) holds the regulator role and whose
// key is the registered escrow key for confidential payloads.
const RegulatorOrg = "regulator"

// BenchOrg holds ExtraFundedAccounts: an organisation without a root
// CA, so its members sign with bare SM2 keys (load generators), unless
// Options.BenchRootCA gives it one.
const BenchOrg = "bench"

// BenchOrgB holds ExtraFundedAccountsB: a second load-generating
// organisation, for workloads whose parties must belong to two (a
// receivable's payer and payee, a PvP trade's receivers).
const BenchOrgB = "bench-b"

// SyntheticSeed is the seed of a localnet's synthetic accounts, in hex.
const SyntheticSeed = "6a696e6c69616e2d62656e6368" // "jinlian-bench"

// sigCacheSize bounds the signature cache the localnet's nodes share.
const sigCacheSize = 200_000

// Funding is each demo identity's opening CNY balance.
const Funding = 1_000_000

// Options describe a localnet.
type Options struct {
	Home          string
	Validators    int  // 1..10 (above checkpoint.DevSlots without checkpoints)
	Reset         bool // delete Home first
	BasePort      int  // default BasePort
	ChainID       string
	TimeoutCommit time.Duration
	// NoVoteExtensions leaves vote extensions (and so the SM2 QC) off; for
	// measuring their overhead.
	NoVoteExtensions bool
	// Observers is the number of regulator observer nodes (full replicas
	// without voting power, registered to the regulator organisation).
	Observers int
	// ExtraFundedAccounts are addresses (40 hex digits) that get a CNY
	// balance of Funding in the genesis besides the demo
	// identities, e.g. the many senders of a load test. They are registered
	// as members of organisation BenchOrg, which has no root CA unless
	// BenchRootCA gives it one, so they sign with bare keys and mspid
	// "bench". Ignored on resume.
	ExtraFundedAccounts []string
	// ExtraFundedAccountsB are funded as ExtraFundedAccounts are, as
	// members of organisation BenchOrgB (mspid "bench-b"). Both kinds of
	// extra account also get Funding of USD when the localnet has that
	// asset (two or more validators).
	ExtraFundedAccountsB []string
	// BenchRootCA, when set, is the root certificate (PEM) of BenchOrg:
	// its members then sign with certificates it issued, as a bank's
	// members do, instead of bare keys. Ignored on resume.
	BenchRootCA string
	// SyntheticAccounts, when positive, funds that many generated
	// accounts (app.SyntheticAccounts: members of BenchOrg, Funding CNY
	// each, addresses app.SyntheticAddress(SyntheticSeed, i)), built in
	// InitChain instead of listed in the genesis: a state of millions of
	// accounts for sizing runs. Ignored on resume.
	SyntheticAccounts int64
	// SeparateSigCaches gives every node its own verified-signature cache,
	// so each verifies every transaction as separate machines would. By
	// default the nodes of the process share one and verify each once.
	SeparateSigCaches bool
	// CheckpointInterval is the genesis checkpoint_interval
	// (default CheckpointInterval; negative: no checkpoints).
	CheckpointInterval int64
	// ReservesInterval is the genesis reserves_interval (default: the
	// checkpoint interval, or CheckpointInterval on a localnet without
	// checkpoints; negative: no reserves records).
	ReservesInterval int64
	// EventsIndex is the validators' events.index (nodecfg). Empty: lean,
	// so that the console and statements read from the validators' RPC
	// as from a node that serves the API with a tx index; a validator's
	// own default, auto, keeps none (ADR 0028). Ignored on resume.
	EventsIndex string
}

// CheckpointInterval is the localnet's default checkpoint interval:
// small, so that anchoring shows at once (docs/checkpoints.md).
const CheckpointInterval = 20

// Identity is a funded identity of one organisation.
type Identity struct {
	Org     string `json:"org"`
	Name    string `json:"name"`
	Address string `json:"address"`
	KeyFile string `json:"key_file"`
}

// Net is a prepared (not yet started) local consortium.
type Net struct {
	Home       string
	Network    *consensus.Network
	Identities []Identity
	Created    bool // false when resumed from existing data

	separateSigCaches bool
}

// CADir holds an organisation's root CA.
func CADir(home, org string) string { return filepath.Join(home, "ca", org) }

// KeysDir holds the demo identities' key files.
func KeysDir(home string) string { return filepath.Join(home, "keys") }

// Prepare creates the localnet's homes, keys and genesis, or loads
// them when Home already holds a localnet (so a restart resumes).
func Prepare(opts Options) (*Net, error) {
	if opts.Validators < 1 || opts.Validators > len(Orgs) {
		return nil, fmt.Errorf("--validators %d: want 1..%d", opts.Validators, len(Orgs))
	}
	if opts.Validators > checkpoint.DevSlots && opts.CheckpointInterval >= 0 && !opts.NoVoteExtensions {
		return nil, fmt.Errorf("--validators %d: the development checkpoint circuit has %d slots; more validators run without checkpoints only", opts.Validators, checkpoint.DevSlots)
	}
	if opts.Observers < 0 || opts.Observers > 4 {
		return nil, fmt.Errorf("--observers %d: want 0..4", opts.Observers)
	}
	if opts.BasePort == 0 {
		opts.BasePort = BasePort
	}
	if opts.Reset {
		entries, _ := os.ReadDir(opts.Home)
		if _, err := os.Stat(consensus.ManifestFile(opts.Home)); err != nil && len(entries) > 0 {
			return nil, fmt.Errorf("--reset: refusing to delete %s: it holds no localnet (no %s)", opts.Home, consensus.ManifestFile(opts.Home))
		}
		if err := os.RemoveAll(opts.Home); err != nil {
			return nil, fmt.Errorf("reset %s: %w", opts.Home, err)
		}
	}
	if _, err := os.Stat(consensus.ManifestFile(opts.Home)); err == nil {
		return load(opts)
	}
	if entries, err := os.ReadDir(opts.Home); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("%s is not empty and holds no localnet: choose another --home", opts.Home)
	}
	return create(opts)
}

func load(opts Options) (*Net, error) {
	net, err := consensus.LoadNetwork(opts.Home)
	if err != nil {
		return nil, err
	}
	vals, obs := 0, 0
	for _, n := range net.Nodes {
		if n.Power > 0 {
			vals++
		} else {
			obs++
		}
	}
	if vals != opts.Validators || obs != opts.Observers {
		return nil, fmt.Errorf("localnet at %s has %d validators and %d observers, not %d and %d: pass --reset to recreate it",
			opts.Home, vals, obs, opts.Validators, opts.Observers)
	}
	ln := &Net{Home: opts.Home, Network: net, separateSigCaches: opts.SeparateSigCaches}
	orgs := Orgs[:vals]
	if obs > 0 {
		orgs = append(orgs[:vals:vals], RegulatorOrg)
	}
	for _, org := range orgs {
		p := filepath.Join(KeysDir(opts.Home), org+".json")
		info, err := gmcrypto.ReadKeyInfo(p)
		if err != nil {
			return nil, fmt.Errorf("localnet demo key: %w", err)
		}
		ln.Identities = append(ln.Identities, Identity{Org: info.Org, Name: info.Name, Address: info.Address, KeyFile: p})
	}
	return ln, nil
}

func create(opts Options) (*Net, error) {
	orgs := Orgs[:opts.Validators]
	keys := make([]*gmcrypto.PrivateKey, len(orgs))
	cas := make([]*ca.Authority, len(orgs))
	now := time.Now()
	g := app.GenesisState{Params: app.DefaultParams()}
	pay := app.GenesisLedger{Name: "payments"}
	pay.Assets = append(pay.Assets, payments.Asset{Symbol: "CNY", Issuer: orgs[0], Decimals: 2})
	if len(orgs) > 1 {
		pay.Assets = append(pay.Assets, payments.Asset{Symbol: "USD", Issuer: orgs[1], Decimals: 2})
	}
	for i, org := range orgs {
		k, err := gmcrypto.GenerateKey()
		if err != nil {
			return nil, err
		}
		keys[i] = k
		if cas[i], err = ca.New(org, 3650, now); err != nil {
			return nil, err
		}
		addr := k.Public().Address().String()
		g.Organisations = append(g.Organisations, permission.Organisation{ID: org, Name: "Bank " + org[len(org)-1:], RootCA: string(cas[i].CertPEM)})
		g.Identities = append(g.Identities, permission.Identity{
			Name: org, Address: addr, Org: org,
			Roles: []string{permission.RoleAdmin, permission.RoleCommittee, permission.RoleIssuer, permission.RoleMember},
		})
		pay.Balances = append(pay.Balances, app.GenesisBalance{Asset: "CNY", Account: addr, Amount: Funding})
	}
	for _, extra := range []struct {
		org   string
		addrs []string
	}{{BenchOrg, opts.ExtraFundedAccounts}, {BenchOrgB, opts.ExtraFundedAccountsB}} {
		holdsSynthetic := extra.org == BenchOrg && opts.SyntheticAccounts > 0
		if len(extra.addrs) == 0 && !holdsSynthetic {
			continue
		}
		o := permission.Organisation{ID: extra.org, Name: "load generator"}
		if extra.org == BenchOrg {
			o.RootCA = opts.BenchRootCA
		}
		g.Organisations = append(g.Organisations, o)
		for _, a := range extra.addrs {
			addr, err := gmcrypto.ParseAddress(a)
			if err != nil {
				return nil, fmt.Errorf("localnet extra funded account: %w", err)
			}
			pay.Balances = append(pay.Balances, app.GenesisBalance{Asset: "CNY", Account: addr.String(), Amount: Funding})
			if len(orgs) > 1 {
				pay.Balances = append(pay.Balances, app.GenesisBalance{Asset: "USD", Account: addr.String(), Amount: Funding})
			}
			g.Identities = append(g.Identities, permission.Identity{Address: addr.String(), Org: extra.org, Roles: []string{permission.RoleMember}})
		}
	}
	if opts.SyntheticAccounts > 0 {
		pay.Synthetic = &app.SyntheticAccounts{Count: opts.SyntheticAccounts, Seed: SyntheticSeed, Org: BenchOrg, Asset: "CNY", Amount: Funding}
	}
	g.Ledgers = []app.GenesisLedger{pay}
	var regKey *gmcrypto.PrivateKey
	var regCA *ca.Authority
	if opts.Observers > 0 {
		var err error
		if regKey, err = gmcrypto.GenerateKey(); err != nil {
			return nil, err
		}
		if regCA, err = ca.New(RegulatorOrg, 3650, now); err != nil {
			return nil, err
		}
		addr := regKey.Public().Address().String()
		g.Organisations = append(g.Organisations, permission.Organisation{ID: RegulatorOrg, Name: "Consortium regulator", RootCA: string(regCA.CertPEM)})
		g.Identities = append(g.Identities, permission.Identity{Name: "regulator", Address: addr, Org: RegulatorOrg,
			Roles: []string{permission.RoleRegulator, permission.RoleAuditor}})
		g.EscrowKeys = append(g.EscrowKeys, permission.EscrowKey{Regulator: addr, PublicKey: hex.EncodeToString(regKey.Public().Bytes())})
	}
	nodeKeys := make([]*gmcrypto.PrivateKey, len(orgs))
	for i := range nodeKeys {
		k, err := gmcrypto.GenerateKey()
		if err != nil {
			return nil, err
		}
		nodeKeys[i] = k
	}
	cpKeys := make([]*checkpoint.CheckpointKey, len(orgs))
	interval := opts.CheckpointInterval
	if interval == 0 {
		interval = CheckpointInterval
	}
	if interval < 0 || opts.NoVoteExtensions {
		interval = 0
	}
	chainID := opts.ChainID
	if chainID == "" {
		chainID = consensus.DefaultChainID
	}
	appState := func(nodes []consensus.NetworkNode) (json.RawMessage, error) {
		for i, n := range nodes {
			if n.Power == 0 {
				g.Nodes = append(g.Nodes, permission.Node{ID: n.NodeID, Org: RegulatorOrg, Kind: "observer"})
				continue
			}
			g.Nodes = append(g.Nodes, permission.Node{ID: n.NodeID, Org: orgs[i], Kind: "validator"})
			g.Validators = append(g.Validators, permission.Validator{
				Name: n.Moniker, Org: orgs[i], Address: n.PubKey.Address().String(),
				SM2PublicKey: hex.EncodeToString(nodeKeys[i].Public().Bytes()),
			})
			if interval == 0 {
				continue
			}
			k, err := checkpoint.GenerateKey(nil)
			if err != nil {
				return nil, err
			}
			cpKeys[i] = k
			reg, err := checkpoint.Register(chainID, n.PubKey.Address().String(), k, nodeKeys[i])
			if err != nil {
				return nil, err
			}
			g.CheckpointKeys = append(g.CheckpointKeys, reg)
		}
		if interval > 0 {
			g.Params.CheckpointInterval, g.Params.CheckpointSlots = interval, checkpoint.DevSlots
		}
		switch r := opts.ReservesInterval; {
		case r > 0:
			g.Params.ReservesInterval = r
		case r == 0 && interval > 0:
			g.Params.ReservesInterval = interval
		case r == 0:
			g.Params.ReservesInterval = CheckpointInterval
		}
		if err := g.Validate(); err != nil {
			return nil, err
		}
		return json.MarshalIndent(g, "", "  ")
	}
	specs := make([]consensus.NodeSpec, len(orgs))
	for i := range orgs {
		specs[i] = consensus.NodeSpec{Moniker: fmt.Sprintf("node%d", i), Power: 10}
	}
	for i := range opts.Observers {
		specs = append(specs, consensus.NodeSpec{Moniker: fmt.Sprintf("observer%d", i)})
	}
	net, err := consensus.WriteNetwork(consensus.NetworkOptions{
		Dir:           opts.Home,
		ChainID:       opts.ChainID,
		Nodes:         specs,
		BasePort:      opts.BasePort,
		AppStateFunc:  appState,
		TimeoutCommit: opts.TimeoutCommit,
		// Every height gets an SM2 quorum certificate from the first block on.
		VoteExtensionsEnableHeight: veHeight(opts.NoVoteExtensions),
	})
	if err != nil {
		return nil, err
	}
	for i, n := range net.Nodes {
		cfg := nodecfg.Default(n.Home)
		if n.Power == 0 {
			cfg.Node.Mode = nodecfg.ModeObserver
			if err := cfg.WriteFile(); err != nil {
				return nil, err
			}
			continue
		}
		cfg.Events.Index = cmp.Or(opts.EventsIndex, nodecfg.EventsIndexLean)
		if err := cfg.Validate(); err != nil {
			return nil, fmt.Errorf("localnet %s: %w", n.Moniker, err)
		}
		if err := cfg.WriteFile(); err != nil {
			return nil, err
		}
		if err := gmcrypto.SaveKey(node.SM2KeyFile(n.Home), gmcrypto.KeyInfo{Name: n.Moniker + "-node", Org: orgs[i]}, nodeKeys[i], []byte(Passphrase)); err != nil {
			return nil, err
		}
		if cpKeys[i] != nil {
			if err := checkpoint.SaveKey(checkpoint.KeyFile(n.Home), cpKeys[i], []byte(Passphrase)); err != nil {
				return nil, err
			}
		}
	}
	ln := &Net{Home: opts.Home, Network: net, Created: true, separateSigCaches: opts.SeparateSigCaches}
	if err := os.MkdirAll(KeysDir(opts.Home), 0o700); err != nil {
		return nil, err
	}
	for i, org := range orgs {
		if err := cas[i].Save(CADir(opts.Home, org), []byte(Passphrase)); err != nil {
			return nil, err
		}
		p, _, err := cas[i].IssueIdentity(KeysDir(opts.Home), org, gmcrypto.RoleAdmin, keys[i], 3650, []byte(Passphrase), now)
		if err != nil {
			return nil, err
		}
		ln.Identities = append(ln.Identities, Identity{Org: org, Name: org, Address: keys[i].Public().Address().String(), KeyFile: p})
	}
	if regCA != nil {
		if err := regCA.Save(CADir(opts.Home, RegulatorOrg), []byte(Passphrase)); err != nil {
			return nil, err
		}
		p, _, err := regCA.IssueIdentity(KeysDir(opts.Home), "regulator", gmcrypto.RoleClient, regKey, 3650, []byte(Passphrase), now)
		if err != nil {
			return nil, err
		}
		ln.Identities = append(ln.Identities, Identity{Org: RegulatorOrg, Name: "regulator", Address: regKey.Public().Address().String(), KeyFile: p})
	}
	return ln, nil
}

// RegulatorPortOffset puts an observer's regulator API at its P2P port + 3
// (node i: P2P base+10i, RPC +1, API +2).
const RegulatorPortOffset = 3

// Start starts every node of the localnet in this process (an observer
// with its regulator service at its P2P port + RegulatorPortOffset, unless
// its jinlian.toml says otherwise, decrypting with the localnet
// regulator's key). On error, the nodes already started are stopped.
func (ln *Net) Start(ctx context.Context, cometLogger log.Logger, appLogger *slog.Logger) ([]*node.Node, error) {
	var shared *app.SigCache
	if !ln.separateSigCaches {
		shared = app.NewSigCache(sigCacheSize, len(ln.Network.Nodes))
	}
	var nodes []*node.Node
	for i := range ln.Network.Nodes {
		n, err := ln.startNode(ctx, i, shared, cometLogger, appLogger)
		if err != nil {
			return nil, errors.Join(err, node.StopAll(nodes))
		}
		nodes = append(nodes, n)
	}
	return nodes, nil
}

// Restart starts node i of the localnet again, after its caller stopped
// it (Node.Stop), as Start started it but with a signature cache of its
// own: a node that comes back after a crash or a maintenance stop.
func (ln *Net) Restart(ctx context.Context, i int, cometLogger log.Logger, appLogger *slog.Logger) (*node.Node, error) {
	if i < 0 || i >= len(ln.Network.Nodes) {
		return nil, fmt.Errorf("restart node %d: the localnet has nodes 0 to %d", i, len(ln.Network.Nodes)-1)
	}
	return ln.startNode(ctx, i, nil, cometLogger, appLogger)
}

// startNode starts node i (shared: the process's signature cache, nil for
// the node's own).
func (ln *Net) startNode(ctx context.Context, i int, shared *app.SigCache, cometLogger log.Logger, appLogger *slog.Logger) (*node.Node, error) {
	if appLogger == nil {
		appLogger = slog.New(slog.DiscardHandler)
	}
	regKey := filepath.Join(KeysDir(ln.Home), "regulator.json")
	if _, err := os.Stat(regKey); err != nil {
		regKey = ""
	}
	nn := ln.Network.Nodes[i]
	cfg, err := nodecfg.Load(nn.Home, nil)
	if err != nil {
		return nil, err
	}
	opts := node.Options{
		Passphrase:  func(string) ([]byte, error) { return []byte(Passphrase), nil },
		CometLogger: cometLogger,
		Logger:      appLogger.With("node", nn.Moniker),
		SigCache:    shared,
		Regulator:   node.RegulatorOptions{KeyFile: regKey, DefaultRules: RulesTOML},
	}
	if cfg.Node.Mode == nodecfg.ModeObserver && cfg.Regulator.Listen == "" {
		host, port, err := net.SplitHostPort(nn.P2PAddr)
		if err != nil {
			return nil, err
		}
		p, _ := strconv.Atoi(port)
		opts.Regulator.Listen = net.JoinHostPort(host, strconv.Itoa(p+RegulatorPortOffset))
	}
	// The nodes share this process and cannot be cut off from one
	// another; one that stopped to block-sync would stop them all.
	cfg.Node.BlockSyncGap = 0
	n, err := node.Start(ctx, cfg, opts)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", nn.Moniker, err)
	}
	return n, nil
}

// RulesTOML scales the default regulator rules to the localnet's demo
// balances (10,000.00 CNY per bank), so that its transfers can raise alerts.
const RulesTOML = `# jinlian regulator rules for the localnet, scaled to its demo balances
# (1,000,000 fen = 10,000.00 CNY per bank). Amounts are in the asset's
# smallest unit; windows are block time.

[large_amount]
severity = "high"
[large_amount.thresholds]
CNY = 100000   # 1,000.00 CNY
USD = 100000

[structuring]
severity = "high"
window = "1h"
count = 3
margin = 0.1

[velocity]
severity = "medium"
window = "10m"
max_count = 20
[velocity.max_amount]
CNY = 300000

[fast_in_fast_out]
severity = "high"
window = "30m"
percent = 80
[fast_in_fast_out.min_amount]
CNY = 50000

[sanctions]
severity = "critical"
lookback = "24h"

[cross_border]
severity = "medium"
timezone = "UTC"
[cross_border.default_limit]
CNY = 500000
`

func veHeight(off bool) int64 {
	if off {
		return 0
	}
	return 1
}
