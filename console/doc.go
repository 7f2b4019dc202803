// Package console is jinlian's web console: a local HTTP server on the
// user's own machine (loopback only) that holds the user's SM2 key and
// talks to a node's API as the CLI does (api.Node: GM TLS or TLS 1.3 with
// the user's certificate, or a node's plain RPC), and to an observer's
// regulator API with signed requests (regulator.Client). Browsers speak
// neither GM TLS nor SM2, so the key stays in this process; the browser
// reaches the console only with the random token of the URL it prints
// (then a cookie), and every state-changing form carries a CSRF token.
//
// The console adds no privileged path into a node: every read goes out
// with the user's identity, and what the node's read gate refuses is shown
// as refused, never worked around.
//
// Pages are server-rendered html/template with one small script (the
// connection indicator and the regulator page's live alerts), all embedded
// with go:embed (docs/adr/0010-console-rendering.md); one file per page
// (overview.go with anchoring.go, explorer.go with blocks.go and
// proofdownload.go, statement.go, governance.go, regulator.go, report.go).
// Proof bundles are built by package proof's builders, as `jinlian query
// … --prove` builds them (an account's completeness bundle through
// proof.Source.ListMovements, the CLI's own path), and checkpoint
// anchoring is read with its Ethereum reader (no Ethereum library). The
// one thing the console writes to disk is mappings.go's file of column
// mappings in Config.StateDir. A node that serves no API (a plain CometBFT RPC) still gets
// statements: rpcstatement.go builds them as the API would.
//
// It imports, of jinlian, the client side of api and regulator, wire (to
// build, sign and decode envelopes), recon (statements), movement, proof
// (bundles: build, verify, anchoring) and gmcrypto; never app, consensus,
// contracts or ledger (internal/layers).
package console
