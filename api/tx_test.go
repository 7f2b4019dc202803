package api_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	cmtquery "github.com/cometbft/cometbft/libs/pubsub/query"
	"github.com/cometbft/cometbft/state/txindex/kv"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/nodecfg"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/recon"
	"github.com/jinlian-ledger/jinlian/wire"
)

// ownTxChain is a node's block store, saved results and tx index with
// real envelopes: bankA pays bankB (height 2), bankB pays bankA (3) and
// bankC (4), all with memo INV-1, bankB pays bankC "other" (4), and a
// transfer of bankA fails (5). The index is CometBFT's own kv indexer,
// so the queries the endpoints make are read as a node reads them.
type ownTxChain struct {
	mu      sync.Mutex
	parties map[string]party // by organisation: the account that pays and is paid
	txs     []*abci.TxResult
	index   *kv.TxIndex
	ids     map[string]int64 // tx id → height
	queries []string
	// memo, when set, makes the chain a node with a memo index
	// (api.MemoIndex) that answers as memo says.
	memo *memoIndexFake
}

// memoIndexFake is a node's memo index as the API sees it: it answers
// from the chain's transactions (answer false: it is catching up), and
// may be made to name a transaction the caller may not read (smuggle).
type memoIndexFake struct {
	answer  bool
	smuggle *abci.TxResult
	asked   []string // org/memo of each search
}

// memoIndexed is an ownTxChain with a memo index.
type memoIndexed struct{ *ownTxChain }

func (c memoIndexed) MemoTxs(_ context.Context, org, memo string, skip, limit int) ([]*abci.TxResult, int, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.memo.asked = append(c.memo.asked, org+"/"+memo)
	if !c.memo.answer {
		return nil, 0, false, nil
	}
	var hits []*abci.TxResult
	for _, r := range slices.Backward(c.txs) { // in height order: newest first
		memos, parties, err := recon.TxMemos(r)
		if err != nil {
			return nil, 0, false, err
		}
		if slices.Contains(memos, memo) && (org == "" || slices.Contains(parties, org)) {
			hits = append(hits, r)
		}
	}
	page := hits[min(skip, len(hits)):min(skip+limit, len(hits))]
	if c.memo.smuggle != nil {
		page = append(slices.Clone(page), c.memo.smuggle)
	}
	return page, len(hits), true, nil
}

// Distinctive balances after the transfers: a member must never see
// another organisation's.
const (
	balA = 700_001 // bankA's account after paying bankB
	balB = 777_002 // bankB's account after paying bankA or bankC
	balC = 333_003 // bankC's account after bankB paid it
)

type party struct {
	key *gmcrypto.PrivateKey
	org string
}

func (p party) addr() string { return p.key.Public().Address().String() }

