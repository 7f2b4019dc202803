package e2e

import (
	"fmt"
	"strconv"

	"github.com/cometbft/cometbft/crypto"
	"github.com/cometbft/cometbft/crypto/ed25519"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
)

func itoa(i int) string { return strconv.Itoa(i) }

func freshNodeKey() crypto.PrivKey { return ed25519.GenPrivKey() }

func transferMsg(to gmcrypto.Address, amount uint64, c *txpb.Confidential) *txpb.Message {
	return &txpb.Message{Body: &txpb.Message_Transfer{Transfer: &txpb.Transfer{Asset: "CNY", To: to.Bytes(), Amount: amount, Confidential: c,
		Memo: fmt.Sprintf("invoice %d", amount)}}}
}
