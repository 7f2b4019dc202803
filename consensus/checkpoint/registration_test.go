package checkpoint

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
)

func TestRegistration(t *testing.T) {
	node, err := gmcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := gmcrypto.GenerateKey()
	keys, _ := TestValidators(t, 1, 10, 10)
	const addr = "0A1B2C3D4E5F60718293A4B5C6D7E8F901234567"
	reg, err := Register("chain-a", addr, keys[0], node)
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Verify("chain-a", node.Public()); err != nil {
		t.Fatalf("valid registration: %v", err)
	}
	for _, tc := range []struct {
		name   string
		mutate func(*Registration)
		chain  string
		node   *gmcrypto.PublicKey
	}{
		{"another chain", func(*Registration) {}, "chain-b", node.Public()},
		{"another node key", func(*Registration) {}, "chain-a", other.Public()},
		{"another validator", func(r *Registration) { r.Validator = "FF" + r.Validator[2:] }, "chain-a", node.Public()},
		{"someone else's checkpoint key", func(r *Registration) { r.CheckpointKey = keys[1].Public() }, "chain-a", node.Public()},
		{"identity point", func(r *Registration) { r.CheckpointKey = make([]byte, KeySize) }, "chain-a", node.Public()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := reg
			tc.mutate(&r)
			if err := r.Verify(tc.chain, tc.node); !errors.Is(err, ErrBadRegistration) {
				t.Fatalf("got %v", err)
			}
		})
	}
	// Someone else's checkpoint key with a fresh SM2 signature still lacks
	// the proof of possession.
	stolen := Registration{ChainID: "chain-a", Validator: addr, CheckpointKey: keys[1].Public(), Possession: reg.Possession}
	stolen.SM2Signature, _ = node.Sign(stolen.SignBytes())
	if err := stolen.Verify("chain-a", node.Public()); !errors.Is(err, ErrBadRegistration) {
		t.Fatalf("registration of a key not held: %v", err)
	}
}

func TestKeyFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "config", "checkpoint_key.json")
	k, err := EnsureKey(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	again, err := EnsureKey(p, nil)
	if err != nil || string(again.Public()) != string(k.Public()) {
		t.Fatalf("reloaded key differs: %v", err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", fi.Mode())
	}
	if err := SaveKey(p, k); err == nil {
		t.Fatal("key file overwritten")
	}
}

func TestCheckpointChain(t *testing.T) {
	_, vals := TestValidators(t, 1, 10, 10, 10)
	g := TestGenesis(t, "c", vals, 4)
	cp1 := TestNext(g, 20, "a")
	if err := cp1.Follows(g); err != nil {
		t.Fatal(err)
	}
	if !InField(cp1.Digest()) || cp1.Digest() == cp1.Hash() {
		t.Fatal("digest is not a distinct field element")
	}
	for name, mutate := range map[string]func(*Checkpoint){
		"skipped epoch": func(c *Checkpoint) { c.Epoch++ },
		"same height":   func(c *Checkpoint) { c.Height = 0 },
		"broken chain":  func(c *Checkpoint) { c.PrevHash[0] ^= 1 },
		"other signers": func(c *Checkpoint) { c.ValidatorSet[31] ^= 1 },
		"other chain":   func(c *Checkpoint) { c.ChainID = "d" },
	} {
		bad := cp1
		mutate(&bad)
		if err := bad.Follows(g); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Every field changes the hash and the digest.
	fields := []func(*Checkpoint){
		func(c *Checkpoint) { c.ChainID += "x" }, func(c *Checkpoint) { c.Epoch++ },
		func(c *Checkpoint) { c.Height++ }, func(c *Checkpoint) { c.AppHash[5] ^= 1 },
		func(c *Checkpoint) { c.PrevHash[5] ^= 1 }, func(c *Checkpoint) { c.ValidatorSet[5] ^= 1 },
		func(c *Checkpoint) { c.NextValidatorSet[5] ^= 1 },
	}
	for i, f := range fields {
		c := cp1
		f(&c)
		if c.Hash() == cp1.Hash() || c.Digest() == cp1.Digest() {
			t.Errorf("field %d does not change hash and digest", i)
		}
	}
}

func TestProofRoundTrip(t *testing.T) {
	if _, err := ParseProof(make(Proof, 10)); err == nil {
		t.Fatal("short proof parsed")
	}
}
