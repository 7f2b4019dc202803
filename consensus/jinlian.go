package consensus

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/cometbft/cometbft/libs/log"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/consensus/checkpoint"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/nodecfg"
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
}

// StartJinlian opens the node's ledger, builds the app and starts CometBFT.
// passphrase opens the node's SM2 key; a home without one runs without
// extending votes (an observer, or a validator that weakens the QC).
func StartJinlian(cfg *nodecfg.Config, passphrase func() ([]byte, error), cometLogger log.Logger, appLogger *slog.Logger) (*JinlianNode, error) {
	if _, err := os.Stat(ConfigFile(cfg.Home)); err != nil {
		return nil, fmt.Errorf("home %s: %w (run jinlian init first)", cfg.Home, ErrNotInitialized)
	}
	var nodeKey *gmcrypto.PrivateKey
	if _, err := os.Stat(NodeKeyFile(cfg.Home)); err == nil && cfg.Node.Mode == nodecfg.ModeValidator {
		pw, err := passphrase()
		if err != nil {
			return nil, fmt.Errorf("node key %s: %w", NodeKeyFile(cfg.Home), err)
		}
		if _, nodeKey, err = gmcrypto.LoadKey(NodeKeyFile(cfg.Home), pw); err != nil {
			return nil, fmt.Errorf("node key %s: %w", NodeKeyFile(cfg.Home), err)
		}
	}
	opts := app.Options{Logger: appLogger, NodeKey: nodeKey, Checkpoints: Checkpointer{}}
	if nodeKey != nil {
		// A validator with a checkpoint key signs checkpoints too.
		if k, err := checkpoint.LoadKey(checkpoint.KeyFile(cfg.Home)); err == nil {
			opts.SignCheckpoint = func(d [32]byte) ([]byte, error) { return k.Sign(d) }
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("checkpoint key: %w", err)
		}
	}
	store, err := ledger.Open(LedgerDir(cfg.Home), ledger.Options{IAVLCacheSize: cfg.Ledger.CacheSize})
	if err != nil {
		return nil, fmt.Errorf("open ledger of %s: %w", cfg.Home, err)
	}
	a, err := app.New(store, opts)
	if err != nil {
		return nil, errors.Join(err, store.Close())
	}
	n, err := StartNode(cfg.Home, a, NodeOptions{Logger: cometLogger})
	if err != nil {
		return nil, errors.Join(err, store.Close())
	}
	return &JinlianNode{Node: n, App: a, Store: store, Config: cfg}, nil
}

// Stop stops CometBFT, then closes the ledger.
func (n *JinlianNode) Stop() error {
	return errors.Join(n.Node.Stop(), n.Store.Close())
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
