package app

import (
	"bytes"
	"context"
	"encoding/hex"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/ed25519"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

func registerMsg(m *txpb.RegisterCheckpointKey) *txpb.Message {
	return &txpb.Message{Body: &txpb.Message_RegisterCheckpointKey{RegisterCheckpointKey: m}}
}

func (n *cpNet) storedRegistration(addr []byte) []byte {
	v, _ := n.store.View(0)
	b, _ := v.Get(permission.SystemLedger, cpKeyKey(hex.EncodeToString(addr)))
	return b
}

// TestRegisterCheckpointKey pins who may register a validator's checkpoint
// key after genesis and what is refused; a refusal names the problem and
// leaves the registration as it was.
func TestRegisterCheckpointKey(t *testing.T) {
	n := newCPNet(t)
	n.block()
	addr := strings.ToUpper(hex.EncodeToString(n.addrs[1]))
	rotated := cpKey(t, "rotated key of validator 1")
	newKey := rotated.Public()
	good := func() *txpb.RegisterCheckpointKey {
		return registration(t, testChain, addr, rotated, n.nodeKeys[1])
	}
	cases := []struct {
		name    string
		from    *gmcrypto.PrivateKey
		org     string
		ledger  string
		msg     func() *txpb.RegisterCheckpointKey
		wantErr string // "" = accepted
	}{
		{"member of the validator's organisation is not admin", n.member, "bankA", permission.SystemLedger, good, "lacks role admin of organisation bankA"},
		{"admin of another organisation", n.otherAdmin, "bankB", permission.SystemLedger, good, "lacks role admin of organisation bankA"},
		{"not on the system channel", n.admin, "bankA", "payments", good, "goes on the _system channel"},
		{"address not hex", n.admin, "bankA", permission.SystemLedger, func() *txpb.RegisterCheckpointKey {
			m := good()
			m.Validator = "node0"
			return m
		}, `validator address "node0" is not 40 hex digits`},
		{"not a validator", n.admin, "bankA", permission.SystemLedger, func() *txpb.RegisterCheckpointKey {
			return registration(t, testChain, strings.Repeat("AB", 20), rotated, n.nodeKeys[1])
		}, "ABABABABABABABABABABABABABABABABABABABAB is not a registered validator"},
		{"SM2 signature by another validator's node key", n.admin, "bankA", permission.SystemLedger, func() *txpb.RegisterCheckpointKey {
			return registration(t, testChain, addr, rotated, n.nodeKeys[2])
		}, "SM2 signature of validator " + addr + " does not verify"},
		{"registration for another chain", n.admin, "bankA", permission.SystemLedger, func() *txpb.RegisterCheckpointKey {
			return registration(t, "other-chain", addr, rotated, n.nodeKeys[1])
		}, "proof of possession of validator " + addr + ": checkpoint signature does not verify"},
		{"malformed checkpoint key", n.admin, "bankA", permission.SystemLedger, func() *txpb.RegisterCheckpointKey {
			m := registration(t, testChain, addr, rotated, n.nodeKeys[1])
			m.CheckpointKey = m.CheckpointKey[:31]
			return m
		}, "checkpoint public key of 31 bytes, want 32"},
		{"no proof of possession", n.admin, "bankA", permission.SystemLedger, func() *txpb.RegisterCheckpointKey {
			m := good()
			m.Possession = nil
			return m
		}, "proof of possession of validator " + addr},
		{"admin of the validator's organisation replaces the key", n.admin, "bankA", permission.SystemLedger, good, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := n.storedRegistration(n.addrs[1])
			res := n.block(n.tx(c.from, c.org, c.ledger, registerMsg(c.msg())))[0]
			after := n.storedRegistration(n.addrs[1])
			if c.wantErr != "" {
				if res.Code == 0 || !strings.Contains(res.Log, c.wantErr) {
					t.Fatalf("code %d log %q, want an error containing %q", res.Code, res.Log, c.wantErr)
				}
				if !bytes.Equal(before, after) {
					t.Fatal("a refused registration changed the stored one")
				}
				return
			}
			if res.Code != 0 {
				t.Fatalf("refused: %s", res.Log)
			}
			v, _ := n.store.View(0)
			if k, _ := checkpointKey(v, addr); !bytes.Equal(k, newKey[:]) {
				t.Fatalf("stored key %x, want %x", k, newKey)
			}
		})
	}
}

