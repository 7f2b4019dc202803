package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
)

// carry makes this test binary carry migration name until the test ends.
func carry(t *testing.T, name string, m Migration) {
	t.Helper()
	RegisterMigration(name, m)
	t.Cleanup(func() {
		migrationsMu.Lock()
		delete(migrations, name)
		migrationsMu.Unlock()
	})
}

// passUpgrade proposes action as bankA and votes it through with bankB and
// bankC (3 of 4 committee organisations).
func (n *govNet) passUpgrade(p *txpb.Propose) uint64 {
	n.t.Helper()
	n.mustOK(n.block(n.sys(n.committee["bankA"], "bankA", proposeMsg(p))))
	v, _ := n.store.View(0)
	ps, _ := permission.Proposals(v)
	id := ps[len(ps)-1].ID
	n.mustOK(n.block(n.sys(n.committee["bankB"], "bankB", voteMsg(id, true)), n.sys(n.committee["bankC"], "bankC", voteMsg(id, true))))
	if got := n.proposal(id); got.Status != permission.StatusPassed {
		n.t.Fatalf("proposal %d: %s %s", id, got.Status, got.Result)
	}
	return id
}

func schedule(name string, height int64, info string) *txpb.Propose {
	return &txpb.Propose{Action: &txpb.Propose_ScheduleUpgrade{ScheduleUpgrade: &txpb.ScheduleUpgrade{Name: name, Height: height, Info: info}}}
}

// finalize runs the next block with no transactions and returns
// FinalizeBlock's error (nil: committed); the block's upgrade events go to
// n.upgradeEvents.
func (n *govNet) finalize() error {
	n.height++
	res, err := n.app.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Height: n.height, Time: n.now})
	if err != nil {
		n.height--
		return err
	}
	if _, err := n.app.Commit(context.Background(), &abci.RequestCommit{}); err != nil {
		n.t.Fatal(err)
	}
	lastUpgradeEvents = nil
	for _, ev := range res.Events {
		if ev.Type == "upgrade" {
			lastUpgradeEvents = append(lastUpgradeEvents, ev)
		}
	}
	return nil
}

var lastUpgradeEvents []abci.Event

// A scheduled upgrade stops the old binary at its height, naming it, at
// every restart too; the binary that carries the migration refuses to run
// before the height and, at the height, migrates and goes on.
func TestScheduledUpgrade(t *testing.T) {
	n := newGovNet(t, Params{})
	at := n.height + 8
	n.passUpgrade(schedule("v2", at, "jinlian 0.2.0, SM3 ab12..."))
	v, _ := n.store.View(0)
	if p, ok, _ := LoadUpgradePlan(v); !ok || p.Name != "v2" || p.Height != at {
		t.Fatalf("plan %+v %v", p, ok)
	}
	for n.height < at-1 {
		if err := n.finalize(); err != nil {
			t.Fatalf("height %d before the upgrade: %v", n.height+1, err)
		}
	}
	// The old binary stops at the upgrade height and names the upgrade.
	err := n.finalize()
	if !errors.Is(err, ErrUpgradeNeeded) || !strings.Contains(err.Error(), `"v2"`) || !strings.Contains(err.Error(), "jinlian 0.2.0") {
		t.Fatalf("old binary at the upgrade height: %v", err)
	}
	if _, err := New(n.store, Options{}); !errors.Is(err, ErrUpgradeNeeded) {
		t.Fatalf("old binary restarted: %v", err)
	}
	// The new binary migrates at the height.
	carry(t, "v2", func(kv ledger.KV) error {
		return kv.Set(permission.SystemLedger, []byte("upgrade-test/v2"), []byte("migrated"))
	})
	a, err := New(n.store, Options{})
	if err != nil {
		t.Fatalf("new binary at the upgrade height: %v", err)
	}
	n.app = a
	if err := n.finalize(); err != nil {
		t.Fatalf("new binary at the upgrade height: %v", err)
	}
	if len(lastUpgradeEvents) != 1 || !strings.Contains(fmt.Sprint(lastUpgradeEvents[0].Attributes), "applied") {
		t.Fatalf("upgrade events of the upgrade block: %v", lastUpgradeEvents)
	}
	v, _ = n.store.View(0)
	if b, _ := v.Get(permission.SystemLedger, []byte("upgrade-test/v2")); string(b) != "migrated" {
		t.Fatalf("migration did not run: %q", b)
	}
	if h, ok, _ := UpgradeApplied(v, "v2"); !ok || h != at {
		t.Fatalf("applied at %d %v, want %d", h, ok, at)
	}
	if _, ok, _ := LoadUpgradePlan(v); ok {
		t.Fatal("plan kept after it was applied")
	}
	if err := n.finalize(); err != nil {
		t.Fatalf("after the upgrade: %v", err)
	}
	// The old binary refuses to run past the height for good.
	migrationsMu.Lock()
	m := migrations["v2"]
	delete(migrations, "v2")
	migrationsMu.Unlock()
	if _, err := New(n.store, Options{}); !errors.Is(err, ErrUpgradeNeeded) || !strings.Contains(err.Error(), "applied upgrade \"v2\"") {
		t.Fatalf("old binary after the upgrade: %v", err)
	}
	migrationsMu.Lock()
	migrations["v2"] = m
	migrationsMu.Unlock()
	// A name is used once.
	res := n.block(n.sys(n.committee["bankA"], "bankA", proposeMsg(schedule("v2", n.height+20, ""))))
	if res[0].Code == 0 || !strings.Contains(res[0].Log, "was applied at height") {
		t.Fatalf("reusing an applied name: %d %s", res[0].Code, res[0].Log)
	}
}

