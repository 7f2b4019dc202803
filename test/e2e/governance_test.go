package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	rpcclient "github.com/cometbft/cometbft/rpc/client"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/ca"
	"github.com/jinlian-ledger/jinlian/internal/cmtlogtest"
	"github.com/jinlian-ledger/jinlian/internal/heavytest"
	"github.com/jinlian-ledger/jinlian/node"
	"github.com/jinlian-ledger/jinlian/node/localnet"
	"github.com/jinlian-ledger/jinlian/node/localnet/localnettest"
	"github.com/jinlian-ledger/jinlian/nodecfg"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// govEnv is a running localnet of four validators and one observer, with
// the demo identities' signers.
type govEnv struct {
	t       *testing.T
	ln      *localnet.Net
	nodes   []*node.Node
	signers map[string]wire.Signer
	client  rpcclient.Client
	chainID string
	logs    cmtlogtest.Log // the CometBFT logs of nodes
}

func startGovEnv(t *testing.T) *govEnv {
	t.Helper()
	logs := cmtlogtest.New(t)
	h := localnettest.Start(t, localnettest.Options{Options: localnet.Options{Validators: 4, Observers: 1, TimeoutCommit: 150 * time.Millisecond},
		CometLogger: logs, WaitHeight: -1})
	ln, nodes := h.Net, h.Nodes
	e := &govEnv{t: t, ln: ln, nodes: nodes, signers: map[string]wire.Signer{}, client: nodes[0].Client(), chainID: ln.Network.ChainID, logs: logs}
	for _, id := range ln.Identities {
		info, key, err := gmcrypto.LoadKey(id.KeyFile, []byte(localnet.Passphrase))
		if err != nil {
			t.Fatal(err)
		}
		e.signers[id.Name] = wire.Signer{Key: key, MSPID: info.Org, CertPEM: []byte(info.Certificate)}
	}
	e.waitHeight(nodes[0], 3)
	return e
}

func (e *govEnv) waitHeight(n *node.Node, h int64) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := consensus.WaitForHeight(ctx, n.Client(), h); err != nil {
		e.t.Fatalf("height %d on %s: %v", h, n.Home(), err)
	}
}

