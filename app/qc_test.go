package app

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/ed25519"
	cryptoenc "github.com/cometbft/cometbft/crypto/encoding"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"

	"github.com/jinlian-ledger/jinlian/contracts/payments"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
	"google.golang.org/protobuf/proto"
)

// qcNet is one app instance that knows four validators (powers 10 each) and
// holds all their SM2 node keys, so the test can play each of them.
type qcNet struct {
	*harness
	addrs    [][]byte
	nodeKeys []*gmcrypto.PrivateKey
}

func newQCNet(t *testing.T) *qcNet {
	t.Helper()
	return newQCNetWith(t, Options{})
}

// newQCNetWith is newQCNet with opts for the app (its NodeKey is the first
// validator's).
func newQCNetWith(t *testing.T, opts Options) *qcNet {
	t.Helper()
	n := &qcNet{}
	g := GenesisState{
		Organisations: []permission.Organisation{{ID: "bankA"}},
		Ledgers:       []GenesisLedger{{Name: "payments", Assets: []payments.Asset{{Symbol: "CNY", Issuer: "bankA"}}}},
	}
	var updates []abci.ValidatorUpdate
	for i := 0; i < 4; i++ {
		pk := ed25519.GenPrivKey().PubKey()
		pp, err := cryptoenc.PubKeyToProto(pk)
		if err != nil {
			t.Fatal(err)
		}
		updates = append(updates, abci.ValidatorUpdate{PubKey: pp, Power: 10})
		nk := mustKey(t)
		n.nodeKeys = append(n.nodeKeys, nk)
		n.addrs = append(n.addrs, pk.Address())
		g.Validators = append(g.Validators, permission.Validator{Org: "bankA", Address: pk.Address().String(), SM2PublicKey: hex.EncodeToString(nk.Public().Bytes())})
	}
	b, _ := json.Marshal(g)
	store, err := ledger.Open(t.TempDir(), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	opts.NodeKey = n.nodeKeys[0]
	a, err := New(store, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.InitChain(context.Background(), &abci.RequestInitChain{ChainId: testChain, Time: genesisTime, AppStateBytes: b, Validators: updates}); err != nil {
		t.Fatal(err)
	}
	n.harness = &harness{t: t, app: a, store: store, now: genesisTime}
	return n
}

// extensions returns each validator's vote extension for vote height h,
// signed the way ExtendVote does.
func (n *qcNet) extensions(voteHeight int64) []abci.ExtendedVoteInfo {
	ci := n.store.LastCommit()
	msg := QCSignBytes(testChain, ci.Height, ci.AppHash)
	var votes []abci.ExtendedVoteInfo
	for i, k := range n.nodeKeys {
		sig, err := k.Sign(msg)
		if err != nil {
			n.t.Fatal(err)
		}
		votes = append(votes, abci.ExtendedVoteInfo{
			Validator:     abci.Validator{Address: n.addrs[i], Power: 10},
			VoteExtension: sig, BlockIdFlag: cmtproto.BlockIDFlagCommit,
		})
	}
	return votes
}

func TestQuorumCertificateLifecycle(t *testing.T) {
	n := newQCNet(t)
	ctx := context.Background()
	n.block() // height 1
	// Votes for height 2 sign the state after height 1.
	ext, err := n.app.ExtendVote(ctx, &abci.RequestExtendVote{Height: 2})
	if err != nil || len(ext.VoteExtension) == 0 {
		t.Fatalf("ExtendVote: %v %v", ext, err)
	}
	verify := func(addr []byte, e []byte) abci.ResponseVerifyVoteExtension_VerifyStatus {
		r, err := n.app.VerifyVoteExtension(ctx, &abci.RequestVerifyVoteExtension{Height: 2, ValidatorAddress: addr, VoteExtension: e})
		if err != nil {
			t.Fatal(err)
		}
		return r.Status
	}
	tampered := append([]byte{}, ext.VoteExtension...)
	tampered[len(tampered)-1] ^= 1
	cases := []struct {
		name string
		addr []byte
		ext  []byte
		want abci.ResponseVerifyVoteExtension_VerifyStatus
	}{
		{"own extension", n.addrs[0], ext.VoteExtension, abci.ResponseVerifyVoteExtension_ACCEPT},
		{"empty extension", n.addrs[1], nil, abci.ResponseVerifyVoteExtension_ACCEPT},
		{"signed by another validator's key", n.addrs[1], ext.VoteExtension, abci.ResponseVerifyVoteExtension_REJECT},
		{"tampered", n.addrs[0], tampered, abci.ResponseVerifyVoteExtension_REJECT},
		{"unregistered validator", make([]byte, 20), ext.VoteExtension, abci.ResponseVerifyVoteExtension_REJECT},
	}
	for _, c := range cases {
		if got := verify(c.addr, c.ext); got != c.want {
			t.Errorf("%s: VerifyVoteExtension = %v, want %v", c.name, got, c.want)
		}
	}

	votes := n.extensions(2)
	n.block() // height 2
	// The proposer of height 3 injects the QC of height 1.
	prep, err := n.app.PrepareProposal(ctx, &abci.RequestPrepareProposal{Height: 3, MaxTxBytes: 1 << 20, LocalLastCommit: abci.ExtendedCommitInfo{Votes: votes}})
	if err != nil || len(prep.Txs) != 1 || !wire.IsQCTx(prep.Txs[0]) {
		t.Fatalf("PrepareProposal did not inject a QC: %v %v", prep, err)
	}
	qc, _ := wire.DecodeQCTx(prep.Txs[0])
	if qc.Height != 1 || len(qc.Signatures) != 4 {
		t.Fatalf("QC height %d with %d signatures", qc.Height, len(qc.Signatures))
	}
	// A QC the mempool offers is refused.
	if r, _ := n.app.CheckTx(ctx, &abci.RequestCheckTx{Tx: prep.Txs[0]}); r.Code != ErrBadQC.Code() {
		t.Fatalf("CheckTx admitted a QC: %+v", r)
	}
	// Proposals with weakened or forged certificates are rejected.
	mutate := func(f func(q *txpbQC)) *txpbQC {
		q := proto.Clone(qc).(*txpbQC)
		f(q)
		return q
	}
	weak := mutate(func(q *txpbQC) { q.Signatures = q.Signatures[:2] }) // 20 of 40: not more than 2/3
	forged := mutate(func(q *txpbQC) { q.Signatures[3].Signature = q.Signatures[0].Signature })
	dup := mutate(func(q *txpbQC) { q.Signatures[3] = q.Signatures[0] })
	wrongHash := mutate(func(q *txpbQC) { q.AppHash = make([]byte, 32) })
	wrongHeight := mutate(func(q *txpbQC) { q.Height = 2 })
	for _, c := range []struct {
		name string
		qc   *txpbQC
		want string
	}{
		{"under two thirds", weak, "need more than 2/3"},
		{"forged signature", forged, "does not verify"},
		{"duplicate signer", dup, "signed twice"},
		{"wrong app hash", wrongHash, "app hash"},
		{"wrong height", wrongHeight, "want 1"},
	} {
		raw, _ := wire.EncodeQCTx(c.qc)
		v, _ := n.store.View(0)
		if _, err := n.app.checkQCTx(v, raw, 0, 3); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: checkQCTx error %v, want %q", c.name, err, c.want)
		}
		pp, _ := n.app.ProcessProposal(ctx, &abci.RequestProcessProposal{Txs: [][]byte{raw}, Height: 3})
		if pp.Status != abci.ResponseProcessProposal_REJECT {
			t.Errorf("%s: proposal accepted", c.name)
		}
	}
	misplaced := [][]byte{n.tx(n.nodeKeys[0], "bankA", "payments", burn("CNY", 1)), prep.Txs[0]}
	if pp, _ := n.app.ProcessProposal(ctx, &abci.RequestProcessProposal{Txs: misplaced, Height: 3}); pp.Status != abci.ResponseProcessProposal_REJECT {
		t.Error("proposal with a QC after other transactions accepted")
	}

	res := n.block(prep.Txs...) // height 3 stores the QC of height 1
	if res[0].Code != 0 {
		t.Fatalf("QC tx failed: %s", res[0].Log)
	}
	v, _ := n.store.View(0)
	if kept, err := LoadQC(v, 1); err != nil || kept != nil {
		t.Fatalf("QC of height 1, not a checkpoint height, kept in state: %v %v", kept, err)
	}
	stored, err := wire.DecodeQCTx(prep.Txs[0]) // the block keeps it
	if err != nil {
		t.Fatal(err)
	}
	vals, _ := permission.Validators(v)
	appHash1, _ := appHashAt(v, 1)
	rep, err := VerifyQC(stored, testChain, appHash1, vals)
	if err != nil || !rep.Quorum || rep.SignedPower != 40 || rep.TotalPower != 40 {
		t.Fatalf("VerifyQC = %+v, %v", rep, err)
	}
}

func TestGenesisValidatorMustBeRegistered(t *testing.T) {
	store, err := ledger.Open(t.TempDir(), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	a, _ := New(store, Options{})
	pp, _ := cryptoenc.PubKeyToProto(ed25519.GenPrivKey().PubKey())
	g := `{"organisations":[{"id":"a"}],"ledgers":[{"name":"p","assets":[]}]}`
	_, err = a.InitChain(context.Background(), &abci.RequestInitChain{ChainId: testChain, AppStateBytes: []byte(g),
		Validators: []abci.ValidatorUpdate{{PubKey: pp, Power: 1}}})
	if err == nil || !strings.Contains(err.Error(), "no registration") {
		t.Fatalf("InitChain with an unregistered validator: %v", err)
	}
}

type txpbQC = txpb.QuorumCertificate

// The _system tree keeps a bounded number of per-height QC records: every
// block carries the QC of height−2 and the records it needed, and the app
// hash and registry snapshot of height−3 are deleted, so after any number
// of blocks only the last three of each remain.
func TestQCRecordsArePruned(t *testing.T) {
	n := newQCNet(t)
	ctx := context.Background()
	count := func(prefix string) int {
		v, err := n.store.View(0)
		if err != nil {
			t.Fatal(err)
		}
		k := 0
		end := []byte(prefix)
		end[len(end)-1]++
		if err := v.Iterate(permission.SystemLedger, []byte(prefix), end, func(_, _ []byte) bool { k++; return true }); err != nil {
			t.Fatal(err)
		}
		return k
	}
	signed := map[int64][]abci.ExtendedVoteInfo{} // the votes of h+1, signing the state after h
	n.block()                                     // 1
	signed[1] = n.extensions(2)
	n.block() // 2
	signed[2] = n.extensions(3)
	for h := int64(3); h <= 12; h++ {
		prep, err := n.app.PrepareProposal(ctx, &abci.RequestPrepareProposal{Height: h, MaxTxBytes: 1 << 20,
			LocalLastCommit: abci.ExtendedCommitInfo{Votes: signed[h-2]}})
		if err != nil {
			t.Fatal(err)
		}
		if len(prep.Txs) != 1 || !wire.IsQCTx(prep.Txs[0]) {
			t.Fatalf("block %d carries no QC", h)
		}
		if res := n.block(prep.Txs...); res[0].Code != 0 {
			t.Fatalf("block %d: QC tx failed: %s", h, res[0].Log)
		}
		signed[h] = n.extensions(h + 1)
		if got := count("meta/apphash/"); got > 3 {
			t.Fatalf("after block %d: %d app hash records, want at most 3", h, got)
		}
	}
	if got := count("qc/"); got != count("qc/vals-before/") {
		t.Fatalf("%d QCs kept in state without checkpoints, want none", got-count("qc/vals-before/"))
	}
}
