package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/node/localnet"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// BenchmarkConsolePaint measures the console's first paint against a
// localnet with a long history (issue 12's target: first meaningful paint
// of each page ≤ 1 s with 1M transactions of history; docs/console.md,
// "How fast"). A real one-validator localnet commits
// JINLIAN_CONSOLE_HISTORY (default 1,000,000) transfers of the payments
// ledger before anything is measured: a twentieth sent by bankA (each
// with its own invoice reference) and a twentieth received by it, the rest
// among nine bench accounts under 250 batch memos. Then headless Chromium
// loads each page JINLIAN_CONSOLE_LOADS times (default 5) from three
// consoles: bankA's through node0's GM TLS API (overview, its account,
// the day's statement, reconciliation, governance, proof check, a memo
// search from the node's memo index), bankA's on node0's plain RPC as the
// localnet's default console (the block list, a block, a transaction, the
// same memo search, which CometBFT's tx_search answers by reading every
// match: the API's gate keeps those for regulators; and the account, read
// from blocks there), and, with JINLIAN_CONSOLE_OBSERVER=1 (a regulator
// observer replays the whole history too), the regulator's (alerts, an
// account's case, the audit log, the report form, a transaction, the
// memo search, the block list through the API).
//
// Per load it records the first contentful paint (the Performance API's
// paint entry) and when the page's expected content element was first in
// the document (a MutationObserver registered before the page loads);
// the meaningful paint is the later of the two. It prints a table and
// reports each page's median and maximum. Run it alone, once:
//
//	flock /tmp/jinlian-heavy-e2e.lock go test ./cmd/jinlian -run '^$' -bench ConsolePaint -benchtime 1x -timeout 90m
//	JINLIAN_CONSOLE_HISTORY=20000 ... (a smaller history)
//	JINLIAN_CONSOLE_CATCHUP_PROFILE=cpu.out ... (with the observer: a CPU profile of its catch-up)
func BenchmarkConsolePaint(b *testing.B) {
	chromium, err := chromiumPath()
	if err != nil {
		b.Skip(err)
	}
	n := envCount("JINLIAN_CONSOLE_HISTORY", 1_000_000)
	loads := envCount("JINLIAN_CONSOLE_LOADS", 5)
	observer := os.Getenv("JINLIAN_CONSOLE_OBSERVER") == "1"

	const benchSenders = 9
	keys := make([]*gmcrypto.PrivateKey, benchSenders)
	var extra []string
	for i := range keys {
		if keys[i], err = gmcrypto.GenerateKey(); err != nil {
			b.Fatal(err)
		}
		extra = append(extra, keys[i].Public().Address().String())
	}
	orgs := []string{"bankA"}
	if observer {
		orgs = append(orgs, localnet.RegulatorOrg)
	}
	h := startHistoryNet(b, historyOptions{Extra: extra, Observer: observer, FullIndex: true, APIOrgs: orgs})
	b.Setenv(gmcrypto.PassphraseEnv, localnet.Passphrase)
	for _, env := range []string{"JINLIAN_NODE", "JINLIAN_OBSERVER", "JINLIAN_TLS_MODE", "JINLIAN_TLS_CA", "JINLIAN_TLS_CERT", "JINLIAN_TLS_KEY"} {
		b.Setenv(env, "")
	}
	A := h.id["bankA"]
	// A proposal for the governance page.
	if out, err := runCLI(b, "gov", "propose", "create-ledger", "--name", "bonly", "--members", "bankA", "--title", "a book of its own",
		"--node", h.rpc, "--from", A.KeyFile); err != nil {
		b.Fatalf("propose: %v %s", err, out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Minute)
	defer cancel()
	signerA := h.signer(b, "bankA")
	bench := make([]wire.Signer, benchSenders)
	for i, k := range keys {
		bench[i] = wire.Signer{Key: k, MSPID: localnet.BenchOrg}
	}
	addrA, err := gmcrypto.ParseAddress(A.Address)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	ids := h.commit(b, ctx, n, func(i int) (wire.Signer, *txpb.Message) {
		t := &txpb.Transfer{Asset: "CNY", Amount: 1}
		var s wire.Signer
		switch k := i / 20; i % 20 {
		case 0: // bankA pays a bench account, each invoice its own reference
			s, t.To, t.Memo = signerA, keys[k%benchSenders].Public().Address().Bytes(), fmt.Sprintf("INV-%07d", i)
		case 10: // bankA is paid
			s, t.To, t.Memo = bench[k%benchSenders], addrA.Bytes(), fmt.Sprintf("batch-%03d", k%250)
		default: // between bench accounts, the first the busiest payee
			from, to := (i+k)%benchSenders, 0
			if i%2 == 1 {
				to = (i/2 + k) % benchSenders
			}
			if to == from {
				to = (to + 1) % benchSenders
			}
			s, t.To, t.Memo = bench[from], keys[to].Public().Address().Bytes(), fmt.Sprintf("batch-%03d", k%250)
		}
		return s, &txpb.Message{Body: &txpb.Message_Transfer{Transfer: t}}
	})
	built := time.Since(start)
	st, err := h.nodes[0].Client().Status(ctx)
	if err != nil {
		b.Fatal(err)
	}
	height := st.SyncInfo.LatestBlockHeight
	fmt.Printf("history: %d transfers committed in %s (%.0f tx/s), height %d\n", n, built.Round(time.Second), float64(n)/built.Seconds(), height)
	b.ReportMetric(float64(n), "history_txs")
	b.ReportMetric(built.Seconds(), "history_build_s")

	// A large payment: an alert for the regulator's pages.
	mid := ids[n/2]
	if observer {
		if out, err := runCLI(b, "tx", "transfer", "--node", h.rpc, "--from", A.KeyFile, "--asset", "CNY",
			"--to", keys[1].Public().Address().String(), "--amount", "200000", "--memo", "invoice 42"); err != nil {
			b.Fatalf("large transfer: %v %s", err, out)
		}
	}
	if observer {
		// The observer replays and indexes the whole history: measure
		// after it has caught up, not while it competes for the cores.
		caught := time.Now()
		st, err := h.nodes[0].Client().Status(ctx)
		if err != nil {
			b.Fatal(err)
		}
		top, progress := st.SyncInfo.LatestBlockHeight, 1
		if f := os.Getenv("JINLIAN_CONSOLE_CATCHUP_PROFILE"); f != "" {
			// A CPU profile of the catch-up alone (the whole process:
			// the localnet's nodes run in it).
			out, err := os.Create(f)
			if err != nil {
				b.Fatal(err)
			}
			if err := pprof.StartCPUProfile(out); err != nil {
				b.Fatal(err)
			}
			defer func() { pprof.StopCPUProfile(); out.Close() }()
		}
		for {
			ix, err := h.nodes[1].Regulator.Index().LastHeight()
			if err != nil {
				b.Fatal(err)
			}
			if ix >= top {
				break
			}
			if ctx.Err() != nil {
				b.Fatalf("the observer indexed height %d of %d", ix, top)
			}
			if time.Since(caught) > time.Duration(progress)*30*time.Second {
				progress++
				var own int64 // the observer node's own committed height
				if ost, err := h.nodes[1].Client().Status(ctx); err == nil {
					own = ost.SyncInfo.LatestBlockHeight
				}
				fmt.Printf("history: the observer has indexed height %d of %d, its node has committed %d (%s)\n", ix, top, own, time.Since(caught).Round(time.Second))
			}
			time.Sleep(time.Second)
		}
		fmt.Printf("history: the observer had indexed it %s later\n", time.Since(caught).Round(time.Second))
	}
	var midHeight, lastHeight struct{ Height int64 }
	if err := abciQuery(ctx, nodeFlags{addr: h.rpc}, "/tx", []byte(mid), 0, &midHeight); err != nil {
		b.Fatal(err)
	}
	if err := abciQuery(ctx, nodeFlags{addr: h.rpc}, "/tx", []byte(ids[n-1]), 0, &lastHeight); err != nil {
		b.Fatal(err)
	}

	type pageLoad struct {
		name, path, sel string
	}
	type console struct {
		url   string
		pages []pageLoad
	}
	// The account's page as of the end of the history (its first page
	// when measured at once; the page its "earlier" links reach after the
	// chain has run on, as it has while an observer caught up).
	account := url.Values{"ledger": {"payments"}, "asset": {"CNY"}, "account": {A.Address}, "before": {fmt.Sprint(lastHeight.Height)}}.Encode()
	consoles := []console{
		{runConsole(b, "--home", h.ln.Home, "--from", A.KeyFile, "--node", h.api, "--tls-ca", h.apiCA), []pageLoad{
			{"overview", "/", "#validators tbody tr"},
			{"account", "/explorer?" + account, "#history tbody tr"},
			{"statement", "/statement", "#statement tbody tr"},
			{"recon", "/recon", "#internal"},
			{"governance", "/governance", "#proposal-1"},
			{"proof", "/proof", "#bundle"},
			{"memo (API)", "/explorer?memo=batch-042", "#memo-hits a"},
		}},
		{runConsole(b, "--home", h.ln.Home, "--from", A.KeyFile, "--node", h.rpc), []pageLoad{
			{"blocks", "/explorer/blocks", "#blocks tbody tr"},
			{"block", fmt.Sprintf("/explorer/block/%d", midHeight.Height), "#block-txs"},
			{"tx", "/explorer?tx=" + mid, "#tx-fields"},
			{"memo", "/explorer?memo=batch-042", "#memo-hits a"},
			{"account (RPC)", "/explorer?" + account, "#history tbody tr"},
		}},
	}
	if observer {
		consoles = append(consoles, console{runConsole(b, "--home", h.ln.Home, "--from", h.id[localnet.RegulatorOrg].KeyFile,
			"--node", h.api, "--tls-ca", h.apiCA, "--observer", h.nodes[1].Regulator.URL()), []pageLoad{
			{"regulator", "/regulator", "#alerts tbody tr"},
			{"case", "/regulator/case?account=" + A.Address, "#case-moves"},
			{"audit", "/regulator/audit", "#audit"},
			{"report", "/regulator/report", "#generate"},
			{"tx (regulator)", "/explorer?tx=" + mid, "#tx-fields"},
			{"memo (regulator)", "/explorer?memo=batch-042", "#memo-hits a"},
			{"blocks (regulator)", "/explorer/blocks", "#blocks tbody tr"},
		}})
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 800), chromedp.Flag("lang", "zh-CN"))
	actx, cancelA := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelA()
	type result struct {
		name            string
		fcp, meaningful []float64 // ms from navigation start
		failed          string
	}
	var results []result
	b.ResetTimer()
	for _, c := range consoles {
		tab, cancelT := chromedp.NewContext(actx)
		if err := chromedp.Do(tab); err != nil { // the tab lives on this context
			b.Fatal(err)
		}
		lctx, cancelL := context.WithTimeout(tab, time.Minute)
		err := chromedp.Do(lctx, chromedp.Navigate(c.url)) // the token's cookie
		cancelL()
		if err != nil {
			b.Fatalf("open %s: %v", c.url, err)
		}
		base := strings.Split(c.url, "/?")[0]
		for _, p := range c.pages {
			r := result{name: p.name}
			for range loads * b.N {
				fcp, seen, err := paintOf(tab, base+p.path, p.sel)
				if err != nil {
					body, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
					r.failed = fmt.Sprintf("%v: %.300s", err, body)
					break
				}
				r.fcp, r.meaningful = append(r.fcp, fcp), append(r.meaningful, max(fcp, seen))
			}
			results = append(results, r)
		}
		cancelT()
	}
	b.StopTimer()

	fmt.Printf("\nconsole first paint, %d transfers of history (height %d), %d loads a page, ms from navigation start\n", n, height, loads*b.N)
	fmt.Printf("%-20s %10s %10s %12s %12s  %s\n", "page", "FCP med", "FCP max", "content med", "content max", "≤ 1 s")
	for _, r := range results {
		if r.failed != "" {
			fmt.Printf("%-20s failed: %s\n", r.name, r.failed)
			continue
		}
		fm, fx := medianMax(r.fcp)
		mm, mx := medianMax(r.meaningful)
		ok := "yes"
		if mm > 1000 {
			ok = "no"
		}
		fmt.Printf("%-20s %10.0f %10.0f %12.0f %12.0f  %s\n", r.name, fm, fx, mm, mx, ok)
		unit := strings.NewReplacer(" ", "_", "(", "", ")", "").Replace(r.name)
		b.ReportMetric(mm, unit+"_paint_ms")
		b.ReportMetric(mx, unit+"_paint_max_ms")
	}
	for _, r := range results {
		if r.failed != "" {
			b.Errorf("page %s: %s", r.name, r.failed)
		}
	}
}