func newOwnTxChain(t *testing.T) (*ownTxChain, map[string]string) {
	t.Helper()
	parties := map[string]party{}
	for _, org := range []string{"bankA", "bankB", "bankC"} {
		k, err := gmcrypto.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		parties[org] = party{k, org}
	}
	c := &ownTxChain{parties: parties, ids: map[string]int64{}, index: kv.NewTxIndex(dbm.NewMemDB())}
	ids := map[string]string{}
	add := func(name string, h int64, from, to string, amount, fromBal, toBal uint64, memo string, code uint32) {
		p, q := parties[from], parties[to]
		msg := &txpb.Message{Body: &txpb.Message_Transfer{Transfer: &txpb.Transfer{Asset: "CNY", To: q.key.Public().Address().Bytes(), Amount: amount, Memo: memo}}}
		raw, id, err := wire.BuildTx(wire.Signer{Key: p.key, MSPID: p.org}, "c1", "payments", time.Unix(1_780_000_000+h, 0), msg)
		if err != nil {
			t.Fatal(err)
		}
		r := &abci.TxResult{Height: h, Index: uint32(len(c.txsAt(h))), Tx: raw, Result: abci.ExecTxResult{Code: code}}
		if code == 0 {
			r.Result.Events = []abci.Event{
				wire.Event(&txpb.EventJinlianTx{Id: id, Ledger: "payments", Sender: p.addr(), Org: p.org, Type: "transfer"}),
				wire.Event(&txpb.EventTransfer{Ledger: "payments", Asset: "CNY", From: p.addr(), To: q.addr(), Amount: amount,
					FromBalance: fromBal, ToBalance: toBal, ToOrg: q.org, Memo: memo}),
			}
		} else {
			r.Result.Codespace, r.Result.Log = "payments", "insufficient funds"
		}
		c.txs = append(c.txs, r)
		c.ids[id], ids[name] = h, id
		if err := c.index.Index(r); err != nil {
			t.Fatal(err)
		}
	}
	add("AtoB", 2, "bankA", "bankB", 30, balA, 30, "INV-1", 0)
	add("BtoA", 3, "bankB", "bankA", 5, balB, 75, "INV-1", 0)
	add("BtoC", 4, "bankB", "bankC", 7, balB, balC, "INV-1", 0)
	add("BtoC other", 4, "bankB", "bankC", 1, balB, balC+1, "other", 0)
	add("A failed", 5, "bankA", "bankB", 1_000_000, 0, 0, "INV-1", 5)
	return c, ids
}

func (c *ownTxChain) txsAt(h int64) []*abci.TxResult {
	var out []*abci.TxResult
	for _, r := range c.txs {
		if r.Height == h {
			out = append(out, r)
		}
	}
	return out
}

func (c *ownTxChain) Stored() (int64, int64, error)  { return 1, 5, nil }
func (c *ownTxChain) Heights() (int64, int64, error) { return 1, 5, nil }
func (c *ownTxChain) BlockTime(h int64) (time.Time, error) {
	return time.Date(2026, 12, 3, 8+int(h), 0, 0, 0, time.UTC), nil
}
func (c *ownTxChain) BlockTxs(h int64) (time.Time, []*abci.TxResult, error) {
	at, _ := c.BlockTime(h)
	return at, c.txsAt(h), nil
}
func (c *ownTxChain) FirstTx(int64, int64, func(*abci.TxResult) bool) (*abci.TxResult, error) {
	return nil, nil
}

func (c *ownTxChain) SearchTxs(ctx context.Context, q string) ([]*abci.TxResult, error) {
	c.mu.Lock()
	c.queries = append(c.queries, q)
	c.mu.Unlock()
	parsed, err := cmtquery.New(q)
	if err != nil {
		return nil, err
	}
	return c.index.Search(ctx, parsed)
}

func (c *ownTxChain) takeQueries() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	q := c.queries
	c.queries = nil
	return q
}

func (c *ownTxChain) height(_ context.Context, id string) (int64, error) {
	if h, ok := c.ids[id]; ok {
		return h, nil
	}
	return 0, fmt.Errorf("%w: tx %s not found at height 5", api.ErrNotFound, id)
}

