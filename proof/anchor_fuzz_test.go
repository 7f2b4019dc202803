package proof

import (
	"encoding/json"
	"errors"
	"testing"
)

// FuzzAnchoredAt: an Ethereum endpoint's eth_getLogs answer is outside
// bytes. Whatever it sends, anchoredAt returns a report of the height
// asked for, or a named error; it never panics.
func FuzzAnchoredAt(f *testing.F) {
	word := func(b byte) string {
		w := make([]byte, 64)
		for i := range w {
			w[i] = '0'
		}
		w[63] = "0123456789abcdef"[b%16]
		return string(w)
	}
	good := `[{"topics":["0xaa","0x` + word(3) + `"],"data":"0x` + word(7) + word(1) + word(2) + word(0) + `","blockNumber":"0x10","transactionHash":"0xbb"}]`
	f.Add([]byte(good), uint64(7))
	f.Add([]byte(good), uint64(8))
	f.Add([]byte(`[{"removed":true}]`), uint64(1))
	f.Add([]byte(`[{"topics":["0xaa"],"data":"0x"}]`), uint64(1))
	f.Add([]byte(`{"not":"a list"}`), uint64(1))
	f.Fuzz(func(t *testing.T, raw []byte, height uint64) {
		r, err := anchoredAt(json.RawMessage(raw), height)
		switch {
		case err == nil && r.Height != height:
			t.Fatalf("report of height %d for %d", r.Height, height)
		case err != nil && !errors.Is(err, ErrEthereum) && !errors.Is(err, ErrNotAnchored):
			t.Fatalf("unnamed error %v", err)
		}
	})
}
