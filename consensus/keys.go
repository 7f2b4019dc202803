package consensus

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	cfg "github.com/cometbft/cometbft/config"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
)

// ensureNodeKey loads the node key of c's home, generating it if absent.
func ensureNodeKey(c *cfg.Config) (*p2p.NodeKey, error) {
	path := c.NodeKeyFile()
	if err := os.MkdirAll(filepath.Dir(path), cfg.DefaultDirPerm); err != nil {
		return nil, fmt.Errorf("create node key dir: %w", err)
	}
	key, err := p2p.LoadOrGenNodeKey(path)
	if err != nil {
		return nil, fmt.Errorf("node key %s: %w", path, err)
	}
	return key, nil
}

// ensurePrivValidator loads the validator key of c's home, generating key and
// sign state if absent. An existing key is never replaced; a missing sign
// state next to an existing key is created empty (as on a fresh machine).
func ensurePrivValidator(c *cfg.Config) (*privval.FilePV, error) {
	keyPath, statePath := c.PrivValidatorKeyFile(), c.PrivValidatorStateFile()
	for _, p := range []string{keyPath, statePath} {
		if err := os.MkdirAll(filepath.Dir(p), cfg.DefaultDirPerm); err != nil {
			return nil, fmt.Errorf("create validator key dir: %w", err)
		}
	}
	keyExists, err := fileExists(keyPath)
	if err != nil {
		return nil, err
	}
	if !keyExists {
		pv := privval.GenFilePV(keyPath, statePath)
		if err := savePV(pv); err != nil {
			return nil, err
		}
		return pv, nil
	}
	stateExists, err := fileExists(statePath)
	if err != nil {
		return nil, err
	}
	if !stateExists {
		key, err := readPVKey(keyPath)
		if err != nil {
			return nil, err
		}
		pv := privval.NewFilePV(key.PrivKey, keyPath, statePath)
		if err := savePVState(pv); err != nil {
			return nil, err
		}
	}
	return loadPrivValidator(c)
}

// loadPrivValidator loads an existing validator key and sign state. It
// checks both files first because privval.LoadFilePV exits the process on
// any read or decode error.
func loadPrivValidator(c *cfg.Config) (*privval.FilePV, error) {
	keyPath, statePath := c.PrivValidatorKeyFile(), c.PrivValidatorStateFile()
	if _, err := readPVKey(keyPath); err != nil {
		return nil, err
	}
	bz, err := os.ReadFile(statePath)
	if err != nil {
		return nil, fmt.Errorf("read validator sign state: %w", err)
	}
	var state privval.FilePVLastSignState
	if err := cmtjson.Unmarshal(bz, &state); err != nil {
		return nil, fmt.Errorf("decode validator sign state %s: %w", statePath, err)
	}
	return privval.LoadFilePV(keyPath, statePath), nil
}

func readPVKey(path string) (*privval.FilePVKey, error) {
	bz, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read validator key: %w", err)
	}
	var key privval.FilePVKey
	if err := cmtjson.Unmarshal(bz, &key); err != nil {
		return nil, fmt.Errorf("decode validator key %s: %w", path, err)
	}
	if key.PrivKey == nil {
		return nil, fmt.Errorf("decode validator key %s: no priv_key", path)
	}
	return &key, nil
}

// savePV and savePVState turn privval's panics on write errors into errors.
func savePV(pv *privval.FilePV) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("save validator key: %v", r)
		}
	}()
	pv.Save()
	return nil
}

func savePVState(pv *privval.FilePV) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("save validator sign state: %v", r)
		}
	}()
	pv.LastSignState.Save()
	return nil
}

func fileExists(path string) (bool, error) {
	_, err := os.Stat(path)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return false, fmt.Errorf("stat %s: %w", path, err)
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
