package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/jinlian-ledger/jinlian/internal/cmtlogtest"
	"github.com/jinlian-ledger/jinlian/internal/heavytest"
	"github.com/jinlian-ledger/jinlian/regulator"
)

// TestObserverReadsOnlySavedResults: an observer polling its node as fast
// as it can for 25 blocks, with transfers in them, never asks for the
// results of a block the node has saved but not yet executed, so CometBFT
// logs no "failed to LoadFinalizeBlockResponse … could not find results".
func TestObserverReadsOnlySavedResults(t *testing.T) {
	heavytest.Begin(t, "starts a localnet")
	logs := cmtlogtest.New(t)
	n := startLocalnetLogged(t, nil, logs)
	rules, err := regulator.ParseRules([]byte(rulesTOML))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := regulator.New(regulator.Config{Source: n.obs.Client(), Query: regulator.QueryFromClient(n.obs.Client()),
		Rules: rules, PollInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer svc.Stop()
	recipients := n.newMembers(t, 1)
	from, _ := svc.Index().LastHeight()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := 0; ; i++ {
		if i < 10 {
			n.transfer(t, recipients[0].Public().Address(), uint64(1_000+i), nil)
		}
		last, _ := svc.Index().LastHeight()
		if last >= from+25 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("index at %d, want %d", last, from+25)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if bad := logs.Matching("LoadFinalizeBlockResponse"); len(bad) > 0 {
		t.Fatalf("CometBFT logged %d failed results reads, e.g. %s", len(bad), bad[0])
	}
	if bad := logs.Matching("could not find results"); len(bad) > 0 {
		t.Fatalf("CometBFT logged: %s", bad[0])
	}
}
