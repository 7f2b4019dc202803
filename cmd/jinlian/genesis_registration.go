package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/cometbft/cometbft/crypto"
	"github.com/cometbft/cometbft/crypto/ed25519"
	cmtjson "github.com/cometbft/cometbft/libs/json"

	"github.com/jinlian-ledger/jinlian/checkpoint"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/node"
	"github.com/jinlian-ledger/jinlian/permission"
)

// RegistrationFormat names the file `jinlian init` writes for the genesis
// coordinator and `jinlian genesis add-validator` reads.
const RegistrationFormat = "jinlian-node-registration/1"

// nodeRegistration is what a founding bank hands the genesis coordinator
// about one node: only public keys, and a checkpoint key registration
// whose proofs (EdDSA possession, SM2 binding) the coordinator verifies.
type nodeRegistration struct {
	Format  string `json:"format"`
	ChainID string `json:"chain_id,omitempty"`
	Moniker string `json:"moniker"`
	Org     string `json:"org,omitempty"`
	// NodeID is the P2P id, which the genesis registers for admission.
	NodeID string `json:"node_id"`
	// PubKey is the CometBFT consensus key, as CometBFT writes it
	// ({"type": "tendermint/PubKeyEd25519", "value": base64}).
	PubKey json.RawMessage `json:"pub_key"`
	// Address is the CometBFT validator address (upper-case hex).
	Address string `json:"address"`
	// SM2PublicKey is the node's SM2 key (uncompressed point, hex), which
	// signs the app hash of every height.
	SM2PublicKey string `json:"sm2_public_key"`
	// CheckpointKey is the node's checkpoint key registration for ChainID;
	// absent when init was given no chain id.
	CheckpointKey *checkpoint.Registration `json:"checkpoint_key,omitempty"`
}

// consensusKey decodes PubKey and checks that Address is its address.
func (r nodeRegistration) consensusKey() (crypto.PubKey, error) {
	var pk crypto.PubKey
	if err := cmtjson.Unmarshal(r.PubKey, &pk); err != nil {
		return nil, fmt.Errorf("pub_key: %w", err)
	}
	if _, ok := pk.(ed25519.PubKey); !ok {
		return nil, fmt.Errorf("pub_key: type %s, want %s (the only consensus key type of a jinlian genesis)", pk.Type(), ed25519.KeyType)
	}
	if r.Address != "" && !strings.EqualFold(r.Address, pk.Address().String()) {
		return nil, fmt.Errorf("address %s is not the address of pub_key (%s)", r.Address, pk.Address())
	}
	return pk, nil
}

// readRegistration reads and checks the form of a registration file.
func readRegistration(path string) (nodeRegistration, error) {
	var r nodeRegistration
	b, err := os.ReadFile(path)
	if err != nil {
		return r, err
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, fmt.Errorf("%s: not a node registration: %w", path, err)
	}
	if r.Format != RegistrationFormat {
		return r, fmt.Errorf("%s: format %q, want %q (written by jinlian init --registration-out)", path, r.Format, RegistrationFormat)
	}
	if len(r.NodeID) != 40 || strings.Trim(strings.ToLower(r.NodeID), "0123456789abcdef") != "" {
		return r, fmt.Errorf("%s: node_id %q: want 40 hex digits", path, r.NodeID)
	}
	pk, err := r.consensusKey()
	if err != nil {
		return r, fmt.Errorf("%s: %w", path, err)
	}
	r.Address = pk.Address().String()
	if err := permission.ValidateValidator(permission.Validator{Name: r.Moniker, Address: r.Address, SM2PublicKey: r.SM2PublicKey}); err != nil {
		return r, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// homeRegistration reads a node home's public keys into a registration.
// With a chain id it also makes (if absent) the checkpoint key, encrypted
// under passphrase pw, and registers it: pw opens the SM2 node key, which
// signs the registration.
func homeRegistration(home, moniker, org, chainID string, pw []byte) (nodeRegistration, error) {
	sv, err := validatorFromHome(home)
	if err != nil {
		return nodeRegistration{}, err
	}
	if len(sv.Sm2PublicKey) == 0 {
		return nodeRegistration{}, fmt.Errorf("%s: no SM2 node key", node.SM2KeyFile(home))
	}
	pk := ed25519.PubKey(sv.PubKeyEd25519)
	pkJSON, err := cmtjson.Marshal(crypto.PubKey(pk))
	if err != nil {
		return nodeRegistration{}, err
	}
	r := nodeRegistration{Format: RegistrationFormat, ChainID: chainID, Moniker: moniker, Org: org, NodeID: sv.NodeId,
		PubKey: pkJSON, Address: pk.Address().String(), SM2PublicKey: hex.EncodeToString(sv.Sm2PublicKey)}
	if chainID == "" {
		return r, nil
	}
	_, nodeKey, err := gmcrypto.LoadKey(node.SM2KeyFile(home), pw)
	if err != nil {
		return r, fmt.Errorf("SM2 node key: %w", err)
	}
	key, err := checkpoint.EnsureKey(checkpoint.KeyFile(home), nil, pw)
	if err != nil {
		return r, fmt.Errorf("checkpoint key: %w", err)
	}
	reg, err := checkpoint.Register(chainID, r.Address, key, nodeKey)
	if err != nil {
		return r, err
	}
	r.CheckpointKey = &reg
	return r, nil
}

// checkpointPublicKey reads the public half of a node's checkpoint key
// file, which is stored in the clear beside the encrypted private key.
func checkpointPublicKey(home string) ([]byte, error) {
	b, err := os.ReadFile(checkpoint.KeyFile(home))
	if err != nil {
		return nil, err
	}
	var f struct {
		PublicKey checkpoint.HexBytes `json:"public_key"`
	}
	if err := json.Unmarshal(b, &f); err != nil || len(f.PublicKey) == 0 {
		return nil, fmt.Errorf("%s: no public_key", checkpoint.KeyFile(home))
	}
	return f.PublicKey, nil
}

// checkHomeInGenesis tells an operator installing a genesis whether it
// names this home's keys as it should: the error names what differs.
// A home that is no genesis validator (a full node) is not an error.
func checkHomeInGenesis(home string, validators []permission.Validator, cpKeys []checkpoint.Registration) (string, error) {
	sv, err := validatorFromHome(home)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	} else if err != nil {
		return "", err
	}
	addr := ed25519.PubKey(sv.PubKeyEd25519).Address().String()
	for _, v := range validators {
		if !strings.EqualFold(v.Address, addr) {
			continue
		}
		if len(sv.Sm2PublicKey) > 0 && !strings.EqualFold(v.SM2PublicKey, hex.EncodeToString(sv.Sm2PublicKey)) {
			return "", fmt.Errorf("the genesis registers validator %s with SM2 key %s, but this home's SM2 node key is %x", addr, v.SM2PublicKey, sv.Sm2PublicKey)
		}
		for _, r := range cpKeys {
			if !strings.EqualFold(r.Validator, addr) {
				continue
			}
			pub, err := checkpointPublicKey(home)
			if err != nil {
				return "", fmt.Errorf("the genesis registers a checkpoint key for validator %s but this home has none: %w", addr, err)
			}
			if hex.EncodeToString(pub) != hex.EncodeToString(r.CheckpointKey) {
				return "", fmt.Errorf("the genesis registers checkpoint key %x for validator %s, but this home's key is %x", []byte(r.CheckpointKey), addr, pub)
			}
		}
		return fmt.Sprintf("validator %s of %s", addr, v.Org), nil
	}
	return "", nil
}
