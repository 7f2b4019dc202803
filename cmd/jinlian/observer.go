package main

import (
	"fmt"
	"io"

	"github.com/jinlian-ledger/jinlian/node/localnet"
)

// DefaultObserver is the regulator API of the default localnet's observer
// (4 validators, base port 26656: observer0's P2P port is 26696).
const DefaultObserver = "http://127.0.0.1:26699"

// observerAPI is a localnet observer's regulator API, for the summary.
type observerAPI struct {
	Moniker string `json:"moniker"`
	URL     string `json:"regulator_api"`
}

func printObserver(w io.Writer, moniker, url string) {
	fmt.Fprintf(w, "regulator API of %s: %s (key: regulator, passphrase %q)\n", moniker, url, localnet.Passphrase)
	flag := ""
	if url != DefaultObserver {
		flag = " --observer " + url
	}
	fmt.Fprintf(w, "  jinlian reg%s alerts --follow\n  jinlian reg%s txs --asset CNY\n", flag, flag)
}
