package consensus

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/cometbft/cometbft/libs/log"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/contracts/payments"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
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
	// ExtraFundedAccounts are addresses (40 hex digits) that get a CNY
	// balance of LocalnetFunding in the genesis besides the demo
	// identities, e.g. the many senders of a load test. They hold no
	// identity or role: a transfer needs only a balance. Ignored when the
	// localnet is resumed.
	ExtraFundedAccounts []string
	// SeparateSigCaches gives every node its own verified-signature cache,
	// so each verifies every transaction as separate machines would. By
	// default the nodes of the process share one and verify each once.
	SeparateSigCaches bool
}

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

// LocalnetKeysDir holds the demo identities' key files.
func LocalnetKeysDir(home string) string { return filepath.Join(home, "keys") }

// PrepareLocalnet creates the localnet's homes, keys and genesis, or loads
// them when Home already holds a localnet (so a restart resumes).
func PrepareLocalnet(opts LocalnetOptions) (*Localnet, error) {
	if opts.Validators < 1 || opts.Validators > len(LocalnetOrgs) {
		return nil, fmt.Errorf("--validators %d: want 1..%d", opts.Validators, len(LocalnetOrgs))
	}
	if opts.BasePort == 0 {
		opts.BasePort = LocalnetBasePort
	}
	if opts.Reset {
		if err := os.RemoveAll(opts.Home); err != nil {
			return nil, fmt.Errorf("reset %s: %w", opts.Home, err)
		}
	}
	if _, err := os.Stat(filepath.Join(opts.Home, manifestFile)); err == nil {
		return loadLocalnet(opts)
	}
	if entries, err := os.ReadDir(opts.Home); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("%s is not empty and holds no localnet: choose another --home or pass --reset", opts.Home)
	}
	return createLocalnet(opts)
}

func loadLocalnet(opts LocalnetOptions) (*Localnet, error) {
	net, err := LoadNetwork(opts.Home)
	if err != nil {
		return nil, err
	}
	if len(net.Nodes) != opts.Validators {
		return nil, fmt.Errorf("localnet at %s has %d validators, not %d: pass --reset to recreate it", opts.Home, len(net.Nodes), opts.Validators)
	}
	ln := &Localnet{Home: opts.Home, Network: net, separateSigCaches: opts.SeparateSigCaches}
	for _, org := range LocalnetOrgs[:len(net.Nodes)] {
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
		addr := k.Public().Address().String()
		g.Organisations = append(g.Organisations, permission.Organisation{ID: org, Name: "Bank " + org[len(org)-1:]})
		g.Identities = append(g.Identities, permission.Identity{
			Name: org, Address: addr, Org: org,
			Roles: []string{permission.RoleAdmin, permission.RoleIssuer, permission.RoleMember},
		})
		pay.Balances = append(pay.Balances, app.GenesisBalance{Asset: "CNY", Account: addr, Amount: LocalnetFunding})
	}
	for _, a := range opts.ExtraFundedAccounts {
		addr, err := gmcrypto.ParseAddress(a)
		if err != nil {
			return nil, fmt.Errorf("localnet extra funded account: %w", err)
		}
		pay.Balances = append(pay.Balances, app.GenesisBalance{Asset: "CNY", Account: addr.String(), Amount: LocalnetFunding})
	}
	g.Ledgers = []app.GenesisLedger{pay}
	if err := g.Validate(); err != nil {
		return nil, err
	}
	appState, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		return nil, err
	}
	specs := make([]NodeSpec, len(orgs))
	for i := range orgs {
		specs[i] = NodeSpec{Moniker: fmt.Sprintf("node%d", i), Power: 10}
	}
	net, err := WriteNetwork(NetworkOptions{
		Dir:           opts.Home,
		ChainID:       opts.ChainID,
		Nodes:         specs,
		BasePort:      opts.BasePort,
		AppState:      appState,
		TimeoutCommit: opts.TimeoutCommit,
	})
	if err != nil {
		return nil, err
	}
	for _, n := range net.Nodes {
		if err := nodecfg.Default(n.Home).WriteFile(); err != nil {
			return nil, err
		}
	}
	ln := &Localnet{Home: opts.Home, Network: net, Created: true, separateSigCaches: opts.SeparateSigCaches}
	if err := os.MkdirAll(LocalnetKeysDir(opts.Home), 0o700); err != nil {
		return nil, err
	}
	for i, org := range orgs {
		p := filepath.Join(LocalnetKeysDir(opts.Home), org+".json")
		if err := gmcrypto.SaveKey(p, gmcrypto.KeyInfo{Name: org, Org: org}, keys[i], []byte(LocalnetPassphrase)); err != nil {
			return nil, err
		}
		ln.Identities = append(ln.Identities, DemoIdentity{Org: org, Name: org, Address: keys[i].Public().Address().String(), KeyFile: p})
	}
	return ln, nil
}

// Start starts every node of the localnet in this process. On error, the
// nodes already started are stopped.
func (ln *Localnet) Start(cometLogger log.Logger, appLogger *slog.Logger) ([]*JinlianNode, error) {
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
		n, err := startJinlian(cfg, cometLogger, appLogger.With("node", nn.Moniker), shared)
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
