package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/heavytest"
	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/node"
	"github.com/jinlian-ledger/jinlian/wire"
)

// quickstartBank is one founding bank of docs/quickstart.md section 2.
type quickstartBank struct {
	org      string
	home     string // the node's home
	reg      string // its registration file, from jinlian init
	caCert   string // the organisation's root CA certificate
	address  string // the treasury identity, issued by the bank's CA
	keyFile  string
	identity string // its wallet home (keys), apart from the node
}

const quickstartChain = "jinlian-prod-1"

// mustCLI runs the CLI and fails the test on an error.
func mustCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, err := runCLI(t, args...)
	if err != nil {
		t.Fatalf("jinlian %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// quickstartBanks runs steps 1 and 3 of the quickstart for each bank: its
// root CA, a treasury identity issued by it, and its node's home with the
// registration for the coordinator.
func quickstartBanks(t *testing.T, dir string, orgs ...string) []quickstartBank {
	t.Helper()
	t.Setenv(gmcrypto.PassphraseEnv, "bank secret")
	var banks []quickstartBank
	for _, org := range orgs {
		b := quickstartBank{org: org, home: filepath.Join(dir, org, "node"), reg: filepath.Join(dir, org+"-registration.json"),
			identity: filepath.Join(dir, org, "wallet")}
		caDir := filepath.Join(dir, org, "ca")
		mustCLI(t, "ca", "init", "--org", org, "--out", caDir)
		b.caCert = filepath.Join(caDir, "ca.crt.pem")
		var issued map[string]string
		if err := json.Unmarshal([]byte(mustCLI(t, "--home", b.identity, "ca", "issue", "--ca", caDir, "--name", "treasury", "--role", "admin", "-o", "json")), &issued); err != nil {
			t.Fatal(err)
		}
		b.address, b.keyFile = issued["address"], issued["key_file"]
		out := mustCLI(t, "init", "--home", b.home, "--moniker", org+"-val", "--chain-id", quickstartChain, "--org", org, "--registration-out", b.reg)
		if !strings.Contains(out, "checkpoint key:") || !strings.Contains(out, "node id:") {
			t.Fatalf("init prints no registration:\n%s", out)
		}
		banks = append(banks, b)
	}
	return banks
}

// quickstartGenesis runs step 4: the coordinator builds the genesis from
// the banks' registrations with the genesis commands alone.
func quickstartGenesis(t *testing.T, gen string, banks []quickstartBank, extra ...[]string) {
	t.Helper()
	mustCLI(t, "genesis", "new", "--chain-id", quickstartChain, "--genesis", gen)
	var members []string
	for _, b := range banks {
		mustCLI(t, "genesis", "add-org", b.org, "--name", "Bank "+b.org[len(b.org)-1:]+" Co., Ltd.", "--root-ca", b.caCert, "--genesis", gen)
		members = append(members, b.org)
	}
	for _, b := range banks {
		mustCLI(t, "genesis", "add-validator", b.reg, "--org", b.org, "--genesis", gen)
		mustCLI(t, "genesis", "grant", b.address, "--org", b.org, "--roles", "committee,admin,issuer,member", "--name", b.org+"-treasury", "--genesis", gen)
	}
	mustCLI(t, "genesis", "add-ledger", "payments", "--members", strings.Join(members, ","),
		"--asset", "CNY:"+banks[0].org+":2", "--balance", "CNY:"+banks[0].address+":500000000", "--genesis", gen)
	for _, args := range extra {
		mustCLI(t, append(append([]string{"genesis"}, args...), "--genesis", gen)...)
	}
	out := mustCLI(t, "genesis", "validate", "--genesis", gen)
	if !strings.Contains(out, fmt.Sprintf("valid genesis of chain %s: %d organisations, %d validators, 1 sub-ledgers, checkpoints on", quickstartChain, len(banks), len(banks))) || strings.Contains(out, "warning") {
		t.Fatalf("genesis validate:\n%s", out)
	}
}

// The genesis commands refuse bad input with an error naming the problem
// and leave the file as it was; validate names every problem of a file.
func TestGenesisCommandsRefuseBadInput(t *testing.T) {
	dir := t.TempDir()
	banks := quickstartBanks(t, dir, "bankA", "bankB")
	gen := filepath.Join(dir, "genesis.json")
	quickstartGenesis(t, gen, banks)
	good, err := os.ReadFile(gen)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		AppState app.GenesisState `json:"app_state"`
	}
	if err := json.Unmarshal(good, &st); err != nil {
		t.Fatal(err)
	}
	if len(st.AppState.Nodes) != 2 || len(st.AppState.CheckpointKeys) != 2 || len(st.AppState.Validators) != 2 {
		t.Fatalf("the founders' nodes, validators and checkpoint keys are not all registered: %+v", st.AppState)
	}

	// The same commands give the same file, but for the genesis time.
	again := filepath.Join(dir, "again.json")
	quickstartGenesis(t, again, banks)
	stripTime := func(b []byte) string {
		var lines []string
		for _, l := range strings.Split(string(b), "\n") {
			if !strings.Contains(l, `"genesis_time"`) {
				lines = append(lines, l)
			}
		}
		return strings.Join(lines, "\n")
	}
	if b, _ := os.ReadFile(again); stripTime(b) != stripTime(good) {
		t.Fatal("the same genesis commands gave different files")
	}

	// A registration whose proof of possession was tampered with.
	fresh := filepath.Join(dir, "fresh.json")
	mustCLI(t, "init", "--home", filepath.Join(dir, "fresh"), "--chain-id", quickstartChain, "--registration-out", fresh)
	reg, err := os.ReadFile(fresh)
	if err != nil {
		t.Fatal(err)
	}
	var r map[string]any
	_ = json.Unmarshal(reg, &r)
	r["checkpoint_key"].(map[string]any)["possession"] = strings.Repeat("00", 64)
	bad, _ := json.Marshal(r)
	badReg := filepath.Join(dir, "tampered.json")
	if err := os.WriteFile(badReg, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	// A registration for another chain.
	other := filepath.Join(dir, "bankC")
	mustCLI(t, "init", "--home", other, "--chain-id", "another-chain", "--registration-out", filepath.Join(dir, "other-chain.json"))
	mustCLI(t, "genesis", "add-org", "bankC", "--genesis", gen)
	withC, _ := os.ReadFile(gen)

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"duplicate organisation", []string{"add-org", "bankA", "--root-ca", banks[0].caCert}, "organisation bankA is already in the genesis"},
		{"root CA of another organisation", []string{"add-org", "bankD", "--root-ca", banks[0].caCert}, `names organisation "bankA"`},
		{"duplicate validator", []string{"add-validator", banks[0].reg, "--org", "bankA"}, "is already in the genesis"},
		{"invalid proof of possession", []string{"add-validator", badReg, "--org", "bankC"}, "proof of possession"},
		{"registration for another chain", []string{"add-validator", filepath.Join(dir, "other-chain.json"), "--org", "bankC"}, `registered for chain "another-chain"`},
		{"validator of an unknown organisation", []string{"add-validator", filepath.Join(dir, "other-chain.json"), "--org", "bankZ"}, "organisation bankZ is not in the genesis"},
		{"identity of an unknown organisation", []string{"grant", strings.Repeat("ab", 20), "--org", "bankZ", "--roles", "member"}, `organisation "bankZ" is not in the genesis`},
		{"identity moved to another organisation", []string{"grant", banks[0].address, "--org", "bankB", "--roles", "member"}, "is of organisation bankA, not bankB"},
		{"unknown role", []string{"grant", banks[0].address, "--org", "bankA", "--roles", "king"}, `unknown role "king"`},
		{"duplicate ledger", []string{"add-ledger", "payments"}, "sub-ledger payments is already in the genesis"},
		{"asset of an unknown issuer", []string{"add-ledger", "trade", "--asset", "EUR:bankZ:2"}, `issuer organisation "bankZ"`},
		{"balance of an unlisted asset", []string{"add-ledger", "trade", "--asset", "EUR:bankA:2", "--balance", "USD:" + banks[0].address + ":5"}, "asset USD is not among --asset"},
		{"parameter out of range", []string{"set-params", "voting_period_blocks=2"}, "voting_period_blocks = 2 is outside"},
		{"unknown parameter", []string{"set-params", "voting_period=20"}, "voting_period: unknown parameter"},
		{"too few checkpoint slots", []string{"set-params", "checkpoint_slots=1"}, "checkpoint_slots 1 < 2 validators"},
		{"checkpoints without vote extensions", []string{"set-params", "abci.vote_extensions_enable_height=0"}, "vote extensions are off"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runCLI(t, append(append([]string{"genesis"}, tc.args...), "--genesis", gen)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "nothing changed") {
				t.Fatalf("error %v, want one naming %q and saying nothing changed\n%s", err, tc.want, out)
			}
			if now, _ := os.ReadFile(gen); !bytes.Equal(now, withC) {
				t.Fatal("the genesis file changed")
			}
		})
	}
	if _, err := runCLI(t, "genesis", "new", "--chain-id", "x", "--genesis", gen); err == nil || !strings.Contains(err.Error(), "--overwrite") {
		t.Fatalf("genesis new over an existing file: %v", err)
	}

	// validate lists every problem of a hand-broken file, not the first.
	var doc map[string]any
	_ = json.Unmarshal(good, &doc)
	as := doc["app_state"].(map[string]any)
	as["organisations"] = append(as["organisations"].([]any), as["organisations"].([]any)[0])
	for _, id := range as["identities"].([]any) {
		id.(map[string]any)["roles"] = []any{"member"}
	}
	as["checkpoint_keys"].([]any)[1].(map[string]any)["possession"] = strings.Repeat("00", 64)
	delete(doc["consensus_params"].(map[string]any), "evidence")
	broken, _ := json.Marshal(doc)
	brokenFile := filepath.Join(dir, "broken.json")
	if err := os.WriteFile(brokenFile, broken, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "genesis", "validate", brokenFile, "-o", "json")
	var rep genesisReport
	if err == nil || json.Unmarshal([]byte(out), &rep) != nil || rep.Valid {
		t.Fatalf("a broken genesis validated: %v\n%s", err, out)
	}
	for _, want := range []string{"organisation bankA listed twice", "committee role", "proof of possession", "consensus_params is incomplete: evidence missing"} {
		if !strings.Contains(strings.Join(rep.Problems, "\n"), want) {
			t.Errorf("validate does not name %q among:\n%s", want, strings.Join(rep.Problems, "\n"))
		}
	}

	// Installing the genesis on a home whose keys it does not name
	// correctly is refused; on the right home it is accepted.
	if _, err := runCLI(t, "init", "--home", other, "--genesis", gen); err != nil {
		t.Fatalf("a home the genesis does not name (a full node) is refused: %v", err)
	}
	out = mustCLI(t, "init", "--home", banks[0].home, "--genesis", gen)
	if !strings.Contains(out, "the genesis names this node: validator") || !strings.Contains(out, "of bankA") {
		t.Fatalf("init --genesis does not recognise the bank's validator:\n%s", out)
	}
}

