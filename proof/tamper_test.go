package proof_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/jinlian-ledger/jinlian/proof"
)

// fieldErrors is, by JSON path prefix (longest wins), the errors a flip of
// that field may give: each names the field or the step that caught it.
var fieldErrors = map[string][]error{
	"format":               {proof.ErrMalformed},
	"kind":                 {proof.ErrKind},
	"chain_id":             {proof.ErrChain},
	"height":               {proof.ErrHeaders},
	"app_hash":             {proof.ErrAppHash},
	"ledger_roots":         {proof.ErrLedgerRoots},
	"certificate.qc":       {proof.ErrCertificate},
	"certificate.registry": {proof.ErrRegistry},
	"state.entries":        {proof.ErrState},
	"tx.id":                {proof.ErrTxID},
	"tx.tx":                {proof.ErrTxID, proof.ErrTxData},
	"tx.index":             {proof.ErrTxData},
	"tx.code":              {proof.ErrTxResult},
	"tx.header":            {proof.ErrTxHeader},
	"tx.data_proof":        {proof.ErrTxData},
	"tx.result":            {proof.ErrTxResult},
	"tx.result_proof":      {proof.ErrTxResult},
	"tx.results":           {proof.ErrTxResults},
	"tx.results_path":      {proof.ErrTxResults},
}

func expected(path string) []error {
	best := ""
	for p := range fieldErrors {
		if (path == p || strings.HasPrefix(path, p+".") || strings.HasPrefix(path, p+"[")) && len(p) > len(best) {
			best = p
		}
	}
	return fieldErrors[best]
}

// flips returns, for every leaf of the bundle's JSON except the light
// blocks (cases of their own below), the bundle with that leaf changed:
// a hex string's last digit flipped, a number plus one, a null set.
func flips(t *testing.T, b *proof.Bundle) map[string][]byte {
	t.Helper()
	raw, _ := b.Encode()
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	var walk func(path string, v any, set func(any))
	walk = func(path string, v any, set func(any)) {
		switch x := v.(type) {
		case map[string]any:
			for k, vv := range x {
				p := k
				if path != "" {
					p = path + "." + k
				}
				walk(p, vv, func(n any) { x[k] = n })
			}
			return
		case []any:
			if path == "light_blocks" {
				return
			}
			for i, vv := range x {
				walk(fmt.Sprintf("%s[%d]", path, i), vv, func(n any) { x[i] = n })
			}
			return
		case string:
			n := x + "x"
			if x == "" {
				n = "00"
			} else if last := x[len(x)-1]; strings.ContainsRune("0123456789ABCDEF", rune(last)) && path != "chain_id" && path != "kind" && !strings.HasSuffix(path, ".ledger") && !strings.HasSuffix(path, ".side") && !strings.HasSuffix(path, "qc.chain_id") {
				n = x[:len(x)-1] + string("1032547698BADCFE"[strings.IndexByte("0123456789ABCDEF", last)])
			} else if strings.HasSuffix(path, ".side") {
				n = map[string]string{"left": "right", "right": "left"}[x]
			}
			set(n)
		case float64:
			set(x + 1)
		case nil:
			set("00")
		case bool:
			set(!x)
		}
		b, _ := json.Marshal(doc)
		out[path] = b
		set(v)
	}
	walk("", doc, nil)
	return out
}