// TestCheckpointAtValidatorSetChange: a set-validator proposal that
// changes the checkpoint set makes its height a checkpoint whose next set
// is the new one, signed by the old set; the following checkpoint is
// signed by the new set. A change that leaves the checkpoint set as it was
// (a validator without a checkpoint key) defines no extra checkpoint, and
// registering that validator's key does.
func TestCheckpointAtValidatorSetChange(t *testing.T) {
	n := newCPNet(t)
	ctx := context.Background()
	for range 4 {
		n.block() // 1..4: epochs 1 (height 2) and 2 (height 4, defined by block 5)
	}
	remove := proposeMsg(&txpb.Propose{Action: &txpb.Propose_SetValidator{SetValidator: &txpb.SetValidator{PubKeyEd25519: n.valPubs[3], Power: 0}}})
	res, err := n.app.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: 5, Time: n.now.Add(1e9), Txs: [][]byte{n.tx(n.admin, "bankA", permission.SystemLedger, remove)}})
	if err != nil || res.TxResults[0].Code != 0 || len(res.ValidatorUpdates) != 1 {
		t.Fatalf("block 5: %v %+v", err, res)
	}
	if _, err := n.app.Commit(ctx, &abci.RequestCommit{}); err != nil {
		t.Fatal(err)
	}
	n.height, n.now = 5, n.now.Add(1e9)

	// Vote extensions of height 6 sign the checkpoint of height 5.
	v, _ := n.store.View(0)
	p5, ok, err := n.app.checkpointAt(v, 5, n.store.LastCommit().AppHash)
	if err != nil || !ok {
		t.Fatalf("height 5 changed the validator set but is no checkpoint height: %v", err)
	}
	c3 := p5.Checkpoint
	e2, _, _ := LoadCheckpoint(v, 2)
	if c3.Epoch != 3 || c3.Height != 5 || c3.ValidatorSet != e2.NextValidatorSet || c3.NextValidatorSet == c3.ValidatorSet {
		t.Fatalf("checkpoint at the change: %+v (epoch 2 next set %x)", c3, e2.NextValidatorSet)
	}
	ext, err := n.app.ExtendVote(ctx, &abci.RequestExtendVote{Height: 6})
	if e, _ := DecodeVoteExtension(ext.VoteExtension); err != nil || e.CheckpointSignature == nil {
		t.Fatalf("no checkpoint signature at the set change: %v", err)
	}
	votes := n.votes(&c3) // all four: the old set signs the hand-over
	n.block()             // 6 defines epoch 3
	v, _ = n.store.View(0)
	if stored, ok, _ := LoadCheckpoint(v, 3); !ok || stored != c3 {
		t.Fatalf("stored checkpoint 3: %+v %v", stored, ok)
	}
	if ix, _, _ := LatestCheckpoint(v); ix != (CheckpointIndex{Epoch: 3, Height: 5}) {
		t.Fatalf("cp/latest %+v", ix)
	}
	for h, want := range map[uint64]uint64{2: 1, 4: 2, 5: 3} {
		if e, ok, _ := CheckpointEpochAt(v, h); !ok || e != want {
			t.Fatalf("epoch at height %d: %d %v, want %d", h, e, ok, want)
		}
	}
	if _, ok, _ := CheckpointEpochAt(v, 3); ok {
		t.Fatal("height 3 indexed as a checkpoint")
	}
	if s3, _ := CheckpointSigners(v, 3); len(s3) != 4 {
		t.Fatalf("checkpoint 3 signed by %d validators, want the old 4", len(s3))
	}
	if s4, _ := CheckpointSigners(v, 4); len(s4) != 3 {
		t.Fatalf("checkpoint 4 signed by %d validators, want the new 3", len(s4))
	}
	prep, err := n.app.PrepareProposal(ctx, &abci.RequestPrepareProposal{Height: 7, MaxTxBytes: 1 << 20, LocalLastCommit: abci.ExtendedCommitInfo{Votes: votes}})
	if err != nil || len(prep.Txs) != 1 {
		t.Fatalf("PrepareProposal: %v %v", prep, err)
	}
	n.mustOK(n.block(prep.Txs...)) // 7 stores the QC of height 5; defines epoch 4 (height 6)
	v, _ = n.store.View(0)
	if sigs, ok, _ := CheckpointSignatures(v, c3); !ok || len(sigs) != 4 {
		t.Fatalf("checkpoint 3 collected %d signatures", len(sigs))
	}
	c4, ok, _ := LoadCheckpoint(v, 4)
	if !ok || c4.Height != 6 || c4.ValidatorSet != c3.NextValidatorSet || c4.NextValidatorSet != c4.ValidatorSet {
		t.Fatalf("regular checkpoint after the change: %+v", c4)
	}
	removed := cpSign(t, n.cpPriv[3], c4)
	if err := n.app.verifyCheckpointSignature(v, c4, hex.EncodeToString(n.addrs[3]), removed); err == nil || !strings.Contains(err.Error(), "not in the signing set of checkpoint 4") {
		t.Fatalf("removed validator's signature of checkpoint 4: %v", err)
	}

	// A validator added without a checkpoint key changes CometBFT's set but
	// not the checkpoint set: no extra checkpoint (block 9, odd).
	n.block() // 8
	pk := ed25519.GenPrivKey().PubKey()
	nk := mustKey(t)
	add := proposeMsg(&txpb.Propose{Action: &txpb.Propose_SetValidator{SetValidator: &txpb.SetValidator{
		PubKeyEd25519: pk.Bytes(), Org: "bankA", Name: "val5", Sm2PublicKey: nk.Public().Bytes(), Power: 10}}})
	n.mustOK(n.block(n.tx(n.admin, "bankA", permission.SystemLedger, add))) // 9
	n.block()                                                               // 10
	v, _ = n.store.View(0)
	if ix, _, _ := LatestCheckpoint(v); ix.Height != 8 {
		t.Fatalf("after adding a validator without a checkpoint key, latest checkpoint %+v, want height 8", ix)
	}
	// Registering its key is a change of the checkpoint set (block 11).
	n.mustOK(n.block(n.tx(n.admin, "bankA", permission.SystemLedger, registerMsg(registration(t, testChain, pk.Address().String(), cpKey(t, "val5"), nk)))))
	n.block() // 12 defines the checkpoint of 11
	v, _ = n.store.View(0)
	e, ok, _ := CheckpointEpochAt(v, 11)
	if !ok {
		t.Fatal("height 11 (key registration) is not a checkpoint height")
	}
	c, _, _ := LoadCheckpoint(v, e)
	if next, _ := CheckpointSigners(v, e+1); c.NextValidatorSet == c.ValidatorSet || len(next) != 4 {
		t.Fatalf("checkpoint at the registration: %+v, next set of %d", c, len(next))
	}
}

