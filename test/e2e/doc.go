// Package e2e holds end-to-end tests that run real CometBFT nodes with the
// jinlian app on 127.0.0.1. They are part of the default `go test ./...`;
// `-short` skips the slow ones.
package e2e
