package consensus

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"

	"github.com/jinlian-ledger/jinlian/internal/diskuse"
)

// BenchmarkLevelDBHistory writes what a stream of committed transfers
// writes to CometBFT's stores, in blocks of 2,000, to one goleveldb store
// opened with goleveldb's defaults (as CometBFT opens it) and with
// levelDBOptions (ADR 0024). It reports per transfer the process's CPU
// (the writes and goleveldb's background compaction, once it has caught
// up), the wall time of the writes, what goleveldb wrote to its files (the
// writes and their rewriting by compaction) and the disk. A transfer
// writes a record of 1 KB under a random 32-byte hash (the tx index's
// result, the block's part) and six index entries of about 80 bytes whose
// keys start with an attribute and a random account (the lean event
// index: tx id, sender, recipient, their organisations, the height),
// their value the hash.
//
//	go test ./consensus -run '^$' -bench LevelDBHistory -benchtime 1x
//	JINLIAN_LEVELDB_BENCH_TRANSFERS=2000000 go test ./consensus -run '^$' -bench LevelDBHistory -benchtime 1x
func BenchmarkLevelDBHistory(b *testing.B) {
	transfers := 500_000
	if v := os.Getenv("JINLIAN_LEVELDB_BENCH_TRANSFERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 2000 {
			b.Fatalf("JINLIAN_LEVELDB_BENCH_TRANSFERS=%q: want a number of transfers, at least 2000", v)
		}
		transfers = n
	}
	for _, c := range []struct {
		name string
		o    *opt.Options
	}{{"defaults", nil}, {"jinlian", levelDBOptions()}} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				dir := b.TempDir()
				db, err := dbm.NewGoLevelDBWithOpts("tx_index", dir, c.o)
				if err != nil {
					b.Fatal(err)
				}
				cpu0, t0 := cpuTime(b), time.Now()
				writeHistory(b, db, transfers)
				wall := time.Since(t0)
				written := settle(b, db)
				cpu := cpuTime(b) - cpu0
				if err := db.Close(); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(cpu.Microseconds())/float64(transfers), "cpu-µs/transfer")
				b.ReportMetric(float64(wall.Microseconds())/float64(transfers), "wall-µs/transfer")
				b.ReportMetric(float64(written)/float64(transfers), "written-B/transfer")
				disk, err := diskuse.Of(dir)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(disk)/float64(transfers), "disk-B/transfer")
			}
		})
	}
}

func writeHistory(b *testing.B, db dbm.DB, transfers int) {
	const block = 2000
	attrs := []string{"jinlian_tx.id", "jinlian_tx.sender", "jinlian_tx.org", "transfer.to", "transfer.to_org", "tx.height"}
	value := make([]byte, 1024)
	for i := range value {
		value[i] = byte(i * 7 / 5) // a pattern snappy compresses, as it does the text of events
	}
	for start := 0; start < transfers; start += block {
		batch := db.NewBatch()
		height := uint64(start/block + 1)
		for i := start; i < min(start+block, transfers); i++ {
			hash := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(i)))
			binary.BigEndian.PutUint64(value, uint64(i))
			if err := batch.Set(hash[:], value); err != nil {
				b.Fatal(err)
			}
			for j, a := range attrs {
				acct := sha256.Sum256(append(hash[:], byte(j)))
				key := fmt.Appendf(nil, "%s/%X/%d/%d", a, acct[:20], height, i-start)
				if err := batch.Set(key, hash[:]); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := batch.Write(); err != nil {
			b.Fatal(err)
		}
		batch.Close()
	}
}

// settle waits until the store's compaction has caught up (nothing
// written for a second) and returns what it wrote to its files in all:
// the writes and their rewriting by compaction.
func settle(b *testing.B, db *dbm.GoLevelDB) uint64 {
	var st leveldb.DBStats
	last := uint64(0)
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(time.Second) {
		if err := db.DB().Stats(&st); err != nil {
			b.Fatal(err)
		}
		if st.IOWrite == last {
			return last
		}
		last = st.IOWrite
	}
	b.Fatal("goleveldb still compacting after two minutes")
	return 0
}

// cpuTime is the process's user and system CPU so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
