package app

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/ed25519"
	cryptoenc "github.com/cometbft/cometbft/crypto/encoding"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"google.golang.org/protobuf/proto"

	"github.com/jinlian-ledger/jinlian/contracts/payments"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// fakeCheckpointer stands in for consensus/prover's scheme: SM3
// everywhere, and a "signature" by key k over d is SM3(k ‖ d). The app's
// job is to define, carry and check; the real scheme is tested in
// consensus/prover and end to end in consensus.
type fakeCheckpointer struct{}

func (fakeCheckpointer) CommitValidators(vals []CheckpointValidator, slots int) ([32]byte, error) {
	b, _ := json.Marshal(struct {
		V []CheckpointValidator
		N int
	}{vals, slots})
	return gmcrypto.SM3(b), nil
}
func (fakeCheckpointer) Hash(c Checkpoint) [32]byte {
	b, _ := json.Marshal(c)
	return gmcrypto.SM3([]byte("hash"), b)
}
func (fakeCheckpointer) Digest(c Checkpoint) [32]byte {
	b, _ := json.Marshal(c)
	return gmcrypto.SM3([]byte("digest"), b)
}
func (fakeCheckpointer) VerifySignature(key []byte, d [32]byte, sig []byte) error {
	if want := fakeSign(key, d); !bytes.Equal(sig, want[:]) {
		return errors.New("fake signature does not verify")
	}
	return nil
}
func (fakeCheckpointer) VerifyRegistration(r CheckpointRegistration, chainID string, node *gmcrypto.PublicKey) error {
	key, _ := hex.DecodeString(r.CheckpointKey)
	if len(key) != 32 {
		return fmt.Errorf("checkpoint public key of %d bytes, want 32", len(key))
	}
	if pop := fakePossession(key); r.Possession != hex.EncodeToString(pop[:]) {
		return errors.New("proof of possession does not verify")
	}
	sig, _ := hex.DecodeString(r.SM2Signature)
	if !node.Verify([]byte(chainID+r.Validator+r.CheckpointKey), sig) {
		return errors.New("SM2 signature does not verify")
	}
	return nil
}

func fakeSign(key []byte, d [32]byte) [32]byte { return gmcrypto.SM3(key, d[:]) }

func fakePossession(key []byte) [32]byte { return gmcrypto.SM3([]byte("pop"), key) }

// fakeRegistration is what `jinlian checkpoint register` would send for
// validator addr, signed by node key nk, under the fake scheme.
func fakeRegistration(t *testing.T, chain, addr string, key []byte, nk *gmcrypto.PrivateKey) *txpb.RegisterCheckpointKey {
	t.Helper()
	addr = strings.ToUpper(addr)
	sig, err := nk.Sign([]byte(chain + addr + hex.EncodeToString(key)))
	if err != nil {
		t.Fatal(err)
	}
	pop := fakePossession(key)
	return &txpb.RegisterCheckpointKey{Validator: addr, CheckpointKey: key, Possession: pop[:], Sm2Signature: sig}
}

type cpNet struct {
	*qcNet
	cpKeys  [][]byte
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
		key := gmcrypto.SM3([]byte{byte(i)})
		n.cpKeys = append(n.cpKeys, key[:])
		m := fakeRegistration(t, testChain, addr, key[:], nk)
		g.CheckpointKeys = append(g.CheckpointKeys, CheckpointRegistration{Validator: m.Validator,
			CheckpointKey: hex.EncodeToString(m.CheckpointKey), Possession: hex.EncodeToString(m.Possession), SM2Signature: hex.EncodeToString(m.Sm2Signature)})
	}
	b, _ := json.Marshal(g)
	store, err := ledger.Open(t.TempDir(), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	a, err := New(store, Options{NodeKey: n.nodeKeys[0], Checkpoints: fakeCheckpointer{},
		SignCheckpoint: func(registered []byte, d [32]byte) ([]byte, error) {
			if !bytes.Equal(registered, n.cpKeys[0]) {
				return nil, ErrNoCheckpointKey
			}
			s := fakeSign(n.cpKeys[0], d)
			return s[:], nil
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
func (n *cpNet) votes(c *Checkpoint) []abci.ExtendedVoteInfo {
	ci := n.store.LastCommit()
	msg := QCSignBytes(testChain, ci.Height, ci.AppHash)
	var out []abci.ExtendedVoteInfo
	for i, k := range n.nodeKeys {
		sig, _ := k.Sign(msg)
		ext := VoteExtension{SM2Signature: sig}
		if c != nil {
			s := fakeSign(n.cpKeys[i], fakeCheckpointer{}.Digest(*c))
			ext.CheckpointSignature = s[:]
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
	if c1.PrevHash != (fakeCheckpointer{}).Hash(g0) || c1.ValidatorSet != g0.NextValidatorSet {
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
	if res := n.block(prep.Txs...); res[0].Code != 0 { // 4 stores the QC of height 2
		t.Fatalf("QC tx: %s", res[0].Log)
	}
	v, _ = n.store.View(0)
	sigs, ok, err := CheckpointSignatures(v, c1)
	if err != nil || !ok || len(sigs) != 4 {
		t.Fatalf("collected %d checkpoint signatures: %v %v", len(sigs), ok, err)
	}
	for i, a := range n.addrs {
		want := fakeSign(n.cpKeys[i], fakeCheckpointer{}.Digest(c1))
		if got := sigs[strings.ToUpper(hex.EncodeToString(a))]; !bytes.Equal(got, want[:]) {
			t.Fatalf("validator %d's collected signature differs", i)
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
