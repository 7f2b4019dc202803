// Package e2e tests the regulator observer against real in-process
// CometBFT nodes (a localnet of one validator and one observer): indexing,
// restart against a fresh replay, alerts, confidential payloads, the peer
// filter that keeps unregistered observers out, and the PostgreSQL event
// sink. It holds tests only; being a test package it may import consensus,
// which the regulator package itself must not.
package e2e
