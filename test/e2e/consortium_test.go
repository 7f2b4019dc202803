package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	rpcclient "github.com/cometbft/cometbft/rpc/client"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/heavytest"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

const (
	lifeChain      = "jinlian-life-1"
	lifePassphrase = "bank secret"
	// lifeFunding is bankA's genesis CNY balance, in fen.
	lifeFunding = 500_000_000
)

// lifeBank is one bank of the consortium: its CA, its treasury identity
// and its validator's home, made with the CLI as docs/quickstart.md does.
type lifeBank struct {
	org     string
	caDir   string
	address string // the treasury identity
	keyFile string
	home    string // the validator's home
	reg     string // its registration, from jinlian init
	nodeID  string
	proc    *nodeProc
	removed bool
}

// consortium is a network of banks whose every step is a jinlian command.
type consortium struct {
	t     *testing.T
	ctx   context.Context
	dir   string
	bin   string // the release the CLI runs
	pw    string // the passphrase file
	base  int
	banks []*lifeBank
}

// TestConsortiumLife follows a consortium through its life, one process per
// node, every step a jinlian command from the docs (issue 14 item 9): four
// banks build the genesis with the genesis commands and start their
// validators; under a steady load of payments, bank E is admitted by
// governance (organisation, roles, membership of payments, validator),
// joins by state sync, registers its checkpoint key and pays; each founder
// restarts in turn and is never refused; bank D leaves the validator set
// and the consortium and is evicted; an upgrade is scheduled, every node
// stops at its height and goes on with the new release. The old release
// plays the one before certificate references (-tags nocertrefs) and the
// upgrade is certificate-references (ADR 0025): before it, the chain
// refuses an envelope naming its certificate; after it, the load's next
// payment records bankA's certificate and a payment naming it commits on
// every node. At the end every
// node has the same app hash at every height it holds, every payment the
// chain reports committed is in every node's app, balances add up and the
// invariants hold.
func TestConsortiumLife(t *testing.T) {
	if testing.Short() {
		t.Skip("runs five node processes through a consortium's life")
	}
	heavytest.Long(t, "builds two releases and runs a five-bank consortium through its life")
	c := &consortium{t: t, dir: t.TempDir(), ctx: heavytest.Context(t, 9*time.Minute)}
	oldBin, newBin := buildJinlianTags(t, "nocertrefs"), buildJinlianTags(t, "")
	c.bin = oldBin
	c.pw = filepath.Join(c.dir, "passphrase")
	if err := os.WriteFile(c.pw, []byte(lifePassphrase+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var err error
	if c.base, err = consensus.FreeBasePort(5); err != nil {
		t.Fatal(err)
	}
	for _, org := range []string{"bankA", "bankB", "bankC", "bankD", "bankE"} {
		c.banks = append(c.banks, c.newBank(org))
	}
	a, b, cc, d, e := c.banks[0], c.banks[1], c.banks[2], c.banks[3], c.banks[4]
	founders := c.banks[:4]

	// The genesis, by the genesis commands alone.
	gen := filepath.Join(c.dir, "genesis.json")
	c.cli("genesis", "new", "--chain-id", lifeChain, "--genesis", gen)
	var orgs []string
	for _, bk := range founders {
		c.cli("genesis", "add-org", bk.org, "--name", "Bank "+bk.org[4:], "--root-ca", filepath.Join(bk.caDir, "ca.crt.pem"), "--genesis", gen)
		orgs = append(orgs, bk.org)
	}
	for _, bk := range founders {
		c.cli("genesis", "add-validator", bk.reg, "--org", bk.org, "--genesis", gen)
		c.cli("genesis", "grant", bk.address, "--org", bk.org, "--roles", "committee,admin,issuer,member", "--name", bk.org+"-treasury", "--genesis", gen)
	}
	c.cli("genesis", "add-ledger", "payments", "--members", strings.Join(orgs, ","), "--asset", "CNY:bankA:2",
		"--balance", fmt.Sprintf("CNY:%s:%d", a.address, lifeFunding), "--genesis", gen)
	c.cli("genesis", "set-params", "checkpoint_interval=10", "voting_period_blocks=10", "--genesis", gen)
	c.cli("genesis", "validate", "--genesis", gen)
	for i, bk := range founders {
		c.cli("init", "--home", bk.home, "--genesis", gen)
		c.configure(i, founders)
	}
	for _, bk := range founders {
		bk.proc.start(t)
	}
	for _, bk := range founders {
		c.reach(bk, 2)
	}

	load := newLifeLoad(c, a, []*lifeBank{b, cc})
	go load.run()
	defer load.stop()
	load.waitCommits(10)

	// Bank E is admitted by governance, joins payments and the validators.
	c.pass(a, "add-organisation", "--id", "bankE", "--name", "Bank E", "--root-ca", filepath.Join(e.caDir, "ca.crt.pem"))
	c.pass(a, "grant-role", "--address", e.address, "--org", "bankE", "--role", "admin")
	c.pass(a, "grant-role", "--address", e.address, "--org", "bankE", "--role", "member")
	c.pass(a, "set-ledger-member", "--ledger", "payments", "--org", "bankE")
	c.pass(a, "set-validator", "--validator-home", e.home, "--org", "bankE", "--name", "bankE-val", "--power", "10")

	// It joins by state sync: a snapshot, not a replay from height 1.
	c.cli("init", "--home", e.home, "--genesis", gen)
	c.configure(4, c.banks)
	c.cli("statesync", "trust", "--home", e.home, "--node", a.proc.rpcAddr, "--second", b.proc.rpcAddr, "--write")
	e.proc.start(t)
	c.reach(e, c.top())
	st, err := e.proc.client.Status(c.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.SyncInfo.EarliestBlockHeight <= 1 {
		t.Fatalf("bank E's node holds blocks from %d: it replayed the chain instead of restoring a snapshot", st.SyncInfo.EarliestBlockHeight)
	}
	joinedAt := st.SyncInfo.EarliestBlockHeight
	c.cli("checkpoint", "register", "--home", e.home, "--from", e.keyFile, "--passphrase-file", c.pw, "--node", a.proc.rpcAddr)
	load.setRecipients([]*lifeBank{b, cc, e})
	load.waitCommits(20)
	// E pays from its own node once the load's payments to E have landed
	// (the 20 commits counted may all be to B and C).
	c.eventually("bank E's own node shows its treasury funded by the load", func() bool {
		got, err := lifeBalance(c.ctx, e.proc.client, e.address)
		return err == nil && got >= 7
	})
	// It signs blocks and QCs without a restart.
	out := c.cli("tx", "transfer", "--from", e.keyFile, "--passphrase-file", c.pw, "--asset", "CNY", "--to", a.address, "--amount", "7", "--node", e.proc.rpcAddr, "-o", "json")
	var paid struct {
		Code   uint32 `json:"code"`
		Height int64  `json:"height"`
	}
	if json.Unmarshal([]byte(out), &paid) != nil || paid.Code != 0 {
		t.Fatalf("bank E pays: %s", out)
	}
	c.signsQC(e, c.top())
	c.signsCheckpoint(e)

	// Each founder restarts in turn; none is locked out.
	for _, bk := range founders {
		bk.proc.stop(t, c.ctx)
		bk.proc.start(t)
		c.reach(bk, c.top()+1)
	}

	// Bank D leaves: its validator first, then the organisation; its node
	// is evicted within a block and never taken back.
	c.pass(a, "set-validator", "--validator-home", d.home, "--org", "bankD", "--name", "bankD-val", "--power", "0")
	c.pass(a, "remove-organisation", "--id", "bankD")
	d.removed = true
	c.eventually("bank D's node evicted by every member", func() bool {
		for _, bk := range c.members() {
			if c.hasPeer(bk, d.nodeID) {
				return false
			}
		}
		return true
	})
	stuck := d.proc.height(c.ctx)
	c.reach(a, c.top()+3)
	if h := d.proc.height(c.ctx); h > stuck+1 {
		t.Fatalf("evicted bank D's node kept syncing: %d → %d", stuck, h)
	}
	d.proc.kill()

	// An envelope naming bankA's certificate by hash: refused, by every
	// node of the old release, since the chain has no certificate
	// references yet (the key's PEM header means nothing, and bankA's
	// organisation has a root CA, so a bare key may not sign for it).
	named := namedPayment(t, load.signer, b.address)
	for _, bk := range c.members() {
		res, err := bk.proc.client.BroadcastTxSync(c.ctx, named)
		if err != nil || res.Code == 0 || !strings.Contains(res.Log, "only after upgrade \""+app.CertRefsUpgrade+"\"") {
			t.Fatalf("%s's node before the upgrade, a named certificate: %v %+v", bk.org, err, res)
		}
	}

	// An upgrade: every member's node stops at the height naming it, and
	// goes on with the release that carries its migration.
	at := c.top() + 15
	c.pass(a, "schedule-upgrade", "--name", app.CertRefsUpgrade, "--height", strconv.FormatInt(at, 10), "--info", "the release with certificate references")
	// As cosmovisor would: each node that stopped for the upgrade starts
	// again on the new release. A node that had not received the block of
	// the height before its peers stopped gets it from them once they run
	// the new release, and stops then.
	c.bin = newBin
	waiting := c.members()
	for len(waiting) > 0 {
		var still []*lifeBank
		for _, bk := range waiting {
			if bk.proc.running() {
				still = append(still, bk)
				continue
			}
			if !strings.Contains(bk.proc.logText(), `UPGRADE "`+app.CertRefsUpgrade+`" NEEDED at height `+strconv.FormatInt(at, 10)) {
				t.Fatalf("%s stopped without naming the upgrade at %d: %v\n%s", bk.org, at, bk.proc.exitErr(), logExcerpt(bk.proc.logText()))
			}
			bk.proc.bin = newBin
			bk.proc.start(t)
		}
		waiting = still
		if c.ctx.Err() != nil {
			t.Fatalf("waiting for %d nodes to stop at the upgrade height %d", len(waiting), at)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, bk := range c.members() {
		c.reach(bk, at+3)
	}
	var ups app.UpgradeStatus
	if err := json.Unmarshal([]byte(c.cli("query", "upgrade", "--node", a.proc.rpcAddr, "-o", "json")), &ups); err != nil ||
		len(ups.Applied) != 1 || ups.Applied[0] != (app.AppliedUpgrade{Name: app.CertRefsUpgrade, Height: at}) {
		t.Fatalf("query upgrade after the upgrade: %v %+v", err, ups)
	}
	// The load carries bankA's certificate whole; its first payment after
	// the upgrade records it, and then a payment may name it: the CLI's
	// --certificate named asks the node and sends the 64-digit hash.
	load.waitCommits(5)
	out = c.cli("tx", "transfer", "--from", a.keyFile, "--passphrase-file", c.pw, "--certificate", "named", "--asset", "CNY", "--to", b.address, "--amount", "3", "--node", cc.proc.rpcAddr, "-o", "json")
	var namedPaid struct {
		Code   uint32 `json:"code"`
		Height int64  `json:"height"`
		Log    string `json:"log"`
	}
	if json.Unmarshal([]byte(out), &namedPaid) != nil || namedPaid.Code != 0 {
		t.Fatalf("bankA pays naming its certificate after the upgrade: %s", out)
	}
	for _, bk := range c.members() {
		c.reach(bk, namedPaid.Height)
	}
	load.waitCommits(20)
	load.stop()
	c.audit(load, joinedAt, paid.Height)
}

// newBank makes a bank's CA, its treasury identity and its node's keys
// with its registration, as quickstart steps 1 and 3 do.
func (c *consortium) newBank(org string) *lifeBank {
	bk := &lifeBank{org: org, caDir: filepath.Join(c.dir, org, "ca"), home: filepath.Join(c.dir, org, "node"), reg: filepath.Join(c.dir, org+"-registration.json")}
	c.cli("ca", "init", "--org", org, "--out", bk.caDir, "--passphrase-file", c.pw)
	var issued map[string]string
	if err := json.Unmarshal([]byte(c.cli("--home", filepath.Join(c.dir, org, "wallet"), "ca", "issue", "--ca", bk.caDir, "--name", "treasury", "--role", "admin", "--passphrase-file", c.pw, "-o", "json")), &issued); err != nil {
		c.t.Fatal(err)
	}
	bk.address, bk.keyFile = issued["address"], issued["key_file"]
	c.cli("init", "--home", bk.home, "--moniker", org+"-val", "--chain-id", lifeChain, "--org", org, "--registration-out", bk.reg, "--passphrase-file", c.pw)
	var reg struct {
		NodeID string `json:"node_id"`
	}
	raw, err := os.ReadFile(bk.reg)
	if err != nil || json.Unmarshal(raw, &reg) != nil || reg.NodeID == "" {
		c.t.Fatalf("%s's registration: %v %s", org, err, raw)
	}
	bk.nodeID = reg.NodeID
	return bk
}

// configure sets bank i's config.toml as quickstart step 6 does (its
// addresses; every other bank's node of peers as persistent peers) and
// makes its process.
func (c *consortium) configure(i int, peers []*lifeBank) {
	c.t.Helper()
	bk := c.banks[i]
	conf, err := consensus.LoadConfig(bk.home)
	if err != nil {
		c.t.Fatal(err)
	}
	p2p := c.base + consensus.PortsPerNode*i
	conf.P2P.ListenAddress = fmt.Sprintf("tcp://127.0.0.1:%d", p2p)
	conf.P2P.ExternalAddress = fmt.Sprintf("127.0.0.1:%d", p2p)
	conf.RPC.ListenAddress = fmt.Sprintf("tcp://127.0.0.1:%d", p2p+1)
	var list []string
	for j, other := range c.banks {
		if j != i && containsBank(peers, other) {
			list = append(list, fmt.Sprintf("%s@127.0.0.1:%d", other.nodeID, c.base+consensus.PortsPerNode*j))
		}
	}
	conf.P2P.PersistentPeers = strings.Join(list, ",")
	conf.P2P.PexReactor, conf.P2P.AddrBookStrict, conf.P2P.AllowDuplicateIP = false, false, true
	conf.Consensus.TimeoutCommit = 200 * time.Millisecond
	if err := consensus.WriteConfig(bk.home, conf); err != nil {
		c.t.Fatal(err)
	}
	client, err := rpchttp.NewWithTimeout(conf.RPC.ListenAddress, "/websocket", 10)
	if err != nil {
		c.t.Fatal(err)
	}
	bk.proc = &nodeProc{name: bk.org, home: bk.home, bin: c.bin, rpcAddr: conf.RPC.ListenAddress, client: client,
		logPath: filepath.Join(c.dir, bk.org+".log"), env: []string{},
		args: []string{"--passphrase-file", c.pw, "--statesync.snapshot_interval", "10", "--log.level", "warn"}}
	c.t.Cleanup(func() {
		if c.t.Failed() {
			c.t.Logf("%s log:\n%s", bk.org, logExcerpt(bk.proc.logText()))
		}
	})
}

func containsBank(bs []*lifeBank, b *lifeBank) bool {
	for _, x := range bs {
		if x == b {
			return true
		}
	}
	return false
}

// cli runs a jinlian command of the current release and returns its
// standard output; a failure fails the test.
func (c *consortium) cli(args ...string) string {
	c.t.Helper()
	cmd := exec.CommandContext(c.ctx, c.bin, args...)
	cmd.Env = append(os.Environ(), gmcrypto.PassphraseEnv+"=", "JINLIAN_NODE=")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		c.t.Fatalf("jinlian %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

// pass proposes with from's organisation, and the members needed vote yes
// until the proposal passes (committee organisations: the founders still
// in the consortium).
func (c *consortium) pass(from *lifeBank, kind string, args ...string) {
	c.t.Helper()
	node := from.proc.rpcAddr
	var res struct {
		Code     uint32 `json:"code"`
		Height   int64  `json:"height"`
		Proposal uint64 `json:"proposal"`
		Status   string `json:"proposal_status"`
	}
	out := c.cli(append(append([]string{"gov", "propose", kind}, args...), "--from", from.keyFile, "--passphrase-file", c.pw, "--node", node, "-o", "json")...)
	if json.Unmarshal([]byte(out), &res) != nil || res.Code != 0 || res.Proposal == 0 {
		c.t.Fatalf("gov propose %s: %s", kind, out)
	}
	for _, voter := range c.banks[:4] {
		if res.Status != "voting" {
			break
		}
		if voter == from || voter.removed {
			continue
		}
		// The voter's node checks the vote against its own state: it
		// must hold the proposal's block first.
		c.reach(voter, res.Height)
		out = c.cli("gov", "vote", strconv.FormatUint(res.Proposal, 10), "yes", "--from", voter.keyFile, "--passphrase-file", c.pw, "--node", voter.proc.rpcAddr, "-o", "json")
		if json.Unmarshal([]byte(out), &res) != nil || res.Code != 0 {
			c.t.Fatalf("gov vote on %s: %s", kind, out)
		}
	}
	if res.Status != "passed" {
		c.t.Fatalf("proposal %d (%s) is %q, want passed", res.Proposal, kind, res.Status)
	}
}

// members are the banks whose nodes run in the consortium.
func (c *consortium) members() []*lifeBank {
	var out []*lifeBank
	for _, bk := range c.banks {
		if bk.proc != nil && !bk.removed {
			out = append(out, bk)
		}
	}
	return out
}

// top is the highest height a member's node reports.
func (c *consortium) top() int64 {
	var h int64
	for _, bk := range c.members() {
		h = max(h, bk.proc.height(c.ctx))
	}
	return h
}

// reach waits until bank bk's node is at height h.
func (c *consortium) reach(bk *lifeBank, h int64) {
	c.t.Helper()
	for bk.proc.height(c.ctx) < h {
		if c.ctx.Err() != nil || !bk.proc.running() {
			c.t.Fatalf("%s's node did not reach height %d (at %d; exit %v; %v)\n%s", bk.org, h, bk.proc.height(context.Background()), bk.proc.exitErr(), c.ctx.Err(), logExcerpt(bk.proc.logText()))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *consortium) eventually(what string, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) || c.ctx.Err() != nil {
			c.t.Fatalf("waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// hasPeer reports whether bk's node has a peer with the node id.
func (c *consortium) hasPeer(bk *lifeBank, id string) bool {
	ni, err := bk.proc.client.NetInfo(c.ctx)
	if err != nil {
		return true // cannot tell yet
	}
	for _, p := range ni.Peers {
		if string(p.NodeInfo.DefaultNodeID) == id {
			return true
		}
	}
	return false
}

// signsQC waits until a QC from height from on carries bank bk's
// validator's SM2 signature.
// signsCheckpoint waits for a checkpoint that bk's validator signed with
// the checkpoint key it registered, without a restart: a signer of the
// epoch (the set the previous checkpoint handed over to) with a signature.
func (c *consortium) signsCheckpoint(bk *lifeBank) {
	c.t.Helper()
	var key struct {
		Address string `json:"address"`
	}
	raw, err := os.ReadFile(filepath.Join(bk.home, "config", "priv_validator_key.json"))
	if err != nil || json.Unmarshal(raw, &key) != nil || key.Address == "" {
		c.t.Fatalf("%s's validator key: %v", bk.org, err)
	}
	c.eventually(bk.org+"'s signature in a checkpoint", func() bool {
		var latest app.CheckpointResponse
		if err := abciQuery(c.ctx, bk.proc.client, app.QueryCheckpoint, []byte("0"), &latest); err != nil || latest.Interval <= 0 {
			return false
		}
		for epoch := c.top() / latest.Interval; epoch > 0; epoch-- {
			var cp app.CheckpointResponse
			if err := abciQuery(c.ctx, bk.proc.client, app.QueryCheckpoint, []byte(strconv.FormatInt(epoch, 10)), &cp); err != nil || !cp.Signed {
				continue
			}
			for i, v := range cp.Signers {
				if strings.EqualFold(v.Address, key.Address) && len(cp.Signatures[i]) > 0 {
					return true
				}
			}
			return false // the latest signed checkpoint lacks it
		}
		return false
	})
}

func (c *consortium) signsQC(bk *lifeBank, from int64) {
	c.t.Helper()
	var key struct {
		Address string `json:"address"`
	}
	raw, err := os.ReadFile(filepath.Join(bk.home, "config", "priv_validator_key.json"))
	if err != nil || json.Unmarshal(raw, &key) != nil || key.Address == "" {
		c.t.Fatalf("%s's validator key: %v", bk.org, err)
	}
	var qc struct {
		Signatures []struct {
			Validator string `json:"validator"`
		} `json:"signatures"`
	}
	c.eventually(bk.org+"'s validator in a QC", func() bool {
		h := c.top() - 3
		if h < from {
			return false
		}
		cmd := exec.CommandContext(c.ctx, c.bin, "query", "qc", "--height", strconv.FormatInt(h, 10), "--node", bk.proc.rpcAddr, "-o", "json")
		out, err := cmd.Output()
		if err != nil || json.Unmarshal(out, &qc) != nil {
			return false
		}
		for _, s := range qc.Signatures {
			if strings.EqualFold(s.Validator, key.Address) {
				return true
			}
		}
		return false
	})
}

// audit checks what the load sent against every member's node.
func (c *consortium) audit(load *lifeLoad, joinedAt, paidAt int64) {
	t := c.t
	t.Helper()
	members := c.members()
	top := c.top()
	for _, bk := range members {
		c.reach(bk, top+1)
	}
	ref := members[0].proc.client
	want := map[string]uint64{}
	var committed, observedLost int
	for _, s := range load.sentTxs() {
		h, found, err := txHeight(c.ctx, ref, s.id)
		if err != nil {
			t.Fatal(err)
		}
		if obs, ok := load.observed[s.id]; ok && (!found || h != obs) {
			observedLost++
			t.Errorf("payment %s seen committed at %d, the chain says found=%v at %d", s.id, obs, found, h)
		}
		if !found {
			continue
		}
		// From the block the app names: the banks' validators serve no
		// API and keep no tx index (ADR 0028).
		res, err := txResultAt(c.ctx, ref, h, s.hash)
		if err != nil {
			t.Fatalf("payment %s at %d: %v", s.id, h, err)
		}
		if res.Code != 0 {
			continue
		}
		committed++
		want[s.to] += s.amount
		for _, bk := range members[1:] {
			if h2, found2, err := txHeight(c.ctx, bk.proc.client, s.id); err != nil || !found2 || h2 != h {
				t.Errorf("%s's node: payment %s at %d (found %v, %v), the others at %d", bk.org, s.id, h2, found2, err, h)
			}
		}
	}
	// Balances: bankA paid every committed payment, got 7 back from E and
	// paid B 3 naming its certificate.
	a, b, e := c.banks[0], c.banks[1], c.banks[4]
	var paid uint64
	for _, v := range want {
		paid += v
	}
	want[a.address] = lifeFunding - paid + 7 - 3
	want[e.address] -= 7
	want[b.address] += 3
	final := top + 1
	for _, bk := range members {
		for addr, amount := range want {
			got, err := lifeBalance(c.ctx, bk.proc.client, addr)
			if err != nil || got != amount {
				t.Errorf("%s's node: balance of %s is %d (%v), want %d", bk.org, addr, got, err, amount)
			}
		}
		var inv app.InvariantsResponse
		if err := abciQuery(c.ctx, bk.proc.client, app.QueryInvariants, nil, &inv); err != nil || !inv.Holds {
			t.Errorf("%s's node: invariants %v %+v", bk.org, err, inv)
		}
	}
	// The same app hash at every height each node holds.
	hashes, err := appHashes(c.ctx, ref, 1, final)
	if err != nil {
		t.Fatal(err)
	}
	for _, bk := range members[1:] {
		from := int64(1)
		if bk == e {
			from = joinedAt
		}
		got, err := appHashes(c.ctx, bk.proc.client, from, final)
		if err != nil {
			t.Fatalf("%s: %v", bk.org, err)
		}
		for k := range got {
			if string(got[k]) != string(hashes[int64(k)+from-1]) {
				t.Fatalf("app hash divergence at height %d: %s %X, %s %X", int64(k)+from, bk.org, got[k], members[0].org, hashes[int64(k)+from-1])
			}
		}
	}
	if observedLost != 0 {
		t.Errorf("%d payments seen committed were lost", observedLost)
	}
	t.Logf("consortium life: %d payments sent, %d committed (E's own at %d), E joined by state sync at %d, upgrade applied; app hashes agree at heights 1..%d",
		len(load.sentTxs()), committed, paidAt, joinedAt, final)
}

func lifeBalance(ctx context.Context, c rpcclient.ABCIClient, addr string) (uint64, error) {
	a, err := gmcrypto.ParseAddress(addr)
	if err != nil {
		return 0, err
	}
	return balanceOf(ctx, c, a)
}

// lifeLoad pays from bankA's treasury to a rotating set of banks, to
// whichever member's node is up, at a steady rate.
type lifeLoad struct {
	c      *consortium
	signer wire.Signer
	quit   chan struct{}
	done   chan struct{}
	once   sync.Once

	mu         sync.Mutex
	recipients []*lifeBank
	sent       []lifeTx
	pending    map[string]time.Time
	observed   map[string]int64
	seen       int
}

type lifeTx struct {
	id, to string
	hash   []byte
	amount uint64
}

func newLifeLoad(c *consortium, from *lifeBank, to []*lifeBank) *lifeLoad {
	info, key, err := gmcrypto.LoadKey(from.keyFile, []byte(lifePassphrase))
	if err != nil {
		c.t.Fatal(err)
	}
	return &lifeLoad{c: c, signer: wire.Signer{Key: key, MSPID: from.org, CertPEM: []byte(info.Certificate)},
		quit: make(chan struct{}), done: make(chan struct{}), recipients: to, pending: map[string]time.Time{}, observed: map[string]int64{}}
}

// namedPayment is a payment of 1 fen to addr, signed by signer naming its
// certificate by hash instead of carrying it (ADR 0025).
func namedPayment(t *testing.T, signer wire.Signer, to string) []byte {
	t.Helper()
	named, err := signer.NamingCert()
	if err != nil {
		t.Fatal(err)
	}
	addr, err := gmcrypto.ParseAddress(to)
	if err != nil {
		t.Fatal(err)
	}
	raw, _, err := wire.BuildTx(named, lifeChain, ledgerName, time.Now(),
		&txpb.Message{Body: &txpb.Message_Transfer{Transfer: &txpb.Transfer{Asset: assetCNY, To: addr.Bytes(), Amount: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func (l *lifeLoad) setRecipients(to []*lifeBank) {
	l.mu.Lock()
	l.recipients = to
	l.mu.Unlock()
}

func (l *lifeLoad) run() {
	defer close(l.done)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for k := 0; ; k++ {
		select {
		case <-l.quit:
			return
		case <-tick.C:
		}
		l.mu.Lock()
		to := l.recipients[k%len(l.recipients)]
		l.mu.Unlock()
		amount := uint64(1 + k%97)
		addr, _ := gmcrypto.ParseAddress(to.address)
		raw, id, err := wire.BuildTx(l.signer, lifeChain, ledgerName, time.Now(),
			&txpb.Message{Body: &txpb.Message_Transfer{Transfer: &txpb.Transfer{Asset: assetCNY, To: addr.Bytes(), Amount: amount}}})
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(raw)
		l.mu.Lock()
		l.sent = append(l.sent, lifeTx{id: id, to: to.address, hash: sum[:], amount: amount})
		l.mu.Unlock()
		members := l.c.members()
		for try := range members {
			n := members[(k+try)%len(members)].proc
			if !n.up() {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			res, err := n.client.BroadcastTxSync(ctx, raw)
			cancel()
			if err == nil && res.Code == 0 {
				l.mu.Lock()
				l.pending[id] = time.Now()
				l.mu.Unlock()
				break
			}
		}
		if k%5 == 4 {
			l.poll(members)
		}
	}
}

func (l *lifeLoad) poll(members []*lifeBank) {
	for _, bk := range members {
		if !bk.proc.up() {
			continue
		}
		l.mu.Lock()
		var ids []string
		for id := range l.pending {
			ids = append(ids, id)
		}
		l.mu.Unlock()
		for _, id := range ids {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			h, found, err := txHeight(ctx, bk.proc.client, id)
			cancel()
			if err != nil {
				return
			}
			l.mu.Lock()
			if found {
				l.observed[id] = h
				l.seen++
				delete(l.pending, id)
			} else if time.Since(l.pending[id]) > time.Minute {
				delete(l.pending, id)
			}
			l.mu.Unlock()
		}
		return
	}
}

// waitCommits waits until n more payments were seen committed.
func (l *lifeLoad) waitCommits(n int) {
	l.c.t.Helper()
	l.mu.Lock()
	want := l.seen + n
	l.mu.Unlock()
	l.c.eventually(fmt.Sprintf("%d more payments committed", n), func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.seen >= want
	})
}

func (l *lifeLoad) stop() {
	l.once.Do(func() { close(l.quit) })
	<-l.done
}

func (l *lifeLoad) sentTxs() []lifeTx {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]lifeTx(nil), l.sent...)
}