func (e *govEnv) height() int64 {
	st, err := e.client.Status(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return st.SyncInfo.LatestBlockHeight
}

// send signs m as who on ledgerName, broadcasts it and waits for commit;
// it returns the log and code.
func (e *govEnv) send(who, ledgerName string, m *txpb.Message) (uint32, string) {
	e.t.Helper()
	raw, _, err := wire.BuildTx(e.signers[who], e.chainID, ledgerName, time.Now(), m)
	if err != nil {
		e.t.Fatal(err)
	}
	res, err := e.client.BroadcastTxCommit(context.Background(), raw)
	if err != nil {
		e.t.Fatal(err)
	}
	if res.CheckTx.Code != 0 {
		return res.CheckTx.Code, res.CheckTx.Log
	}
	return res.TxResult.Code, res.TxResult.Log
}

func (e *govEnv) mustSend(who, ledgerName string, m *txpb.Message) {
	e.t.Helper()
	if code, log := e.send(who, ledgerName, m); code != 0 {
		e.t.Fatalf("%s: %s", who, log)
	}
}

// pass proposes as bankA and votes yes as bankB and bankC (3 of 4 > 2/3).
func (e *govEnv) pass(p *txpb.Propose) {
	e.t.Helper()
	e.mustSend("bankA", permission.SystemLedger, &txpb.Message{Body: &txpb.Message_Propose{Propose: p}})
	var ps []permission.Proposal
	e.query(app.QueryProposals, nil, &ps)
	id := ps[len(ps)-1].ID
	for _, who := range []string{"bankB", "bankC"} {
		e.mustSend(who, permission.SystemLedger, &txpb.Message{Body: &txpb.Message_Vote{Vote: &txpb.Vote{ProposalId: id, Yes: true}}})
	}
	var got permission.Proposal
	e.query(app.QueryProposal, []byte(fmtUint(id)), &got)
	if got.Status != permission.StatusPassed {
		e.t.Fatalf("proposal %d: %s %s", id, got.Status, got.Result)
	}
}

func fmtUint(v uint64) string { b, _ := json.Marshal(v); return string(b) }

func (e *govEnv) query(path string, data []byte, out any) {
	e.t.Helper()
	res, err := e.client.ABCIQuery(context.Background(), path, data)
	if err != nil || res.Response.Code != 0 {
		e.t.Fatalf("query %s: %v %s", path, err, res.Response.Log)
	}
	if err := json.Unmarshal(res.Response.Value, out); err != nil {
		e.t.Fatal(err)
	}
}

// newNodeHome prepares a node home for the localnet's genesis, peering
// with node0, on the given base port.
func (e *govEnv) newNodeHome(name string, port int) string {
	e.t.Helper()
	home := filepath.Join(e.t.TempDir(), name)
	gen, err := os.ReadFile(filepath.Join(e.nodes[0].Home(), "config", "genesis.json"))
	if err != nil {
		e.t.Fatal(err)
	}
	n0 := e.ln.Network.Nodes[0]
	err = consensus.InitHome(home, gen, name, func(c *cfgConfig) {
		c.P2P.ListenAddress = "tcp://127.0.0.1:" + itoa(port)
		c.RPC.ListenAddress = "tcp://127.0.0.1:" + itoa(port+1)
		c.P2P.PersistentPeers = n0.PeerAddr()
		c.P2P.AllowDuplicateIP = true
		c.P2P.AddrBookStrict = false
		c.P2P.PexReactor = false
		c.Consensus.TimeoutCommit = 150 * time.Millisecond
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := node.EnsureSM2Key(home, name, []byte(localnet.Passphrase)); err != nil {
		e.t.Fatal(err)
	}
	return home
}

func (e *govEnv) startNode(home string) *node.Node {
	e.t.Helper()
	cfg := nodecfg.Default(home)
	n, err := node.Start(context.Background(), cfg, node.Options{Passphrase: func(string) ([]byte, error) { return []byte(localnet.Passphrase), nil }})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = n.Stop() })
	return n
}

func peers(n *node.Node) int { return n.CometNode().Switch().Peers().Size() }

func nodeID(t *testing.T, home string) string {
	nk, err := p2p.LoadNodeKey(filepath.Join(home, "config", "node_key.json"))
	if err != nil {
		t.Fatal(err)
	}
	return string(nk.ID())
}

// TestGovernanceWithRealNodes drives governance through real CometBFT
// nodes: node admission, a validator added and removed by proposals, an
// observer evicted, a revoked certificate, a hold that expires.
func TestGovernanceWithRealNodes(t *testing.T) {
	heavytest.Begin(t, "multi-node governance")
	e := startGovEnv(t)
	base, err := consensus.FreeBasePort(2)
	if err != nil {
		t.Fatal(err)
	}

	// An unregistered node holding a fresh key is never taken as a peer.
	// Validators check the filter before adding a peer, so their peer sets
	// never hold it (the intruder's own switch may count a connection for
	// an instant before the other side closes it). The intruder redials
	// node0, its persistent peer, every few seconds: once node0 has refused
	// it twice and the network has gone on making blocks, it has synced
	// none.
	intruderHome := e.newNodeHome("intruder", base)
	intruderID := p2p.ID(nodeID(t, intruderHome))
	intruder := e.startNode(intruderHome)
	refused := "filtered ID<" + string(intruderID) + ">"
	eventually(t, time.Minute, "node0 refuses the unregistered node twice", func() bool {
		for _, n := range e.nodes {
			if n.CometNode().Switch().Peers().Has(intruderID) {
				t.Fatalf("%s took the unregistered node as a peer", n.Home())
			}
		}
		return len(e.logs.Matching(refused)) >= 2
	})
	e.waitHeight(e.nodes[0], e.height()+2)
	for _, n := range e.nodes {
		if n.CometNode().Switch().Peers().Has(intruderID) {
			t.Fatalf("%s took the unregistered node as a peer", n.Home())
		}
	}
	if st, _ := intruder.Client().Status(context.Background()); st.SyncInfo.LatestBlockHeight != 0 {
		t.Fatalf("unregistered node synced to %d", st.SyncInfo.LatestBlockHeight)
	}
	_ = intruder.Stop()

	// A fifth validator joins through a proposal and signs blocks.
	home5 := e.newNodeHome("validator5", base+10)
	pv := privval.LoadFilePV(filepath.Join(home5, "config", "priv_validator_key.json"), filepath.Join(home5, "data", "priv_validator_state.json"))
	info, err := gmcrypto.ReadKeyInfo(node.SM2KeyFile(home5))
	if err != nil {
		t.Fatal(err)
	}
	sm2pub, _ := gmcrypto.ParsePublicKeyPEM([]byte(info.PublicKey))
	set := &txpb.SetValidator{PubKeyEd25519: pv.Key.PubKey.Bytes(), Org: "bankB", Name: "validator5", Sm2PublicKey: sm2pub.Bytes(), Power: 10, NodeId: nodeID(t, home5)}
	e.pass(&txpb.Propose{Action: &txpb.Propose_SetValidator{SetValidator: set}})
	v5 := e.startNode(home5)
	addr5 := pv.Key.PubKey.Address()
	signed := func() bool {
		h := e.height()
		b, err := e.client.Block(context.Background(), &h)
		if err != nil {
			return false
		}
		for _, s := range b.Block.LastCommit.Signatures {
			if s.ValidatorAddress.String() == addr5.String() && s.Signature != nil {
				return true
			}
		}
		return false
	}
	eventually(t, 30*time.Second, "validator 5 signs a block", signed)
	e.waitHeight(v5, e.height()-1)

	// Removing it: it stops counting.
	set.Power = 0
	set.NodeId = ""
	e.pass(&txpb.Propose{Action: &txpb.Propose_SetValidator{SetValidator: set}})
	eventually(t, 10*time.Second, "validator 5 leaves the set", func() bool {
		h := e.height()
		vals, err := e.client.Validators(context.Background(), &h, nil, nil)
		if err != nil {
			return false
		}
		for _, v := range vals.Validators {
			if v.Address.String() == addr5.String() {
				return false
			}
		}
		return len(vals.Validators) == 4
	})

	// The observer is evicted within a block and cannot reconnect.
	obs := e.nodes[4]
	if peers(obs) == 0 {
		t.Fatal("observer had no peers before eviction")
	}
	e.pass(&txpb.Propose{Action: &txpb.Propose_RemoveNode{RemoveNode: &txpb.RemoveNode{NodeId: obs.NodeID()}}})
	eventually(t, 5*time.Second, "observer disconnected", func() bool { return peers(obs) == 0 })
	// It keeps redialling (its own filter still admits the validators, so
	// its side may count a peer for the instant of a handshake), but no
	// validator ever takes it back and it receives no more blocks.
	stuck := obs.Store.LastCommit().Height
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		for _, v := range e.nodes[:4] {
			if v.CometNode().Switch().Peers().Has(p2p.ID(obs.NodeID())) {
				t.Fatalf("validator %s took the evicted observer back", v.NodeID())
			}
		}
	}
	if h := obs.Store.LastCommit().Height; h > stuck+1 {
		t.Fatalf("evicted observer kept syncing: %d → %d", stuck, h)
	}

	// A revoked certificate's transactions are rejected.
	auth, err := ca.Load(localnet.CADir(e.ln.Home, "bankA"), []byte(localnet.Passphrase))
	if err != nil {
		t.Fatal(err)
	}
	carolKey, _ := gmcrypto.GenerateKey()
	carolCert, err := auth.Issue("carol", gmcrypto.RoleClient, carolKey.Public(), 30, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	e.signers["carol"] = wire.Signer{Key: carolKey, MSPID: "bankA", CertPEM: carolCert.PEM()}
	e.mustSend("bankA", permission.SystemLedger, &txpb.Message{Body: &txpb.Message_RegisterIdentity{RegisterIdentity: &txpb.RegisterIdentity{
		Address: carolKey.Public().Address().Bytes(), Name: "carol", Roles: []string{"member"}, Certificate: carolCert.PEM()}}})
	to := e.signers["bankB"].Key.Public().Address().Bytes()
	pay := &txpb.Message{Body: &txpb.Message_Transfer{Transfer: &txpb.Transfer{Asset: "CNY", To: to, Amount: 1}}}
	e.mustSend("bankA", "payments", &txpb.Message{Body: &txpb.Message_Transfer{Transfer: &txpb.Transfer{Asset: "CNY", To: carolKey.Public().Address().Bytes(), Amount: 10}}})
	e.mustSend("carol", "payments", pay)
	e.mustSend("bankA", permission.SystemLedger, &txpb.Message{Body: &txpb.Message_RevokeCertificate{RevokeCertificate: &txpb.RevokeCertificate{Serial: carolCert.Serial(), Reason: "left the bank"}}})
	if code, log := e.send("carol", "payments", pay); code == 0 || !strings.Contains(log, "revoked") {
		t.Fatalf("revoked certificate: %d %q", code, log)
	}

	// The regulator's hold passes on its approval alone and expires on its own.
	expiry := e.height() + 8
	e.mustSend("regulator", permission.SystemLedger, &txpb.Message{Body: &txpb.Message_Propose{Propose: &txpb.Propose{Action: &txpb.Propose_PlaceHold{PlaceHold: &txpb.PlaceHold{
		Ledger: "payments", Account: e.signers["bankD"].Key.Public().Address().Bytes(), Reason: "e2e", ExpiryHeight: expiry}}}}})
	if code, log := e.send("bankD", "payments", pay); code != permission.ErrHeld.Code() {
		t.Fatalf("held account sent: %d %q", code, log)
	}
	e.waitHeight(e.nodes[0], expiry)
	e.mustSend("bankD", "payments", pay)
}

func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting until %s", what)
}

