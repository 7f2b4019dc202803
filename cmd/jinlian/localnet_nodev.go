//go:build !dev

package main

// inProcessEthereum: a production build has no in-process Ethereum chain
// (package devchain links a whole go-ethereum node); build with -tags dev
// for one.
func inProcessEthereum(string) (*devEthereum, error) { return nil, nil }
