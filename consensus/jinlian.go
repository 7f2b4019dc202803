package consensus

import (
	"bytes"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/p2p"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/checkpoint"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/nodecfg"
	"github.com/jinlian-ledger/jinlian/permission"
)

// NodeKeyFile holds a node's SM2 key (encrypted), which signs the app hash
// of every height through vote extensions.
func NodeKeyFile(home string) string { return filepath.Join(home, "config", "node_sm2_key.json") }

// EnsureNodeKey creates the node's SM2 key if absent and returns its public half.
func EnsureNodeKey(home, moniker string, passphrase []byte) (*gmcrypto.PublicKey, error) {
	p := NodeKeyFile(home)
	if info, err := gmcrypto.ReadKeyInfo(p); err == nil {
		return gmcrypto.ParsePublicKeyPEM([]byte(info.PublicKey))
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	k, err := gmcrypto.GenerateKey()
	if err != nil {
		return nil, err
	}
	if err := gmcrypto.SaveKey(p, gmcrypto.KeyInfo{Name: moniker + "-node"}, k, passphrase); err != nil {
		return nil, err
	}
	return k.Public(), nil
}

// LedgerDir is where a node keeps its Badger database, inside its home.
func LedgerDir(home string) string { return filepath.Join(home, "data", "jinlian.badger") }

// JinlianNode is a running jinlian node: the ledger store, the app over it
// and the CometBFT node driving the app. `jinlian start` runs one; the
// localnet runs several in one process.
type JinlianNode struct {
	*Node
	App    *app.App
	Store  *ledger.Store
	Config *nodecfg.Config
	// API is the client-facing HTTP API, nil when api.listen is empty.
	API *api.Server

	mu sync.Mutex // guards Node for evict, which may run before StartNode returns
}

// evict disconnects a peer whose registration was removed; its redials are
// then refused by the peer filter.
func (n *JinlianNode) evict(nodeID string) {
	n.mu.Lock()
	node := n.Node
	n.mu.Unlock()
	if node == nil {
		return
	}
	sw := node.CometNode().Switch()
	if p := sw.Peers().Get(p2p.ID(strings.ToLower(nodeID))); p != nil {
		sw.StopPeerForError(p, "node registration removed by governance")
	}
}

// StartJinlian opens the node's ledger, builds the app and starts CometBFT.
// passphrase opens the node's SM2 key; a home without one runs without
// extending votes (an observer, or a validator that weakens the QC).
func StartJinlian(cfg *nodecfg.Config, passphrase func() ([]byte, error), cometLogger log.Logger, appLogger *slog.Logger) (*JinlianNode, error) {
	return startJinlian(cfg, passphrase, cometLogger, appLogger, nil)
}

// startJinlian is StartJinlian with a signature cache shared by the nodes of
// this process (nil: the app's own).
func startJinlian(cfg *nodecfg.Config, passphrase func() ([]byte, error), cometLogger log.Logger, appLogger *slog.Logger, sigs *app.SigCache) (*JinlianNode, error) {
	if _, err := os.Stat(ConfigFile(cfg.Home)); err != nil {
		return nil, fmt.Errorf("home %s: %w (run jinlian init first)", cfg.Home, ErrNotInitialized)
	}
	var nodeKey *gmcrypto.PrivateKey
	var pw []byte
	if _, err := os.Stat(NodeKeyFile(cfg.Home)); err == nil && cfg.Node.Mode == nodecfg.ModeValidator {
		if pw, err = passphrase(); err != nil {
			return nil, fmt.Errorf("node key %s: %w", NodeKeyFile(cfg.Home), err)
		}
		if _, nodeKey, err = gmcrypto.LoadKey(NodeKeyFile(cfg.Home), pw); err != nil {
			return nil, fmt.Errorf("node key %s: %w", NodeKeyFile(cfg.Home), err)
		}
	}
	opts := app.Options{Logger: appLogger, NodeKey: nodeKey, LeanIndex: cfg.LeanIndex()}
	if nodeKey != nil {
		// A validator with a checkpoint key signs checkpoints too. The key
		// file is encrypted under the node key's passphrase.
		if cs, err := newCheckpointSigner(checkpoint.KeyFile(cfg.Home), pw); err == nil {
			opts.SignCheckpoint = cs.sign
			if plain, _ := checkpoint.IsPlainKeyFile(checkpoint.KeyFile(cfg.Home)); plain && appLogger != nil {
				appLogger.Warn("checkpoint key file is not encrypted; encrypt it with: jinlian checkpoint encrypt-key --home "+cfg.Home, "file", checkpoint.KeyFile(cfg.Home))
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("checkpoint key: %w", err)
		}
	}
	store, err := ledger.Open(LedgerDir(cfg.Home), ledger.Options{IAVLCacheSize: cfg.Ledger.CacheSize})
	if err != nil {
		return nil, fmt.Errorf("open ledger of %s: %w", cfg.Home, err)
	}
	jn := &JinlianNode{Store: store, Config: cfg}
	opts.OnNodeRemoved, opts.SigCache = jn.evict, sigs
	a, err := app.New(store, opts)
	if err != nil {
		return nil, errors.Join(err, store.Close())
	}
	// The peer filter asks the app's node registry on every dial and accept.
	n, err := StartNode(cfg.Home, a, NodeOptions{Logger: cometLogger, FilterPeers: true, IndexRepairFrom: int64(cfg.Events.ReindexFrom), OpsLogger: appLogger})
	if err != nil {
		return nil, errors.Join(err, store.Close())
	}
	if p := n.Config().P2P; p.ExternalAddress == "" && p.PersistentPeers != "" && appLogger != nil {
		appLogger.Warn("p2p: listening on every interface with no external_address: peers learn no address to dial this node back; set [p2p] external_address in config.toml", "laddr", p.ListenAddress)
	}
	if r := n.IndexRepair; len(r.Heights) > 0 && appLogger != nil {
		appLogger.Warn("tx index: re-indexed heights missing after an unclean stop", "count", len(r.Heights), "first", r.Heights[0], "last", r.Heights[len(r.Heights)-1], "checked_from", r.From, "checked_to", r.To)
	}
	jn.App = a
	jn.mu.Lock()
	jn.Node = n
	jn.mu.Unlock()
	if cfg.API.Listen != "" {
		opts := api.OptionsFromConfig(cfg)
		opts.RPC, opts.Status, opts.Health, opts.Version, opts.Logger = n.RPCAddr(), n.Client(), n.Health, app.Version, appLogger
		opts.Registry = chainRegistry{store: store}
		opts.Statements = n.Statements()
		if jn.API, err = api.Start(opts); err != nil {
			return nil, errors.Join(err, n.Stop(), store.Close())
		}
	}
	return jn, nil
}

// Stop stops the API, then CometBFT, then closes the ledger.
func (n *JinlianNode) Stop() error {
	var apiErr error
	if n.API != nil {
		apiErr = n.API.Stop()
	}
	return errors.Join(apiErr, n.Node.Stop(), n.Store.Close())
}

// ValidatorAddress is the CometBFT address of the home's validator key.
func ValidatorAddress(home string) (string, error) {
	c, err := LoadConfig(home)
	if err != nil {
		return "", err
	}
	k, err := readPVKey(c.PrivValidatorKeyFile())
	if err != nil {
		return "", err
	}
	return k.PubKey.Address().String(), nil
}

// chainRegistry answers the API's read gate from the last committed state.
type chainRegistry struct{ store *ledger.Store }

func (r chainRegistry) view() (*ledger.View, bool, error) {
	if r.store.LastCommit().Height == 0 {
		return nil, false, nil
	}
	v, err := r.store.View(0)
	return v, err == nil, err
}

func (r chainRegistry) Identity(addr gmcrypto.Address) (string, []string, bool, error) {
	v, ok, err := r.view()
	if !ok {
		return "", nil, false, err
	}
	id, ok, err := permission.GetIdentity(v, addr)
	return id.Org, id.Roles, ok, err
}

// OrgOfRootCA finds the organisation whose root CA, as registered on
// chain, is exactly der. Every organisation registers at most one root CA,
// so the answer is unique.
func (r chainRegistry) OrgOfRootCA(der []byte) (string, bool, error) {
	v, ok, err := r.view()
	if !ok {
		return "", false, err
	}
	orgs, err := permission.Organisations(v)
	if err != nil {
		return "", false, err
	}
	for _, o := range orgs {
		if b, _ := pem.Decode([]byte(o.RootCA)); b != nil && bytes.Equal(b.Bytes, der) {
			return o.ID, true, nil
		}
	}
	return "", false, nil
}

func (r chainRegistry) OrgExists(id string) (bool, error) {
	v, ok, err := r.view()
	if !ok {
		return false, err
	}
	_, err = permission.GetOrganisation(v, id)
	if errors.Is(err, permission.ErrUnknownOrg) {
		return false, nil
	}
	return err == nil, err
}

func (r chainRegistry) LedgerMembers(name string) ([]string, bool, error) {
	v, ok, err := r.view()
	if !ok {
		return nil, false, err
	}
	li, ok, err := permission.GetLedgerInfo(v, name)
	return li.Members, ok, err
}