func (n *cpNet) mustOK(res []*abci.ExecTxResult) {
	n.t.Helper()
	for i, r := range res {
		if r.Code != 0 {
			n.t.Fatalf("tx %d failed: %s", i, r.Log)
		}
	}
}

// TestQCAcrossValidatorSetChange: the QCs of the heights just before and
// at a set change are signed by the old set and counted against its
// powers, so a large addition does not leave them short of quorum (which
// would get every proposal carrying them rejected and halt the chain); a
// proposer that cannot gather a quorum leaves the height without a QC.
func TestQCAcrossValidatorSetChange(t *testing.T) {
	n := newCPNet(t)
	ctx := context.Background()
	n.block() // 1
	n.block() // 2
	votes := map[int64][]abci.ExtendedVoteInfo{2: n.votes(nil)}
	pk := ed25519.GenPrivKey().PubKey()
	add := proposeMsg(&txpb.Propose{Action: &txpb.Propose_SetValidator{SetValidator: &txpb.SetValidator{
		PubKeyEd25519: pk.Bytes(), Org: "bankA", Name: "big", Sm2PublicKey: mustKey(t).Public().Bytes(), Power: 100}}})
	n.mustOK(n.block(n.tx(n.admin, "bankA", permission.SystemLedger, add))) // 3: 40 → 140 power
	votes[3] = n.votes(nil)
	for _, c := range []struct {
		name   string
		qcOf   int64
		wantQC bool
	}{
		{"QC of the height before the change, checked after it", 2, true},
		{"QC of the change height", 3, true},
		{"QC of the height after, without the new validator's signature (40 of 140)", 4, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := c.qcOf + 2
			prep, err := n.app.PrepareProposal(ctx, &abci.RequestPrepareProposal{Height: h, MaxTxBytes: 1 << 20, LocalLastCommit: abci.ExtendedCommitInfo{Votes: votes[c.qcOf]}})
			if err != nil {
				t.Fatal(err)
			}
			if got := len(prep.Txs) == 1 && wire.IsQCTx(prep.Txs[0]); got != c.wantQC {
				t.Fatalf("proposal carries a QC: %v, want %v", got, c.wantQC)
			}
			n.mustOK(n.block(prep.Txs...)) // ProcessProposal accepts
			votes[n.height] = n.votes(nil)
			v, _ := n.store.View(0)
			// The state keeps the QC of a checkpoint height only.
			_, isCheckpoint, err := CheckpointEpochAt(v, uint64(c.qcOf))
			if err != nil {
				t.Fatal(err)
			}
			if qc, _ := LoadQC(v, c.qcOf); (qc != nil) != (c.wantQC && isCheckpoint) {
				t.Fatalf("stored QC of height %d: %v (checkpoint height: %v)", c.qcOf, qc != nil, isCheckpoint)
			}
		})
	}
}
