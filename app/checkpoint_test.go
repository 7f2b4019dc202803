package app

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/ed25519"
	cryptoenc "github.com/cometbft/cometbft/crypto/encoding"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"google.golang.org/protobuf/proto"

	"github.com/jinlian-ledger/jinlian/checkpoint"
	"github.com/jinlian-ledger/jinlian/contracts/payments"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// cpKey is validator i's checkpoint key of a test network: real EdDSA keys
// of the checkpoint core, from a fixed seed so runs are reproducible.
func cpKey(t *testing.T, seed string) *checkpoint.CheckpointKey {
	t.Helper()
	h := gmcrypto.SM3([]byte("jinlian/app-test/checkpoint-key/" + seed))
	k, err := checkpoint.GenerateKey(bytes.NewReader(bytes.Repeat(h[:], 8)))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// cpSign is key's checkpoint signature over c's digest.
func cpSign(t testing.TB, key *checkpoint.CheckpointKey, c checkpoint.Checkpoint) []byte {
	t.Helper()
	sig, err := key.Sign(c.Digest())
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// registration is what `jinlian checkpoint register` sends for validator
// addr, signed by node key nk.
func registration(t *testing.T, chain, addr string, key *checkpoint.CheckpointKey, nk *gmcrypto.PrivateKey) *txpb.RegisterCheckpointKey {
	t.Helper()
	r, err := checkpoint.Register(chain, addr, key, nk)
	if err != nil {
		t.Fatal(err)
	}
	return &txpb.RegisterCheckpointKey{Validator: r.Validator, CheckpointKey: r.CheckpointKey, Possession: r.Possession, Sm2Signature: r.SM2Signature}
}

type cpNet struct {
	*qcNet
	cpKeys  [][]byte // public
	cpPriv  []*checkpoint.CheckpointKey
	valPubs [][]byte // ed25519 consensus keys
	// admin is bankA's admin and (sole) committee member, so its proposals
	// pass at once; member is a bankA member; otherAdmin is bankB's admin.
	admin, member, otherAdmin *gmcrypto.PrivateKey
}

// newCPNet is qcNet with checkpoints every 2 blocks, 5 slots.
func newCPNet(t *testing.T) *cpNet {
	t.Helper()
	n := &cpNet{qcNet: &qcNet{}, admin: mustKey(t), member: mustKey(t), otherAdmin: mustKey(t)}
	g := GenesisState{
		Organisations: []permission.Organisation{{ID: "bankA"}, {ID: "bankB"}},
		Identities: []permission.Identity{
			{Address: n.admin.Public().Address().String(), Org: "bankA", Roles: []string{"admin", "committee"}},
			{Address: n.member.Public().Address().String(), Org: "bankA", Roles: []string{"member"}},
			{Address: n.otherAdmin.Public().Address().String(), Org: "bankB", Roles: []string{"admin"}},
		},
		Ledgers: []GenesisLedger{{Name: "payments", Assets: []payments.Asset{{Symbol: "CNY", Issuer: "bankA"}}}},
		Params:  Params{TxTimeWindowSeconds: 600, CheckpointInterval: 2, CheckpointSlots: 5},
	}
	var updates []abci.ValidatorUpdate
	for i := 0; i < 4; i++ {
		pk := ed25519.GenPrivKey().PubKey()
		pp, _ := cryptoenc.PubKeyToProto(pk)
		updates = append(updates, abci.ValidatorUpdate{PubKey: pp, Power: 10})
		nk := mustKey(t)
		n.nodeKeys = append(n.nodeKeys, nk)
		n.addrs = append(n.addrs, pk.Address())
		n.valPubs = append(n.valPubs, pk.Bytes())
		addr := pk.Address().String()
		g.Validators = append(g.Validators, permission.Validator{Org: "bankA", Address: addr, SM2PublicKey: hex.EncodeToString(nk.Public().Bytes())})
		key := cpKey(t, fmt.Sprint(i))
		n.cpPriv = append(n.cpPriv, key)
		n.cpKeys = append(n.cpKeys, key.Public())
		r, err := checkpoint.Register(testChain, addr, key, nk)
		if err != nil {
			t.Fatal(err)
		}
		r.ChainID = "" // a genesis registers for its own chain
		g.CheckpointKeys = append(g.CheckpointKeys, r)
	}
	b, _ := json.Marshal(g)
	store, err := ledger.Open(t.TempDir(), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	a, err := New(store, Options{NodeKey: n.nodeKeys[0],
		SignCheckpoint: func(registered []byte, d [32]byte) ([]byte, error) {
			if !bytes.Equal(registered, n.cpKeys[0]) {
				return nil, ErrNoCheckpointKey
			}
			return n.cpPriv[0].Sign(d)
		}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.InitChain(context.Background(), &abci.RequestInitChain{ChainId: testChain, Time: genesisTime, AppStateBytes: b, Validators: updates}); err != nil {
		t.Fatal(err)
	}
	n.harness = &harness{t: t, app: a, store: store, now: genesisTime}
	return n
}

// votes are the four validators' extensions for the next height, with
// checkpoint signatures over c when c is not nil.
func (n *cpNet) votes(c *checkpoint.Checkpoint) []abci.ExtendedVoteInfo {
	ci := n.store.LastCommit()
	msg := QCSignBytes(testChain, ci.Height, ci.AppHash)
	var out []abci.ExtendedVoteInfo
	for i, k := range n.nodeKeys {
		sig, _ := k.Sign(msg)
		ext := VoteExtension{SM2Signature: sig}
		if c != nil {
			ext.CheckpointSignature = cpSign(n.t, n.cpPriv[i], *c)
		}
		out = append(out, abci.ExtendedVoteInfo{Validator: abci.Validator{Address: n.addrs[i], Power: 10},
			VoteExtension: EncodeVoteExtension(ext), BlockIdFlag: cmtproto.BlockIDFlagCommit})
	}
	return out
}

func TestCheckpointLifecycle(t *testing.T) {
	n := newCPNet(t)
	ctx := context.Background()
	n.block() // 1
	// Height 1 is not a checkpoint height: the extension is the raw SM2 signature.
	ext, err := n.app.ExtendVote(ctx, &abci.RequestExtendVote{Height: 2})
	if err != nil || ext.VoteExtension[0] != 0x30 {
		t.Fatalf("extension at a plain height: %x %v", ext.VoteExtension, err)
	}
	n.block() // 2: a checkpoint height
	ext, err = n.app.ExtendVote(ctx, &abci.RequestExtendVote{Height: 3})
	if err != nil {
		t.Fatal(err)
	}
	e, err := DecodeVoteExtension(ext.VoteExtension)
	if err != nil || e.CheckpointSignature == nil {
		t.Fatalf("extension at checkpoint height 2: %+v %v", e, err)
	}
	verify := func(addr, raw []byte) abci.ResponseVerifyVoteExtension_VerifyStatus {
		r, err := n.app.VerifyVoteExtension(ctx, &abci.RequestVerifyVoteExtension{Height: 3, ValidatorAddress: addr, VoteExtension: raw})
		if err != nil {
			t.Fatal(err)
		}
		return r.Status
	}
	bad := e
	bad.CheckpointSignature = append([]byte{}, e.CheckpointSignature...)
	bad.CheckpointSignature[0] ^= 1
	if verify(n.addrs[0], ext.VoteExtension) != abci.ResponseVerifyVoteExtension_ACCEPT {
		t.Fatal("own checkpoint extension rejected")
	}
	if verify(n.addrs[0], EncodeVoteExtension(bad)) != abci.ResponseVerifyVoteExtension_REJECT {
		t.Fatal("extension with a bad checkpoint signature accepted")
	}

	v, _ := n.store.View(0)
	p1, ok, err := n.app.checkpointAt(v, 2, n.store.LastCommit().AppHash)
	c1 := p1.Checkpoint
	if err != nil || !ok || c1.Epoch != 1 {
		t.Fatalf("checkpoint of height 2: %+v %v %v", c1, ok, err)
	}
	g0, _, _ := LoadCheckpoint(v, 0)
	if c1.PrevHash != g0.Hash() || c1.ValidatorSet != g0.NextValidatorSet {
		t.Fatal("checkpoint 1 does not chain to epoch 0")
	}
	votes := n.votes(&c1)
	n.block() // 3 defines checkpoint 1
	v, _ = n.store.View(0)
	if stored, ok, _ := LoadCheckpoint(v, 1); !ok || stored != c1 {
		t.Fatalf("stored checkpoint 1: %+v", stored)
	}
	prep, err := n.app.PrepareProposal(ctx, &abci.RequestPrepareProposal{Height: 4, MaxTxBytes: 1 << 20, LocalLastCommit: abci.ExtendedCommitInfo{Votes: votes}})
	if err != nil || len(prep.Txs) != 1 {
		t.Fatalf("PrepareProposal: %v %v", prep, err)
	}
	qc, _ := wire.DecodeQCTx(prep.Txs[0])
	// A proposer that swaps a validator's checkpoint signature for garbage
	// (its SM2 signature does not cover it) is rejected.
	swapped := proto.Clone(qc).(*txpbQC)
	se, _ := DecodeVoteExtension(swapped.Signatures[1].Signature)
	se.CheckpointSignature = bytes.Repeat([]byte{1}, 32)
	swapped.Signatures[1].Signature = EncodeVoteExtension(se)
	raw, _ := wire.EncodeQCTx(swapped)
	if pp, _ := n.app.ProcessProposal(ctx, &abci.RequestProcessProposal{Txs: [][]byte{raw}, Height: 4}); pp.Status != abci.ResponseProcessProposal_REJECT {
		t.Fatal("QC with a garbage checkpoint signature accepted")
	}
	// What a prover reads over RPC (QueryCheckpoint): defined, not yet signed.
	if r := queryCheckpoint(t, n.app, "1"); r.Checkpoint == nil || *r.Checkpoint != c1 || r.Signed || r.Slots != n.app.Params().CheckpointSlots {
		t.Fatalf("/checkpoint 1 before its QC: %+v", r)
	}
	if res := n.block(prep.Txs...); res[0].Code != 0 { // 4 stores the QC of height 2
		t.Fatalf("QC tx: %s", res[0].Log)
	}
	r := queryCheckpoint(t, n.app, "1")
	if !r.Signed || len(r.Signers) != 4 || len(r.Signatures) != 4 {
		t.Fatalf("/checkpoint 1 after its QC: %+v", r)
	}
	for i, val := range r.Signers {
		if err := checkpoint.VerifySignature(val.Key, c1.Digest(), r.Signatures[i]); err != nil {
			t.Fatalf("/checkpoint 1: signature of signer %d (%s): %v", i, val.Address, err)
		}
	}
	if r := queryCheckpoint(t, n.app, "9"); r.Checkpoint != nil || r.Signed {
		t.Fatalf("/checkpoint of an undefined epoch: %+v", r)
	}
	if res, _ := n.app.Query(ctx, &abci.RequestQuery{Path: QueryCheckpoint, Data: []byte("one")}); res.Code == 0 {
		t.Fatal("/checkpoint with a non-numeric epoch answered")
	}
	v, _ = n.store.View(0)
	sigs, ok, err := CheckpointSignatures(v, c1)
	if err != nil || !ok || len(sigs) != 4 {
		t.Fatalf("collected %d checkpoint signatures: %v %v", len(sigs), ok, err)
	}
	for i, a := range n.addrs {
		got := sigs[strings.ToUpper(hex.EncodeToString(a))]
		if err := checkpoint.VerifySignature(n.cpKeys[i], c1.Digest(), got); err != nil {
			t.Fatalf("validator %d's collected signature: %v", i, err)
		}
	}
	// The SM2 QC of the checkpoint height still verifies with SM2 only.
	stored, _ := LoadQC(v, 2)
	vals, _ := permission.Validators(v)
	appHash2, _ := appHashAt(v, 2)
	if rep, err := VerifyQC(stored, testChain, appHash2, vals); err != nil || !rep.Quorum {
		t.Fatalf("VerifyQC of a QC with checkpoint signatures: %v", err)
	}
}

func TestCheckpointGenesisRequiresKeys(t *testing.T) {
	g := GenesisState{
		Organisations: []permission.Organisation{{ID: "a"}},
		Validators:    []permission.Validator{{Org: "a", Address: strings.Repeat("AB", 20), SM2PublicKey: hex.EncodeToString(mustKey(t).Public().Bytes())}},
		Ledgers:       []GenesisLedger{{Name: "p"}},
		Params:        Params{TxTimeWindowSeconds: 30, CheckpointInterval: 10, CheckpointSlots: 4},
	}
	if err := g.Validate(); err == nil || !strings.Contains(err.Error(), "no checkpoint key") {
		t.Fatalf("validator without a checkpoint key: %v", err)
	}
	g.Params.CheckpointSlots = 0
	if err := g.Validate(); err == nil || !strings.Contains(err.Error(), "checkpoint_slots") {
		t.Fatalf("too few slots: %v", err)
	}
}

// queryCheckpoint asks app for QueryCheckpoint of epoch.
func queryCheckpoint(t *testing.T, a *App, epoch string) CheckpointResponse {
	t.Helper()
	res, err := a.Query(context.Background(), &abci.RequestQuery{Path: QueryCheckpoint, Data: []byte(epoch)})
	if err != nil || res.Code != 0 {
		t.Fatalf("/checkpoint %s: %v %s", epoch, err, res.GetLog())
	}
	var r CheckpointResponse
	if err := json.Unmarshal(res.Value, &r); err != nil {
		t.Fatal(err)
	}
	return r
}
