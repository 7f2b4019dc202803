package main

import (
	"bytes"
	"os"
	"testing"

	"github.com/jinlian-ledger/jinlian/node"
)

// asMainEnv makes the test binary run as jinlian-anchor itself: a node
// whose configuration turns the prover on runs it (node.Start, through
// $JINLIAN_ANCHOR), as it runs the installed binary.
const asMainEnv = "JINLIAN_ANCHOR_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// asAnchorCommand has nodes started by this test run this test binary as
// jinlian-anchor.
func asAnchorCommand(t *testing.T) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(node.AnchorCommandEnv, exe)
	t.Setenv(asMainEnv, "1")
}

// runCLI runs jinlian-anchor with args and returns what it printed.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := newRootCmd()
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	err := cmd.Execute()
	return out.String(), err
}
