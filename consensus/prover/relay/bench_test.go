package relay

import (
	"context"
	"testing"

	"github.com/ethereum/go-ethereum/params"

	"github.com/jinlian-ledger/jinlian/checkpoint"
	"github.com/jinlian-ledger/jinlian/consensus/prover"
	"github.com/jinlian-ledger/jinlian/consensus/prover/checkpointtest"
	"github.com/jinlian-ledger/jinlian/consensus/prover/relay/devchain"
)

// BenchmarkSubmitCheckpointGas reports the gas of one submitCheckpoint with
// the development verifier (8 slots; the verifier's cost does not depend on
// the slot count, only on the two public inputs). rules=live is what
// mainnet charges; rules=geth-dev is go-ethereum's dev configuration with
// the unscheduled Bogota fork, shown only to explain why devchain.LiveRules exists.
//
//	go test -run x -bench SubmitCheckpointGas ./consensus/prover/relay
func BenchmarkSubmitCheckpointGas(b *testing.B) {
	for _, rc := range []struct {
		name  string
		rules *params.ChainConfig
	}{{"live", devchain.LiveRules()}, {"geth-dev", params.AllDevChainProtocolChanges}} {
		b.Run("rules="+rc.name, func(b *testing.B) {
			p := dev(b)
			keys, vals := checkpointtest.Validators(b, 1, 10, 10, 10, 10)
			g := checkpointtest.Genesis(b, "jinlian-gas", vals, prover.DevSlots)
			cps := []checkpoint.Checkpoint{checkpointtest.Next(g, 20, "a")}
			cps = append(cps, checkpointtest.Next(cps[0], 40, "b"))
			proofs := []prover.Proof{prove(b, p, keys, vals, cps[0], 0, 1, 2), prove(b, p, keys, vals, cps[1], 0, 1, 2)}
			var gas uint64
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				sim, err := devchain.NewWith(rc.rules, "")
				if err != nil {
					b.Fatal(err)
				}
				ctx := context.Background()
				addr, err := Deploy(ctx, sim.Client(), sim.Auth, g, sim.Mine)
				if err != nil {
					b.Fatal(err)
				}
				r, _ := New(sim.Client(), addr, sim.Auth, Config{Mine: sim.Mine})
				if _, err := r.Submit(ctx, cps[0], proofs[0]); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				res, err := r.Submit(ctx, cps[1], proofs[1])
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				gas = res.GasUsed
				sim.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(gas), "gas/submit")
		})
	}
}
