package console

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/internal/ca/catest"
	"github.com/jinlian-ledger/jinlian/wire"
)

// TestVoteCertificateFromAnyNode plays the node the console asks whether
// the chain has recorded the user's certificate (ADR 0025): whatever it
// answers (an error, a refusal, bytes that are not the answer, "no", or
// "yes", true or a lie) it can only choose between the two forms of the
// user's own certificate. The console asks about that certificate's SM3
// and nothing else, names it only on a well-formed "recorded", and
// carries it whole otherwise, which every chain accepts. A lie ("recorded"
// for a certificate the chain never recorded) makes the chain refuse the
// vote, changing nothing (app: TestCertRefs; cmd/jinlian: TestQuickstartNetwork).
func TestVoteCertificateFromAnyNode(t *testing.T) {
	k, c := catest.Client(t, "bankA")
	h := c.Hash()
	other, _ := catest.Client(t, "bankA") // another member's key
	for _, tc := range []struct {
		name   string
		answer func() (any, string)
		named  bool
	}{
		{"the node fails", func() (any, string) { return nil, "unknown query path" }, false},
		{"the node refuses", func() (any, string) {
			return &ctypes.ResultABCIQuery{Response: abci.ResponseQuery{Code: 7, Log: "not registered"}}, ""
		}, false},
		{"not the answer's form", func() (any, string) {
			return &ctypes.ResultABCIQuery{Response: abci.ResponseQuery{Value: []byte("recorded")}}, ""
		}, false},
		{"references off", func() (any, string) { return queryResult(certificateStatus{}), "" }, false},
		{"not recorded", func() (any, string) { return queryResult(certificateStatus{References: true}), "" }, false},
		{"recorded, or a lie", func() (any, string) { return queryResult(certificateStatus{References: true, Recorded: true}), "" }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var asked [][]byte
			node := fakeNode(t, func(method string, params map[string]json.RawMessage) (any, string) {
				if method != "abci_query" {
					return nil, "unexpected " + method
				}
				path, data := queryOf(params)
				if path != queryCertificate {
					return nil, "unexpected path " + path
				}
				asked = append(asked, data)
				return tc.answer()
			})
			s := newTestServerWith(t, Config{Node: api.Node{Addr: node}, Key: k, Org: "bankA", CertPEM: c.PEM(), Name: "clerk",
				Listen: "127.0.0.1:0", Timeout: 5 * time.Second})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			got := s.namingCertificate(ctx, wire.Signer{Key: k, MSPID: "bankA", CertPEM: c.PEM()})
			if len(asked) != 1 || string(asked[0]) != hex.EncodeToString(h[:]) {
				t.Fatalf("asked about %q, want the user's certificate %x once", asked, h)
			}
			tx := signedVote(t, got)
			switch {
			case tc.named && (tx.CertRef == nil || !bytes.Equal(tx.CertRef, h[:]) || tx.Cert != nil):
				t.Errorf("want the user's certificate named: named %x, carried %v", tx.CertRef, tx.Cert != nil)
			case !tc.named && (tx.Cert == nil || tx.Cert.Hash() != h || tx.CertRef != nil):
				t.Errorf("want the user's certificate carried: carried %v, named %x", tx.Cert != nil, tx.CertRef)
			}
			if !tx.Creator.Equal(k.Public()) {
				t.Error("the vote is not signed by the user's key")
			}
		})
	}
	// Without a certificate, or with one of another key (a console
	// misconfigured), the node is not asked and the envelope is as before.
	for _, signer := range []wire.Signer{{Key: k, MSPID: "bankA"}, {Key: other, MSPID: "bankA", CertPEM: c.PEM()}} {
		node := fakeNode(t, func(string, map[string]json.RawMessage) (any, string) {
			t.Error("the node was asked")
			return nil, "no"
		})
		s := newTestServerWith(t, Config{Node: api.Node{Addr: node}, Key: signer.Key, Org: "bankA", CertPEM: signer.CertPEM, Name: "clerk",
			Listen: "127.0.0.1:0", Timeout: 5 * time.Second})
		if got := s.namingCertificate(context.Background(), signer); got.IDBytes != nil || !bytes.Equal(got.CertPEM, signer.CertPEM) {
			t.Errorf("signer changed: %+v", got)
		}
	}
}

// signedVote builds and decodes a vote signed by s.
func signedVote(t *testing.T, s wire.Signer) *wire.Tx {
	t.Helper()
	raw, _, err := wire.BuildTx(s, "c", systemLedger, time.Now(), voteMessage(1, true))
	if err != nil {
		t.Fatal(err)
	}
	tx, err := wire.DecodeTx(raw)
	if err != nil {
		t.Fatal(err)
	}
	return tx
}
