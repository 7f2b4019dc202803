package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/node/localnet"
)

// A bank joining a network whose genesis enables checkpoints installs that
// genesis with `jinlian init --genesis` (it was refused with "built
// without the checkpoint scheme" while the scheme was optional).
func TestInitWithCheckpointedGenesis(t *testing.T) {
	ln, err := localnet.Prepare(localnet.Options{Home: filepath.Join(t.TempDir(), "ln"), Validators: 1, BasePort: 27990})
	if err != nil {
		t.Fatal(err)
	}
	c, err := consensus.LoadConfig(ln.Network.Nodes[0].Home)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("JINLIAN_PASSPHRASE", "bankE node key")
	out, err := runCLI(t, "init", "--home", filepath.Join(t.TempDir(), "newbank"), "--genesis", c.GenesisFile(), "--moniker", "bankE-0")
	if err != nil {
		t.Fatalf("init with a checkpointed genesis: %v\n%s", err, out)
	}
	if !strings.Contains(out, ln.Network.ChainID) {
		t.Errorf("init does not name the chain %s:\n%s", ln.Network.ChainID, out)
	}
}
