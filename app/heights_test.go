package app

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/checkpoint"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// TestHeightsDataDriven pins the height arithmetic of QCs and checkpoints
// in scripts (testdata/heights, etcd-raft's style): which block carries the
// QC of which height, whose power counts in it across a validator-set
// change, which heights are checkpoints, which per-height records the
// _system tree keeps. Rewrite the expected output after a deliberate
// change with: go test ./app -run TestHeightsDataDriven -rewrite
//
//	blocks n=N            run N blocks, each carrying the QC of height−2
//	remove-validator i=I  the next block passes a proposal removing validator I
//	records               the per-height records kept in _system
func TestHeightsDataDriven(t *testing.T) {
	datadriven.Walk(t, "testdata/heights", func(t *testing.T, path string) {
		n := newCPNet(t)
		// signed[h] are the votes of height h+1: they sign the state after h.
		signed := map[int64][]abci.ExtendedVoteInfo{}
		run := func(extra ...[]byte) string {
			h := n.height + 1
			prep, err := n.app.PrepareProposal(context.Background(), &abci.RequestPrepareProposal{Height: h, MaxTxBytes: 1 << 20,
				LocalLastCommit: abci.ExtendedCommitInfo{Votes: signed[h-2]}})
			if err != nil {
				t.Fatal(err)
			}
			txs := append(prep.Txs, extra...)
			var line strings.Builder
			fmt.Fprintf(&line, "block %d:", h)
			qcTx := len(prep.Txs) > 0 && wire.IsQCTx(prep.Txs[0])
			// The QC is checked against the state the block starts from.
			var qcLine string
			if qcTx {
				before, err := n.store.View(0)
				if err != nil {
					t.Fatal(err)
				}
				qc, _ := wire.DecodeQCTx(prep.Txs[0])
				vals, _ := qcValidators(before, qc.Height)
				appHash, _ := appHashAt(before, qc.Height)
				rep, err := VerifyQC(qc, testChain, appHash, vals)
				if err != nil {
					t.Fatalf("block %d: QC of %d: %v", h, qc.Height, err)
				}
				qcLine = fmt.Sprintf(" qc of %d (%d signers, power %d of %d)", qc.Height, len(rep.Signers), rep.SignedPower, rep.TotalPower)
			}
			res := n.block(txs...)
			for i, r := range res {
				if r.Code != 0 {
					t.Fatalf("block %d tx %d: %s", h, i, r.Log)
				}
			}
			v, err := n.store.View(0)
			if err != nil {
				t.Fatal(err)
			}
			if qcTx {
				qc, _ := wire.DecodeQCTx(prep.Txs[0])
				line.WriteString(qcLine)
				if kept, _ := LoadQC(v, qc.Height); kept != nil {
					cp, _, _ := n.app.checkpointForQC(v, qc.Height)
					sigs, _, _ := CheckpointSignatures(v, cp)
					fmt.Fprintf(&line, ", kept in state with %d signatures of checkpoint %d", len(sigs), cp.Epoch)
				}
			} else {
				line.WriteString(" no qc")
			}
			// What the votes of h+1 sign besides the app hash: the
			// checkpoint of h, when h is one (ExtendVote's rule).
			pc, isCheckpoint, err := n.app.checkpointAt(v, h, n.store.LastCommit().AppHash)
			if err != nil {
				t.Fatal(err)
			}
			var c *checkpoint.Checkpoint
			if isCheckpoint {
				c = &pc.Checkpoint
				fmt.Fprintf(&line, "; checkpoint %d", c.Epoch)
				if c.NextValidatorSet != c.ValidatorSet {
					line.WriteString(" hands over to a new set")
				}
			}
			signed[h] = n.votes(c)
			return line.String()
		}
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "blocks":
				var k int
				d.ScanArgs(t, "n", &k)
				var out []string
				for range k {
					out = append(out, run())
				}
				return strings.Join(out, "\n") + "\n"
			case "remove-validator":
				var i int
				d.ScanArgs(t, "i", &i)
				remove := proposeMsg(&txpb.Propose{Action: &txpb.Propose_SetValidator{SetValidator: &txpb.SetValidator{PubKeyEd25519: n.valPubs[i], Power: 0}}})
				return run(n.tx(n.admin, "bankA", permission.SystemLedger, remove)) + "\n"
			case "records":
				v, err := n.store.View(0)
				if err != nil {
					t.Fatal(err)
				}
				var out strings.Builder
				for _, r := range []struct{ name, start, end string }{
					{"app hashes", "meta/apphash/", "meta/apphash0"},
					{"registry snapshots", "qc/vals-before/", "qc/vals-before0"},
					{"qcs", "qc/\x00", "qc/\x01"}, // qc/<height 8 BE> below any height of 2^56
				} {
					fmt.Fprintf(&out, "%s:", r.name)
					_ = v.Iterate(permission.SystemLedger, []byte(r.start), []byte(r.end), func(k, _ []byte) bool {
						fmt.Fprintf(&out, " %d", binary.BigEndian.Uint64(k[len(k)-8:]))
						return true
					})
					out.WriteString("\n")
				}
				return out.String()
			}
			return "unknown command " + d.Cmd
		})
	})
}
