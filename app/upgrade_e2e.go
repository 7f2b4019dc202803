//go:build upgradetest

package app

import (
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
)

// A build with -tags upgradetest carries upgrade "test-upgrade", so that
// test/e2e's TestScheduledUpgradeWithTwoBuilds can play the old and the
// new release of a chain. Its migration leaves a mark in _system.
func init() {
	RegisterMigration("test-upgrade", func(kv ledger.KV) error {
		return kv.Set(permission.SystemLedger, []byte("upgrade-test/test-upgrade"), []byte("migrated"))
	})
}
