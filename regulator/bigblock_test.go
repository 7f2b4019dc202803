package regulator

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// fullBlockTransfers is about what a 4 MiB block holds (~9,400 transfers).
const fullBlockTransfers = 10_000

// bigChain is a genesis of 400 funded accounts of four banks, block 1 with
// n transfers between them and block 2 with a few more, all feasible.
func bigChain(n int) (Genesis, []*Block, map[string]uint64) {
	rng := rand.New(rand.NewPCG(20260302, 4))
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	g := Genesis{ChainID: "full-block", Time: start.Add(-time.Hour)}
	bal := map[string]uint64{}
	var accts []string
	for i := range 400 {
		a := fmt.Sprintf("%040x", i+1)
		accts = append(accts, a)
		g.Identities = append(g.Identities, IdentityOrg{Address: a, Org: fmt.Sprintf("bank%c", 'A'+i%4)})
		g.Balances = append(g.Balances, GenesisBalance{Ledger: "payments", Asset: "CNY", Account: a, Amount: 100_000_000})
		bal[a] = 100_000_000
	}
	blocks := []*Block{{Height: 1, Time: start}, {Height: 2, Time: start.Add(time.Second)}}
	id := 0
	add := func(b *Block, count int) {
		for range count {
			from, to := accts[rng.IntN(len(accts))], accts[rng.IntN(len(accts))]
			for to == from {
				to = accts[rng.IntN(len(accts))]
			}
			amt := uint64(100 + rng.IntN(6_000_000)) // some large, some in the structuring band
			id++
			tx := Tx{ID: fmt.Sprintf("%064x", id), Index: len(b.Txs), Ledger: "payments", Sender: from, Org: fmt.Sprintf("bank%c", 'A'+(slices.Index(accts, from))%4),
				Type: "transfer", Parties: []string{from, to}, Memo: "invoice 2026-03"}
			if bal[from] >= amt {
				bal[from] -= amt
				bal[to] += amt
				tx.Movements = []Movement{{Kind: KindTransfer, Ledger: "payments", Asset: "CNY", From: from, To: to, Amount: amt,
					FromBalance: bal[from], ToBalance: bal[to]}}
			} else {
				tx.Code, tx.Codespace, tx.Log = 4, "payments", "insufficient funds"
			}
			b.Txs = append(b.Txs, tx)
		}
	}
	add(blocks[0], n)
	add(blocks[1], 50)
	return g, blocks, bal
}

func applyBlocks(t *testing.T, ix *Index, blocks []*Block, eng *Engine) {
	t.Helper()
	for _, b := range blocks {
		cp := *b
		cp.Txs = slices.Clone(b.Txs)
		if _, err := ix.ApplyBlock(&cp, eng); err != nil {
			t.Fatalf("block %d: %v", b.Height, err)
		}
	}
}

