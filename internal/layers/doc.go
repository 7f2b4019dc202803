// Package layers holds no code: its test encodes the import table of
// DESIGN.md ("Packages and what each owns") and docs/architecture.md, and
// fails, naming the file and the import, when a package of jinlian imports
// one of ours that the table does not allow it. CI runs it with every
// `go test ./...`.
//
// It imports nothing of jinlian.
package layers
