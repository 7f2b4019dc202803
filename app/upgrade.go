package app

import (
	"encoding/binary"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"sync"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/internal/errs"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// Scheduled upgrades (docs/upgrades.md), after the Cosmos SDK's x/upgrade:
// governance passes a plan (name, height); at that height every node whose
// binary carries no migration registered under the name stops, naming the
// upgrade, and the binary that carries it runs the migration in the
// block of that height, before its transactions, and goes on. A binary
// that carries the migration refuses to run blocks before the height, so
// an operator who swaps the binary early learns it at once.
//
// State (_system):
//
//	upgrade/plan          → the scheduled UpgradePlan (at most one)
//	upgrade/done/<name>   → the height it was applied at, 8 bytes BE

var (
	ErrUpgrade = errs.Register(codespace, 15, "invalid upgrade")
	// ErrUpgradeNeeded stops a node at an upgrade height its binary has
	// no migration for, and at every restart of that binary.
	ErrUpgradeNeeded = errs.Register(codespace, 16, "upgrade needed")
	// ErrUpgradeEarly stops a binary that carries the migration of a
	// scheduled upgrade whose height is not reached.
	ErrUpgradeEarly = errs.Register(codespace, 17, "binary upgraded before the upgrade height")
)

// UpgradePlan is a scheduled upgrade.
type UpgradePlan struct {
	Name   string `json:"name"`
	Height int64  `json:"height"`
	Info   string `json:"info,omitempty"`
}

// Migration changes the state at an upgrade's height (kv is the block's
// state before its transactions). It must be deterministic, as every
// state change.
type Migration func(kv ledger.KV) error

var (
	migrationsMu sync.Mutex
	migrations   = map[string]Migration{}
)

// RegisterMigration makes this binary carry upgrade name. Binaries
// register their migrations at init; registering a name twice panics.
func RegisterMigration(name string, m Migration) {
	migrationsMu.Lock()
	defer migrationsMu.Unlock()
	if !upgradeNameRE.MatchString(name) {
		panic(fmt.Sprintf("upgrade name %q: want %s", name, upgradeNameRE))
	}
	if _, dup := migrations[name]; dup {
		panic("upgrade " + name + " registered twice")
	}
	migrations[name] = m
}

// Migrations are the upgrade names this binary carries, sorted.
func Migrations() []string {
	migrationsMu.Lock()
	defer migrationsMu.Unlock()
	out := make([]string, 0, len(migrations))
	for n := range migrations {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func migration(name string) (Migration, bool) {
	migrationsMu.Lock()
	defer migrationsMu.Unlock()
	m, ok := migrations[name]
	return m, ok
}

var upgradeNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

const maxUpgradeInfo = 1024

var keyUpgradePlan = []byte("upgrade/plan")

func upgradeDoneKey(name string) []byte { return []byte("upgrade/done/" + name) }

// LoadUpgradePlan returns the scheduled upgrade, if any.
func LoadUpgradePlan(kv reader) (UpgradePlan, bool, error) {
	var p UpgradePlan
	b, err := kv.Get(permission.SystemLedger, keyUpgradePlan)
	if err != nil || b == nil {
		return p, false, err
	}
	return p, true, ledger.Decode(b, &p)
}

// UpgradeApplied returns the height upgrade name was applied at.
func UpgradeApplied(kv reader, name string) (int64, bool, error) {
	b, err := kv.Get(permission.SystemLedger, upgradeDoneKey(name))
	if err != nil || b == nil {
		return 0, false, err
	}
	if len(b) != 8 {
		return 0, false, fmt.Errorf("upgrade %s: done record of %d bytes", name, len(b))
	}
	return int64(binary.BigEndian.Uint64(b)), true, nil
}

// checkScheduleUpgrade checks a plan on its own and against state at
// height (the proposal's block, or the block that executes it).
func checkScheduleUpgrade(kv reader, m *txpb.ScheduleUpgrade, height int64) error {
	switch {
	case !upgradeNameRE.MatchString(m.Name):
		return ErrUpgrade.Wrapf("name %q: want %s", m.Name, upgradeNameRE)
	case m.Height <= height:
		return ErrUpgrade.Wrapf("upgrade %s at height %d: that height is not in the future (this block is %d)", m.Name, m.Height, height)
	case len(m.Info) > maxUpgradeInfo:
		return ErrUpgrade.Wrapf("upgrade %s: info of %d bytes, at most %d", m.Name, len(m.Info), maxUpgradeInfo)
	}
	if h, done, err := UpgradeApplied(kv, m.Name); err != nil {
		return err
	} else if done {
		return ErrUpgrade.Wrapf("upgrade %s was applied at height %d: choose a new name", m.Name, h)
	}
	return nil
}

func checkCancelUpgrade(kv reader, m *txpb.CancelUpgrade) error {
	p, ok, err := LoadUpgradePlan(kv)
	if err != nil {
		return err
	}
	if !ok || p.Name != m.Name {
		return ErrUpgrade.Wrapf("no upgrade %q is scheduled", m.Name)
	}
	return nil
}

func scheduleUpgrade(kv ledger.KV, m *txpb.ScheduleUpgrade, height int64) error {
	if err := checkScheduleUpgrade(kv, m, height); err != nil {
		return err
	}
	b, err := ledger.Encode(UpgradePlan{Name: m.Name, Height: m.Height, Info: m.Info})
	if err != nil {
		return err
	}
	return kv.Set(permission.SystemLedger, keyUpgradePlan, b) // replaces an earlier plan
}

func cancelUpgrade(kv ledger.KV, m *txpb.CancelUpgrade) error {
	if err := checkCancelUpgrade(kv, m); err != nil {
		return err
	}
	return kv.Delete(permission.SystemLedger, keyUpgradePlan)
}

// checkUpgradeBinary says whether this binary may run the block after
// state at lastHeight: not at an upgrade height it carries no migration
// for, nor before the height of an upgrade it carries.
func checkUpgradeBinary(kv reader, lastHeight int64) error {
	p, ok, err := LoadUpgradePlan(kv)
	if err != nil || !ok {
		return err
	}
	next := lastHeight + 1
	_, carried := migration(p.Name)
	switch {
	case next >= p.Height && !carried:
		return ErrUpgradeNeeded.Wrapf("UPGRADE %q NEEDED at height %d: this binary (jinlian %s, carrying %v) has no migration for it; install the release the plan names (%s) and start the node again",
			p.Name, p.Height, Version, Migrations(), p.Info)
	case next < p.Height && carried:
		return ErrUpgradeEarly.Wrapf("this binary carries upgrade %q, scheduled for height %d, and the chain is at %d: run the previous release until the upgrade height stops it", p.Name, p.Height, lastHeight)
	}
	return nil
}

// applyUpgrade runs, in the block at height, the scheduled upgrade of that
// height (the binary was checked by checkUpgradeBinary).
func applyUpgrade(kv ledger.KV, height int64) ([]abci.Event, error) {
	p, ok, err := LoadUpgradePlan(kv)
	if err != nil || !ok || p.Height != height {
		return nil, err
	}
	m, carried := migration(p.Name)
	if !carried {
		return nil, ErrUpgradeNeeded.Wrapf("upgrade %q at height %d: no migration in this binary", p.Name, p.Height)
	}
	c := ledger.NewCache(kv)
	if err := m(c); err != nil {
		c.Discard()
		return nil, fmt.Errorf("upgrade %q at height %d: migration failed: %w", p.Name, height, err)
	}
	if err := c.Write(); err != nil {
		return nil, err
	}
	if err := kv.Set(permission.SystemLedger, upgradeDoneKey(p.Name), binary.BigEndian.AppendUint64(nil, uint64(height))); err != nil {
		return nil, err
	}
	if err := kv.Delete(permission.SystemLedger, keyUpgradePlan); err != nil {
		return nil, err
	}
	return []abci.Event{wire.Event(&txpb.EventUpgrade{Name: p.Name, Height: p.Height, Info: p.Info, Status: "applied"})}, nil
}

// AppliedUpgrade is an upgrade the chain went through.
type AppliedUpgrade struct {
	Name   string `json:"name"`
	Height int64  `json:"height"`
}

// AppliedUpgrades lists the upgrades applied, by name.
func AppliedUpgrades(kv reader) ([]AppliedUpgrade, error) {
	out := []AppliedUpgrade{}
	prefix := upgradeDoneKey("")
	end := slices.Clone(prefix)
	end[len(end)-1]++
	var derr error
	err := kv.Iterate(permission.SystemLedger, prefix, end, func(k, v []byte) bool {
		if len(v) != 8 {
			derr = fmt.Errorf("upgrade %s: done record of %d bytes", k[len(prefix):], len(v))
			return false
		}
		out = append(out, AppliedUpgrade{Name: string(k[len(prefix):]), Height: int64(binary.BigEndian.Uint64(v))})
		return true
	})
	if err == nil {
		err = derr
	}
	return out, err
}

// checkAppliedCarried refuses a binary that lacks the migration of an
// upgrade the chain applied: it is older than the chain (checked at start).
func checkAppliedCarried(kv reader) error {
	done, err := AppliedUpgrades(kv)
	if err != nil {
		return err
	}
	for _, u := range done {
		if _, ok := migration(u.Name); !ok {
			return ErrUpgradeNeeded.Wrapf("this chain applied upgrade %q at height %d, which this binary (jinlian %s, carrying %v) does not carry: it is older than the chain; run the release of that upgrade or a later one",
				u.Name, u.Height, Version, Migrations())
		}
	}
	return nil
}

// UpgradeStatus answers the /upgrade query.
type UpgradeStatus struct {
	Plan    *UpgradePlan     `json:"plan"`
	Applied []AppliedUpgrade `json:"applied"`
	// Carried are the upgrades the answering node's binary carries.
	Carried []string `json:"carried"`
}

func upgradeStatus(kv reader) (UpgradeStatus, error) {
	out := UpgradeStatus{Carried: slices.Clone(Migrations())}
	p, ok, err := LoadUpgradePlan(kv)
	if err != nil {
		return out, err
	}
	if ok {
		out.Plan = &p
	}
	out.Applied, err = AppliedUpgrades(kv)
	return out, err
}
