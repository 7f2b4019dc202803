// Command jinlian is the one binary of the jinlian consortium ledger: it
// runs nodes (start, init, localnet), manages keys, sends transactions and
// answers queries. See docs/cli.md.
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
