//go:build !dev

package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newBenchCmd: a production build has no benchmark harness (test/bench
// links CometBFT's kvstore); it says how to get one.
func newBenchCmd(*globals) *cobra.Command {
	return &cobra.Command{
		Use:                "bench",
		Short:              "Measure committed tx/s and commit latency of a localnet (development builds: -tags dev)",
		DisableFlagParsing: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("jinlian bench needs a development build: go run -tags dev ./cmd/jinlian bench (or go build -tags dev ./cmd/jinlian)")
		},
	}
}