func TestEveryFieldFlipped(t *testing.T) {
	ch := startChain(t)
	trust := proof.Trust{Genesis: ch.Genesis}
	for _, bc := range []struct {
		name string
		b    *proof.Bundle
	}{{"state", ch.State}, {"tx", ch.Tx}, {"qc", ch.QC}} {
		fl := flips(t, bc.b)
		paths := make([]string, 0, len(fl))
		for p := range fl {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		for _, p := range paths {
			t.Run(bc.name+"/"+p, func(t *testing.T) {
				b, err := proof.Decode(fl[p])
				if err == nil {
					_, err = proof.Verify(b, trust)
				}
				if err == nil {
					t.Fatal("accepted")
				}
				want := expected(p)
				for _, w := range append(want, proof.ErrMalformed) {
					if errors.Is(err, w) {
						return
					}
				}
				t.Fatalf("got %v, want one of %v", err, want)
			})
		}
	}
}

// TestLightBlocksTampered: the header chain, its trusted start and its
// end are each checked.
func TestLightBlocksTampered(t *testing.T) {
	ch := startChain(t)
	trust := proof.Trust{Genesis: ch.Genesis}
	for _, c := range []struct {
		name   string
		change func(b *proof.Bundle)
		want   error
	}{
		{"no light blocks", func(b *proof.Bundle) { b.LightBlocks = nil }, proof.ErrHeaders},
		{"the last dropped", func(b *proof.Bundle) { b.LightBlocks = b.LightBlocks[:len(b.LightBlocks)-1] }, proof.ErrHeaders},
		{"the first dropped", func(b *proof.Bundle) { b.LightBlocks = b.LightBlocks[1:] }, proof.ErrTrust},
		{"a header's app hash changed", func(b *proof.Bundle) {
			reencodeLast(t, b, func(lb *cmttypes.LightBlock) { lb.AppHash = make([]byte, 32) })
		}, proof.ErrHeaders},
		{"the last commit's signatures dropped", func(b *proof.Bundle) {
			reencodeLast(t, b, func(lb *cmttypes.LightBlock) {
				for i := range lb.Commit.Signatures {
					lb.Commit.Signatures[i] = cmttypes.NewCommitSigAbsent()
				}
			})
		}, proof.ErrHeaders},
		{"the last block's validator set swapped for another", func(b *proof.Bundle) {
			reencodeLast(t, b, func(lb *cmttypes.LightBlock) {
				lb.ValidatorSet, _ = cmttypes.RandValidatorSet(lb.ValidatorSet.Size(), 10)
			})
		}, proof.ErrHeaders},
		{"another set claiming the header, with the header's hash rewritten", func(b *proof.Bundle) {
			reencodeLast(t, b, func(lb *cmttypes.LightBlock) {
				lb.ValidatorSet, _ = cmttypes.RandValidatorSet(lb.ValidatorSet.Size(), 10)
				lb.ValidatorsHash = lb.ValidatorSet.Hash()
			})
		}, proof.ErrHeaders},
		{"a light block's bytes cut", func(b *proof.Bundle) { b.LightBlocks[0] = b.LightBlocks[0][:10] }, proof.ErrHeaders},
		{"the blocks out of order", func(b *proof.Bundle) {
			b.LightBlocks = append(b.LightBlocks, b.LightBlocks[0])
		}, proof.ErrHeaders},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := reencode(t, ch.Tx)
			c.change(b)
			if _, err := proof.Verify(b, trust); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

// TestNodeLyingAboutTheRegistry plays a node that serves, for a
// validator's SM2 key, a proof of another key of the state that does
// verify under the app hash (a balance), or drops the registration: the
// SM2 keys must be the registrations of the verified set, proven.
func TestNodeLyingAboutTheRegistry(t *testing.T) {
	ch := startChain(t)
	trust := proof.Trust{Genesis: ch.Genesis}
	for _, c := range []struct {
		name   string
		change func(b *proof.Bundle)
	}{
		{"another proven key in place of a registration", func(b *proof.Bundle) {
			b.Certificate.Registry[0] = ch.State.State.Entries[0]
		}},
		{"a registration proven of another key", func(b *proof.Bundle) {
			b.Certificate.Registry[0].Key = append(b.Certificate.Registry[0].Key, 'x')
		}},
		{"no registrations", func(b *proof.Bundle) { b.Certificate.Registry = nil }},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := reencode(t, ch.State)
			c.change(b)
			if _, err := proof.Verify(b, trust); !errors.Is(err, proof.ErrRegistry) {
				t.Fatalf("got %v, want %v", err, proof.ErrRegistry)
			}
		})
	}
}

// reencodeLast changes the bundle's last light block.
func reencodeLast(t *testing.T, b *proof.Bundle, change func(*cmttypes.LightBlock)) {
	t.Helper()
	last := len(b.LightBlocks) - 1
	lb := lightBlock(t, b, last)
	change(lb)
	enc, err := lb.ToProto()
	if err != nil {
		t.Fatal(err)
	}
	if b.LightBlocks[last], err = enc.Marshal(); err != nil {
		t.Fatal(err)
	}
}
