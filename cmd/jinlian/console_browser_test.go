package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/heavytest"
	"github.com/jinlian-ledger/jinlian/node"
	"github.com/jinlian-ledger/jinlian/node/localnet"
	"github.com/jinlian-ledger/jinlian/nodecfg"
	"github.com/jinlian-ledger/jinlian/proof"
	"github.com/jinlian-ledger/jinlian/recon"
)

// ScreenshotsEnv names a directory the browser test also writes its page
// screenshots to (docs/console/ holds the committed ones).
const ScreenshotsEnv = "JINLIAN_CONSOLE_SCREENSHOTS"

// chromiumPath finds a Chromium or Chrome binary, or says why not.
func chromiumPath() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no chromium on PATH (Debian: apt-get install -y chromium; .ci/run installs it)")
}

// consoleNet is a localnet for the console: two banks, a regulator
// observer with its regulator API, and node0 serving the API over GM TLS
// with mutual authentication, so that the read gate decides what each
// console shows. It is the one place the console tests use consensus.
type consoleNet struct {
	ln       *localnet.Net
	nodes    []*node.Node // stopped at the test's end; restartNode0 replaces node0
	rpc      string       // node0's CometBFT RPC, for the CLI's own checks
	api      string       // https://… node0's API
	ca       string       // the API's CA
	observer string       // regulator API
	key      map[string]string
	funding  uint64 // each bank's opening CNY balance
}