// TestTwoValidatorChangesInOneBlock: two set_validator proposals for the
// same key whose deciding votes land in one block used to give CometBFT
// duplicate validator updates, a CONSENSUS FAILURE on every validator and a
// chain that could not restart. On four real validators the block now
// carries one update (the later power) and the chain goes on.
func TestTwoValidatorChangesInOneBlock(t *testing.T) {
	heavytest.Begin(t, "multi-node governance")
	e := startGovEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h := e.height()
	vs, err := e.client.Validators(ctx, &h, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	target := vs.Validators[len(vs.Validators)-1]
	propose := func(power int64) uint64 {
		e.mustSend("bankA", permission.SystemLedger, &txpb.Message{Body: &txpb.Message_Propose{Propose: &txpb.Propose{Action: &txpb.Propose_SetValidator{
			SetValidator: &txpb.SetValidator{PubKeyEd25519: target.PubKey.Bytes(), Power: power}}}}})
		var ps []permission.Proposal
		e.query(app.QueryProposals, nil, &ps)
		id := ps[len(ps)-1].ID
		e.mustSend("bankB", permission.SystemLedger, &txpb.Message{Body: &txpb.Message_Vote{Vote: &txpb.Vote{ProposalId: id, Yes: true}}})
		return id
	}
	vote := func(id uint64) (raw []byte, txID string) {
		raw, txID, err := wire.BuildTx(e.signers["bankC"], e.chainID, permission.SystemLedger, time.Now(), &txpb.Message{Body: &txpb.Message_Vote{Vote: &txpb.Vote{ProposalId: id, Yes: true}}})
		if err != nil {
			t.Fatal(err)
		}
		return raw, txID
	}
	// Both deciding votes go out back to back; they usually share a block.
	// When they do not, try again with a new pair: the test asserts only
	// on a pair that did.
	var at int64
	var final int64
	for attempt, power := 0, int64(11); attempt < 6 && at == 0; attempt, power = attempt+1, power+2 {
		a, b := propose(power), propose(power+1)
		rawA, idA := vote(a)
		rawB, idB := vote(b)
		for _, raw := range [][]byte{rawA, rawB} {
			if res, err := e.client.BroadcastTxSync(ctx, raw); err != nil || res.Code != 0 {
				t.Fatalf("broadcast vote: %v %+v", err, res)
			}
		}
		hA, errA := waitTx(ctx, e.client, idA)
		hB, errB := waitTx(ctx, e.client, idB)
		if errA != nil || errB != nil {
			t.Fatal(errA, errB)
		}
		if hA == hB {
			at, final = hA, power+1
		}
	}
	if at == 0 {
		t.Fatal("no pair of deciding votes landed in one block in 6 attempts")
	}
	res, err := e.client.BlockResults(ctx, &at)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.ValidatorUpdates) != 1 || res.ValidatorUpdates[0].Power != final {
		t.Fatalf("block %d validator updates %+v, want one of power %d", at, res.ValidatorUpdates, final)
	}
	// The chain goes on on every validator, which applies the power at H+2.
	for _, n := range e.nodes {
		e.waitHeight(n, at+4)
	}
	after := at + 2
	vs, err = e.client.Validators(ctx, &after, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs.Validators {
		if v.Address.String() == target.Address.String() && v.VotingPower != final {
			t.Fatalf("validator %s has power %d at height %d, want %d", v.Address, v.VotingPower, after, final)
		}
	}
	hashes := map[string]bool{}
	for _, n := range e.nodes {
		b, err := n.Client().Block(ctx, &after)
		if err != nil {
			t.Fatal(err)
		}
		hashes[b.Block.AppHash.String()] = true
	}
	if len(hashes) != 1 {
		t.Fatalf("nodes disagree on the app hash at %d: %v", after, hashes)
	}
}
