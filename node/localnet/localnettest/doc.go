// Package localnettest is the one harness that starts a localnet for a
// test: a free base port, homes in the test's temporary directory, the
// heavy-test lock when the test is heavy, every node stopped at the end,
// and the chain's first block awaited. Tests of every package (cmd/jinlian,
// node, regulator/e2e, test/e2e) start their localnets through it. Only
// tests import it.
package localnettest
