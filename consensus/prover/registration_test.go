package prover

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jinlian-ledger/jinlian/checkpoint"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
)

func TestRegistration(t *testing.T) {
	node, err := gmcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := gmcrypto.GenerateKey()
	keys, _ := testValidators(t, 1, 10, 10)
	const addr = "0A1B2C3D4E5F60718293A4B5C6D7E8F901234567"
	reg, err := checkpoint.Register("chain-a", addr, keys[0], node)
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Verify("chain-a", node.Public()); err != nil {
		t.Fatalf("valid registration: %v", err)
	}
	for _, tc := range []struct {
		name   string
		mutate func(*checkpoint.Registration)
		chain  string
		node   *gmcrypto.PublicKey
	}{
		{"another chain", func(*checkpoint.Registration) {}, "chain-b", node.Public()},
		{"another node key", func(*checkpoint.Registration) {}, "chain-a", other.Public()},
		{"another validator", func(r *checkpoint.Registration) { r.Validator = "FF" + r.Validator[2:] }, "chain-a", node.Public()},
		{"someone else's checkpoint key", func(r *checkpoint.Registration) { r.CheckpointKey = keys[1].Public() }, "chain-a", node.Public()},
		{"identity point", func(r *checkpoint.Registration) { r.CheckpointKey = make([]byte, checkpoint.KeySize) }, "chain-a", node.Public()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := reg
			tc.mutate(&r)
			if err := r.Verify(tc.chain, tc.node); !errors.Is(err, checkpoint.ErrBadRegistration) {
				t.Fatalf("got %v", err)
			}
		})
	}
	// Someone else's checkpoint key with a fresh SM2 signature still lacks
	// the proof of possession.
	stolen := checkpoint.Registration{ChainID: "chain-a", Validator: addr, CheckpointKey: keys[1].Public(), Possession: reg.Possession}
	stolen.SM2Signature, _ = node.Sign(stolen.SignBytes())
	if err := stolen.Verify("chain-a", node.Public()); !errors.Is(err, checkpoint.ErrBadRegistration) {
		t.Fatalf("registration of a key not held: %v", err)
	}
}

func TestKeyFile(t *testing.T) {
	pw := []byte("correct horse")
	dir := t.TempDir()
	p := filepath.Join(dir, "config", "checkpoint_key.json")
	k, err := checkpoint.EnsureKey(p, nil, pw)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", fi.Mode())
	}
	if b, _ := os.ReadFile(p); strings.Contains(string(b), hex.EncodeToString(k.Bytes()[32:64])) || !strings.Contains(string(b), `"cipher": "sm4-gcm"`) {
		t.Fatalf("key file is not SM4-encrypted:\n%s", b)
	}
	if err := checkpoint.SaveKey(p, k, pw); !errors.Is(err, gmcrypto.ErrKeyExists) {
		t.Fatalf("key file overwritten: %v", err)
	}
	// The plain format of earlier versions.
	legacy := filepath.Join(dir, "legacy.json")
	b, _ := json.Marshal(map[string]checkpoint.HexBytes{"public_key": k.Public(), "private_key": k.Bytes()})
	if err := os.WriteFile(legacy, b, 0o600); err != nil {
		t.Fatal(err)
	}
	// The public key is bound to the ciphertext.
	other, _ := checkpoint.GenerateKey(nil)
	swapped := filepath.Join(dir, "swapped.json")
	eb, _ := os.ReadFile(p)
	if err := os.WriteFile(swapped, []byte(strings.Replace(string(eb), hex.EncodeToString(k.Public()), hex.EncodeToString(other.Public()), 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		path    string
		pw      []byte
		plain   bool
		wantErr error
	}{
		{"encrypted, right passphrase", p, pw, false, nil},
		{"encrypted, wrong passphrase", p, []byte("wrong"), false, gmcrypto.ErrWrongPassphrase},
		{"encrypted, public key swapped", swapped, pw, false, gmcrypto.ErrWrongPassphrase},
		{"plain file of earlier versions", legacy, nil, true, nil},
		{"absent", filepath.Join(dir, "none.json"), pw, false, os.ErrNotExist},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := checkpoint.LoadKey(c.path, c.pw)
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("error %v, want %v", err, c.wantErr)
				}
				return
			}
			if err != nil || string(got.Public()) != string(k.Public()) {
				t.Fatalf("loaded %v", err)
			}
			if plain, _ := checkpoint.IsPlainKeyFile(c.path); plain != c.plain {
				t.Fatalf("IsPlainKeyFile = %v", plain)
			}
		})
	}
	// Migration encrypts the plain file in place.
	if err := checkpoint.EncryptKeyFile(legacy, pw); err != nil {
		t.Fatal(err)
	}
	if plain, _ := checkpoint.IsPlainKeyFile(legacy); plain {
		t.Fatal("still plain after EncryptKeyFile")
	}
	if got, err := checkpoint.LoadKey(legacy, pw); err != nil || string(got.Public()) != string(k.Public()) {
		t.Fatalf("migrated key: %v", err)
	}
	if _, err := checkpoint.LoadKey(legacy, nil); !errors.Is(err, gmcrypto.ErrWrongPassphrase) {
		t.Fatalf("migrated key opened without the passphrase: %v", err)
	}
}

func TestCheckpointChain(t *testing.T) {
	_, vals := testValidators(t, 1, 10, 10, 10)
	g := testGenesis(t, "c", vals, 4)
	cp1 := testNext(g, 20, "a")
	if err := cp1.Follows(g); err != nil {
		t.Fatal(err)
	}
	if !checkpoint.InField(cp1.Digest()) || cp1.Digest() == cp1.Hash() {
		t.Fatal("digest is not a distinct field element")
	}
	for name, mutate := range map[string]func(*checkpoint.Checkpoint){
		"skipped epoch": func(c *checkpoint.Checkpoint) { c.Epoch++ },
		"same height":   func(c *checkpoint.Checkpoint) { c.Height = 0 },
		"broken chain":  func(c *checkpoint.Checkpoint) { c.PrevHash[0] ^= 1 },
		"other signers": func(c *checkpoint.Checkpoint) { c.ValidatorSet[31] ^= 1 },
		"other chain":   func(c *checkpoint.Checkpoint) { c.ChainID = "d" },
	} {
		bad := cp1
		mutate(&bad)
		if err := bad.Follows(g); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Every field changes the hash and the digest.
	fields := []func(*checkpoint.Checkpoint){
		func(c *checkpoint.Checkpoint) { c.ChainID += "x" }, func(c *checkpoint.Checkpoint) { c.Epoch++ },
		func(c *checkpoint.Checkpoint) { c.Height++ }, func(c *checkpoint.Checkpoint) { c.AppHash[5] ^= 1 },
		func(c *checkpoint.Checkpoint) { c.PrevHash[5] ^= 1 }, func(c *checkpoint.Checkpoint) { c.ValidatorSet[5] ^= 1 },
		func(c *checkpoint.Checkpoint) { c.NextValidatorSet[5] ^= 1 },
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
