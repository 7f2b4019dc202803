package node

import (
	"testing"

	"github.com/spf13/pflag"

	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/nodecfg"
)

// TestLedgerOptions: every [ledger] setting reaches the store's options,
// from the file and from the environment, in the store's units; an inner
// cache of 0 MiB turns it off (negative), and a value threshold of 0 keeps
// every value in the LSM tree (ADR 0031).
func TestLedgerOptions(t *testing.T) {
	home := t.TempDir()
	c := nodecfg.Default(home)
	if got, want := ledgerOptions(c), (ledger.Options{IAVLCacheSize: 100000, NodeCacheBytes: 1 << 30, BlockCacheBytes: 256 << 20, LevelZeroTables: 5}); got != want {
		t.Errorf("defaults: %+v, want %+v", got, want)
	}

	c.Ledger.CacheSize, c.Ledger.InnerCacheMB, c.Ledger.BlockCacheMB, c.Ledger.FlatIndex = 5000, 0, 64, false
	if err := c.WriteFile(); err != nil {
		t.Fatal(err)
	}
	t.Setenv("JINLIAN_LEDGER_LEVEL_ZERO_TABLES", "10")
	t.Setenv("JINLIAN_LEDGER_VALUE_THRESHOLD", "64")
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	nodecfg.AddFlags(fs)
	loaded, err := nodecfg.Load(home, fs)
	if err != nil {
		t.Fatal(err)
	}
	want := ledger.Options{IAVLCacheSize: 5000, NodeCacheBytes: -1, BlockCacheBytes: 64 << 20, LevelZeroTables: 10, ValueThreshold: 64, NoFlatIndex: true}
	if got := ledgerOptions(loaded); got != want {
		t.Errorf("from the file and the environment: %+v, want %+v", got, want)
	}
}
