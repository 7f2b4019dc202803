// Package wire is what jinlian puts on the wire and what every reader of
// the chain shares: the transaction envelope (a Fabric common.Envelope
// signed with SM2; DecodeTx, BuildTx), the message registry (one entry per
// message of txpb.Message: its name, channel, permission policy, events and
// CLI command; app routes by it, the CLI and docs/cli.md list from it), and
// typed events (Event, ParseEvent: protobuf event messages carried as
// CometBFT events).
//
// It sits below app, the contracts, the regulator and the CLI, so that each
// reads transactions and events with the same generated code. It imports
// gmcrypto, internal and the generated proto of jinlian only.
//
// Both tables are checked against the protobuf descriptors when the
// package loads: a message of the Message oneof without a registry entry,
// or an event message the registry does not know, stops the program before
// it can route or decode anything.
package wire
