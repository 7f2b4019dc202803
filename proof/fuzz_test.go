package proof

import (
	"os"
	"testing"
)

// FuzzDecode: the decoder of outside bytes never panics, what it accepts
// re-encodes to a bundle it accepts again, and Verify of it never panics.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"format":1,"kind":"qc","chain_id":"c","height":1,"app_hash":"` + hex32 + `","ledger_roots":[{"name":"_system","root":"` + hex32 + `"}],"certificate":{"qc":{"chain_id":"c","height":1,"app_hash":"` + hex32 + `","signatures":[]},"registry":[]},"light_blocks":["0A00"]}`))
	f.Add([]byte(`{"format":1,"kind":"state","chain_id":"c","height":2,"app_hash":"` + hex32 + `","ledger_roots":[{"name":"a","root":"00"}],"state":{"entries":[{"ledger":"a","key":"6B","value":null,"proof":"0A"}]},"certificate":{"qc":{"chain_id":"c","height":2,"app_hash":null,"signatures":[]},"registry":[]},"light_blocks":[]}`))
	f.Add([]byte(`{"format":1,"kind":"tx","chain_id":"c","height":2,"app_hash":"` + hex32 + `","ledger_roots":[{"name":"a","root":"00"}],"tx":{"id":"00","index":0,"tx":"0A","code":0,"header":"0A","data_proof":{"total":1,"index":0,"leaf_hash":"00","aunts":[]},"result":{"code":0,"data":"","gas_wanted":0,"gas_used":0},"result_proof":{"total":1,"index":0,"leaf_hash":"00","aunts":[]},"results":{"ledger":"_system","key":"6B","value":"00","proof":"0A"},"results_path":[]},"certificate":{"qc":{"chain_id":"c","height":2,"app_hash":null,"signatures":[]},"registry":[]},"light_blocks":[]}`))
	for _, name := range []string{"testdata/state.json", "testdata/tx.json"} {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Decode(data)
		if err != nil {
			return
		}
		enc, err := b.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(enc); err != nil {
			t.Fatalf("re-encoded bundle refused: %v", err)
		}
		_, _ = Verify(b, Trust{Height: 1, Hash: make([]byte, 32)})
		_, _ = Verify(b, Trust{})
	})
}

const hex32 = "0000000000000000000000000000000000000000000000000000000000000000"
