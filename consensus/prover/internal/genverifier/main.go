// Command genverifier writes the Solidity verifier for a checkpoint
// circuit's keys (contracts/ethereum/gen.sh runs it). With -dev it makes the
// INSECURE development keys first if -keys lacks them.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"

	"github.com/jinlian-ledger/jinlian/consensus/prover"
)

func main() {
	slots := flag.Int("slots", prover.DevSlots, "validator slots of the circuit")
	keys := flag.String("keys", prover.DevKeysDir(), "directory of the circuit's keys")
	dev := flag.Bool("dev", false, "make INSECURE development keys if absent")
	out := flag.String("out", "Verifier.sol", "output file")
	flag.Parse()
	if err := run(*slots, *keys, *dev, *out); err != nil {
		fmt.Fprintln(os.Stderr, "genverifier:", err)
		os.Exit(1)
	}
}

func run(slots int, keys string, dev bool, out string) error {
	p, err := prover.NewEdDSAGroth16(slots)
	if err != nil {
		return err
	}
	info, err := p.Setup(keys, dev)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := prover.WriteVerifier(&b, p, info); err != nil {
		return err
	}
	return os.WriteFile(out, b.Bytes(), 0o644)
}
