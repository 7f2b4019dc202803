package wire

import (
	"bytes"
	"fmt"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
)

// Confidential payloads: SM4-GCM ciphertext with its key shared, by SM2
// key agreement, to every reader (gmcrypto.SealShared; ADR 0008).

// ConfidentialAAD is the SM4-GCM additional data of confidential payloads.
var ConfidentialAAD = []byte("jinlian/confidential/v2")

// SealConfidential encrypts plaintext for readers (the sender's, the
// recipient's and every registered escrow public key) the way the
// state machine checks them (app: checkConfidential).
func SealConfidential(plaintext []byte, readers []*gmcrypto.PublicKey) (*txpb.Confidential, error) {
	var uniq []*gmcrypto.PublicKey
	seen := map[gmcrypto.Address]bool{}
	for _, r := range readers {
		if !seen[r.Address()] {
			seen[r.Address()] = true
			uniq = append(uniq, r)
		}
	}
	ct, shares, proof, err := gmcrypto.SealShared(plaintext, ConfidentialAAD, uniq)
	if err != nil {
		return nil, err
	}
	out := &txpb.Confidential{Ciphertext: ct, Proof: proof}
	for i, r := range uniq {
		out.Keys = append(out.Keys, &txpb.WrappedKey{Reader: r.Address().Bytes(), Wrapped: shares[i], PublicKey: r.Bytes()})
	}
	return out, nil
}

// OpenConfidential decrypts a payload with the reader's private key; it
// fails clearly when the reader holds no share.
func OpenConfidential(c *txpb.Confidential, key *gmcrypto.PrivateKey) ([]byte, error) {
	me := key.Public().Address()
	for _, k := range c.Keys {
		if !bytes.Equal(k.Reader, me[:]) {
			continue
		}
		return key.OpenShared(c.Ciphertext, ConfidentialAAD, k.Wrapped)
	}
	return nil, fmt.Errorf("%s is not a reader of this payload: only the parties and registered regulators can decrypt it", me)
}
