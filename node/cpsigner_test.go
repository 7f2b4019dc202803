package node

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/checkpoint"
)

func TestCheckpointSignerFollowsRotation(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "checkpoint_key.json")
	pw := []byte("pw")
	old, err := checkpoint.EnsureKey(file, nil, pw)
	if err != nil {
		t.Fatal(err)
	}
	s, err := newCheckpointSigner(file, pw)
	if err != nil {
		t.Fatal(err)
	}
	var d [32]byte
	d[31] = 7
	verify := func(key *checkpoint.CheckpointKey, sig []byte) {
		t.Helper()
		if err := checkpoint.VerifySignature(key.Public(), d, sig); err != nil {
			t.Fatalf("signature does not verify under %x: %v", key.Public(), err)
		}
	}
	sig, err := s.sign(old.Public(), d)
	if err != nil {
		t.Fatal(err)
	}
	verify(old, sig)

	// Rotation as `checkpoint register --new-key` does it: a new file
	// replaces the old one while the node runs.
	fresh, err := checkpoint.EnsureKey(file+".new", nil, pw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.sign(fresh.Public(), d); !errors.Is(err, app.ErrNoCheckpointKey) {
		t.Fatalf("signed for a key the node does not hold yet: %v", err)
	}
	time.Sleep(10 * time.Millisecond) // a modification time of its own
	if err := os.Rename(file+".new", file); err != nil {
		t.Fatal(err)
	}
	if sig, err = s.sign(fresh.Public(), d); err != nil {
		t.Fatalf("new key after rotation: %v", err)
	}
	verify(fresh, sig)
	if sig, err = s.sign(old.Public(), d); err != nil {
		t.Fatalf("old key after rotation (hand-over checkpoint): %v", err)
	}
	verify(old, sig)

	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	stranger := make([]byte, len(old.Public()))
	if _, err := s.sign(stranger, d); !errors.Is(err, app.ErrNoCheckpointKey) {
		t.Fatalf("unknown key with the file gone: %v", err)
	}
}
