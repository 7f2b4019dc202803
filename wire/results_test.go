package wire

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
)

func TestTxResultsPaths(t *testing.T) {
	for n := 0; n <= 9; n++ {
		txs := make([][]byte, n)
		leaves := make([][gmcrypto.HashSize]byte, n)
		for i := range txs {
			txs[i] = []byte(fmt.Sprintf("tx %d", i))
			leaves[i] = TxResultLeaf(uint32(i), txs[i], uint32(i%3))
		}
		root := TxResultsRoot(leaves)
		if n == 0 && root != gmcrypto.SM3() {
			t.Fatalf("empty block root %X", root)
		}
		for i := range txs {
			path, err := TxResultsPath(leaves, i)
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifyTxResult(root, uint32(i), txs[i], uint32(i%3), path); err != nil {
				t.Fatalf("n=%d i=%d: %v", n, i, err)
			}
			bad := []struct {
				name  string
				index uint32
				tx    []byte
				code  uint32
			}{
				{"another code", uint32(i), txs[i], uint32(i%3) + 1},
				{"another position", uint32(i + 1), txs[i], uint32(i % 3)},
				{"another transaction", uint32(i), []byte("forged"), uint32(i % 3)},
			}
			for _, b := range bad {
				if err := VerifyTxResult(root, b.index, b.tx, b.code, path); !errors.Is(err, ErrTxResults) {
					t.Fatalf("n=%d i=%d %s: %v", n, i, b.name, err)
				}
			}
		}
	}
	r := TxResultsRecord{Height: 7, Count: 3, Root: gmcrypto.SM3([]byte("x"))}
	got, err := DecodeTxResultsRecord(r.Encode())
	if err != nil || got != r {
		t.Fatalf("record round trip: %+v %v", got, err)
	}
	if _, err := DecodeTxResultsRecord(r.Encode()[1:]); !errors.Is(err, ErrTxResults) {
		t.Fatalf("short record: %v", err)
	}
}
