package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/internal/ca/catest"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// TestCertSigner: what --certificate picks, from the node's answer, and
// what it refuses before signing.
func TestCertSigner(t *testing.T) {
	k, c := catest.Client(t, "bankA")
	certified := wire.Signer{Key: k, MSPID: "bankA", CertPEM: c.PEM()}
	bare := wire.Signer{Key: k, MSPID: "bankA"}
	answer := func(st app.CertificateStatus, err error) func(string) (app.CertificateStatus, error) {
		return func(string) (app.CertificateStatus, error) { return st, err }
	}
	recorded, unrecorded, off := answer(app.CertificateStatus{References: true, Recorded: true}, nil),
		answer(app.CertificateStatus{References: true}, nil), answer(app.CertificateStatus{}, nil)
	oldNode := answer(app.CertificateStatus{}, errors.New("unknown query path"))
	for _, tc := range []struct {
		name   string
		form   string
		signer wire.Signer
		ask    func(string) (app.CertificateStatus, error)
		named  bool
		err    string
	}{
		{"auto, recorded", "auto", certified, recorded, true, ""},
		{"default, recorded", "", certified, recorded, true, ""},
		{"auto, not recorded", "auto", certified, unrecorded, false, ""},
		{"auto, references off", "auto", certified, off, false, ""},
		{"auto, a node of an older release", "auto", certified, oldNode, false, ""},
		{"auto, offline", "auto", certified, nil, false, ""},
		{"whole, recorded", "whole", certified, recorded, false, ""},
		{"named, recorded", "named", certified, recorded, true, ""},
		{"named, offline", "named", certified, nil, true, ""},
		{"named, not recorded", "named", certified, unrecorded, false, "has not recorded certificate"},
		{"named, references off", "named", certified, off, false, `before upgrade "certificate-references"`},
		{"named, a node of an older release", "named", certified, oldNode, false, "unknown query path"},
		{"named, a bare key", "named", bare, recorded, false, "the key has no certificate"},
		{"auto, a bare key", "auto", bare, recorded, false, ""},
		{"a bad form, a bare key", "carried", bare, nil, false, `--certificate "carried"`},
		{"a bad form", "carried", certified, recorded, false, `--certificate "carried"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := certSigner(tc.form, tc.signer, tc.ask)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			msg := &txpb.Message{Body: &txpb.Message_Burn{Burn: &txpb.Burn{Asset: "CNY", Amount: 1}}}
			raw, _, err := wire.BuildTx(s, "c", "payments", time.Now(), msg)
			if err != nil {
				t.Fatal(err)
			}
			tx, err := wire.DecodeTx(raw)
			if err != nil {
				t.Fatal(err)
			}
			if named := tx.CertRef != nil; named != tc.named {
				t.Fatalf("named %v, want %v (certificate carried: %v)", named, tc.named, tx.Cert != nil)
			}
		})
	}
}
