// Package api is the node's client-facing HTTP API. It reverse-proxies
// CometBFT's JSON-RPC (POST /, GET /<method>?..., and /websocket) to the
// node's own RPC listener, so every CometBFT client and every jinlian CLI
// command works through it unchanged, and it serves /healthz and /version.
//
// It can be served as plain HTTP, over standard TLS 1.3, or over GM TLS
// (GM/T 0024 / TLCP: dual SM2 certificates, ECC_SM4_CBC_SM3), each with
// optional mutual authentication by client certificate (api.client_ca_file).
// Go's crypto/tls has no SM2, so TLS 1.3 takes ECDSA, Ed25519 or RSA
// certificates; SM2 certificates need GM TLS. NewHTTPClient builds the
// matching client. docs/api.md is the operator's guide.
//
// With mutual TLS and a Registry, a deny-by-default read gate (gate.go)
// accepts only JSON-RPC as POST / (and /websocket for regulators and
// auditors), decodes it as CometBFT does, authorizes every method and app
// query path by an explicit table, and forwards its own re-encoding.
//
// It also serves typed endpoints of its own: GET /v1/statement, an
// organisation's movements in a business day (statement.go, package
// recon), the event feed, quorum certificates, transaction proofs, a
// committed transaction decoded (GET /v1/tx, GET /v1/txs by memo: tx.go,
// txsearch.go), an account's movements (GET /v1/movements: movements.go)
// and the anchoring status (anchoring.go), authorized by the caller's
// organisation and roles.
//
// It imports gmcrypto (GM TLS, SM2 certificates), nodecfg (the api.*
// keys), recon (statements, movements) and wire (decoding transactions)
// of jinlian and CometBFT's RPC client interfaces; it must not import
// app, consensus or anything above them.
// consensus starts it.
package api
