package movement

// Fuzz targets for the decoders of outside bytes: a commitment as a state
// proof delivers it, events as a node's block results deliver them. Run with
//   go test ./movement -run '^$' -fuzz FuzzDecodeCommitment -fuzztime 1m

import (
	"bytes"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
)

func FuzzDecodeCommitment(f *testing.F) {
	c := Commitment{Count: 3, Balance: 9}
	c.Chain[5] = 1
	f.Add(c.Encode())
	f.Add(Commitment{Balance: 1}.Encode())
	f.Add([]byte{})
	f.Add(make([]byte, CommitmentSize+1))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCommitment(b)
		if err != nil {
			return
		}
		if !bytes.Equal(c.Encode(), b) {
			t.Fatalf("DecodeCommitment(%x) = %+v, which encodes as %x", b, c, c.Encode())
		}
	})
}

// FuzzFromEvents: events as a node's block results deliver them; any
// attribute values decode to movements or to an error, never a panic.
func FuzzFromEvents(f *testing.F) {
	f.Add("transfer", "payments", "CNY", alice, bob, "5", "1", "2", "memo", "false")
	f.Add("redemption_settled", "payments", "CNY", alice, bob, "5", "1", "2", "no", "true")
	f.Add("burn", "", "", "", "", "-1", "x", "", "", "")
	f.Fuzz(func(t *testing.T, typ, ledger, asset, from, to, amount, fromBal, toBal, memo, rejected string) {
		ev := abci.Event{Type: typ, Attributes: []abci.EventAttribute{
			{Key: "ledger", Value: ledger}, {Key: "asset", Value: asset}, {Key: "from", Value: from}, {Key: "to", Value: to},
			{Key: "amount", Value: amount}, {Key: "from_balance", Value: fromBal}, {Key: "to_balance", Value: toBal},
			{Key: "memo", Value: memo}, {Key: "rejected", Value: rejected},
		}}
		ms, err := FromEvents(1, 0, txA, alice, []abci.Event{ev})
		if err != nil {
			return
		}
		for _, m := range ms {
			_, _ = Encode(m) // refuses what has no canonical form, never panics
		}
	})
}
