package consensus

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/cometbft/cometbft/libs/log"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/checkpoint"
	"github.com/jinlian-ledger/jinlian/consensus/prover"
	"github.com/jinlian-ledger/jinlian/contracts/payments"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/ca"
	"github.com/jinlian-ledger/jinlian/nodecfg"
	"github.com/jinlian-ledger/jinlian/permission"
)

// LocalnetPassphrase encrypts the localnet's demo keys. It is well known on
// purpose: the localnet is for development only.
const LocalnetPassphrase = "localnet"

// LocalnetBasePort puts node0's RPC on CometBFT's familiar 26657.
const LocalnetBasePort = 26656

// LocalnetOrgs are the organisations of a localnet, one per validator.
var LocalnetOrgs = []string{"bankA", "bankB", "bankC", "bankD", "bankE", "bankF", "bankG"}

// LocalnetRegulatorOrg is the organisation of the localnet's regulator,
// whose identity (keys/regulator.json) holds the regulator role and whose
// key is the registered escrow key for confidential payloads.
const LocalnetRegulatorOrg = "regulator"

// LocalnetBenchOrg holds ExtraFundedAccounts: an organisation without a root
// CA, so its members sign with bare SM2 keys (load generators).
const LocalnetBenchOrg = "bench"

// localnetSigCacheSize bounds the signature cache the localnet's nodes share.
const localnetSigCacheSize = 200_000

// LocalnetFunding is each demo identity's opening CNY balance.
const LocalnetFunding = 1_000_000

// LocalnetOptions describe a localnet.
type LocalnetOptions struct {
	Home          string
	Validators    int  // 1..7
	Reset         bool // delete Home first
	BasePort      int  // default LocalnetBasePort
	ChainID       string
	TimeoutCommit time.Duration
	// NoVoteExtensions leaves vote extensions (and so the SM2 QC) off; for
	// measuring their overhead.
	NoVoteExtensions bool
	// Observers is the number of regulator observer nodes (full replicas
	// without voting power, registered to the regulator organisation).
	Observers int
	// ExtraFundedAccounts are addresses (40 hex digits) that get a CNY
	// balance of LocalnetFunding in the genesis besides the demo
	// identities, e.g. the many senders of a load test. They are registered
	// as members of organisation LocalnetBenchOrg, which has no root CA, so
	// they sign with bare keys and mspid "bench". Ignored on resume.
	ExtraFundedAccounts []string
	// SeparateSigCaches gives every node its own verified-signature cache,
	// so each verifies every transaction as separate machines would. By
	// default the nodes of the process share one and verify each once.
	SeparateSigCaches bool
	// CheckpointInterval is the genesis checkpoint_interval
	// (default LocalnetCheckpointInterval; negative: no checkpoints).
	CheckpointInterval int64
}

// LocalnetCheckpointInterval is the localnet's default checkpoint interval:
// small, so that anchoring shows at once (docs/checkpoints.md).
const LocalnetCheckpointInterval = 20

// DemoIdentity is a funded identity of one organisation.
type DemoIdentity struct {
	Org     string `json:"org"`
	Name    string `json:"name"`
	Address string `json:"address"`
	KeyFile string `json:"key_file"`
}

// Localnet is a prepared (not yet started) local consortium.
type Localnet struct {
	Home       string
	Network    *Network
	Identities []DemoIdentity
	Created    bool // false when resumed from existing data

	separateSigCaches bool
}

// LocalnetCADir holds an organisation's root CA.
func LocalnetCADir(home, org string) string { return filepath.Join(home, "ca", org) }

// LocalnetKeysDir holds the demo identities' key files.
func LocalnetKeysDir(home string) string { return filepath.Join(home, "keys") }

