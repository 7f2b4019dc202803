// Package bench is the throughput benchmark behind `jinlian bench`: it
// starts a network of CometBFT nodes on 127.0.0.1 in a child process
// (`jinlian bench serve`) running jinlian or CometBFT's kvstore example,
// offers pre-signed transactions at a fixed rate and follows the committed
// blocks to report committed tx/s, commit latency and CPU per transaction
// (docs/performance.md, scripts/bench).
//
// It is development code: cmd/jinlian wires it in only when built with
// -tags dev, so that the production binary links neither it nor kvstore.
package bench
