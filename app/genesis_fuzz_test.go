package app

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzParseGenesis: app_state comes from a genesis file a bank is handed;
// parsing never panics, and what parses survives a JSON round trip
// unchanged, so every node reads the same genesis from the same bytes.
func FuzzParseGenesis(f *testing.F) {
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"organisations":[{"id":"bankA"}],"identities":[{"address":"18b0e68ee61a40e07767def84e33ee0cc9e788cd","org":"bankA","roles":["member"]}]}`))
	f.Add([]byte(`{"ledgers":[{"name":"payments","assets":[{"symbol":"CNY","issuer":"bankA","decimals":2,"supply_cap":"100"}],"balances":[{"asset":"CNY","account":"18b0e68ee61a40e07767def84e33ee0cc9e788cd","amount":"5"}]}]}`))
	f.Add([]byte(`{"params":{"checkpoint_interval":10,"checkpoint_slots":8},"unknown":1}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := ParseGenesis(b)
		if err != nil {
			return
		}
		again, err := json.Marshal(g)
		if err != nil {
			t.Fatalf("parsed genesis does not marshal: %v", err)
		}
		g2, err := ParseGenesis(again)
		if err != nil {
			t.Fatalf("re-marshalled genesis does not parse: %v\n%s", err, again)
		}
		if !reflect.DeepEqual(g, g2) {
			t.Fatalf("genesis changed in a round trip:\n%+v\n%+v", g, g2)
		}
	})
}
