package consensus

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"

	dbm "github.com/cometbft/cometbft-db"
	cfg "github.com/cometbft/cometbft/config"
)

// levelDBFiles counts the tables of db at every level.
func levelDBFiles(t *testing.T, db dbm.DB) int {
	t.Helper()
	ldb, ok := db.(*dbm.GoLevelDB)
	if !ok {
		t.Fatalf("openDB gave a %T, want goleveldb", db)
	}
	n := 0
	for l := 0; l < 7; l++ {
		v, err := ldb.DB().GetProperty(fmt.Sprintf("leveldb.num-files-at-level%d", l))
		if err != nil {
			t.Fatal(err)
		}
		c, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			t.Fatal(err)
		}
		n += c
	}
	return n
}

func putKeys(t *testing.T, db dbm.DB, from, to int) {
	t.Helper()
	b := db.NewBatch()
	for i := from; i < to; i++ {
		if err := b.Set([]byte(fmt.Sprintf("key/%08d", i)), bytes.Repeat([]byte{byte(i)}, 200)); err != nil {
			t.Fatal(err)
		}
		if i%1000 == 999 {
			if err := b.Write(); err != nil {
				t.Fatal(err)
			}
			b.Close()
			b = db.NewBatch()
		}
	}
	if err := b.Write(); err != nil {
		t.Fatal(err)
	}
	b.Close()
}

func checkKeys(t *testing.T, db dbm.DB, to int) {
	t.Helper()
	for i := 0; i < to; i += 97 {
		v, err := db.Get([]byte(fmt.Sprintf("key/%08d", i)))
		if err != nil || !bytes.Equal(v, bytes.Repeat([]byte{byte(i)}, 200)) {
			t.Fatalf("key %d after reopening: %d bytes, %v", i, len(v), err)
		}
	}
}

// TestOpenDBTakesStoresOfTheOldSizes: a store written with goleveldb's
// default sizes, as every node's before ADR 0024, opens with the new
// ones and reads back whole; the new memtable holds 20 MB of writes that
// the default one (4 MiB) would have flushed to five tables or more; and
// what was written both ways is still there after closing and opening
// again.
func TestOpenDBTakesStoresOfTheOldSizes(t *testing.T) {
	conf := cfg.DefaultConfig()
	conf.SetRoot(t.TempDir())
	ctx := &cfg.DBContext{ID: "tx_index", Config: conf}

	old, err := dbm.NewGoLevelDBWithOpts(ctx.ID, conf.DBDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	putKeys(t, old, 0, 50_000) // 10 MB: flushed to tables by the 4 MiB memtable
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := openDB(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkKeys(t, db, 50_000)
	before := levelDBFiles(t, db)
	if before == 0 {
		t.Fatal("the store written with the default sizes has no tables")
	}
	putKeys(t, db, 50_000, 150_000) // 20 MB more
	if after := levelDBFiles(t, db); after != before {
		t.Fatalf("20 MB of writes made %d tables into %d: the memtable is not 32 MiB", before, after)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = openDB(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkKeys(t, db, 150_000)
}

// TestOpenDBOtherBackends: a backend other than goleveldb is opened as
// CometBFT opens it.
func TestOpenDBOtherBackends(t *testing.T) {
	conf := cfg.DefaultConfig()
	conf.SetRoot(t.TempDir())
	conf.DBBackend = string(dbm.MemDBBackend)
	db, err := openDB(&cfg.DBContext{ID: "blockstore", Config: conf})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := db.(*dbm.MemDB); !ok {
		t.Fatalf("memdb backend opened as %T", db)
	}
}