// PrepareLocalnet creates the localnet's homes, keys and genesis, or loads
// them when Home already holds a localnet (so a restart resumes).
func PrepareLocalnet(opts LocalnetOptions) (*Localnet, error) {
	if opts.Validators < 1 || opts.Validators > len(LocalnetOrgs) {
		return nil, fmt.Errorf("--validators %d: want 1..%d", opts.Validators, len(LocalnetOrgs))
	}
	if opts.Observers < 0 || opts.Observers > 4 {
		return nil, fmt.Errorf("--observers %d: want 0..4", opts.Observers)
	}
	if opts.BasePort == 0 {
		opts.BasePort = LocalnetBasePort
	}
	if opts.Reset {
		entries, _ := os.ReadDir(opts.Home)
		if _, err := os.Stat(filepath.Join(opts.Home, manifestFile)); err != nil && len(entries) > 0 {
			return nil, fmt.Errorf("--reset: refusing to delete %s: it holds no localnet (no %s)", opts.Home, manifestFile)
		}
		if err := os.RemoveAll(opts.Home); err != nil {
			return nil, fmt.Errorf("reset %s: %w", opts.Home, err)
		}
	}
	if _, err := os.Stat(filepath.Join(opts.Home, manifestFile)); err == nil {
		return loadLocalnet(opts)
	}
	if entries, err := os.ReadDir(opts.Home); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("%s is not empty and holds no localnet: choose another --home", opts.Home)
	}
	return createLocalnet(opts)
}

func loadLocalnet(opts LocalnetOptions) (*Localnet, error) {
	net, err := LoadNetwork(opts.Home)
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
	ln := &Localnet{Home: opts.Home, Network: net, separateSigCaches: opts.SeparateSigCaches}
	orgs := LocalnetOrgs[:vals]
	if obs > 0 {
		orgs = append(orgs[:vals:vals], LocalnetRegulatorOrg)
	}
	for _, org := range orgs {
		p := filepath.Join(LocalnetKeysDir(opts.Home), org+".json")
		info, err := gmcrypto.ReadKeyInfo(p)
		if err != nil {
			return nil, fmt.Errorf("localnet demo key: %w", err)
		}
		ln.Identities = append(ln.Identities, DemoIdentity{Org: info.Org, Name: info.Name, Address: info.Address, KeyFile: p})
	}
	return ln, nil
}