// committedEnvelope decodes the committed transaction of CometBFT hash
// (hex) that the node of c holds.
func committedEnvelope(ctx context.Context, t *testing.T, c *rpchttp.HTTP, r txResult) *wire.Tx {
	t.Helper()
	// From the block, not the tx index, which a validator without the API
	// does not keep (ADR 0028).
	blk, err := c.Block(ctx, &r.Height)
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range blk.Block.Txs {
		if !strings.EqualFold(hex.EncodeToString(raw.Hash()), r.Hash) {
			continue
		}
		tx, err := wire.DecodeTx(raw)
		if err != nil {
			t.Fatal(err)
		}
		return tx
	}
	t.Fatalf("block %d holds no transaction %s", r.Height, r.Hash)
	return nil
}

// TestQuickstartNetwork follows docs/quickstart.md section 2 for two banks
// through the CLI commands: each bank makes its keys and registration in
// its own home, the coordinator builds the genesis with the genesis
// commands, each bank installs it with init --genesis, sets its peers and
// starts its node; blocks are made, a transfer commits, both founders sign
// checkpoints with the keys init made, and governance reads back.
func TestQuickstartNetwork(t *testing.T) {
	heavytest.Begin(t, "starts a two-bank network built by the quickstart's genesis commands")
	for _, env := range []string{"JINLIAN_NODE", "JINLIAN_OBSERVER", "JINLIAN_TLS_MODE", "JINLIAN_TLS_CA", "JINLIAN_TLS_CERT", "JINLIAN_TLS_KEY"} {
		t.Setenv(env, "")
	}
	dir := t.TempDir()
	banks := quickstartBanks(t, dir, "bankA", "bankB")
	gen := filepath.Join(dir, "genesis.json")
	// A short checkpoint interval, so that the test sees one signed.
	quickstartGenesis(t, gen, banks, []string{"set-params", "checkpoint_interval=4", "voting_period_blocks=10"})

	base, err := consensus.FreeBasePort(len(banks))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, b := range banks {
		var out initResult
		if err := json.Unmarshal([]byte(mustCLI(t, "init", "--home", b.home, "--genesis", gen, "-o", "json")), &out); err != nil {
			t.Fatal(err)
		}
		if out.InGenesis == "" {
			t.Fatalf("%s: init --genesis does not find its validator", b.org)
		}
		ids = append(ids, out.Registration.NodeID)
	}
	// Step 6, as an operator edits config.toml: addresses and peers.
	rpc := make([]string, len(banks))
	for i, b := range banks {
		c, err := consensus.LoadConfig(b.home)
		if err != nil {
			t.Fatal(err)
		}
		p2p := base + consensus.PortsPerNode*i
		c.P2P.ListenAddress = fmt.Sprintf("tcp://127.0.0.1:%d", p2p)
		c.P2P.ExternalAddress = fmt.Sprintf("127.0.0.1:%d", p2p)
		c.RPC.ListenAddress = fmt.Sprintf("tcp://127.0.0.1:%d", p2p+1)
		rpc[i] = c.RPC.ListenAddress
		var peers []string
		for j := range banks {
			if j != i {
				peers = append(peers, fmt.Sprintf("%s@127.0.0.1:%d", ids[j], base+consensus.PortsPerNode*j))
			}
		}
		c.P2P.PersistentPeers = strings.Join(peers, ",")
		c.P2P.PexReactor, c.P2P.AddrBookStrict, c.P2P.AllowDuplicateIP = false, false, true
		c.Consensus.TimeoutCommit = 100 * time.Millisecond
		if err := consensus.WriteConfig(b.home, c); err != nil {
			t.Fatal(err)
		}
	}
	// Step 7: jinlian start, one process per bank, as the quickstart's
	// systemd unit runs it (a passphrase file, no terminal).
	bin := buildJinlianBinary(t)
	pwFile := filepath.Join(dir, "passphrase")
	if err := os.WriteFile(pwFile, []byte("bank secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var procs []*exec.Cmd
	var clients []*rpchttp.HTTP
	exited := make([]chan error, len(banks))
	for i, b := range banks {
		logf, err := os.Create(filepath.Join(dir, b.org+".log"))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "start", "--home", b.home, "--passphrase-file", pwFile, "--log.level", "warn")
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs = append(procs, cmd)
		exited[i] = make(chan error, 1)
		go func() { exited[i] <- cmd.Wait(); logf.Close() }()
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			<-exited[i]
		})
		c, err := rpchttp.New(rpc[i], "/websocket")
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	ctx := heavytest.Context(t, 60*time.Second)
	for i, c := range clients {
		if err := consensus.WaitForHeight(ctx, c, 2); err != nil {
			log, _ := os.ReadFile(filepath.Join(dir, banks[i].org+".log"))
			t.Fatalf("%s makes no blocks: %v\n%s", banks[i].org, err, log)
		}
	}

	// Admission is on from block 1 with both founders' nodes registered.
	out := mustCLI(t, "query", "nodes", "--node", rpc[1])
	for i, id := range ids {
		if !strings.Contains(out, id+" "+banks[i].org) {
			t.Fatalf("node %s of %s is not registered:\n%s", id, banks[i].org, out)
		}
	}

	// A transfer from bankA's treasury commits; bankB's node sees it.
	var sent txResult
	if err := json.Unmarshal([]byte(mustCLI(t, "--home", banks[0].identity, "tx", "transfer", "--from", banks[0].keyFile, "--asset", "CNY", "--to", banks[1].address, "--amount", "100", "--node", rpc[0], "-o", "json")), &sent); err != nil || sent.Code != 0 {
		t.Fatalf("transfer: %v %+v", err, sent)
	}
	if err := consensus.WaitForHeight(ctx, clients[1], sent.Height); err != nil {
		t.Fatal(err)
	}
	out = mustCLI(t, "query", "balance", "--asset", "CNY", "--account", banks[1].address, "--node", rpc[1])
	if !strings.HasPrefix(out, "100 CNY on payments") {
		t.Fatalf("bankB's balance on its own node: %s", out)
	}

	// The chain recorded the treasury's certificate with that transfer, so
	// the next one names it by hash (ADR 0025); bankB's treasury, which
	// has sent nothing, cannot name its own yet.
	creator := func(c *rpchttp.HTTP, r txResult) *wire.Tx { return committedEnvelope(ctx, t, c, r) }
	if tx := creator(clients[0], sent); tx.Cert == nil || tx.CertRef != nil {
		t.Fatalf("the first transfer does not carry the certificate: %+v", tx)
	}
	var again txResult
	if err := json.Unmarshal([]byte(mustCLI(t, "--home", banks[0].identity, "tx", "transfer", "--from", banks[0].keyFile, "--asset", "CNY", "--to", banks[1].address, "--amount", "1", "--node", rpc[1], "-o", "json")), &again); err != nil || again.Code != 0 {
		t.Fatalf("second transfer: %v %+v", err, again)
	}
	if tx := creator(clients[1], again); tx.Cert != nil || tx.CertRef == nil {
		t.Fatalf("the second transfer does not name the certificate: %+v", tx)
	}
	if out, err := runCLI(t, "--home", banks[1].identity, "tx", "transfer", "--from", banks[1].keyFile, "--certificate", "named", "--asset", "CNY", "--to", banks[0].address, "--amount", "1", "--node", rpc[1]); err == nil || !strings.Contains(out+err.Error(), "has not recorded certificate") {
		t.Fatalf("naming an unrecorded certificate: %v\n%s", err, out)
	}

	// Governance reads back: propose prints the id (text and JSON), show
	// decodes the action, list gives kind and target.
	out = mustCLI(t, "--home", banks[1].identity, "gov", "propose", "set-params", "--voting-period", "50", "--title", "longer votes", "--from", banks[1].keyFile, "--node", rpc[1])
	if !strings.Contains(out, "proposal: 1 (voting)") {
		t.Fatalf("gov propose prints no proposal id:\n%s", out)
	}
	var res txResult
	if err := json.Unmarshal([]byte(mustCLI(t, "--home", banks[0].identity, "gov", "propose", "create-ledger", "--name", "trade", "--members", "bankA,bankB", "--from", banks[0].keyFile, "--node", rpc[0], "-o", "json")), &res); err != nil || res.Proposal != 2 || res.ProposalStatus != "voting" {
		t.Fatalf("gov propose -o json: %v %+v", err, res)
	}
	if err := consensus.WaitForHeight(ctx, clients[1], res.Height); err != nil {
		t.Fatal(err)
	}
	var shown map[string]any
	if err := json.Unmarshal([]byte(mustCLI(t, "gov", "show", "1", "--node", rpc[0], "-o", "json")), &shown); err != nil {
		t.Fatal(err)
	}
	if a, ok := shown["action"].(map[string]any); !ok || a["voting_period_blocks"] != "50" || shown["target"] != "the consortium" || shown["type"] != "set_params" {
		t.Fatalf("gov show -o json does not decode the action: %v", shown)
	}
	out = mustCLI(t, "gov", "show", "2", "--node", rpc[1])
	if !strings.Contains(out, "target: name=trade") || !strings.Contains(out, "action: member_orgs=bankA,bankB name=trade") {
		t.Fatalf("gov show:\n%s", out)
	}
	var list []proposalView
	if err := json.Unmarshal([]byte(mustCLI(t, "gov", "list", "--node", rpc[1], "-o", "json")), &list); err != nil || len(list) != 2 ||
		list[0].Type != "set_params" || list[1].Type != "create_ledger" || list[1].Target != "name=trade" {
		t.Fatalf("gov list -o json: %v %+v", err, list)
	}
	out = mustCLI(t, "gov", "list", "--node", rpc[1])
	if !strings.Contains(out, "#2 create_ledger") || !strings.Contains(out, "target: name=trade") {
		t.Fatalf("gov list:\n%s", out)
	}

	// Both founders sign checkpoints with the keys their init made: past
	// three checkpoint heights (interval 4) and their QCs, the nodes stop
	// (SIGTERM, as systemd does) and bankA's state is read from its disk.
	if err := consensus.WaitForHeight(ctx, clients[0], 15); err != nil {
		t.Fatal(err)
	}
	for i, cmd := range procs {
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := <-exited[i]; err != nil {
			t.Fatalf("%s after SIGTERM: %v", banks[i].org, err)
		}
		exited[i] <- nil // for the cleanup
	}
	store, err := ledger.Open(node.LedgerDir(banks[0].home), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	v, err := store.View(0)
	if err != nil {
		t.Fatal(err)
	}
	idx, ok, err := app.LatestCheckpoint(v)
	if err != nil {
		t.Fatal(err)
	}
	signed := false
	for e := uint64(1); ok && e <= idx.Epoch && !signed; e++ {
		c, _, err := app.LoadCheckpoint(v, e)
		if err != nil {
			t.Fatal(err)
		}
		sigs, _, err := app.CheckpointSignatures(v, c)
		if err != nil {
			t.Fatal(err)
		}
		signed = len(sigs) == len(banks)
	}
	if !signed {
		t.Fatalf("no checkpoint up to epoch %d signed by both founders", idx.Epoch)
	}
}

// buildJinlianBinary builds cmd/jinlian into the test's temp dir, for
// tests that run one process per node.
func buildJinlianBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "jinlian")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/jinlian: %v\n%s", err, out)
	}
	return bin
}
