// Command jinlian is the binary of the jinlian consortium ledger: it runs
// nodes (start, init, localnet), manages keys, sends transactions and
// answers queries. The checkpoint prover and relayer (gnark, go-ethereum)
// are the jinlian-anchor binary's, which jinlian runs when a node's
// configuration or a command needs it. See docs/cli.md.
package main

func main() {
	if err := newRootCmd().Execute(); err != nil {
		exit(err)
	}
}
