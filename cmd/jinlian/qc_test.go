package main

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/crypto/tmhash"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmtversion "github.com/cometbft/cometbft/proto/tendermint/version"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/cometbft/cometbft/version"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/permission"
)

const qcTestChain = "qc-test-chain"

// qcWorld is a chain of four validators of power 10 at one height h: their
// CometBFT keys, SM2 node keys and the app hash after h.
type qcWorld struct {
	h       int64
	vals    *cmttypes.ValidatorSet
	privs   []cmttypes.PrivValidator
	sm2     map[string]*gmcrypto.PrivateKey // CometBFT address → SM2 node key
	appHash []byte
}

func newQCWorld(t *testing.T, h int64) *qcWorld {
	t.Helper()
	vals, privs := cmttypes.RandValidatorSet(4, 10)
	w := &qcWorld{h: h, vals: vals, privs: privs, sm2: map[string]*gmcrypto.PrivateKey{}, appHash: tmhash.Sum([]byte(fmt.Sprint("state", h)))}
	for _, v := range vals.Validators {
		k, err := gmcrypto.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		w.sm2[v.Address.String()] = k
	}
	return w
}

func (w *qcWorld) registry() []permission.Validator {
	var out []permission.Validator
	for _, v := range w.vals.Validators {
		out = append(out, permission.Validator{Org: "bank", Address: v.Address.String(), SM2PublicKey: hex.EncodeToString(w.sm2[v.Address.String()].Public().Bytes()), Power: v.VotingPower})
	}
	return out
}

// qc is the certificate of the world's height signed by the first n validators.
func (w *qcWorld) qc(t *testing.T, n int) app.QCResponse {
	t.Helper()
	r := app.QCResponse{ChainID: qcTestChain, Height: w.h, AppHash: fmt.Sprintf("%X", w.appHash)}
	for _, v := range w.vals.Validators[:n] {
		sig, err := w.sm2[v.Address.String()].Sign(app.QCSignBytes(qcTestChain, w.h, w.appHash))
		if err != nil {
			t.Fatal(err)
		}
		r.Signatures = append(r.Signatures, app.QCSignature{Validator: v.Address.String(), Signature: hex.EncodeToString(app.EncodeVoteExtension(app.VoteExtension{SM2Signature: sig}))})
	}
	return r
}

// header is block h+1 carrying appHash, committed by the validators privs.
func (w *qcWorld) header(t *testing.T, height int64, appHash []byte, privs []cmttypes.PrivValidator) *cmttypes.SignedHeader {
	t.Helper()
	hash := func(s string) []byte { return tmhash.Sum([]byte(s)) }
	hdr := &cmttypes.Header{
		Version:            cmtversion.Consensus{Block: version.BlockProtocol},
		ChainID:            qcTestChain,
		Height:             height,
		Time:               time.Unix(1_700_000_000, 0).UTC(),
		LastBlockID:        cmttypes.BlockID{Hash: hash("last"), PartSetHeader: cmttypes.PartSetHeader{Total: 1, Hash: hash("lastparts")}},
		LastCommitHash:     hash("lastcommit"),
		DataHash:           hash("data"),
		ValidatorsHash:     w.vals.Hash(),
		NextValidatorsHash: w.vals.Hash(),
		ConsensusHash:      hash("consensus"),
		AppHash:            appHash,
		LastResultsHash:    hash("results"),
		EvidenceHash:       hash("evidence"),
		ProposerAddress:    w.vals.Validators[0].Address,
	}
	blockID := cmttypes.BlockID{Hash: hdr.Hash(), PartSetHeader: cmttypes.PartSetHeader{Total: 1, Hash: hash("parts")}}
	voteSet := cmttypes.NewVoteSet(qcTestChain, height, 0, cmtproto.PrecommitType, w.vals)
	ext, err := cmttypes.MakeExtCommit(blockID, height, 0, voteSet, privs, time.Unix(1_700_000_001, 0).UTC(), false)
	if err != nil {
		t.Fatal(err)
	}
	return &cmttypes.SignedHeader{Header: hdr, Commit: ext.ToCommit()}
}

func (w *qcWorld) honest(t *testing.T) qcEvidence {
	return qcEvidence{QC: w.qc(t, 3), Registry: w.registry(), Header: w.header(t, w.h+1, w.appHash, w.privs), ValSet: w.vals}
}

// TestVerifyQCRefusesWhatItCannotProve plays a node answering verify qc:
// honest answers verify, and each lie is refused with an error naming it.
func TestVerifyQCRefusesWhatItCannotProve(t *testing.T) {
	const h = 5
	w := newQCWorld(t, h)
	other := newQCWorld(t, h) // another validator set, same chain id
	cases := []struct {
		name    string
		lie     func(ev *qcEvidence)
		wantErr string // "" = verifies
	}{
		{"honest node", func(*qcEvidence) {}, ""},
		{"certificate of another height", func(ev *qcEvidence) {
			w2 := *w
			w2.h = h - 1
			ev.QC = w2.qc(t, 4)
		}, "certificate of height 4 for --height 5"},
		{"header of another block", func(ev *qcEvidence) { ev.Header = w.header(t, h+2, w.appHash, w.privs) }, "header of block 7 for block 6"},
		{"app hash changed in the header after signing", func(ev *qcEvidence) { ev.Header.AppHash = tmhash.Sum([]byte("forged")) }, "header of block 6"},
		{"header committed by too few validators", func(ev *qcEvidence) {
			ev.Header.Commit.Signatures[2] = cmttypes.NewCommitSigAbsent()
			ev.Header.Commit.Signatures[3] = cmttypes.NewCommitSigAbsent()
		}, "not signed by more than 2/3"},
		{"validator set that is not the header's", func(ev *qcEvidence) { ev.ValSet = other.vals }, "the header says"},
		{"header committed by another set claiming this one", func(ev *qcEvidence) {
			sh := w.header(t, h+1, w.appHash, w.privs)
			ev.Header = &cmttypes.SignedHeader{Header: sh.Header, Commit: other.header(t, h+1, w.appHash, other.privs).Commit}
		}, "header of block 6"},
		{"registry inflating one signer's power", func(ev *qcEvidence) {
			ev.QC = w.qc(t, 1)
			ev.Registry[0].Power = 1000
		}, "power"},
		{"registry with another SM2 key for a signer", func(ev *qcEvidence) {
			ev.Registry[0].SM2PublicKey = hex.EncodeToString(other.sm2[other.vals.Validators[0].Address.String()].Public().Bytes())
		}, "does not verify"},
		{"certificate of another app hash", func(ev *qcEvidence) {
			w2 := *w
			w2.appHash = tmhash.Sum([]byte("other state"))
			ev.QC = w2.qc(t, 4)
		}, "signs app hash"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := w.honest(t)
			c.lie(&ev)
			rep, err := verifyQCEvidence(h, ev)
			if c.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !rep.Quorum || rep.SignedPower != 30 || rep.TotalPower != 40 {
					t.Fatalf("report %+v", rep)
				}
				return
			}
			if err == nil {
				t.Fatalf("verified: %+v", rep)
			}
			if !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("error %q does not say %q", err, c.wantErr)
			}
			t.Logf("refused: %v", err)
		})
	}
}
