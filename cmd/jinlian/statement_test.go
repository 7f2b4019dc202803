package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cmtlog "github.com/cometbft/cometbft/libs/log"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/heavytest"
	"github.com/jinlian-ledger/jinlian/node"
	"github.com/jinlian-ledger/jinlian/node/localnet"
	"github.com/jinlian-ledger/jinlian/nodecfg"
	"github.com/jinlian-ledger/jinlian/recon"
)

// TestStatementThroughOwnNode runs a localnet (bankA's and bankB's
// validators, a regulator observer) where the two banks pay each other
// with payment references, then asks bankA's own validator, through its
// GM TLS API, for statements: bankA's lists exactly its movements with
// counterparty organisation, memo and balances, in JSON, CSV and text;
// bankB's client is refused bankA's; the regulator gets any. The validator
// runs the default, events.index = auto, which keeps no tx index on a
// validator (ADR 0028): it answers from its movement index and blocks.
func TestStatementThroughOwnNode(t *testing.T) {
	heavytest.Begin(t, "runs a three-node localnet behind the GM TLS API")
	base, err := consensus.FreeBasePort(3)
	if err != nil {
		t.Fatal(err)
	}
	// An account of a third organisation (localnet.BenchOrg), paid by
	// bankB below: a transaction that is none of bankA's business.
	third, err := gmcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := localnet.Prepare(localnet.Options{Home: t.TempDir(), Validators: 2, Observers: 1, BasePort: base,
		TimeoutCommit: 100 * time.Millisecond, CheckpointInterval: -1, ExtraFundedAccounts: []string{third.Public().Address().String()}})
	if err != nil {
		t.Fatal(err)
	}
	apiURL, apiCA := serveGatedAPI(t, ln, 0, base, "bankA", "bankB", localnet.RegulatorOrg)
	cfg, err := nodecfg.Load(ln.Network.Nodes[0].Home, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Events.Index = nodecfg.EventsIndexAuto // the localnet's lean for a plain RPC; a bank's validator runs the default
	if err := cfg.WriteFile(); err != nil {
		t.Fatal(err)
	}
	if !cfg.NoTxIndex() {
		t.Fatalf("bankA's validator with the API keeps a tx index: %s", cfg.EventsIndex())
	}
	apiLog := &syncWriter{w: &bytes.Buffer{}}
	nodes, err := ln.Start(context.Background(), cmtlog.NewNopLogger(), slog.New(slog.NewTextHandler(apiLog, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = node.StopAll(nodes) })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := consensus.WaitForHeight(ctx, nodes[0].Client(), 1); err != nil {
		t.Fatal(err)
	}
	t.Setenv(gmcrypto.PassphraseEnv, localnet.Passphrase)
	for _, env := range []string{"JINLIAN_NODE", "JINLIAN_TLS_MODE", "JINLIAN_TLS_CA", "JINLIAN_TLS_CERT", "JINLIAN_TLS_KEY"} {
		t.Setenv(env, "")
	}
	key := map[string]localnet.Identity{}
	for _, id := range ln.Identities {
		key[id.Org] = id
	}
	A, B, R := key["bankA"], key["bankB"], key[localnet.RegulatorOrg]

	// Two banks pay each other, with payment references.
	rpc := nodes[0].RPCAddr()
	days := map[string]bool{}
	var last int64 // the payments' highest height
	pay := func(from, to localnet.Identity, amount int, memo string) (txID string) {
		t.Helper()
		out, err := runCLI(t, "tx", "transfer", "-o", "json", "--node", rpc, "--from", from.KeyFile, "--asset", "CNY", "--to", to.Address,
			"--amount", fmt.Sprint(amount), "--memo", memo)
		var res txResult
		if err != nil || json.Unmarshal([]byte(out), &res) != nil || res.Code != 0 {
			t.Fatalf("transfer %s: %v %s", memo, err, out)
		}
		blk, err := nodes[0].Client().Block(ctx, &res.Height)
		if err != nil {
			t.Fatal(err)
		}
		days[blk.Block.Time.In(shanghai(t)).Format(recon.DateLayout)] = true
		last = max(last, res.Height)
		return res.TxID
	}
	inv1 := pay(A, B, 250, "INV-2026-001")
	ref := pay(B, A, 40, "REF B/7 货款")
	pay(A, B, 5, "=fee")

	// bankA's node serves the API, so it keeps the movement index: a
	// statement read from it, and from the blocks it has not reached
	// yet, is the one the regulator's observer finds in its full tx
	// index.
	chain := nodes[0].Statements()
	idx, ok := chain.(recon.OrgIndex)
	if !ok {
		t.Fatal("bankA's node keeps no movement index")
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if lo, hi := idx.Indexed(); lo == 1 && hi >= last {
			break
		}
		if time.Now().After(deadline) {
			lo, hi := idx.Indexed()
			t.Fatalf("the movement index holds heights %d-%d, not %d", lo, hi, last)
		}
	}
	if _, err := nodes[0].Client().TxSearch(ctx, "tx.height > 0", false, nil, nil, "asc"); !api.NoTxIndex(err) {
		t.Fatalf("bankA's validator answers tx_search: %v", err)
	}
	observer := nodes[len(nodes)-1].Statements()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, top, err := observer.Heights(); err == nil && top >= last {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the observer's tx index has not reached height %d", last)
		}
	}
	for day := range days {
		for _, org := range []string{"bankA", "bankB"} {
			req := recon.Request{Org: org, Date: day}
			got, err := recon.Build(ctx, chain, shanghai(t), req)
			if err != nil {
				t.Fatal(err)
			}
			want, err := recon.Build(ctx, observer, shanghai(t), req) // the tx index only
			if err != nil {
				t.Fatal(err)
			}
			if got.Day.ToHeight < last {
				// the observer's day may end higher: the chain moved on
				g, _ := json.Marshal(got)
				t.Fatalf("%s's statement of %s ends at %d, before the payments' %d:\n%s", org, day, got.Day.ToHeight, last, g)
			}
			got.Day, want.Day = recon.Day{}, recon.Day{}
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			if string(g) != string(w) || len(want.Rows) == 0 && len(days) == 1 {
				t.Fatalf("%s's statement of %s from the movement index:\n%s\nfrom the tx index:\n%s", org, day, g, w)
			}
		}
	}

	node := apiURL
	as := func(id localnet.Identity) []string {
		return []string{"--node", node, "--tls-mode", "gmtls", "--tls-ca", apiCA, "--tls-key", id.KeyFile}
	}
	// statement runs the command for every day the transfers fell in (two
	// when the test straddles midnight in Shanghai) and joins the rows.
	statement := func(caller localnet.Identity, org string) []recon.Row {
		t.Helper()
		var rows []recon.Row
		for day := range days {
			args := append([]string{"statement", "-o", "json", "--date", day}, as(caller)...)
			if org != "" {
				args = append(args, "--org", org)
			}
			out, err := runCLI(t, args...)
			if err != nil {
				t.Fatalf("statement of %q as %s: %v", org, caller.Org, err)
			}
			var st recon.Statement
			if err := json.Unmarshal([]byte(out), &st); err != nil {
				t.Fatal(err)
			}
			rows = append(rows, st.Rows...)
		}
		slices.SortFunc(rows, func(a, b recon.Row) int { return int(a.Height - b.Height) })
		return rows
	}
	type want struct {
		dir, cp, cpOrg, memo string
		amount, balance      uint64
	}
	check := func(who string, rows []recon.Row, account string, wants []want) {
		t.Helper()
		if len(rows) != len(wants) {
			t.Fatalf("%s: %d rows, want %d: %+v", who, len(rows), len(wants), rows)
		}
		for i, w := range wants {
			r := rows[i]
			if r.Direction != w.dir || r.Account != account || r.Counterparty != w.cp || r.CounterpartyOrg != w.cpOrg || r.Memo != w.memo ||
				r.Amount != w.amount || r.BalanceAfter == nil || *r.BalanceAfter != w.balance || r.Asset != "CNY" || r.Ledger != "payments" || r.Kind != "transfer" {
				t.Errorf("%s row %d: %+v, want %+v", who, i, r, w)
			}
		}
	}
	const F = localnet.Funding
	bankA := []want{
		{"debit", B.Address, "bankB", "INV-2026-001", 250, F - 250},
		{"credit", B.Address, "bankB", "REF B/7 货款", 40, F - 210},
		{"debit", B.Address, "bankB", "=fee", 5, F - 215},
	}
	check("bankA's own statement", statement(A, ""), A.Address, bankA)
	check("the regulator's view of bankA", statement(R, "bankA"), A.Address, bankA)
	check("the regulator's view of bankB", statement(R, "bankB"), B.Address, []want{
		{"credit", A.Address, "bankA", "INV-2026-001", 250, F + 250},
		{"debit", A.Address, "bankA", "REF B/7 货款", 40, F + 210},
		{"credit", A.Address, "bankA", "=fee", 5, F + 215},
	})

	// bankB's client asks bankA's node for bankA's statement.
	var anyDay string
	for d := range days {
		anyDay = d
	}
	_, err = runCLI(t, append([]string{"statement", "--org", "bankA", "--date", anyDay}, as(B)...)...)
	if err == nil || !strings.Contains(err.Error(), "may not read the statement of bankA") || !strings.Contains(err.Error(), "HTTP 403") {
		t.Fatalf("bankB read bankA's statement: %v", err)
	}
	if log := apiLog.String(); !strings.Contains(log, "api: statement refused") || !strings.Contains(log, "O=bankB") {
		t.Fatalf("no audit entry for the refusal:\n%s", log)
	}

	// CSV and text forms of the same statement.
	if len(days) == 1 {
		out, err := runCLI(t, append([]string{"statement", "-o", "csv", "--date", anyDay}, as(A)...)...)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if err != nil || len(recs) != 4 || !slices.Equal(recs[0], recon.CSVHeader) {
			t.Fatalf("CSV: %v\n%s", err, out)
		}
		if r := recs[2]; r[9] != "credit" || r[10] != "40" || r[13] != "bankB" || r[14] != "REF B/7 货款" || r[15] != fmt.Sprint(F-210) {
			t.Fatalf("CSV row %q", r)
		}
		if recs[3][14] != "'=fee" {
			t.Fatalf("CSV memo %q: a spreadsheet would run it", recs[3][14])
		}
		out, err = runCLI(t, append([]string{"statement", "--asset", "CNY", "--date", anyDay}, as(A)...)...)
		if err != nil || !strings.Contains(out, "statement of bankA for "+anyDay) || !strings.Contains(out, `"INV-2026-001"`) ||
			!strings.Contains(out, "payments CNY: 3 rows, credits 40, debits 255, net -215") {
			t.Fatalf("text: %v\n%s", err, out)
		}
	}
	// Transaction proofs through the API: the node builds the bundle for
	// the organisations a transaction concerns (GET /v1/proofs/tx).
	{
		send := func(from localnet.Identity, to string) txResult {
			t.Helper()
			out, err := runCLI(t, "tx", "transfer", "-o", "json", "--node", rpc, "--from", from.KeyFile, "--asset", "CNY", "--to", to, "--amount", "1",
				"--memo", "INV-2026-001")
			var res txResult
			if err != nil || json.Unmarshal([]byte(out), &res) != nil || res.Code != 0 {
				t.Fatalf("transfer: %v %s", err, out)
			}
			return res
		}
		ab, bt := send(A, B.Address), send(B, third.Public().Address().String())
		pctx, pcancel := context.WithTimeout(context.Background(), time.Minute) // its own: the test's may be spent under load
		defer pcancel()
		if err := consensus.WaitForHeight(pctx, nodes[0].Client(), bt.Height+3); err != nil {
			t.Fatal(err)
		}
		genesis := filepath.Join(ln.Network.Nodes[0].Home, "config", "genesis.json")
		dir := t.TempDir()
		for i, c := range []struct {
			who localnet.Identity
			tx  txResult
		}{{A, ab}, {B, ab}, {B, bt}, {R, bt}} {
			f := filepath.Join(dir, fmt.Sprintf("tx%d.json", i))
			out, err := runCLI(t, append([]string{"query", "tx", c.tx.TxID, "--prove", f}, as(c.who)...)...)
			if err != nil || !strings.Contains(out, "source: proof bundle") {
				t.Fatalf("%s proves tx %s: %v\n%s", c.who.Org, c.tx.TxID, err, out)
			}
			if out, err := runCLI(t, "verify", "proof", f, "--trust", genesis); err != nil || !strings.Contains(out, "proven: tx "+c.tx.TxID) {
				t.Fatalf("verify %s's bundle: %v\n%s", c.who.Org, err, out)
			}
		}
		// Without --prove, a member's query tx reads the result from the
		// bundle (the tx index is the regulators').
		if out, err := runCLI(t, append([]string{"query", "tx", ab.TxID}, as(B)...)...); err != nil || !strings.Contains(out, "source: proof bundle") ||
			!strings.Contains(out, fmt.Sprintf("height: %d", ab.Height)) || !strings.Contains(out, "code:   0") {
			t.Fatalf("bankB's query tx through the API: %v\n%s", err, out)
		}
		_, err := runCLI(t, append([]string{"query", "tx", bt.TxID, "--prove", filepath.Join(dir, "no.json")}, as(A)...)...)
		if err == nil || !strings.Contains(err.Error(), "may not read the proof of transaction "+bt.TxID) || !strings.Contains(err.Error(), "HTTP 403") {
			t.Fatalf("bankA proved bankB's payment to a third bank: %v", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "no.json")); !os.IsNotExist(err) {
			t.Fatalf("a refused proof left a file: %v", err)
		}
		if log := apiLog.String(); !strings.Contains(log, "api: transaction proof refused") || !strings.Contains(log, "O=bankA") {
			t.Fatalf("no audit entry for the refused proof:\n%s", log)
		}
		// The transactions themselves, decoded by the node (GET /v1/tx):
		// each bank its own side, bankA nothing of bankB's payment to the
		// third bank; the regulator all of it, events included.
		nodeAs := func(id localnet.Identity) api.Node {
			return api.Node{Addr: node, TLS: api.ClientTLS{Mode: nodecfg.APITLSGM, CAFile: apiCA, KeyFile: id.KeyFile}}
		}
		for _, c := range []struct {
			who       localnet.Identity
			tx        txResult
			movements string // org/direction of each movement shown
			events    bool
		}{{A, ab, "bankA/debit", false}, {B, ab, "bankB/credit", false}, {B, bt, "bankB/debit", false}, {R, ab, "bankA/debit bankB/credit", true}} {
			got, err := nodeAs(c.who).Tx(pctx, nil, c.tx.TxID)
			if err != nil {
				t.Fatalf("%s reads tx %s: %v", c.who.Org, c.tx.TxID, err)
			}
			var ms []string
			for _, m := range got.Movements {
				ms = append(ms, m.Org+"/"+m.Direction)
			}
			if got.ID != c.tx.TxID || got.Height != c.tx.Height || got.Type != "transfer" || strings.Join(ms, " ") != c.movements || (len(got.Events) > 0) != c.events {
				t.Fatalf("%s reads tx %s: %+v", c.who.Org, c.tx.TxID, got)
			}
		}
		var ae *api.Error
		if got, err := nodeAs(A).Tx(pctx, nil, bt.TxID); !errors.As(err, &ae) || ae.Status != 403 || !strings.Contains(ae.Message, "may not read transaction "+bt.TxID) {
			t.Fatalf("bankA read bankB's payment to a third bank: %+v %v", got, err)
		}
		// bankA's validator keeps no tx index, but keeps a memo index of
		// its own beside its movement index: each bank finds
		// the transfers with a memo that it sent or received, newest first
		// (bankA not bankB's payment to the third bank), the regulator
		// every one.
		for _, c := range []struct {
			who  localnet.Identity
			memo string
			want []string
		}{
			{A, "INV-2026-001", []string{ab.TxID, inv1}},
			{B, "INV-2026-001", []string{bt.TxID, ab.TxID, inv1}},
			{R, "INV-2026-001", []string{bt.TxID, ab.TxID, inv1}},
			{A, "REF B/7 货款", []string{ref}},
			{A, "REF B/7", nil},
		} {
			p, err := nodeAs(c.who).TxsByMemo(pctx, nil, c.memo, 1, 20)
			var got []string
			if err == nil {
				for _, tx := range p.Txs {
					got = append(got, tx.ID)
				}
			}
			if err != nil || !slices.Equal(got, c.want) || p.Total != len(c.want) {
				t.Fatalf("%s searches memo %q: %v %v, want %v", c.who.Org, c.memo, got, err, c.want)
			}
		}
		// The same search from the command line: JSON, text, a page, and
		// a plain RPC refused naming what is needed.
		out, err := runCLI(t, append([]string{"query", "txs", "--memo", "INV-2026-001", "--limit", "1", "--page", "2", "-o", "json"}, as(A)...)...)
		var pg api.TxPage
		if err != nil || json.Unmarshal([]byte(out), &pg) != nil || pg.Total != 2 || len(pg.Txs) != 1 || pg.Txs[0].ID != inv1 {
			t.Fatalf("bankA's query txs, page 2 of 1: %v\n%s", err, out)
		}
		out, err = runCLI(t, append([]string{"query", "txs", "--memo", "INV-2026-001"}, as(B)...)...)
		if err != nil || !strings.Contains(out, `memo "INV-2026-001": 3 transfers, 1–3 shown`) || !strings.Contains(out, bt.TxID+" bankB transfer code=0 bankB:debit 1 CNY") {
			t.Fatalf("bankB's query txs as text: %v\n%s", err, out)
		}
		if _, err := runCLI(t, "query", "txs", "--memo", "INV-2026-001", "--node", rpc); err == nil || !strings.Contains(err.Error(), "needs the node's API") {
			t.Fatalf("query txs over the RPC: %v", err)
		}
	}
	// -o csv is only for statements; statements only from the API.
	if _, err := runCLI(t, "status", "-o", "csv", "--node", rpc); err == nil || !strings.Contains(err.Error(), "want text, json") {
		t.Fatalf("status -o csv: %v", err)
	}
	if _, err := runCLI(t, "statement", "--org", "bankA", "--node", rpc); err == nil || !strings.Contains(err.Error(), "node's API") {
		t.Fatalf("statement from the RPC: %v", err)
	}
}

func shanghai(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(nodecfg.DefaultTimeZone)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// syncWriter is a log sink the nodes write to while the test reads it.
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.String()
}
