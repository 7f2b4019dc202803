package regulator

import (
	"errors"
	"fmt"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// ErrNotConfidential is returned for a transaction without a payload.
var ErrNotConfidential = errors.New("transaction carries no confidential payload")

// ErrNotReader is returned when the key holds no wrapped data key.
var ErrNotReader = errors.New("not a reader of this payload")

// DecryptTx opens the confidential payload of a raw transaction with key.
// Only the parties (sender, recipient) and the registered regulators hold
// a wrapped data key; anyone else gets ErrNotReader.
func DecryptTx(raw []byte, key *gmcrypto.PrivateKey) ([]byte, error) {
	d, err := wire.DecodeTx(raw)
	if err != nil {
		return nil, err
	}
	t, ok := d.Msg.Body.(*txpb.Message_Transfer)
	if !ok || t.Transfer.Confidential == nil {
		return nil, fmt.Errorf("tx %s: %w", d.ID, ErrNotConfidential)
	}
	c := t.Transfer.Confidential
	me := key.Public().Address()
	reader := false
	for _, k := range c.Keys {
		if a, err := gmcrypto.AddressFromBytes(k.Reader); err == nil && a == me {
			reader = true
		}
	}
	if !reader {
		return nil, fmt.Errorf("tx %s: %s is %w: only the sender, the recipient and the registered regulators can decrypt it", d.ID, me, ErrNotReader)
	}
	pt, err := wire.OpenConfidential(c, key)
	if err != nil {
		return nil, fmt.Errorf("tx %s: %w", d.ID, err)
	}
	return pt, nil
}
