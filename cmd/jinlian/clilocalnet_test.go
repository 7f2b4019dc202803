package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	cmtlog "github.com/cometbft/cometbft/libs/log"

	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/heavytest"
	"github.com/jinlian-ledger/jinlian/node"
	"github.com/jinlian-ledger/jinlian/node/localnet"
)

// startCLILocalnet starts a localnet of n validators for CLI tests (the
// heavy-test lock held), waits for block 1 and clears the environment the
// CLI reads, so that only the flags a test passes count. The localnet's
// key passphrase is set.
func startCLILocalnet(t *testing.T, n int) (*localnet.Net, []*node.Node) {
	t.Helper()
	heavytest.Begin(t, "starts a localnet")
	base, err := consensus.FreeBasePort(n)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := localnet.Prepare(localnet.Options{Home: t.TempDir(), Validators: n, BasePort: base, TimeoutCommit: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := ln.Start(context.Background(), cmtlog.NewNopLogger(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = node.StopAll(nodes) })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := consensus.WaitForHeight(ctx, nodes[0].Client(), 1); err != nil {
		t.Fatal(err)
	}
	t.Setenv(gmcrypto.PassphraseEnv, localnet.Passphrase)
	for _, env := range []string{"JINLIAN_NODE", "JINLIAN_OBSERVER", "JINLIAN_TLS_MODE", "JINLIAN_TLS_CA", "JINLIAN_TLS_CERT", "JINLIAN_TLS_KEY"} {
		t.Setenv(env, "")
	}
	return ln, nodes
}