// paintOf loads u in the tab and returns its first contentful paint and
// when an element matching sel was first in the document, both in
// milliseconds from the navigation's start.
func paintOf(tab context.Context, u, sel string) (fcp, seen float64, err error) {
	ctx, cancel := context.WithTimeout(tab, 3*time.Minute)
	defer cancel()
	watch := fmt.Sprintf(`(() => { const sel = %q; let done = false;
const mark = () => { if (!done && document.querySelector(sel)) { done = true; window.__jinlianSeen = performance.now(); } return done; };
new MutationObserver((_, o) => { if (mark()) o.disconnect(); }).observe(document, {childList: true, subtree: true}); })()`, sel)
	added, err := chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) (page.AddScriptToEvaluateOnNewDocumentResult, error) {
		return cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: watch})
	})
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		_ = chromedp.Do(tab, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, page.RemoveScriptToEvaluateOnNewDocument, page.RemoveScriptToEvaluateOnNewDocumentParams(added))
			return err
		}))
	}()
	if err := chromedp.Do(ctx, chromedp.Navigate(u)); err != nil {
		return 0, 0, fmt.Errorf("load %s: %w", u, err)
	}
	errs, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("main .error").length`))
	if err != nil {
		return 0, 0, err
	}
	if errs > 0 {
		return 0, 0, fmt.Errorf("%s shows an error", u)
	}
	v, err := chromedp.Run(ctx, chromedp.Poll[[]float64](`(() => { const p = performance.getEntriesByName("first-contentful-paint")[0];
return p && window.__jinlianSeen !== undefined ? [p.startTime, window.__jinlianSeen] : null })()`, chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		return 0, 0, fmt.Errorf("%s: no paint, or no %s: %w", u, sel, err)
	}
	return v[0], v[1], nil
}

// medianMax of a non-empty sample.
func medianMax(xs []float64) (float64, float64) {
	s := slices.Clone(xs)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return m, s[len(s)-1]
}