func createLocalnet(opts LocalnetOptions) (*Localnet, error) {
	orgs := LocalnetOrgs[:opts.Validators]
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
		pay.Balances = append(pay.Balances, app.GenesisBalance{Asset: "CNY", Account: addr, Amount: LocalnetFunding})
	}
	if len(opts.ExtraFundedAccounts) > 0 {
		g.Organisations = append(g.Organisations, permission.Organisation{ID: LocalnetBenchOrg, Name: "load generator"})
	}
	for _, a := range opts.ExtraFundedAccounts {
		addr, err := gmcrypto.ParseAddress(a)
		if err != nil {
			return nil, fmt.Errorf("localnet extra funded account: %w", err)
		}
		pay.Balances = append(pay.Balances, app.GenesisBalance{Asset: "CNY", Account: addr.String(), Amount: LocalnetFunding})
		g.Identities = append(g.Identities, permission.Identity{Address: addr.String(), Org: LocalnetBenchOrg, Roles: []string{permission.RoleMember}})
	}
	g.Ledgers = []app.GenesisLedger{pay}
	var regKey *gmcrypto.PrivateKey
	var regCA *ca.Authority
	if opts.Observers > 0 {
		var err error
		if regKey, err = gmcrypto.GenerateKey(); err != nil {
			return nil, err
		}
		if regCA, err = ca.New(LocalnetRegulatorOrg, 3650, now); err != nil {
			return nil, err
		}
		addr := regKey.Public().Address().String()
		g.Organisations = append(g.Organisations, permission.Organisation{ID: LocalnetRegulatorOrg, Name: "Consortium regulator", RootCA: string(regCA.CertPEM)})
		g.Identities = append(g.Identities, permission.Identity{Name: "regulator", Address: addr, Org: LocalnetRegulatorOrg,
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
		interval = LocalnetCheckpointInterval
	}
	if interval < 0 || opts.NoVoteExtensions {
		interval = 0
	}
	chainID := opts.ChainID
	if chainID == "" {
		chainID = DefaultChainID
	}
	appState := func(nodes []NetworkNode) (json.RawMessage, error) {
		for i, n := range nodes {
			if n.Power == 0 {
				g.Nodes = append(g.Nodes, permission.Node{ID: n.NodeID, Org: LocalnetRegulatorOrg, Kind: "observer"})
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
			g.Params.CheckpointInterval, g.Params.CheckpointSlots = interval, prover.DevSlots
		}
		if err := g.Validate(); err != nil {
			return nil, err
		}
		return json.MarshalIndent(g, "", "  ")
	}
	specs := make([]NodeSpec, len(orgs))
	for i := range orgs {
		specs[i] = NodeSpec{Moniker: fmt.Sprintf("node%d", i), Power: 10}
	}
	for i := range opts.Observers {
		specs = append(specs, NodeSpec{Moniker: fmt.Sprintf("observer%d", i)})
	}
	net, err := WriteNetwork(NetworkOptions{
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
		if err := cfg.WriteFile(); err != nil {
			return nil, err
		}
		if err := gmcrypto.SaveKey(NodeKeyFile(n.Home), gmcrypto.KeyInfo{Name: n.Moniker + "-node", Org: orgs[i]}, nodeKeys[i], []byte(LocalnetPassphrase)); err != nil {
			return nil, err
		}
		if cpKeys[i] != nil {
			if err := checkpoint.SaveKey(checkpoint.KeyFile(n.Home), cpKeys[i], []byte(LocalnetPassphrase)); err != nil {
				return nil, err
			}
		}
	}
	ln := &Localnet{Home: opts.Home, Network: net, Created: true, separateSigCaches: opts.SeparateSigCaches}
	if err := os.MkdirAll(LocalnetKeysDir(opts.Home), 0o700); err != nil {
		return nil, err
	}
	for i, org := range orgs {
		if err := cas[i].Save(LocalnetCADir(opts.Home, org), []byte(LocalnetPassphrase)); err != nil {
			return nil, err
		}
		p, _, err := cas[i].IssueIdentity(LocalnetKeysDir(opts.Home), org, gmcrypto.RoleAdmin, keys[i], 3650, []byte(LocalnetPassphrase), now)
		if err != nil {
			return nil, err
		}
		ln.Identities = append(ln.Identities, DemoIdentity{Org: org, Name: org, Address: keys[i].Public().Address().String(), KeyFile: p})
	}
	if regCA != nil {
		if err := regCA.Save(LocalnetCADir(opts.Home, LocalnetRegulatorOrg), []byte(LocalnetPassphrase)); err != nil {
			return nil, err
		}
		p, _, err := regCA.IssueIdentity(LocalnetKeysDir(opts.Home), "regulator", gmcrypto.RoleClient, regKey, 3650, []byte(LocalnetPassphrase), now)
		if err != nil {
			return nil, err
		}
		ln.Identities = append(ln.Identities, DemoIdentity{Org: LocalnetRegulatorOrg, Name: "regulator", Address: regKey.Public().Address().String(), KeyFile: p})
	}
	return ln, nil
}

// Start starts every node of the localnet in this process. On error, the
// nodes already started are stopped.
func (ln *Localnet) Start(cometLogger log.Logger, appLogger *slog.Logger) ([]*JinlianNode, error) {
	if appLogger == nil {
		appLogger = slog.New(slog.DiscardHandler)
	}
	var nodes []*JinlianNode
	var shared *app.SigCache
	if !ln.separateSigCaches {
		shared = app.NewSigCache(localnetSigCacheSize, len(ln.Network.Nodes))
	}
	for _, nn := range ln.Network.Nodes {
		cfg, err := nodecfg.Load(nn.Home, nil)
		if err != nil {
			return nil, errors.Join(err, StopAll(nodes))
		}
		n, err := startJinlian(cfg, func() ([]byte, error) { return []byte(LocalnetPassphrase), nil }, cometLogger, appLogger.With("node", nn.Moniker), shared)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("start %s: %w", nn.Moniker, err), StopAll(nodes))
		}
		nodes = append(nodes, n)
	}
	return nodes, nil
}

// StopAll stops nodes in reverse order.
func StopAll(nodes []*JinlianNode) error {
	var errs []error
	for i := len(nodes) - 1; i >= 0; i-- {
		errs = append(errs, nodes[i].Stop())
	}
	return errors.Join(errs...)
}

func veHeight(off bool) int64 {
	if off {
		return 0
	}
	return 1
}
