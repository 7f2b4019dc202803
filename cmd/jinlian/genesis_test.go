package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/node/localnet"
)

func TestGenesisValidate(t *testing.T) {
	ln, err := localnet.Prepare(localnet.Options{Home: filepath.Join(t.TempDir(), "ln"), Validators: 1, BasePort: 27970})
	if err != nil {
		t.Fatal(err)
	}
	c, err := consensus.LoadConfig(ln.Network.Nodes[0].Home)
	if err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(c.GenesisFile())
	if err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "genesis", "validate", c.GenesisFile(), "-o", "json")
	var rep genesisReport
	if err != nil || json.Unmarshal([]byte(out), &rep) != nil || !rep.Valid || !rep.Checkpoints || rep.ChainID != ln.Network.ChainID {
		t.Fatalf("the localnet's genesis: %v %s", err, out)
	}

	// Variants of the same genesis, each broken in one way.
	edit := func(f func(doc map[string]any, st map[string]any)) string {
		var doc map[string]any
		if err := json.Unmarshal(good, &doc); err != nil {
			t.Fatal(err)
		}
		st := doc["app_state"].(map[string]any)
		f(doc, st)
		b, _ := json.Marshal(doc)
		p := filepath.Join(t.TempDir(), "genesis.json")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name    string
		f       func(doc, st map[string]any)
		wantErr string // "" : valid, with warning wantWarn
		warn    string
	}{
		{"duplicate organisation", func(_, st map[string]any) {
			orgs := st["organisations"].([]any)
			st["organisations"] = append(orgs, orgs[0])
		}, "listed twice", ""},
		{"incomplete consensus params", func(doc, _ map[string]any) {
			doc["consensus_params"] = map[string]any{"abci": map[string]any{"vote_extensions_enable_height": "1"}}
		}, "consensus_params is incomplete: block, evidence, validator missing", ""},
		{"checkpoint key without its proof of possession", func(_, st map[string]any) {
			k := st["checkpoint_keys"].([]any)[0].(map[string]any)
			k["possession"] = strings.Repeat("00", 64)
		}, "checkpoint key of validator", ""},
		{"no committee", func(_, st map[string]any) {
			for _, id := range st["identities"].([]any) {
				m := id.(map[string]any)
				var roles []any
				for _, r := range m["roles"].([]any) {
					if r != "committee" {
						roles = append(roles, r)
					}
				}
				m["roles"] = roles
			}
		}, "no identity holds the committee role", ""},
		{"no registered nodes", func(_, st map[string]any) { delete(st, "nodes") }, "app_state.nodes is empty", ""},
		{"duplicate validator", func(doc, _ map[string]any) {
			vals := doc["validators"].([]any)
			doc["validators"] = append(vals, vals[0])
		}, "listed twice in validators", ""},
		{"checkpoints off", func(_, st map[string]any) {
			p := st["params"].(map[string]any)
			delete(p, "checkpoint_interval")
			delete(st, "checkpoint_keys")
		}, "", "checkpoints are off"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runCLI(t, "genesis", "validate", edit(tc.f))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one naming %q\n%s", err, tc.wantErr, out)
				}
				return
			}
			if err != nil || !strings.Contains(out, "warning: ") || !strings.Contains(out, tc.warn) {
				t.Fatalf("%v\n%s", err, out)
			}
		})
	}
}
