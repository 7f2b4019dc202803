package regulator

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestOnChainThresholdOverridesRuleFile: a large-amount threshold set on
// chain (SetAMLThreshold) replaces the rule file's from its block on, and
// clearing it brings the file's back.
func TestOnChainThresholdOverridesRuleFile(t *testing.T) {
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	w := &workload{rng: rand.New(rand.NewPCG(7, 11)), ordinary: map[string]bool{}, bal: map[string]uint64{}, orgs: map[string]string{}, start: start}
	w.genesis = Genesis{ChainID: "thresholds", Time: start.Add(-time.Hour)}
	for h := range 5 {
		w.blocks = append(w.blocks, &Block{Height: int64(h + 1), Time: start.Add(time.Duration(h) * time.Hour)})
	}
	from, to := w.account("bankA", wlFunding), w.account("bankB", 0)
	reg := w.account("regulator", 0)
	setThreshold := func(h int, amount uint64) {
		b := w.blocks[h]
		b.Txs = append(b.Txs, Tx{ID: w.txid(), Index: len(b.Txs), Ledger: "_system", Sender: reg, Org: "regulator", Type: "set_aml_threshold",
			Parties: []string{reg}, Thresholds: []ThresholdChange{{Ledger: "payments", Asset: "CNY", Amount: amount}}})
	}
	w.transfer(0, from, to, 3_000_000) // below the file's 5,000,000
	setThreshold(1, 1_000_000)
	large := w.transfer(2, from, to, 3_000_000) // above the on-chain 1,000,000
	setThreshold(3, 0)
	w.transfer(4, from, to, 3_000_000) // the file's threshold again

	ix, err := OpenIndex("")
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if err := ix.InitGenesis(w.genesis); err != nil {
		t.Fatal(err)
	}
	var got []Alert
	for _, a := range runWorkload(t, ix, w, testEngine(t), 0, len(w.blocks)) {
		if a.Rule == RuleLarge {
			got = append(got, a)
		}
	}
	if len(got) != 1 || len(got[0].TxIDs) != 1 || got[0].TxIDs[0] != large {
		t.Fatalf("large-amount alerts %+v, want exactly one for %s", got, large)
	}
}