// A node whose binary already carries the scheduled upgrade refuses to run
// before its height, at start and block by block.
func TestUpgradedTooEarly(t *testing.T) {
	n := newGovNet(t, Params{})
	n.passUpgrade(schedule("v3", n.height+10, ""))
	carry(t, "v3", func(ledger.KV) error { return nil })
	if _, err := New(n.store, Options{}); !errors.Is(err, ErrUpgradeEarly) || !strings.Contains(err.Error(), "v3") {
		t.Fatalf("new binary started early: %v", err)
	}
	if err := n.finalize(); !errors.Is(err, ErrUpgradeEarly) {
		t.Fatalf("new binary running early: %v", err)
	}
}

// Bad plans are refused at submission, naming the problem, and change
// nothing; a cancelled plan stops nobody.
func TestUpgradeProposalsRefused(t *testing.T) {
	n := newGovNet(t, Params{})
	for _, c := range []struct {
		name string
		p    *txpb.Propose
		want string
	}{
		{"height in the past", schedule("v2", n.height, ""), "not in the future"},
		{"bad name", schedule("V 2", n.height+50, ""), "name"},
		{"info too long", schedule("v2", n.height+50, strings.Repeat("x", 1025)), "info of 1025 bytes"},
		{"cancel of nothing", &txpb.Propose{Action: &txpb.Propose_CancelUpgrade{CancelUpgrade: &txpb.CancelUpgrade{Name: "v9"}}}, "no upgrade \"v9\""},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := n.store.LastCommit().AppHash
			r := n.check(n.sys(n.committee["bankA"], "bankA", proposeMsg(c.p)))
			if r.Code == 0 || !strings.Contains(r.Log, c.want) {
				t.Fatalf("CheckTx = %d %q, want a refusal naming %q", r.Code, r.Log, c.want)
			}
			if string(n.store.LastCommit().AppHash) != string(before) {
				t.Fatal("state changed")
			}
		})
	}
	at := n.height + 6
	n.passUpgrade(schedule("v2", at, ""))
	n.passUpgrade(&txpb.Propose{Action: &txpb.Propose_CancelUpgrade{CancelUpgrade: &txpb.CancelUpgrade{Name: "v2"}}})
	for n.height <= at+1 {
		if err := n.finalize(); err != nil {
			t.Fatalf("height %d after the cancel: %v", n.height+1, err)
		}
	}
}

// No single bank can schedule an upgrade (which would stop every other
// bank's node): a member without the committee role is refused, a
// regulator too, and one committee organisation's proposal only opens a
// vote. Two plans passing in one block: the later transaction's plan is
// the one scheduled, on every node alike.
func TestUpgradeNeedsTheCommittee(t *testing.T) {
	n := newGovNet(t, Params{})
	plan := schedule("v2", n.height+50, "")
	for _, c := range []struct {
		name string
		key  *gmcrypto.PrivateKey
		org  string
	}{
		{"a member without the committee role", n.member, "bankB"},
		{"the regulator", n.regulator, "bankD"},
	} {
		if r := n.check(n.sys(c.key, c.org, proposeMsg(plan))); r.Code == 0 {
			t.Fatalf("%s proposed an upgrade", c.name)
		}
	}
	n.mustOK(n.block(n.sys(n.committee["bankA"], "bankA", proposeMsg(plan))))
	v, _ := n.store.View(0)
	if p, ok, _ := LoadUpgradePlan(v); ok {
		t.Fatalf("one organisation's proposal scheduled %+v", p)
	}
	// bankB and bankC settle #1 (v2) and #2 (v3) in the same block, #2 last.
	n.mustOK(n.block(n.sys(n.committee["bankA"], "bankA", proposeMsg(schedule("v3", n.height+60, "")))))
	n.mustOK(n.block(
		n.sys(n.committee["bankB"], "bankB", voteMsg(1, true)), n.sys(n.committee["bankB"], "bankB", voteMsg(2, true)),
		n.sys(n.committee["bankC"], "bankC", voteMsg(1, true)), n.sys(n.committee["bankC"], "bankC", voteMsg(2, true)),
	))
	v, _ = n.store.View(0)
	if p, ok, _ := LoadUpgradePlan(v); !ok || p.Name != "v3" {
		t.Fatalf("plan after both passed in one block: %+v %v, want v3 (passed last)", p, ok)
	}
	if n.proposal(1).Status != permission.StatusPassed || n.proposal(2).Status != permission.StatusPassed {
		t.Fatalf("statuses %s %s", n.proposal(1).Status, n.proposal(2).Status)
	}
}
