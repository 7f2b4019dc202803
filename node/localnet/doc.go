// Package localnet is the demo consortium of `jinlian localnet`: it
// creates (or resumes) the homes, keys, certificate authorities and genesis
// of N validators, one per organisation bankA..bankJ, and optional regulator
// observers, with well-known passphrases and funded demo identities, and
// starts every node in this process through package node. It is for
// development and tests only: a production node is composed by package
// node alone and never needs this one.
package localnet