// ownTxAPI serves chain over GM TLS with the gate, and returns the nodes
// as four callers reach it: bankA's and bankB's clerks, the regulator and
// an identity the chain does not know.
func ownTxAPI(t *testing.T, chain *ownTxChain, lean bool) (s *api.Server, alice, bob, regulator, stranger api.Node, log func() string) {
	t.Helper()
	mode := nodecfg.APITLSGM
	regu := pki(t, mode, "regulator", "reg")
	a := pki(t, mode, "bankA", "alice")
	b := pki(t, mode, "bankB", "bob")
	x := pki(t, mode, "bankX", "stranger")
	addr := func(f *api.CertFiles) gmcrypto.Address { return certAddr(t, f) }
	reg := &fakeRegistry{
		ids: map[gmcrypto.Address][2][]string{
			addr(regu): {{"regulator"}, {"regulator"}},
			addr(a):    {{"bankA"}, {"member"}},
			addr(b):    {{"bankB"}, {"member"}},
		},
		ledgers: map[string][]string{"payments": {"bankA", "bankB", "bankC"}},
	}
	for _, p := range chain.parties { // the accounts are registered identities too
		reg.ids[p.key.Public().Address()] = [2][]string{{p.org}, {"member"}}
	}
	var statements recon.Chain = chain
	if chain.memo != nil {
		statements = memoIndexed{chain}
	}
	var buf bytes.Buffer
	var mu sync.Mutex
	s, err := api.Start(api.Options{
		Listen: "127.0.0.1:0", TLS: serverTLS(mode, regu, bundle(t, regu.CA, a.CA, b.CA, x.CA)),
		RPC: "tcp://127.0.0.1:1", Status: fakeStatus{}, Registry: reg, Events: chain, Statements: statements, TxHeight: chain.height, LeanIndex: lean,
		TxProof: func(_ context.Context, h, _ int64, id string) (any, error) {
			return map[string]any{"kind": "tx", "height": h, "id": id}, nil
		},
		Logger: slog.New(slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop() })
	node := func(f *api.CertFiles) api.Node {
		return api.Node{Addr: s.URL(), TLS: api.ClientTLS{Mode: mode, CAFile: regu.CA, CertFile: f.ClientCert, KeyFile: f.ClientKey}}
	}
	return s, node(a), node(b), node(regu), node(x), func() string {
		mu.Lock()
		defer mu.Unlock()
		return buf.String()
	}
}

// movementsOf lists a decoded transaction's movements as
// org/direction/balance.
func movementsOf(t *api.Tx) string {
	var out []string
	for _, m := range t.Movements {
		bal := "-"
		if m.BalanceAfter != nil {
			bal = fmt.Sprint(*m.BalanceAfter)
		}
		out = append(out, m.Org+"/"+m.Direction+"/"+bal)
	}
	return strings.Join(out, " ")
}

// TestTxEndpoint plays bankA, bankB, the regulator and a stranger against
// GET /v1/tx over GM TLS: a member reads the transactions its
// organisation sent or received, decoded, without their events and with
// its own movements only (no other organisation's balance); another
// bank's transaction is refused (403, logged), as its proof is; the
// regulator reads any, whole.
func TestTxEndpoint(t *testing.T) {
	chain, ids := newOwnTxChain(t)
	_, alice, bob, regulator, stranger, log := ownTxAPI(t, chain, false)
	ctx := context.Background()
	cases := []struct {
		name      string
		who       api.Node
		tx        string
		code      int    // 0: 200
		movements string // for 200
		err       string
	}{
		{"bankA: a transfer it sent", alice, "AtoB", 0, fmt.Sprintf("bankA/debit/%d", balA), ""},
		{"bankA: a transfer it received", alice, "BtoA", 0, "bankA/credit/75", ""},
		{"bankA: its transfer that failed", alice, "A failed", 0, "", ""},
		{"bankB: its side of bankA's", bob, "AtoB", 0, "bankB/credit/30", ""},
		{"bankB: its payment to bankC", bob, "BtoC", 0, fmt.Sprintf("bankB/debit/%d", balB), ""},
		{"regulator: bankB's payment to bankC, both sides", regulator, "BtoC", 0, fmt.Sprintf("bankB/debit/%d bankC/credit/%d", balB, balC), ""},
		{"bankA: bankB's payment to bankC", alice, "BtoC", 403, "", "may not read transaction " + ids["BtoC"]},
		{"bankB: bankA's failed transfer (nothing moved)", bob, "A failed", 403, "", "may not read transaction"},
		{"bankA: an id nobody committed", alice, strings.Repeat("ab", 32), 404, "", "not found"},
		{"a stranger: bankA's transfer", stranger, "AtoB", 403, "", "is not registered on chain"},
		{"a stranger: an id nobody committed", stranger, strings.Repeat("ab", 32), 403, "", "is not registered on chain"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := ids[c.tx]
			if id == "" {
				id = c.tx
			}
			got, err := c.who.Tx(ctx, nil, id)
			if c.code != 0 {
				var ae *api.Error
				if !errors.As(err, &ae) || ae.Status != c.code || !strings.Contains(ae.Message, c.err) || got != nil {
					t.Fatalf("got %v, %v; want HTTP %d saying %q", got, err, c.code, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != id || got.Type != "transfer" || got.Memo != "INV-1" && got.Memo != "other" || got.Ledger != "payments" || got.Hash == "" || got.BlockTime.IsZero() {
				t.Errorf("decoded: %+v", got)
			}
			if m := movementsOf(got); m != c.movements {
				t.Errorf("movements %q, want %q", m, c.movements)
			}
			privileged := c.who.TLS.CertFile == regulator.TLS.CertFile
			if privileged != (len(got.Events) == 2) || privileged == (got.EventsWithheld != "") {
				t.Errorf("events %v, withheld %q: want them for the regulator only", got.Events, got.EventsWithheld)
			}
		})
	}
	// What bankA reads of bankB's payment to it carries no balance of
	// bankB's, in any field.
	body := rawGet(t, alice, "/v1/tx?id="+ids["BtoA"])
	if strings.Contains(body, fmt.Sprint(balB)) || strings.Contains(body, "from_balance") {
		t.Errorf("bankA reads bankB's balance in bankB's payment to it:\n%s", body)
	}
	if !strings.Contains(body, `"name": "memo"`) || !strings.Contains(body, `"events_withheld"`) {
		t.Errorf("bankA's view of the payment it received:\n%s", body)
	}
	if body := rawGet(t, regulator, "/v1/tx?id="+ids["BtoA"]); !strings.Contains(body, fmt.Sprint(balB)) {
		t.Errorf("the regulator's view lacks the events:\n%s", body)
	}
	failed, err := alice.Tx(ctx, nil, ids["A failed"])
	if err != nil || failed.Result.Code != 5 || failed.Result.Log != "insufficient funds" {
		t.Errorf("bankA's failed transfer: %+v %v", failed, err)
	}
	// The proof follows the same rule.
	if err := bob.Get(ctx, nil, "/v1/proofs/tx?id="+ids["BtoC"]+"&height=4", new(map[string]any)); err != nil {
		t.Errorf("bankB's proof of its payment: %v", err)
	}
	var ae *api.Error
	if err := alice.Get(ctx, nil, "/v1/proofs/tx?id="+ids["BtoC"]+"&height=4", new(map[string]any)); !errors.As(err, &ae) || ae.Status != 403 ||
		!strings.Contains(ae.Message, "may not read the proof of transaction") {
		t.Errorf("bankA's proof of bankB's payment to bankC: %v", err)
	}
	if l := log(); strings.Count(l, "api: transaction refused") != 4 || strings.Count(l, "api: transaction proof refused") != 1 {
		t.Errorf("audit entries:\n%s", l)
	}
	// Bad requests name what is wrong.
	for target, want := range map[string]string{
		"/v1/tx":        `id "": want a transaction id`,
		"/v1/tx?id=xyz": `id "xyz": want a transaction id`,
		"/v1/tx?id=" + ids["AtoB"] + "&id=" + ids["BtoC"]: "parameter id given 2 times",
		"/v1/tx?id=" + ids["AtoB"] + "&height=2":          `unknown parameter "height"`,
		"/v1/tx?Id=" + ids["AtoB"]:                        `unknown parameter "Id"`,
	} {
		var ae *api.Error
		if err := alice.Get(ctx, nil, target, new(api.Tx)); !errors.As(err, &ae) || ae.Status != 400 || !strings.Contains(ae.Message, want) {
			t.Errorf("%s: %v, want 400 saying %q", target, err, want)
		}
	}
}

// rawGet is the body of a 200 answer to GET target.
func rawGet(t *testing.T, n api.Node, target string) string {
	t.Helper()
	hc, err := n.HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Get(n.Addr + target)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: HTTP %d %s", target, resp.StatusCode, b)
	}
	return string(b)
}

// TestTxsByMemo plays the same callers against GET /v1/txs: a member
// finds the transfers with the memo that its organisation sent or
// received, newest first, paged, and nothing of another bank's among
// what the index matched; the regulator every one; a memo that would
// change the index query's meaning is refused before any search.
func TestTxsByMemo(t *testing.T) {
	chain, ids := newOwnTxChain(t)
	_, alice, bob, regulator, stranger, log := ownTxAPI(t, chain, false)
	ctx := context.Background()
	checkMemoSearch(t, ids, alice, bob, regulator)
	chain.takeQueries()
	if _, err := alice.TxsByMemo(ctx, nil, "INV-1", 1, 20); err != nil {
		t.Fatal(err)
	}
	// The index is asked for the memo alone (CometBFT's kv indexer
	// matches a query's conditions within one event, and the sender's
	// organisation is not on the transfer event): it hands the node
	// bankB's payment to bankC too, and the endpoint keeps it from bankA.
	if q := strings.Join(chain.takeQueries(), " | "); q != "transfer.memo = 'INV-1'" {
		t.Errorf("bankA's searches: %s", q)
	}
	if found, _ := chain.SearchTxs(ctx, "transfer.memo = 'INV-1'"); len(found) != 3 {
		t.Errorf("the index matches %d transfers with INV-1, want bankC's among them", len(found))
	}
	chain.takeQueries()

	// The attacker: a memo that closes the quote and adds conditions of
	// its own, however it is spelt, reaches no index.
	for _, memo := range []string{"x' OR transfer.to_org='bankB", "INV-1' AND transfer.to_org='bankC", "INV-1'", "'"} {
		p, err := alice.TxsByMemo(ctx, nil, memo, 1, 20)
		var ae *api.Error
		if !errors.As(err, &ae) || ae.Status != 400 || !strings.Contains(ae.Message, "cannot be searched for a quote") || p != nil {
			t.Errorf("memo %q: %v %v, want 400", memo, p, err)
		}
	}
	if q := chain.takeQueries(); len(q) != 0 {
		t.Errorf("BYPASS: a refused memo reached the index: %q", q)
	}
	// Strangers and bad requests.
	var ae *api.Error
	if _, err := stranger.TxsByMemo(ctx, nil, "INV-1", 1, 20); !errors.As(err, &ae) || ae.Status != 403 || !strings.Contains(ae.Message, "not registered") {
		t.Errorf("a stranger: %v", err)
	}
	if l := log(); !strings.Contains(l, "api: transaction search refused") {
		t.Errorf("no audit entry for the stranger:\n%s", l)
	}
	for target, want := range map[string]string{
		"/v1/txs":                                     "memo is required",
		"/v1/txs?memo=":                               "parameter memo is empty",
		"/v1/txs?memo=INV-1&memo=INV-2":               "parameter memo given 2 times",
		"/v1/txs?memo=INV-1&org=bankB":                `unknown parameter "org"`,
		"/v1/txs?Memo=INV-1":                          `unknown parameter "Memo"`,
		"/v1/txs?memo=INV-1&page=0":                   `page "0": want a page number from 1`,
		"/v1/txs?memo=INV-1&page=4611686018427387904": `want a page number from 1 to 2147483647`, // (page-1)*limit would overflow
		"/v1/txs?memo=INV-1&limit=101":                `limit "101": want a number of transactions from 1 to 100`,
		"/v1/txs?memo=INV-1&limit=x":                  `limit "x"`,
		"/v1/txs?memo=INV-1;org=bankB":                "semicolon",
		"/v1/txs?memo=" + strings.Repeat("m", 1025):   "memo of 1025 bytes",
	} {
		var ae *api.Error
		if err := alice.Get(ctx, nil, target, new(api.TxPage)); !errors.As(err, &ae) || ae.Status != 400 || !strings.Contains(ae.Message, want) {
			t.Errorf("%s: %v, want 400 saying %q", target, err, want)
		}
	}
	if q := chain.takeQueries(); len(q) != 0 {
		t.Errorf("a bad request reached the index: %q", q)
	}

	// A node whose index is lean keeps no memo: it says so.
	lean, _ := newOwnTxChain(t)
	_, leanAlice, _, _, _, _ := ownTxAPI(t, lean, true)
	if _, err := leanAlice.TxsByMemo(ctx, nil, "INV-1", 1, 20); !errors.As(err, &ae) || ae.Status != 404 || !strings.Contains(ae.Message, "events.index = full") {
		t.Errorf("a lean node: %v", err)
	}
}

// checkMemoSearch asks GET /v1/txs as bankA, bankB and the regulator for
// memos of newOwnTxChain's transfers, whole and in pages.
func checkMemoSearch(t *testing.T, ids map[string]string, alice, bob, regulator api.Node) {
	t.Helper()
	ctx := context.Background()
	list := func(p *api.TxPage) string {
		var out []string
		for _, tx := range p.Txs {
			for name, id := range ids {
				if id == tx.ID {
					out = append(out, name)
				}
			}
		}
		return strings.Join(out, ", ")
	}
	cases := []struct {
		name        string
		who         api.Node
		memo        string
		page, limit int
		want        string
		total       int
	}{
		{"bankA: what it sent and received", alice, "INV-1", 1, 20, "BtoA, AtoB", 2},
		{"bankA: the second page of one", alice, "INV-1", 2, 1, "AtoB", 2},
		{"bankA: past the end", alice, "INV-1", 3, 1, "", 2},
		{"bankA: a memo only others used", alice, "other", 1, 20, "", 0},
		{"bankB: its three", bob, "INV-1", 1, 20, "BtoC, BtoA, AtoB", 3},
		{"regulator: every one", regulator, "INV-1", 1, 20, "BtoC, BtoA, AtoB", 3},
		{"regulator: another memo", regulator, "other", 1, 20, "BtoC other", 1},
		{"bankA: a memo nobody used", alice, "INV-2", 1, 20, "", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := c.who.TxsByMemo(ctx, nil, c.memo, c.page, c.limit)
			if err != nil {
				t.Fatal(err)
			}
			if got := list(p); got != c.want || p.Total != c.total || p.Page != c.page || p.Limit != c.limit || p.Memo != c.memo {
				t.Fatalf("%q of %d (page %d of %d), want %q of %d", got, p.Total, p.Page, p.Limit, c.want, c.total)
			}
			for _, tx := range p.Txs {
				if c.who.TLS.CertFile != regulator.TLS.CertFile && (tx.Events != nil || tx.EventsWithheld == "") {
					t.Errorf("a member's hit carries events: %+v", tx)
				}
			}
		})
	}
}

// TestTxsByMemoFromTheMemoIndex: a node with a memo index of its own
// answers GET /v1/txs from it, even with a lean tx index, asking it
// for the caller's organisation's transfers (the regulator's: every
// one), and searches its tx index only while the memo index cannot
// answer; a transaction the memo index names that the caller may not
// read, or that lacks the memo, is not shown; a memo with a quote is
// searched for there as it is, and refused only where the tx index would
// be asked.
func TestTxsByMemoFromTheMemoIndex(t *testing.T) {
	chain, ids := newOwnTxChain(t)
	chain.memo = &memoIndexFake{answer: true}
	_, alice, bob, regulator, _, log := ownTxAPI(t, chain, true)
	checkMemoSearch(t, ids, alice, bob, regulator)
	if q := chain.takeQueries(); len(q) != 0 {
		t.Errorf("the tx index was searched: %q", q)
	}
	asked := strings.Join(chain.memo.asked, " ")
	if !strings.Contains(asked, "bankA/INV-1") || !strings.Contains(asked, "bankB/INV-1") || !strings.Contains(asked, " /INV-1") {
		t.Errorf("the memo index was asked %s", asked)
	}
	ctx := context.Background()
	for _, smuggled := range []string{"BtoC", "BtoC other"} { // another bank's; a transfer with another memo
		for _, r := range chain.txs {
			if api.DecodeTx(r, time.Time{}).ID == ids[smuggled] {
				chain.memo.smuggle = r
			}
		}
		p, err := alice.TxsByMemo(ctx, nil, "INV-1", 1, 20)
		if err != nil || len(p.Txs) != 2 || p.Txs[0].ID != ids["BtoA"] || p.Txs[1].ID != ids["AtoB"] {
			t.Fatalf("with %s smuggled in: %+v %v", smuggled, p, err)
		}
	}
	if l := log(); !strings.Contains(l, "a memo search found a transaction the caller may not read") || !strings.Contains(l, "a memo search found a transaction without the memo") {
		t.Errorf("what the memo index named wrongly is not logged:\n%s", l)
	}
	chain.memo.smuggle = nil

	// A memo with a quote is only a string to the memo index: searched
	// for as it is, where the tx index's query language refuses it.
	chain.memo.asked = nil
	for _, memo := range []string{"x' OR transfer.to_org='bankB", "INV-1'"} {
		if p, err := alice.TxsByMemo(ctx, nil, memo, 1, 20); err != nil || p.Total != 0 || len(p.Txs) != 0 {
			t.Errorf("memo %q: %+v %v", memo, p, err)
		}
	}
	if asked := strings.Join(chain.memo.asked, "|"); asked != "bankA/x' OR transfer.to_org='bankB|bankA/INV-1'" || len(chain.takeQueries()) != 0 {
		t.Errorf("memos with a quote: the memo index was asked %q", asked)
	}

	// Catching up, the memo index cannot answer: a full tx index is
	// searched meanwhile; a lean one says so.
	chain.memo.answer = false
	var ae *api.Error
	if _, err := alice.TxsByMemo(ctx, nil, "INV-1", 1, 20); !errors.As(err, &ae) || ae.Status != 404 || !strings.Contains(ae.Message, "catching up") {
		t.Errorf("a lean node whose memo index is catching up: %v", err)
	}
	full, ids := newOwnTxChain(t)
	full.memo = &memoIndexFake{}
	_, alice, bob, regulator, _, _ = ownTxAPI(t, full, false)
	if _, err := alice.TxsByMemo(ctx, nil, "INV-1'", 1, 20); !errors.As(err, &ae) || ae.Status != 400 || !strings.Contains(ae.Message, "cannot be searched for a quote") || len(full.takeQueries()) != 0 {
		t.Errorf("a quote while the memo index catches up: %v", err)
	}
	checkMemoSearch(t, ids, alice, bob, regulator)
	if len(full.takeQueries()) == 0 || len(full.memo.asked) == 0 {
		t.Errorf("not asked: the memo index %q, then the tx index", full.memo.asked)
	}
}

// Without client certificates nobody is refused: every transaction, whole.
func TestTxEndpointsUngated(t *testing.T) {
	chain, ids := newOwnTxChain(t)
	s, err := api.Start(api.Options{Listen: "127.0.0.1:0", RPC: "tcp://127.0.0.1:1", Status: fakeStatus{}, Events: chain, Statements: chain, TxHeight: chain.height})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop() })
	n := api.Node{Addr: s.URL()}
	tx, err := n.Tx(context.Background(), nil, ids["BtoC"])
	if err != nil || len(tx.Events) != 2 || movementsOf(tx) != fmt.Sprintf("bankB/debit/%d bankC/credit/%d", balB, balC) {
		t.Errorf("ungated tx: %+v %v", tx, err)
	}
	p, err := n.TxsByMemo(context.Background(), nil, "INV-1", 1, 20)
	if err != nil || p.Total != 3 {
		t.Errorf("ungated search: %+v %v", p, err)
	}
}
