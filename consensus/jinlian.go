package consensus

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/cometbft/cometbft/libs/log"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/nodecfg"
)

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
func StartJinlian(cfg *nodecfg.Config, cometLogger log.Logger, appLogger *slog.Logger) (*JinlianNode, error) {
	return startJinlian(cfg, cometLogger, appLogger, nil)
}

// startJinlian is StartJinlian with a signature cache shared by the nodes of
// this process (nil: the app's own).
func startJinlian(cfg *nodecfg.Config, cometLogger log.Logger, appLogger *slog.Logger, sigs *app.SigCache) (*JinlianNode, error) {
	if _, err := os.Stat(ConfigFile(cfg.Home)); err != nil {
		return nil, fmt.Errorf("home %s: %w (run jinlian init first)", cfg.Home, ErrNotInitialized)
	}
	store, err := ledger.Open(LedgerDir(cfg.Home), ledger.Options{IAVLCacheSize: cfg.Ledger.CacheSize})
	if err != nil {
		return nil, fmt.Errorf("open ledger of %s: %w", cfg.Home, err)
	}
	a, err := app.New(store, app.Options{Logger: appLogger, SigCache: sigs})
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
