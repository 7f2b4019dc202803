package consensus

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	cfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/types"
)

// ErrGenesisMismatch is returned by InitHome when the home already holds a
// different genesis file.
var ErrGenesisMismatch = errors.New("home holds a different genesis")

// InitHome prepares one node's home for a real network: config.toml
// (DefaultConfig with the given overrides applied, written only if absent),
// node key and validator key (generated only if absent, never overwritten)
// and the given genesis (which must be valid; an existing, different
// genesis.json is an error). A nil genesis prepares config and keys only, so
// an operator can hand the keys' registration to the genesis coordinator and
// run InitHome again with the final genesis.
func InitHome(home string, genesisJSON []byte, moniker string, overrides ...func(*cfg.Config)) error {
	chainID := "jinlian"
	if genesisJSON != nil {
		gen, err := types.GenesisDocFromJSON(genesisJSON)
		if err != nil {
			return fmt.Errorf("init home: genesis: %w", err)
		}
		chainID = gen.ChainID
	}
	c := DefaultConfig(home, moniker)
	if moniker == "" {
		c.Moniker = chainID + "-node"
		if h, err := os.Hostname(); err == nil && h != "" {
			c.Moniker = h
		}
	}
	for _, f := range overrides {
		f(c)
	}
	c.SetRoot(home)
	if err := c.ValidateBasic(); err != nil {
		return fmt.Errorf("init home: config: %w", err)
	}

	genPath := c.GenesisFile()
	existing, err := os.ReadFile(genPath)
	switch {
	case genesisJSON == nil:
		existing = []byte{} // keys and config only
	case err == nil:
		if !bytes.Equal(existing, genesisJSON) {
			return fmt.Errorf("init home: %w: %s", ErrGenesisMismatch, genPath)
		}
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("init home: %w", err)
	}

	if err := os.MkdirAll(filepath.Join(home, cfg.DefaultDataDir), cfg.DefaultDirPerm); err != nil {
		return fmt.Errorf("init home: %w", err)
	}
	haveConfig, err := fileExists(ConfigFile(home))
	if err != nil {
		return fmt.Errorf("init home: %w", err)
	}
	if !haveConfig {
		if err := WriteConfig(home, c); err != nil {
			return fmt.Errorf("init home: %w", err)
		}
	}
	if _, err := ensureNodeKey(c); err != nil {
		return fmt.Errorf("init home: %w", err)
	}
	if _, err := ensurePrivValidator(c); err != nil {
		return fmt.Errorf("init home: %w", err)
	}
	if existing == nil {
		if err := os.WriteFile(genPath, genesisJSON, 0o644); err != nil {
			return fmt.Errorf("init home: write genesis: %w", err)
		}
	}
	return nil
}
