package permission

import (
	"errors"
	"testing"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
)

// The state machine reads the sanctions list through a block's borrowed
// read cache and a transaction's borrowed cache, without copies
// (ledger.Peek). A listed account must be refused from the transaction
// after the one that listed it, in the same block and in the next, and a
// removal must count only if its transaction is kept: a stale "absent"
// in a cache would let a sanctioned account pay.
func TestSanctionsThroughTheBlockCaches(t *testing.T) {
	s := newKV(t)
	k, _ := gmcrypto.GenerateKey()
	acct := k.Public().Address().String()
	entry := Sanction{Account: acct, Entry: "UN-1", By: "regulator"}

	block := ledger.BorrowReadCache(s)
	tx := ledger.BorrowCache(block)
	if err := CheckSanctions(tx, acct); err != nil { // the block cache remembers the absence
		t.Fatalf("unlisted account refused: %v", err)
	}
	if err := SetSanction(tx, entry); err != nil {
		t.Fatal(err)
	}
	if err := CheckSanctions(tx, acct); !errors.Is(err, ErrSanctioned) {
		t.Fatalf("listed in this transaction, then: %v", err)
	}
	if err := tx.Write(); err != nil {
		t.Fatal(err)
	}
	tx.Release()

	// The next transaction of the block, and one that removes the entry
	// but is refused.
	next := ledger.BorrowCache(block)
	refused := ledger.BorrowCache(next)
	if err := RemoveSanction(refused, acct); err != nil {
		t.Fatal(err)
	}
	if err := CheckSanctions(refused, acct); err != nil {
		t.Fatalf("removed in this transaction, then: %v", err)
	}
	refused.Release() // refused: its removal is dropped
	if err := CheckSanctions(next, acct, "other"); !errors.Is(err, ErrSanctioned) {
		t.Fatalf("the next transaction of the block: %v, want ErrSanctioned", err)
	}
	next.Release()
	block.Release()
	if _, err := s.Commit(); err != nil {
		t.Fatal(err)
	}

	// The next block borrows a read cache again.
	block = ledger.BorrowReadCache(s)
	defer block.Release()
	if err := CheckSanctions(block, acct); !errors.Is(err, ErrSanctioned) {
		t.Fatalf("the next block: %v, want ErrSanctioned", err)
	}
}

// A sender's public key is recorded at first sight only, and only by a
// transaction that is kept: a refused one leaves nothing, and a later
// key claiming the same address does not replace the first (RecordPublicKey
// asks Has through the caches, which must see the block's earlier writes).
func TestRecordPublicKeyFirstSightOnly(t *testing.T) {
	s := newKV(t)
	k1, _ := gmcrypto.GenerateKey()
	k2, _ := gmcrypto.GenerateKey()
	addr := k1.Public().Address()

	block := ledger.BorrowReadCache(s)
	defer block.Release()
	if pub, err := PublicKeyOf(block, addr.String()); err != nil || pub != nil {
		t.Fatalf("no key yet: %v, %v", pub, err)
	}
	refused := ledger.BorrowCache(block)
	if err := RecordPublicKey(refused, addr, k1.Public()); err != nil {
		t.Fatal(err)
	}
	refused.Release()
	if pub, err := PublicKeyOf(block, addr.String()); err != nil || pub != nil {
		t.Fatalf("a refused transaction recorded %v (%v)", pub, err)
	}
	for _, k := range []*gmcrypto.PrivateKey{k1, k2} {
		tx := ledger.BorrowCache(block)
		if err := RecordPublicKey(tx, addr, k.Public()); err != nil {
			t.Fatal(err)
		}
		if err := tx.Write(); err != nil {
			t.Fatal(err)
		}
		tx.Release()
	}
	for name, r := range map[string]ledger.Reader{"the block's cache": block, "the store": s} {
		pub, err := PublicKeyOf(r, addr.String())
		if err != nil || pub == nil || !pub.Equal(k1.Public()) {
			t.Fatalf("%s holds %v (%v), want the first key", name, pub, err)
		}
	}
}