// TestFullBlockIndexes: a block of 10,000 transfers, more than one Badger
// transaction holds, is indexed (in chunks behind a redo log) with every
// movement, balance and alert, and the observer goes on to the next block.
func TestFullBlockIndexes(t *testing.T) {
	if testing.Short() {
		t.Skip("indexes a 10,000-transfer block: big-block workload, skipped with -short")
	}
	g, blocks, bal := bigChain(fullBlockTransfers)
	ix, err := OpenIndex(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if err := ix.InitGenesis(g); err != nil {
		t.Fatal(err)
	}
	chunks := 0
	ix.fail = func(stage string, _ int) error {
		if stage == "apply" {
			chunks++
		}
		return nil
	}
	began := time.Now()
	applyBlocks(t, ix, blocks, testEngine(t))
	t.Logf("indexed %d transfers in %d chunks in %s", fullBlockTransfers, chunks, time.Since(began).Round(time.Millisecond))
	if chunks < 2 {
		t.Fatalf("the full block was written in %d chunk(s): the test no longer exceeds one transaction", chunks)
	}
	if last, _ := ix.LastHeight(); last != 2 {
		t.Fatalf("last height %d, want 2", last)
	}
	dump, err := ix.Dump()
	if err != nil {
		t.Fatal(err)
	}
	moves, txs := 0, 0
	for _, kv := range dump {
		switch {
		case bytes.HasPrefix(kv[0], []byte(prefixMove)):
			moves++
		case bytes.HasPrefix(kv[0], []byte(prefixTx)):
			txs++
		case bytes.HasPrefix(kv[0], []byte(prefixRedo)), string(kv[0]) == keyRedo:
			t.Fatalf("redo log left behind: %q", kv[0])
		}
	}
	want := 0
	for _, b := range blocks {
		for _, tx := range b.Txs {
			want += len(tx.Movements)
		}
	}
	if txs != fullBlockTransfers+50 || moves != want {
		t.Fatalf("indexed %d txs and %d movements, want %d and %d", txs, moves, fullBlockTransfers+50, want)
	}
	for a, w := range bal {
		if got, err := ix.Balance("payments", "CNY", a); err != nil || got != w {
			t.Fatalf("balance of %s: %d, want %d (%v)", a, got, w, err)
		}
	}
}

var errCrash = errors.New("simulated crash")

// TestCrashInTheMiddleOfABlock: an observer killed at any stage of a
// chunked block (while writing the redo log, after its marker, after some
// chunks, before the height moves) reopens to an index that, once it has
// indexed the same blocks, equals a clean one byte for byte.
func TestCrashInTheMiddleOfABlock(t *testing.T) {
	if testing.Short() {
		t.Skip("indexes a 4,000-transfer block five times: big-block workload, skipped with -short")
	}
	g, blocks, _ := bigChain(4_000)
	eng := testEngine(t)
	clean, err := OpenIndex("")
	if err != nil {
		t.Fatal(err)
	}
	defer clean.Close()
	if err := clean.InitGenesis(g); err != nil {
		t.Fatal(err)
	}
	applyBlocks(t, clean, blocks, eng)
	want, _ := clean.Dump()

	cases := []struct {
		name  string
		stage string
		n     int
		// finished: the reopened index already holds block 1.
		finished bool
	}{
		{"while writing the redo log", "redo", 0, false},
		{"after the redo log's marker", "marker", 0, true},
		{"after the first chunk", "apply", 0, true},
		{"after the third chunk", "apply", 2, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			ix, err := OpenIndex(dir)
			if err != nil {
				t.Fatal(err)
			}
			// Small chunks, so that 4,000 transfers make a dozen of them.
			ix.chunkOps, ix.chunkBytes = 5_000, 1<<20
			if err := ix.InitGenesis(g); err != nil {
				t.Fatal(err)
			}
			crashed := false
			ix.fail = func(stage string, n int) error {
				if stage == c.stage && n == c.n {
					crashed = true
					return errCrash
				}
				return nil
			}
			cp := *blocks[0]
			cp.Txs = slices.Clone(blocks[0].Txs)
			if _, err := ix.ApplyBlock(&cp, eng); !errors.Is(err, errCrash) {
				t.Fatalf("ApplyBlock: %v, want the simulated crash", err)
			}
			if !crashed {
				t.Fatal("no crash")
			}
			if last, _ := ix.LastHeight(); last != 0 {
				t.Fatalf("height moved to %d before the block was complete", last)
			}
			if err := ix.Close(); err != nil {
				t.Fatal(err)
			}
			if ix, err = OpenIndex(dir); err != nil {
				t.Fatalf("reopen: %v", err)
			}
			defer ix.Close()
			last, _ := ix.LastHeight()
			if c.finished != (last == 1) {
				t.Fatalf("reopened at height %d (finished from the redo log: %v)", last, c.finished)
			}
			applyBlocks(t, ix, blocks[last:], eng)
			got, _ := ix.Dump()
			if !dumpsEqual(got, want) {
				t.Fatalf("index after the crash (%d keys) differs from a clean one (%d keys)%s", len(got), len(want), firstDiff(got, want))
			}
		})
	}
}

func firstDiff(a, b [][2][]byte) string {
	for i := range min(len(a), len(b)) {
		if !bytes.Equal(a[i][0], b[i][0]) || !bytes.Equal(a[i][1], b[i][1]) {
			return fmt.Sprintf(": first at key %q", a[i][0])
		}
	}
	return ""
}

// TestRedoLogEncoding: the redo log decodes to the writes it encoded, and
// a truncated one is an error, not a partial block.
func TestRedoLogEncoding(t *testing.T) {
	ops := []writeOp{{key: []byte("a"), val: []byte("1")}, {key: []byte("b"), del: true}, {key: []byte("c"), val: []byte{}}}
	enc := encodeOps(ops)
	got, err := decodeOps(enc)
	if err != nil || len(got) != 3 || string(got[0].val) != "1" || !got[1].del || got[2].del || got[2].val == nil {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	for cut := 1; cut < len(enc); cut++ {
		if got, err := decodeOps(enc[:cut]); err == nil && len(got) == 3 {
			t.Fatalf("truncated at %d decoded whole", cut)
		}
	}
}
