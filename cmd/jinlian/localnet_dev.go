//go:build dev

package main

import (
	"time"

	"github.com/jinlian-ledger/jinlian/consensus/prover/relay/devchain"
)

// inProcessEthereum starts the development build's in-process Ethereum
// chain, serving its JSON-RPC at listen (unless empty). It mines a block
// every second.
func inProcessEthereum(listen string) (*devEthereum, error) {
	sim, err := devchain.NewWith(devchain.LiveRules(), listen)
	if err != nil {
		return nil, err
	}
	sim.MineEvery(time.Second)
	url := ""
	if listen != "" {
		url = "http://" + listen
	}
	return &devEthereum{client: sim.Client(), auth: sim.Auth, mine: sim.Mine, url: url,
		what: "the in-process Ethereum chain", close: func() { _ = sim.Close() }}, nil
}
