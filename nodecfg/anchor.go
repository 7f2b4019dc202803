package nodecfg

import (
	"encoding/json"
	"os"
	"path/filepath"
)

// AnchorInfo is what a node's checkpoint prover records of the
// CheckpointAnchor it relays to (or that jinlian checkpoint deploy
// deployed), in AnchorInfoFile: the CLI, the console of a localnet and a
// node whose checkpoint.anchor or checkpoint.eth_rpc is empty read it.
type AnchorInfo struct {
	Contract string `json:"contract"`
	RPC      string `json:"rpc,omitempty"`
}

// AnchorInfoFile is <home>/data/checkpoints/anchor.json, beside the
// prover's proofs (consensus/prover.StoreDir).
func AnchorInfoFile(home string) string {
	return filepath.Join(home, "data", "checkpoints", "anchor.json")
}

// ReadAnchorInfo reads home's anchor.json; ok is false when there is none
// or it does not parse.
func ReadAnchorInfo(home string) (AnchorInfo, bool) {
	var info AnchorInfo
	b, err := os.ReadFile(AnchorInfoFile(home))
	return info, err == nil && json.Unmarshal(b, &info) == nil
}

// WriteAnchorInfo records info in home's anchor.json.
func WriteAnchorInfo(home string, info AnchorInfo) error {
	if err := os.MkdirAll(filepath.Dir(AnchorInfoFile(home)), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(AnchorInfoFile(home), append(b, '\n'), 0o644)
}

// Anchor is the Ethereum endpoint and the CheckpointAnchor of the
// chain's checkpoints as this node knows them: checkpoint.eth_rpc and
// checkpoint.anchor, each one that is empty taken from anchor.json.
// Either is empty when neither names it.
func (c *Config) Anchor() (rpc, contract string) {
	rpc, contract = c.Checkpoint.EthRPC, c.Checkpoint.Anchor
	if info, ok := ReadAnchorInfo(c.Home); ok {
		if rpc == "" {
			rpc = info.RPC
		}
		if contract == "" {
			contract = info.Contract
		}
	}
	return rpc, contract
}
