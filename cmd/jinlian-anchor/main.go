// Command jinlian-anchor proves jinlian's checkpoints and anchors them on
// Ethereum: the checkpoint prover (gnark Groth16) and relayer (go-ethereum's
// client), which the jinlian binary does not link. It runs against a node
// as a service of its own, reading the node's checkpoints and their
// signatures over the node's RPC (`jinlian-anchor run`; `jinlian start`
// runs and supervises it when checkpoint.prover is on), and holds the
// commands that need gnark or go-ethereum: checkpoint deploy, status,
// verify, submit, show and the setup ceremony (`jinlian checkpoint ...`
// hands them to it). See docs/checkpoints.md.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}