func startConsoleNet(t *testing.T) *consoleNet {
	t.Helper()
	base, err := consensus.FreeBasePort(3)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := localnet.Prepare(localnet.Options{Home: t.TempDir(), Validators: 2, Observers: 1, BasePort: base,
		TimeoutCommit: 300 * time.Millisecond, CheckpointInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	apiURL, apiCA := serveGatedAPI(t, ln, 0, base, "bankA", "bankB", localnet.RegulatorOrg)
	// node0 answers the consoles' queries: it indexes every event
	// attribute (a validator's default is the lean index, without memos),
	// so that the explorer's search by memo finds transfers.
	cfg, err := nodecfg.Load(ln.Network.Nodes[0].Home, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Events.Index = nodecfg.EventsIndexFull
	if err := cfg.WriteFile(); err != nil {
		t.Fatal(err)
	}
	nodes, err := ln.Start(context.Background(), cmtlog.NewNopLogger(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	n := &consoleNet{ln: ln, nodes: nodes, rpc: nodes[0].RPCAddr(), api: apiURL, ca: apiCA, observer: nodes[2].Regulator.URL(), key: map[string]string{}, funding: localnet.Funding}
	t.Cleanup(func() { _ = node.StopAll(n.nodes) })
	if nodes[2].Regulator == nil {
		t.Fatal("the observer runs no regulator service")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := consensus.WaitForHeight(ctx, nodes[0].Client(), 2); err != nil {
		t.Fatal(err)
	}
	t.Setenv(gmcrypto.PassphraseEnv, localnet.Passphrase)
	for _, env := range []string{"JINLIAN_NODE", "JINLIAN_OBSERVER", "JINLIAN_TLS_MODE", "JINLIAN_TLS_CA", "JINLIAN_TLS_CERT", "JINLIAN_TLS_KEY"} {
		t.Setenv(env, "")
	}
	for _, id := range ln.Identities {
		n.key[id.Name] = id.KeyFile
	}
	return n
}

// stopNode0 stops node0 (its CometBFT node, app and API) as an operator's
// stop or a crash would, and restartNode0 starts it again on the same
// home and addresses.
func (n *consoleNet) stopNode0(t *testing.T) {
	t.Helper()
	if err := n.nodes[0].Stop(); err != nil {
		t.Fatalf("stop node0: %v", err)
	}
}

func (n *consoleNet) restartNode0(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n0, err := n.ln.Restart(ctx, 0, cmtlog.NewNopLogger(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("restart node0: %v", err)
	}
	n.nodes[0] = n0
}

// syncBuffer is a bytes.Buffer a command writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var consoleURL = regexp.MustCompile(`http://127\.0\.0\.1:\d+/\?token=[0-9a-f]+`)

// runConsole runs `jinlian console args…` until the test ends and returns
// the URL it prints.
func runConsole(t testing.TB, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	cmd := newRootCmd()
	// --state-dir: the consoles save column mappings in the test's own
	// directory, not the user's config dir.
	cmd.SetArgs(append([]string{"console", "--listen", "127.0.0.1:0", "--state-dir", t.TempDir()}, args...))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("console %v: %v", args, err)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if u := consoleURL.FindString(out.String()); u != "" {
			return u
		}
		select {
		case err := <-done:
			t.Fatalf("console %v stopped: %v\n%s%s", args, err, out.String(), errOut.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("console %v printed no URL:\n%s%s", args, out.String(), errOut.String())
	return ""
}

// TestConsoleInChromium drives the console in a real headless Chromium
// against a localnet behind the GM TLS API: a bank's clerk loads every
// page, sees its balance and its statement (and downloads it as CSV),
// votes on a proposal after the confirmation step, and is refused another
// bank's sub-ledger; the regulator's analyst finds the transaction with
// its decoded fields and acknowledges the alert it raised, which `jinlian
// reg alerts` then shows.
func TestConsoleInChromium(t *testing.T) {
	chromium, err := chromiumPath()
	if err != nil {
		t.Skip(err)
	}
	heavytest.Begin(t, "runs a localnet, two consoles and Chromium")
	n := startConsoleNet(t)
	tlsFlags := []string{"--node", n.api, "--tls-ca", n.ca}

	// A large transfer with a memo: a statement row, and a large_amount alert.
	out, err := runCLI(t, "tx", "transfer", "-o", "json", "--node", n.rpc, "--from", n.key["bankA"], "--asset", "CNY",
		"--to", n.ln.Identities[1].Address, "--amount", "200000", "--memo", "invoice 42")
	if err != nil {
		t.Fatalf("transfer: %v %s", err, out)
	}
	var sent struct {
		TxID string `json:"tx_id"`
	}
	if err := json.Unmarshal([]byte(out), &sent); err != nil || sent.TxID == "" {
		t.Fatalf("transfer: %v %s", err, out)
	}

	bank := runConsole(t, append([]string{"--home", n.ln.Home, "--from", n.key["bankA"]}, tlsFlags...)...)
	reg := runConsole(t, append([]string{"--home", n.ln.Home, "--from", n.key["regulator"], "--observer", n.observer, "--lang", "en"}, tlsFlags...)...)
	bankBase, regBase := strings.Split(bank, "/?")[0], strings.Split(reg, "/?")[0]

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 800), chromedp.Flag("lang", "zh-CN"))
	actx, cancelA := chromedp.NewExecAllocator(heavytest.Context(t, 5*time.Minute), opts...)
	defer cancelA()
	shots := t.TempDir()
	shoot := func(ctx context.Context, name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		for _, dir := range []string{shots, os.Getenv(ScreenshotsEnv)} {
			if dir == "" {
				continue
			}
			if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	text := func(ctx context.Context, sel string) string {
		t.Helper()
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		s, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
			t.Fatalf("%s: %v\npage:\n%s", sel, err, page)
		}
		return s
	}
	// paint logs how long the page took to load (navigation start to the
	// load event): figures, not a limit.
	paint := func(ctx context.Context, page string) {
		t.Helper()
		ms, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`(() => { const e = performance.getEntriesByType("navigation")[0]; return e ? e.loadEventEnd - e.startTime : -1 })()`))
		if err == nil {
			t.Logf("page %s loaded in %.0f ms", page, ms)
		}
	}
	noError := func(ctx context.Context, page string) {
		t.Helper()
		paint(ctx, page)
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("main .error").length`))
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			t.Fatalf("%s shows an error: %s", page, text(ctx, "main .error"))
		}
	}

	// do runs browser steps with a deadline and, when they fail, shows
	// the page they failed on.
	do := func(ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
			t.Fatalf("%s: %v\npage:\n%s", what, err, page)
		}
	}

	genesis := filepath.Join(n.ln.Network.Nodes[0].Home, "config", "genesis.json")
	// verifyDownload fetches the bundle the page's link sel points at, as
	// the browser downloads it (the console's cookie), and checks it with
	// jinlian verify proof from the localnet's genesis.
	verifyDownload := func(ctx context.Context, sel, want string) {
		t.Helper()
		// A link's href, or a form's URL as submitting it asks.
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(e => fetch(e.tagName === "FORM" ? e.action + "?" + new URLSearchParams(new FormData(e)) : e.href))(document.querySelector("`+sel+`")).then(r => r.ok ? r.text() : "HTTP " + r.status)`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("download %s: %v", sel, err)
		}
		file := filepath.Join(t.TempDir(), "bundle.json")
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := runCLI(t, "verify", "proof", file, "--trust", genesis)
		if err != nil || !strings.Contains(out, want) || !strings.Contains(out, "OK") {
			t.Fatalf("jinlian verify proof of the bundle of %s: %v\n%s\n%.300s", sel, err, out, got)
		}
	}

	// The bank's clerk.
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	// The first run starts the tab on the context it gets: this one, not
	// a step's deadline, which would close the tab when it ends.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatal(err)
	}
	do(bctx, "open the printed URL", chromedp.Navigate(bank))
	if got := text(bctx, "#chain-id"); got != n.ln.Network.ChainID {
		t.Errorf("overview chain id %q, want %q", got, n.ln.Network.ChainID)
	}
	if vals := text(bctx, "#validators tbody"); !strings.Contains(vals, "bankA") || !strings.Contains(vals, "bankB") {
		t.Errorf("overview validators: %q", vals)
	}
	if roles := text(bctx, "#roles"); !strings.Contains(roles, "committee") {
		t.Errorf("overview roles: %q", roles)
	}
	// Both validators sign every height's SM2 quorum certificate (two of
	// two make the quorum).
	qcs, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#validators td.qc")].map(e => e.textContent)`))
	if err != nil || len(qcs) != 2 {
		t.Fatalf("QC column: %v %q", err, qcs)
	}
	for _, q := range qcs {
		if k, n, ok := strings.Cut(q, "/"); !ok || k != n || n == "0" {
			t.Errorf("QC participation %q, want every recent certificate signed", q)
		}
	}
	// This localnet defines no checkpoints: the overview says anchoring
	// is not enabled, plainly.
	if off := text(bctx, "#anchor-off"); !strings.Contains(off, "未启用锚定") || !strings.Contains(off, "checkpoint_interval") {
		t.Errorf("overview anchoring: %q", off)
	}
	noError(bctx, "overview")
	shoot(bctx, "overview")

	// Governance: bankB proposes a sub-ledger of its own; the clerk votes
	// yes from the page, after seeing what will be signed.
	out, err = runCLI(t, "gov", "propose", "create-ledger", "--name", "bonly", "--members", "bankB", "--title", "bankB's own book",
		"--node", n.rpc, "--from", n.key["bankB"], "-o", "json")
	var proposed struct {
		TxID     string `json:"tx_id"`
		Proposal uint64 `json:"proposal"`
		Status   string `json:"proposal_status"`
	}
	if err != nil || json.Unmarshal([]byte(out), &proposed) != nil || proposed.Proposal != 1 || proposed.Status != "voting" {
		t.Fatalf("propose: %v %s", err, out)
	}
	do(bctx, "step", chromedp.Navigate(bankBase+"/governance"))
	if row := text(bctx, "#proposal-1"); !strings.Contains(row, "bonly") || !strings.Contains(row, "voting") {
		t.Errorf("governance row: %q", row)
	}
	noError(bctx, "governance")
	shoot(bctx, "governance")
	do(bctx, "step", chromedp.Click(chromedp.CSS("#vote-yes-1")), chromedp.WaitVisible(chromedp.CSS("#message")))
	if msg := text(bctx, "#message"); !strings.Contains(msg, `"proposal_id": "1"`) || !strings.Contains(msg, `"yes": true`) {
		t.Errorf("confirmation shows %q", msg)
	}
	if tosign := text(bctx, "#to-sign"); !strings.Contains(tosign, "_system") || !strings.Contains(tosign, n.ln.Identities[0].Address) {
		t.Errorf("confirmation: %q", tosign)
	}
	shoot(bctx, "vote-confirm")
	do(bctx, "sign and send", chromedp.Click(chromedp.CSS("#sign-send")), chromedp.WaitVisible(chromedp.CSS("#vote-result, main .error")))
	noError(bctx, "vote result")
	if res := text(bctx, "#vote-result"); !strings.Contains(res, "投票已上链") {
		t.Fatalf("vote result: %q", res)
	}
	out, err = runCLI(t, "gov", "show", "1", "-o", "json", "--node", n.rpc)
	if err != nil || !strings.Contains(out, `"org": "bankA"`) || !strings.Contains(out, `"status": "passed"`) {
		t.Fatalf("the vote on chain: %v %s", err, out)
	}
	// The clerk's transfer above carried its certificate, which the chain
	// recorded, so the console's vote names it by hash (ADR 0025), as
	// `jinlian tx` signs.
	var vote txResult
	if out, err := runCLI(t, "query", "tx", text(bctx, "#vote-result code"), "-o", "json", "--node", n.rpc); err != nil || json.Unmarshal([]byte(out), &vote) != nil {
		t.Fatalf("query the vote: %v %s", err, out)
	}
	rpc, err := rpchttp.New(n.rpc, "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	qctx, cancelQ := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelQ()
	if tx := committedEnvelope(qctx, t, rpc, vote); tx.CertRef == nil || tx.Cert != nil {
		t.Errorf("the console's vote does not name its certificate: carried %v, named %x", tx.Cert != nil, tx.CertRef)
	}

	// A confidential transfer (bankB's key is on chain since it proposed):
	// its payload opens only with a key, and the regulator's console opens
	// it below.
	secret := filepath.Join(t.TempDir(), "payroll.txt")
	if err := os.WriteFile(secret, []byte("salary batch 7"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = runCLI(t, "tx", "transfer", "-o", "json", "--node", n.rpc, "--from", n.key["bankA"], "--asset", "CNY",
		"--to", n.ln.Identities[1].Address, "--amount", "100", "--confidential", secret)
	var conf struct {
		TxID string `json:"tx_id"`
	}
	if err != nil || json.Unmarshal([]byte(out), &conf) != nil || conf.TxID == "" {
		t.Fatalf("confidential transfer: %v %s", err, out)
	}

	// Explorer: the clerk's balance; bankB's sub-ledger is refused by
	// the API's gate, and the page shows the refusal, not data.
	do(bctx, "step", chromedp.Navigate(bankBase+"/explorer?ledger=payments&asset=CNY&account="+n.ln.Identities[0].Address))
	if amt := text(bctx, "#balance-amount"); amt != fmt.Sprint(n.funding-200000-100) {
		t.Errorf("balance %q", amt)
	}
	noError(bctx, "explorer")
	// Its history: the member's node API gives no raw block, so the
	// console reads the event feed; the large transfer with its memo.
	if hist := text(bctx, "#history tbody"); !strings.Contains(hist, "invoice 42") || !strings.Contains(hist, "200000") {
		t.Errorf("account history: %q", hist)
	}
	shoot(bctx, "explorer-balance")
	// Live: a payment sent now is added at the top of the open history,
	// and the balance follows, without a reload.
	if out, err := runCLI(t, "tx", "transfer", "-o", "json", "--node", n.rpc, "--from", n.key["bankA"], "--asset", "CNY",
		"--to", n.ln.Identities[1].Address, "--amount", "5", "--memo", "live history"); err != nil {
		t.Fatalf("transfer: %v %s", err, out)
	}
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](`(function () { var r = document.querySelector("#history tbody tr.live"); return !!r && r.innerText.includes("live history"); })()`,
		chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("the payment made with the account's history open did not appear in it: %v\n%s", err, text(bctx, "main"))
	}
	if amt := text(bctx, "#balance-amount"); amt != fmt.Sprint(n.funding-200000-100-5) {
		t.Errorf("balance after the live payment %q", amt)
	}
	// Its balance proof, downloaded from the page, verifies offline.
	verifyDownload(bctx, "#balance-proof", "proven: payments key")
	// And the completeness of its history (the form's default range: the
	// last 500 heights, here from the genesis), through the API's gate
	// (movements from the event feed, state proofs through the gate).
	verifyDownload(bctx, "#movements-proof", "are every movement of "+n.ln.Identities[0].Address)
	// Another bank's sub-ledger: the download is refused by the gate and
	// the console says so, with no bundle.
	do(bctx, "another bank's balance proof", chromedp.Navigate(bankBase+"/explorer/balance/proof.json?ledger=bonly&asset=CNY&account="+n.ln.Identities[1].Address))
	if refused := text(bctx, "main .error"); !strings.Contains(refused, "下载证明") || !strings.Contains(refused, "may not read sub-ledger bonly") {
		t.Errorf("another bank's balance proof: %q", refused)
	}
	do(bctx, "step", chromedp.Navigate(bankBase+"/explorer?ledger=bonly&asset=CNY&account="+n.ln.Identities[1].Address))
	if refused := text(bctx, "#balance-error"); !strings.Contains(refused, "may not read sub-ledger bonly") {
		t.Errorf("another bank's sub-ledger: %q", refused)
	}
	amounts, _ := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("#balance-amount").length`))
	if amounts != 0 {
		t.Error("the page shows a balance the API refused")
	}
	shoot(bctx, "explorer-refused")
	// A member reads its own transaction, decoded by the node (GET
	// /v1/tx): its fields and its own movement; the events, which carry
	// bankB's balance, are withheld.
	do(bctx, "member's tx", chromedp.Navigate(bankBase+"/explorer?tx="+sent.TxID))
	noError(bctx, "member's tx")
	if memo := text(bctx, "#tx-memo"); memo != "invoice 42" {
		t.Errorf("member's tx memo %q", memo)
	}
	if f := text(bctx, "#tx-fields"); !strings.Contains(f, n.ln.Identities[1].Address) || !strings.Contains(f, "200000") {
		t.Errorf("member's tx fields: %q", f)
	}
	rows, _ := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("#tx-movements tbody tr").length`))
	events, _ := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("#tx-events").length`))
	if rows != 1 || events != 0 || !strings.Contains(text(bctx, "#tx-movements"), "bankA") || text(bctx, "#tx-events-withheld") == "" {
		t.Errorf("member's tx: %d movements, %d event tables; want its own movement and no events", rows, events)
	}
	shoot(bctx, "explorer-tx-member")
	// bankB's proposal is none of bankA's: the node refuses it, and the
	// page shows the refusal, no content.
	do(bctx, "another bank's tx", chromedp.Navigate(bankBase+"/explorer?tx="+proposed.TxID))
	if refused := text(bctx, "#tx-error"); !strings.Contains(refused, "may not read transaction "+proposed.TxID) {
		t.Errorf("another bank's tx: %q", refused)
	}
	if fields, _ := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("#tx-fields, #tx-type, #tx-movements").length`)); fields != 0 {
		t.Error("the page shows transaction contents the API refused")
	}
	do(bctx, "member's tx again", chromedp.Navigate(bankBase+"/explorer?tx="+sent.TxID))
	// Its own transaction's inclusion proof the node builds for it
	// (GET /v1/proofs/tx): downloaded from the page, it verifies.
	verifyDownload(bctx, "#tx-proof", "proven: tx "+sent.TxID)

	// Statement: today's movements, and the same as CSV.
	do(bctx, "step", chromedp.Navigate(bankBase+"/statement"))
	if rows := text(bctx, "#statement tbody"); !strings.Contains(rows, "invoice 42") || !strings.Contains(rows, "200000") {
		t.Errorf("statement rows: %q", rows)
	}
	noError(bctx, "statement")
	// Live: a payment made now appears in the open page, no reload.
	if out, err := runCLI(t, "tx", "transfer", "-o", "json", "--node", n.rpc, "--from", n.key["bankA"], "--asset", "CNY",
		"--to", n.ln.Identities[1].Address, "--amount", "3", "--memo", "live row"); err != nil {
		t.Fatalf("transfer: %v %s", err, out)
	}
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](`document.querySelector("#statement tbody").innerText.includes("live row")`,
		chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("the payment made with the statement open did not appear in it: %v\n%s", err, text(bctx, "main"))
	}
	shoot(bctx, "statement")
	csv, err := chromedp.Run(bctx, chromedp.Evaluate[string](`fetch(document.querySelector("#csv").href).then(r => r.text())`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(csv, "invoice 42") || !strings.Contains(csv, sent.TxID) {
		t.Errorf("statement CSV: %q", csv)
	}

	// Reconciliation: the statement's CSV as the bank's books, with the
	// 200000 booked as 200001: exactly one break, an amount mismatch.
	books := filepath.Join(t.TempDir(), "bankA-books.csv")
	if err := os.WriteFile(books, []byte(strings.Replace(csv, ",200000,", ",200001,", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	do(bctx, "reconcile", chromedp.Navigate(bankBase+"/recon"), chromedp.SetUploadFiles(chromedp.CSS("#internal"), []string{books}),
		chromedp.Click(chromedp.CSS("#reconcile")), chromedp.WaitVisible(chromedp.CSS("#recon-summary")))
	noError(bctx, "reconciliation")
	if got := text(bctx, "#break-count"); got != "1" {
		t.Errorf("breaks: %s\n%s", got, text(bctx, "#recon-summary"))
	}
	if rows := text(bctx, "#breaks tbody"); !strings.Contains(rows, "金额不符") || !strings.Contains(rows, "invoice 42") {
		t.Errorf("break rows: %q", rows)
	}
	if pos := text(bctx, "#positions tbody"); !strings.Contains(pos, "bankB") || !strings.Contains(pos, "不一致") {
		t.Errorf("positions: %q", pos)
	}
	// The flows chart: four bars per counterparty, drawn (not empty).
	if bars, err := chromedp.Run(bctx, chromedp.Evaluate[int](`[...document.querySelectorAll("#flows-chart rect")].filter(r => r.getBBox().width > 0).length`)); err != nil || bars < 2 {
		t.Errorf("flows chart: %d bars drawn, %v", bars, err)
	}
	shoot(bctx, "reconciliation")
	signed, err := chromedp.Run(bctx, chromedp.Evaluate[string](`fetch(document.querySelector("#result-json").href).then(r => r.text())`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	sr, who, err := recon.Verify([]byte(signed))
	if err != nil || who != strings.ToLower(n.ln.Identities[0].Address) || sr.Result.Summary.Breaks != 1 {
		t.Fatalf("the console's signed result: %v, signed by %s (want bankA's %s)", err, who, n.ln.Identities[0].Address)
	}
	// Compared with itself as the counterparty's: refused (one bank's both).
	self := filepath.Join(t.TempDir(), "theirs.json")
	if err := os.WriteFile(self, []byte(signed), 0o644); err != nil {
		t.Fatal(err)
	}
	do(bctx, "compare", chromedp.SetUploadFiles(chromedp.CSS("#theirs"), []string{self}),
		chromedp.SendKeys(chromedp.CSS("#signer"), n.ln.Identities[0].Address), chromedp.Click(chromedp.CSS("#compare")),
		chromedp.WaitVisible(chromedp.CSS("main .error")))
	if msg := text(bctx, "main .error"); !strings.Contains(msg, "both are of bankA") {
		t.Errorf("compare with one's own result: %q", msg)
	}

	// Proof check: a balance bundle from the CLI, checked in the page
	// against the genesis file; then the same bundle with its proven
	// value changed.
	bundle := filepath.Join(t.TempDir(), "balance.json")
	if out, err := runCLI(t, "query", "balance", "--asset", "CNY", "--account", n.ln.Identities[0].Address, "--prove", bundle, "--node", n.rpc); err != nil {
		t.Fatalf("query balance --prove: %v\n%s", err, out)
	}
	do(bctx, "proof check", chromedp.Navigate(bankBase+"/proof"), chromedp.SetUploadFiles(chromedp.CSS("#bundle"), []string{bundle}),
		chromedp.SetUploadFiles(chromedp.CSS("#genesis"), []string{genesis}), chromedp.Click(chromedp.CSS("#check")),
		chromedp.WaitVisible(chromedp.CSS("#proof-steps")))
	noError(bctx, "proof check")
	if steps := text(bctx, "#proof-steps"); !strings.Contains(steps, "区块头链") || !strings.Contains(steps, "2 SM2") {
		t.Errorf("proof steps: %q", steps)
	}
	text(bctx, "#proof-ok")
	shoot(bctx, "proof-check")
	raw, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := proof.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	pb.State.Entries[0].Value[7] ^= 1
	if raw, err = pb.Encode(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bundle, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	do(bctx, "a changed bundle", chromedp.Navigate(bankBase+"/proof"), chromedp.SetUploadFiles(chromedp.CSS("#bundle"), []string{bundle}),
		chromedp.SetUploadFiles(chromedp.CSS("#genesis"), []string{genesis}), chromedp.Click(chromedp.CSS("#check")),
		chromedp.WaitVisible(chromedp.CSS("#proof-failed")))
	if msg := text(bctx, "#proof-failed"); !strings.Contains(msg, "state.entries") {
		t.Errorf("a changed balance in the bundle: %q", msg)
	}

	// The regulator's analyst, in English.
	rctx, cancelR := chromedp.NewContext(actx)
	defer cancelR()
	if err := chromedp.Do(rctx); err != nil {
		t.Fatal(err)
	}
	do(rctx, "step", chromedp.Navigate(reg+"&x=1"), chromedp.Navigate(regBase+"/explorer?tx="+sent.TxID))
	if typ := text(rctx, "#tx-type"); typ != "transfer" {
		t.Errorf("tx type %q", typ)
	}
	if memo := text(rctx, "#tx-memo"); memo != "invoice 42" {
		t.Errorf("tx memo %q", memo)
	}
	if f := text(rctx, "#tx-fields"); !strings.Contains(f, n.ln.Identities[1].Address) || !strings.Contains(f, "200000") {
		t.Errorf("tx fields %q", f)
	}
	noError(rctx, "explorer (regulator)")
	shoot(rctx, "explorer-tx")
	do(rctx, "confidential tx", chromedp.Navigate(regBase+"/explorer?tx="+conf.TxID), chromedp.Click(chromedp.CSS("#decrypt")),
		chromedp.WaitVisible(chromedp.CSS("#plaintext, main .error")))
	noError(rctx, "decryption")
	if p := text(rctx, "#plaintext"); p != "salary batch 7" {
		t.Errorf("decrypted payload %q", p)
	}
	shoot(rctx, "explorer-decrypted")
	// Blocks: the list, a page back, and the block of the transaction
	// with its header and the transaction linking to its page.
	do(rctx, "latest blocks", chromedp.Navigate(regBase+"/explorer"), chromedp.Click(chromedp.CSS("#show-blocks")), chromedp.WaitVisible(chromedp.CSS("#blocks")))
	noError(rctx, "latest blocks")
	if rows, _ := chromedp.Run(rctx, chromedp.Evaluate[int](`document.querySelectorAll("#blocks tbody tr").length`)); rows < 2 || rows > 20 {
		t.Errorf("latest blocks: %d rows", rows)
	}
	// Live: the blocks committed while the list is open are added at its
	// top, newest first, the page keeping 20 rows at most.
	if _, err := chromedp.Run(rctx, chromedp.Poll[bool](`(() => { const r = document.querySelectorAll("#blocks tbody tr");
		return r.length <= 20 && r[0].classList.contains("live") && Number(r[0].cells[0].textContent) > Number(r[1].cells[0].textContent) })()`,
		chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Errorf("no block added to the open block list within 30 s: %v\n%s", err, text(rctx, "#blocks"))
	}
	shoot(rctx, "explorer-blocks")
	if more, _ := chromedp.Run(rctx, chromedp.Evaluate[int](`document.querySelectorAll("#earlier-blocks").length`)); more == 1 {
		do(rctx, "earlier blocks", chromedp.Click(chromedp.CSS("#earlier-blocks")), chromedp.WaitVisible(chromedp.CSS("#later-blocks")))
		noError(rctx, "earlier blocks")
	}
	do(rctx, "the tx's block", chromedp.Navigate(regBase+"/explorer?tx="+sent.TxID), chromedp.Click(chromedp.CSS("#tx-block")), chromedp.WaitVisible(chromedp.CSS("#block-header")))
	noError(rctx, "block")
	txHeight := strings.TrimPrefix(text(rctx, "h1"), "Block ")
	if hdr := text(rctx, "#block-header"); !strings.Contains(hdr, n.ln.Network.ChainID) || len(text(rctx, "#block-app-hash")) != 64 {
		t.Errorf("block %s header: %q", txHeight, hdr)
	}
	link, err := chromedp.Run(rctx, chromedp.Evaluate[int](`document.querySelectorAll('#block-txs a[href="/explorer?tx=`+sent.TxID+`"]').length`))
	if err != nil || link != 1 {
		t.Errorf("block %s: %d links to the transaction (%v): %q", txHeight, link, err, text(rctx, "#block-txs"))
	}
	shoot(rctx, "explorer-block")
	do(rctx, "the tx from its block", chromedp.Click(chromedp.CSS(`#block-txs a[href="/explorer?tx=`+sent.TxID+`"]`)), chromedp.WaitVisible(chromedp.CSS("#tx-type")))
	// The regulator's download of the transaction's proof verifies too.
	verifyDownload(rctx, "#tx-proof", "proven: tx "+sent.TxID)
	// Search by memo: the transfer with "invoice 42", from the tx index;
	// the member finds it too, as a transfer its organisation sent
	// (GET /v1/txs).
	do(rctx, "memo search", chromedp.Navigate(regBase+"/explorer"), chromedp.SendKeys(chromedp.CSS("#memo"), "invoice 42"),
		chromedp.Click(chromedp.CSS("#memo-search")), chromedp.WaitVisible(chromedp.CSS("#memo-count")))
	noError(rctx, "memo search")
	if hits, _ := chromedp.Run(rctx, chromedp.Evaluate[int](`document.querySelectorAll('#memo-hits a[href="/explorer?tx=`+sent.TxID+`"]').length`)); hits != 1 {
		t.Errorf("memo search: %q", text(rctx, "#memo-count"))
	}
	do(bctx, "member's memo search", chromedp.Navigate(bankBase+"/explorer?memo=invoice+42"))
	noError(bctx, "member's memo search")
	if hits, _ := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('#memo-hits a[href="/explorer?tx=`+sent.TxID+`"]').length`)); hits != 1 {
		t.Errorf("member's memo search: %q", text(bctx, "#memo-count"))
	}
	do(bctx, "member's blocks", chromedp.Navigate(bankBase+"/explorer/blocks"))
	if refused := text(bctx, "main .error"); !strings.Contains(refused, "only regulators and auditors") {
		t.Errorf("member's blocks: %q", refused)
	}
	do(rctx, "step", chromedp.Navigate(regBase+"/regulator?status=open"))
	alerts := text(rctx, "#alerts tbody")
	id := regexp.MustCompile(`\d+-\d+`).FindString(alerts)
	if !strings.Contains(alerts, "large_amount") || id == "" {
		t.Fatalf("alerts: %q", alerts)
	}
	noError(rctx, "regulator")
	shoot(rctx, "regulator")
	do(rctx, "acknowledge",
		chromedp.SendKeys(chromedp.CSS("#note-"+id), "called bankA: invoice 42, a real payment"),
		chromedp.Click(chromedp.CSS("#ack-"+id)),
		chromedp.WaitVisible(chromedp.CSS("#acked, main .error")))
	noError(rctx, "acknowledged")
	out, err = runCLI(t, "reg", "--observer", n.observer, "--from", n.key["regulator"], "alerts", "-o", "json")
	if err != nil || !strings.Contains(out, "called bankA: invoice 42, a real payment") || !strings.Contains(out, `"acknowledged"`) {
		t.Fatalf("jinlian reg alerts after the acknowledgement: %v %s", err, out)
	}
	shoot(rctx, "regulator-acked")

	// A new large transfer: its alert appears on the open page, streamed.
	if out, err := runCLI(t, "tx", "transfer", "--node", n.rpc, "--from", n.key["bankB"], "--asset", "CNY",
		"--to", n.ln.Identities[0].Address, "--amount", "150000", "--memo", "invoice 43"); err != nil {
		t.Fatalf("second transfer: %v %s", err, out)
	}
	do(rctx, "live alert", chromedp.WaitVisible(chromedp.CSS("#live-alerts li")))
	if l := text(rctx, "#live-alerts"); !strings.Contains(l, "large_amount") || !strings.Contains(l, "150000") {
		t.Errorf("live alerts: %q", l)
	}
	shoot(rctx, "regulator-live")

	// A compliance report for today, signed in the console with the
	// regulator's key; both files verify with jinlian reg verify-report.
	do(rctx, "report", chromedp.Navigate(regBase+"/regulator/report"), chromedp.Click(chromedp.CSS("#generate")),
		chromedp.WaitVisible(chromedp.CSS("#report-ready, main .error")))
	noError(rctx, "report")
	if m := text(rctx, "#report-movements"); m == "0" {
		t.Errorf("report of today has no movements")
	}
	shoot(rctx, "regulator-report")
	repDir := t.TempDir()
	for _, f := range []struct{ sel, name string }{{"#report-file", "report.csv"}, {"#report-sig", "report.csv.sig"}} {
		body, err := chromedp.Run(rctx, chromedp.Evaluate[string](`fetch(document.querySelector("`+f.sel+`").href).then(r => r.text())`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(repDir, f.name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	regAddr := n.ln.Identities[len(n.ln.Identities)-1].Address
	if out, err := runCLI(t, "reg", "verify-report", filepath.Join(repDir, "report.csv"), "--signer", regAddr); err != nil {
		t.Fatalf("jinlian reg verify-report of the console's report: %v %s", err, out)
	}
	do(rctx, "back to the alerts", chromedp.Navigate(regBase+"/regulator"))

	// The account's case: its alert (acknowledged) and its movement; the
	// audit log holds the acknowledgement.
	do(rctx, "case view", chromedp.Click(chromedp.CSS("#alert-"+id+" td:nth-child(5) a")), chromedp.WaitVisible(chromedp.CSS("#case-moves, main .error")))
	noError(rctx, "case view")
	if a := text(rctx, "#case-alerts"); !strings.Contains(a, "large_amount") || !strings.Contains(a, "called bankA") {
		t.Errorf("case alerts: %q", a)
	}
	if m := text(rctx, "#case-moves"); !strings.Contains(m, "200000") {
		t.Errorf("case movements: %q", m)
	}
	shoot(rctx, "regulator-case")
	do(rctx, "audit log", chromedp.Navigate(regBase+"/regulator/audit"))
	noError(rctx, "audit log")
	if a := text(rctx, "#audit"); !strings.Contains(a, "acknowledge alert") {
		t.Errorf("audit log: %q", a)
	}
	shoot(rctx, "regulator-audit")

	// In the browser too: the regulator console's token does not open
	// the clerk's console, and no token gets nothing.
	for _, u := range []string{bankBase + "/?token=" + strings.Split(reg, "token=")[1], bankBase + "/governance"} {
		fctx, cancelF := chromedp.NewContext(actx)
		if err := chromedp.Do(fctx); err != nil {
			t.Fatal(err)
		}
		do(fctx, "step", chromedp.Navigate(u))
		body, err := chromedp.Run(fctx, chromedp.Evaluate[string](`document.body.innerText`))
		if err != nil {
			t.Fatal(err)
		}
		cancelF()
		if !strings.Contains(body, "token") || strings.Contains(body, "bonly") {
			t.Errorf("%s without this console's token: %q", u, body)
		}
	}

	// A console on node0's plain RPC (the default localnet's way), through
	// a TCP relay the test can cut: the statement is built by the console
	// from the RPC, and the connection indicator shows the cut and the
	// recovery.
	relay := startRelay(t, strings.TrimPrefix(n.rpc, "tcp://"))
	plain := runConsole(t, "--home", n.ln.Home, "--node", "tcp://"+relay.addr, "--from", n.key["bankA"])
	pctx, cancelP := chromedp.NewContext(actx)
	defer cancelP()
	if err := chromedp.Do(pctx); err != nil {
		t.Fatal(err)
	}
	do(pctx, "open the plain-RPC console", chromedp.Navigate(plain), chromedp.Navigate(strings.Split(plain, "/?")[0]+"/statement"))
	if rows := text(pctx, "#statement tbody"); !strings.Contains(rows, "invoice 42") {
		t.Errorf("statement from the plain RPC: %q", rows)
	}
	noError(pctx, "statement from the plain RPC")
	banner := func(want bool) {
		t.Helper()
		for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
			hidden, err := chromedp.Run(pctx, chromedp.Evaluate[bool](`document.getElementById("conn-lost").hidden`))
			if err == nil && hidden != want {
				return
			}
		}
		t.Fatalf("connection-lost banner shown = %v, want %v, after 20 s", !want, want)
	}
	banner(false)
	relay.cut()
	banner(true)
	shoot(pctx, "connection-lost")
	relay.restore(t)
	banner(false)
	if s := text(pctx, "#conn-text"); s != "连接已恢复" {
		t.Errorf("indicator after the cut: %q", s)
	}

	// The node itself stops and comes back: the block list, live, shows
	// the lost connection, then the recovery and the blocks committed
	// after the restart, without a reload.
	do(pctx, "open the live block list", chromedp.Navigate(strings.Split(plain, "/?")[0]+"/explorer/blocks"))
	newest := func() int {
		h, err := chromedp.Run(pctx, chromedp.Evaluate[int](`Number(document.querySelector("#blocks tbody").rows[0].cells[0].textContent)`))
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	n.stopNode0(t)
	banner(true)
	before := newest()
	shoot(pctx, "node-stopped")
	n.restartNode0(t)
	banner(false)
	for end := time.Now().Add(30 * time.Second); newest() <= before+1; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("no new block on the live block list 30 s after node0's restart (newest %d, %d before)", newest(), before)
		}
	}
	live, err := chromedp.Run(pctx, chromedp.Evaluate[int](`document.querySelectorAll("#blocks tbody tr.live").length`))
	if err != nil || live == 0 {
		t.Errorf("the blocks after the restart were not added live: %d rows, %v", live, err)
	}
	noError(pctx, "block list after node0's restart")

	// A narrow window (a phone's width): no page scrolls sideways; wide
	// tables scroll inside their box.
	do(pctx, "narrow window", chromedp.EmulateViewport(390, 844))
	plainBase := strings.Split(plain, "/?")[0]
	for _, page := range []string{"/", "/explorer?tx=" + sent.TxID, "/explorer/blocks", "/explorer/block/" + txHeight, "/statement", "/governance"} {
		do(pctx, "narrow "+page, chromedp.Navigate(plainBase+page))
		over, err := chromedp.Run(pctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`))
		if err != nil || over > 1 {
			t.Errorf("%s at 390 px: %v, the page is %d px wider than the window", page, err, over)
		}
		if page == "/" {
			shoot(pctx, "narrow-overview")
		}
	}
	t.Logf("screenshots in %s", shots)
}

// tcpRelay forwards TCP connections to a target until cut, and again after
// restore, on the same address: a network cut between a console and its
// node.
type tcpRelay struct {
	addr, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        []net.Conn
}

func startRelay(t *testing.T, target string) *tcpRelay {
	t.Helper()
	r := &tcpRelay{target: target}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	r.serve(ln)
	t.Cleanup(r.cut)
	return r
}

func (r *tcpRelay) serve(ln net.Listener) {
	r.mu.Lock()
	r.ln = ln
	r.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", r.target)
			if err != nil {
				c.Close()
				continue
			}
			r.mu.Lock()
			r.conns = append(r.conns, c, up)
			r.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
}

func (r *tcpRelay) cut() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ln != nil {
		r.ln.Close()
		r.ln = nil
	}
	for _, c := range r.conns {
		c.Close()
	}
	r.conns = nil
}

func (r *tcpRelay) restore(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	r.serve(ln)
}

// jinlian console refuses bad flags before it serves anything.
func TestConsoleFlagsRefused(t *testing.T) {
	home := t.TempDir()
	t.Setenv(gmcrypto.PassphraseEnv, "whatever")
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no key", []string{"console"}, `required flag(s) "from" not set`},
		{"unknown key", []string{"console", "--home", home, "--from", "nobody"}, `key "nobody" not found`},
		{"unknown language", []string{"console", "--home", home, "--from", "nobody", "--lang", "fr"}, `--lang "fr": want zh or en`},
		{"unknown time zone", []string{"console", "--home", home, "--from", "nobody", "--recon.timezone", "Mars/Olympus"}, `--recon.timezone "Mars/Olympus"`},
	} {
		_, err := runCLI(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error naming %q", c.name, err, c.want)
		}
	}
}
