package console

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	"github.com/cometbft/cometbft/state/txindex/kv"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// rpcAnswer answers one JSON-RPC call of the console to its node: a
// result, or a refusal worded as the API's read gate words it (answered
// as the gate answers: HTTP 403 with a JSON-RPC error).
type rpcAnswer func(method string, params map[string]json.RawMessage) (result any, refusal string)

// fakeNode is a node's RPC that answers as answer says; the console's
// CometBFT client reads it as it reads a node or the API's gate.
func fakeNode(t *testing.T, answer rpcAnswer) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID     json.RawMessage            `json:"id"`
			Method string                     `json:"method"`
			Params map[string]json.RawMessage `json:"params"`
		}
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		res, refusal := answer(req.Method, req.Params)
		w.Header().Set("Content-Type", "application/json")
		if refusal != "" {
			data, _ := json.Marshal(refusal)
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"error":{"code":-32600,"message":"forbidden","data":%s}}`, req.ID, data)
			return
		}
		if res == nil {
			fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"error":{"code":-32601,"message":"method not found","data":%q}}`, req.ID, req.Method)
			return
		}
		b, err := cmtjson.Marshal(res)
		if err != nil {
			t.Errorf("fake node: %v", err)
		}
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":%s}`, req.ID, b)
	}))
	t.Cleanup(srv.Close)
	return "tcp://" + srv.Listener.Addr().String()
}

// queryOf reads an abci_query's path and data.
func queryOf(params map[string]json.RawMessage) (path string, data []byte) {
	_ = json.Unmarshal(params["path"], &path)
	var h string
	_ = json.Unmarshal(params["data"], &h)
	data, _ = hex.DecodeString(h)
	return path, data
}

func queryResult(v any) *ctypes.ResultABCIQuery {
	b, _ := json.Marshal(v)
	return &ctypes.ResultABCIQuery{Response: abci.ResponseQuery{Value: b, Height: 9}}
}

func consoleOn(t *testing.T, node, lang string) (*Server, *http.Client) {
	t.Helper()
	k, err := gmcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServerWith(t, Config{Node: api.Node{Addr: node}, Key: k, Org: "bankA", Name: "clerk", Lang: lang,
		Listen: "127.0.0.1:0", Timeout: 5 * time.Second})
	return s, login(t, s)
}

// The gate's refusals a member meets.
const (
	refuseLedger = `CN=clerk,O=bankA of bankA may not read sub-ledger bonly: it is open to identities of bankB, regulators and auditors`
	refuseRaw    = `CN=clerk,O=bankA of bankA may not call block: raw blocks, transactions and events carry every sub-ledger, so only regulators and auditors may`
)

// memberNode answers as the API's gate answers bankA's clerk: its own
// sub-ledger's balance, the height of a transaction, no raw block and no
// sub-ledger bonly.
func memberNode(t *testing.T) string {
	return fakeNode(t, func(method string, params map[string]json.RawMessage) (any, string) {
		switch method {
		case "abci_query":
			path, data := queryOf(params)
			switch {
			case path == queryBalance && strings.Contains(string(data), `"bonly"`):
				return nil, refuseLedger
			case path == queryBalance:
				return queryResult(map[string]any{"amount": "700", "height": 9}), ""
			case path == queryTx:
				return queryResult(map[string]any{"height": 5}), ""
			}
			return nil, "no such path " + path
		case "block", "block_results", "blockchain", "tx_search":
			return nil, strings.Replace(refuseRaw, "call block", "call "+method, 1)
		case "status": // open to any client (api's gate)
			return &ctypes.ResultStatus{SyncInfo: ctypes.SyncInfo{EarliestBlockHeight: 1, LatestBlockHeight: 9}}, ""
		}
		return nil, ""
	})
}

// A member asking for a proof of another bank's sub-ledger, or of a
// transaction's inclusion (raw blocks), gets the gate's refusal: on the
// page (in the red box, with HTTP 403 for a script), never a bundle.
func TestProofDownloadRefused(t *testing.T) {
	s, c := consoleOn(t, memberNode(t), "zh")
	base := "http://" + s.Addr()
	acct := strings.Repeat("ab", 20)
	id := strings.Repeat("cd", 32)
	for _, cs := range []struct {
		name, url, want string
	}{
		{"another bank's balance", "/explorer/balance/proof.json?ledger=bonly&asset=CNY&account=" + acct, refuseLedger},
		{"a transaction's inclusion", "/explorer/tx/" + id + "/proof.json", "only regulators and auditors may"},
	} {
		resp, body := get(t, c, base+cs.url)
		body = strings.ReplaceAll(body, "&#39;", "'")
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: HTTP %d, want 403", cs.name, resp.StatusCode)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || resp.Header.Get("Content-Disposition") != "" {
			t.Errorf("%s: %s %q, want the explorer page, not a download", cs.name, ct, resp.Header.Get("Content-Disposition"))
		}
		if !strings.Contains(body, "下载证明") || !strings.Contains(body, cs.want) {
			t.Errorf("%s: the page does not show the gate's refusal %q:\n%s", cs.name, cs.want, body)
		}
		if strings.Contains(body, "light_blocks") || strings.Contains(body, `id="balance-amount"`) {
			t.Errorf("%s: the page shows data", cs.name)
		}
	}
	// The member's own balance offers the link, and so does a transaction
	// whose content the gate keeps (through a node's API the node builds
	// the bundle of the member's own transactions: GET /v1/proofs/tx).
	_, body := get(t, c, base+"/explorer?ledger=payments&asset=CNY&account="+acct)
	if !strings.Contains(body, `id="balance-proof"`) || !strings.Contains(body, "/explorer/balance/proof.json?ledger=payments&amp;asset=CNY&amp;account="+acct) {
		t.Errorf("balance view without its proof link:\n%s", body)
	}
	_, body = get(t, c, base+"/explorer?tx="+id)
	if !strings.Contains(body, `href="/explorer/tx/`+id+`/proof.json" download id="tx-proof"`) || !strings.Contains(body, `href="/explorer/block/5"`) {
		t.Errorf("a transaction at height 5: no proof link, or no link to its block:\n%s", body)
	}
	// Bad input is the console's own refusal (400).
	for _, u := range []string{"/explorer/balance/proof.json?ledger=payments&asset=CNY&account=xyz", "/explorer/balance/proof.json?account=" + acct, "/explorer/tx/xyz/proof.json"} {
		if resp, body := get(t, c, base+u); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `class="error"`) {
			t.Errorf("%s: %d, want 400 and the reason", u, resp.StatusCode)
		}
	}
}

// The block list pages by height through CometBFT's blockchain method
// (20 at most: nothing reads the whole chain), newest first, each height a
// link to its block; a member sees the gate's refusal.
func TestBlocksPages(t *testing.T) {
	var asked [][2]string
	node := fakeNode(t, func(method string, params map[string]json.RawMessage) (any, string) {
		if method != "blockchain" {
			return nil, ""
		}
		var lo, hi string
		_ = json.Unmarshal(params["minHeight"], &lo)
		_ = json.Unmarshal(params["maxHeight"], &hi)
		asked = append(asked, [2]string{lo, hi})
		top := int64(45)
		if hi != "" && hi != "0" {
			fmt.Sscan(hi, &top)
		}
		bottom := int64(1) // CometBFT's minHeight: at least this
		fmt.Sscan(lo, &bottom)
		res := &ctypes.ResultBlockchainInfo{LastHeight: 45}
		for h := top; h > max(0, top-20, bottom-1); h-- {
			res.BlockMetas = append(res.BlockMetas, &cmttypes.BlockMeta{NumTxs: int(h % 3), Header: cmttypes.Header{Height: h, Time: time.Unix(1_780_000_000+h, 0)}})
		}
		return res, ""
	})
	s, c := consoleOn(t, node, "en")
	base := "http://" + s.Addr()
	_, body := get(t, c, base+"/explorer/blocks")
	for _, want := range []string{`<a href="/explorer/block/45">45</a>`, `<a href="/explorer/block/26">26</a>`, `href="/explorer/blocks?before=25" id="earlier-blocks"`} {
		if !strings.Contains(body, want) {
			t.Errorf("latest blocks: no %q", want)
		}
	}
	if strings.Contains(body, "later-blocks") || strings.Contains(body, `/explorer/block/25"`) {
		t.Error("latest blocks: a later page, or a 21st block")
	}
	_, body = get(t, c, base+"/explorer/blocks?before=25")
	for _, want := range []string{`/explorer/block/25"`, `/explorer/block/6"`, `href="/explorer/blocks?before=45" id="later-blocks"`, `href="/explorer/blocks?before=5" id="earlier-blocks"`} {
		if !strings.Contains(body, want) {
			t.Errorf("blocks before 25: no %q", want)
		}
	}
	if len(asked) != 2 || asked[1] != [2]string{"6", "25"} {
		t.Errorf("the console asked for heights %v, want one page (6..25) the second time", asked)
	}
	if _, body := get(t, c, base+"/explorer/blocks?before=x"); !strings.Contains(body, "want a height") {
		t.Error("before=x accepted")
	}
	// The newest page grows as blocks commit (console.js asks for the
	// rows after its top); an older page does not.
	_, body = get(t, c, base+"/explorer/blocks")
	if !strings.Contains(body, `<tbody data-live-top="45">`) {
		t.Error("the newest page does not say its top height for live rows")
	}
	if _, body = get(t, c, base+"/explorer/blocks?before=25"); strings.Contains(body, "data-live-top") {
		t.Error("an older page takes live rows")
	}
	resp, rows := get(t, c, base+"/explorer/blocks?after=43")
	if resp.StatusCode != http.StatusOK || strings.Count(rows, "<tr>") != 2 || !strings.HasPrefix(rows, `<tr><td><a href="/explorer/block/45">45</a>`) ||
		!strings.Contains(rows, `/explorer/block/44"`) || strings.Contains(rows, `/explorer/block/43"`) || strings.Contains(rows, "<html") {
		t.Errorf("rows after 43: %d\n%s", resp.StatusCode, rows)
	}
	if resp, _ := get(t, c, base+"/explorer/blocks?after=x"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("after=x: %d, want 400", resp.StatusCode)
	}

	m, mc := consoleOn(t, memberNode(t), "en")
	for _, page := range []string{"/explorer/blocks", "/explorer/block/7"} {
		_, body := get(t, mc, "http://"+m.Addr()+page)
		if !strings.Contains(strings.ReplaceAll(body, "&#39;", "'"), "only regulators and auditors may") || strings.Contains(body, `id="block-header"`) {
			t.Errorf("member's %s: not the gate's refusal:\n%s", page, body)
		}
	}
	if _, body := get(t, mc, "http://"+m.Addr()+"/explorer/block/0"); !strings.Contains(body, "want a positive height") {
		t.Error("block 0 accepted")
	}
}

// Search by memo over a plain RPC: the transfers whose memo matches, from
// the node's tx index, newest first, 20 a page; the console asks for
// windows of the newest heights, doubling, until it holds the page and
// knows another follows, so a memo that many transfers carry is not read
// whole (its count then a lower bound), and a page at the end counts them
// all. A member meets the gate's refusal of tx_search; a memo the index
// cannot be asked for is refused by the console.
func TestMemoSearch(t *testing.T) {
	k, _ := gmcrypto.GenerateKey()
	idx := kv.NewTxIndex(dbm.NewMemDB())
	var want []string // the memo's transfers, newest first
	const top = 300
	for h := int64(1); h <= top; h++ {
		for i, memo := range []string{"invoice 42", "other"} {
			if memo == "invoice 42" && h%7 != 0 && h != 299 {
				continue
			}
			raw, id, err := wire.BuildTx(wire.Signer{Key: k, MSPID: "bankA"}, "c1", "payments", time.Unix(1_780_000_000+h*2+int64(i), 0), voteMessage(uint64(h), true))
			if err != nil {
				t.Fatal(err)
			}
			r := &abci.TxResult{Height: h, Index: uint32(i), Tx: raw}
			r.Result.Events = []abci.Event{wire.Event(&txpb.EventTransfer{Ledger: "payments", Asset: "CNY", From: "a", To: "b", Amount: 1, ToOrg: "bankB", Memo: memo})}
			if err := idx.Index(r); err != nil {
				t.Fatal(err)
			}
			if memo == "invoice 42" {
				want = append([]string{id}, want...)
			}
		}
	}
	node, read := kvNode(t, idx, 1, top)
	s, c := consoleOn(t, node, "en")
	base := "http://" + s.Addr()
	ids := func(body string) []string {
		var out []string
		for _, m := range regexp.MustCompile(`href="/explorer\?tx=([0-9a-f]{64})"`).FindAllStringSubmatch(body, -1) {
			out = append(out, m[1])
		}
		return out
	}
	for _, c2 := range []struct {
		page       int
		count      string // the count line
		next, prev bool
		maxRead    int // matches the node may read
	}{
		// Heights 237–300 hold 10, 109–236 then 18: the page and a next.
		{1, `id="memo-count">≥ 28 transfers · page 1`, true, false, 28},
		// Rows 20–39 reach into 1–108 (15): every one counted.
		{2, `id="memo-count">43 transfers · page 2`, true, true, 100},
		{3, `id="memo-count">43 transfers · page 3`, false, true, 100},
	} {
		*read = 0
		_, body := get(t, c, fmt.Sprintf("%s/explorer?memo=invoice+42&page=%d", base, c2.page))
		from := (c2.page - 1) * 20
		if got := ids(body); !slices.Equal(got, want[from:min(from+20, len(want))]) {
			t.Errorf("page %d: %d transfers %v, want %v", c2.page, len(got), got, want[from:min(from+20, len(want))])
		}
		if !strings.Contains(body, c2.count) || strings.Contains(body, `id="memo-next"`) != c2.next || strings.Contains(body, `rel="prev"`) != c2.prev {
			t.Errorf("page %d: no %q, or next %v prev %v wrong:\n%s", c2.page, c2.count, c2.next, c2.prev, body[strings.Index(body, "memo-count"):])
		}
		if *read > c2.maxRead {
			t.Errorf("page %d: the node read %d matches (at most %d)", c2.page, *read, c2.maxRead)
		}
	}
	if len(want) != 43 {
		t.Fatalf("%d transfers with the memo", len(want))
	}
	*read = 0
	if _, body := get(t, c, base+"/explorer?memo=it's"); !strings.Contains(body, `id="memo-error"`) || *read != 0 {
		t.Error("a memo with a quote went to the node")
	}
	m, mc := consoleOn(t, memberNode(t), "en")
	_, body := get(t, mc, "http://"+m.Addr()+"/explorer?memo=invoice+42")
	if !strings.Contains(strings.ReplaceAll(body, "&#39;", "'"), "call tx_search: raw blocks") || strings.Contains(body, `id="memo-hits"`) {
		t.Errorf("member's memo search: not the gate's refusal:\n%s", body)
	}
}

// A block's page: its header, and its transactions a page at a time,
// each linking to its page, with its result.
func TestBlockPage(t *testing.T) {
	k, _ := gmcrypto.GenerateKey()
	var txs cmttypes.Txs
	var ids []string
	for i := range 103 {
		raw, id, err := wire.BuildTx(wire.Signer{Key: k, MSPID: "bankA"}, "c1", "payments", time.Unix(1_780_000_000+int64(i), 0), voteMessage(uint64(i+1), true))
		if err != nil {
			t.Fatal(err)
		}
		txs, ids = append(txs, raw), append(ids, id)
	}
	index := false // whether the node answers tx_search by height
	var asked []string
	node := fakeNode(t, func(method string, params map[string]json.RawMessage) (any, string) {
		asked = append(asked, method)
		switch method {
		case "tx_search":
			var q, page string
			_ = json.Unmarshal(params["query"], &q)
			_ = json.Unmarshal(params["page"], &page)
			if !index || q != "tx.height=7" || page != "1" {
				return nil, ""
			}
			res := &ctypes.ResultTxSearch{TotalCount: len(txs)}
			for i := range 100 {
				res.Txs = append(res.Txs, &ctypes.ResultTx{Height: 7, Index: uint32(i), TxResult: abci.ExecTxResult{Code: 3}})
			}
			return res, ""
		case "block":
			b := &cmttypes.Block{Header: cmttypes.Header{ChainID: "c1", Height: 7, Time: time.Unix(1_780_000_000, 0), AppHash: bytes.Repeat([]byte{0xab}, 32)}, Data: cmttypes.Data{Txs: txs}}
			return &ctypes.ResultBlock{BlockID: cmttypes.BlockID{Hash: bytes.Repeat([]byte{0xcd}, 32)}, Block: b}, ""
		case "block_results":
			res := &ctypes.ResultBlockResults{Height: 7}
			for i := range txs {
				res.TxsResults = append(res.TxsResults, &abci.ExecTxResult{Code: uint32(i % 2)})
			}
			return res, ""
		case "status":
			return &ctypes.ResultStatus{SyncInfo: ctypes.SyncInfo{LatestBlockHeight: 9}}, ""
		}
		return nil, ""
	})
	s, c := consoleOn(t, node, "en")
	base := "http://" + s.Addr()
	_, body := get(t, c, base+"/explorer/block/7")
	for _, want := range []string{`<h1>Block 7</h1>`, `id="block-app-hash">` + strings.Repeat("AB", 32), `id="block-ntxs">103`, `href="/explorer?tx=` + ids[0] + `"`,
		`href="/explorer?tx=` + ids[99] + `"`, `href="/explorer/block/7?from=100" id="next-txs"`, `href="/explorer/block/6" id="prev-block"`, `href="/explorer/block/8" id="next-block"`, "Failed (1)"} {
		if !strings.Contains(body, want) {
			t.Errorf("block 7: no %q", want)
		}
	}
	if strings.Contains(body, ids[100]) {
		t.Error("block 7: more than one page of transactions")
	}
	_, body = get(t, c, base+"/explorer/block/7?from=100")
	if !strings.Contains(body, ids[102]) || strings.Contains(body, ids[99]) || !strings.Contains(body, `href="/explorer/block/7?from=0" rel="prev"`) {
		t.Error("block 7 from 100: not the last page")
	}
	// With a tx index, the codes of a page come from one page of
	// tx_search, not from every result of the block.
	index, asked = true, nil
	_, body = get(t, c, base+"/explorer/block/7")
	if !strings.Contains(body, "Failed (3)") || slices.Contains(asked, "block_results") {
		t.Errorf("block 7 with a tx index: asked %q; the codes shown are not the index's", asked)
	}
}

// An account's history reads back from the balance's height in doubling
// steps: a quiet account's page reads each of the last historySpan
// heights once (the node has nothing of it there) and links to the
// heights before; ?before= starts the page lower.
func TestAccountHistorySpan(t *testing.T) {
	var asked []int64
	node := fakeNode(t, func(method string, params map[string]json.RawMessage) (any, string) {
		switch method {
		case "abci_query":
			if path, _ := queryOf(params); path == queryBalance {
				return queryResult(map[string]any{"amount": "700", "height": 1000}), ""
			}
		case "status":
			return &ctypes.ResultStatus{SyncInfo: ctypes.SyncInfo{EarliestBlockHeight: 1, LatestBlockHeight: 1001}}, ""
		case "block":
			var hs string
			_ = json.Unmarshal(params["height"], &hs)
			h, _ := strconv.ParseInt(hs, 10, 64)
			asked = append(asked, h)
			return &ctypes.ResultBlock{Block: &cmttypes.Block{Header: cmttypes.Header{Height: h, Time: time.Unix(1_780_000_000+h, 0)}}}, ""
		}
		return nil, ""
	})
	s, c := consoleOn(t, node, "en")
	acct := strings.Repeat("ab", 20)
	for _, cs := range []struct {
		name, query  string
		top, earlier int64
	}{
		{"the latest page", "", 1000, 500},
		{"an earlier page", "&before=300", 300, 0},
	} {
		asked = nil
		_, body := get(t, c, "http://"+s.Addr()+"/explorer?ledger=payments&asset=CNY&account="+acct+cs.query)
		slices.Sort(asked)
		want := []int64{}
		for h := max(1, cs.top-historySpan+1); h <= cs.top; h++ {
			want = append(want, h)
		}
		if !slices.Equal(asked, want) {
			t.Errorf("%s: read %d heights (%v…), want each of %d..%d once", cs.name, len(asked), asked[:min(len(asked), 5)], want[0], cs.top)
		}
		earlier := fmt.Sprintf("before=%d", cs.earlier)
		if has := strings.Contains(body, earlier); has != (cs.earlier > 0) {
			t.Errorf("%s: link to the page before (%s): %v", cs.name, earlier, has)
		}
	}
}

// memberAPI is a node's API as it answers bankA's clerk: GET /v1/tx gives
// bankA's own transaction (bankB paid it), cut to a member's view, and
// refuses bankB's payment to bankC as the node does (HTTP 403 with its
// reason); GET /v1/txs gives the one transfer of bankA's with the memo,
// and refuses a memo with a quote (400). asked records the API calls.
func memberAPI(t *testing.T) (url, own, foreign string, asked *calls) {
	t.Helper()
	keyB, _ := gmcrypto.GenerateKey()
	keyA, _ := gmcrypto.GenerateKey()
	build := func(to *gmcrypto.PrivateKey, memo string, h int64) (*abci.TxResult, string) {
		msg := &txpb.Message{Body: &txpb.Message_Transfer{Transfer: &txpb.Transfer{Asset: "CNY", To: to.Public().Address().Bytes(), Amount: 5, Memo: memo}}}
		raw, id, err := wire.BuildTx(wire.Signer{Key: keyB, MSPID: "bankB"}, "c1", "payments", time.Unix(1_780_000_000, 0), msg)
		if err != nil {
			t.Fatal(err)
		}
		from, toAddr := keyB.Public().Address().String(), to.Public().Address().String()
		toOrg := "bankA"
		if to != keyA {
			toOrg = "bankC"
		}
		return &abci.TxResult{Height: h, Tx: raw, Result: abci.ExecTxResult{Events: []abci.Event{
			wire.Event(&txpb.EventJinlianTx{Id: id, Ledger: "payments", Sender: from, Org: "bankB", Type: "transfer"}),
			wire.Event(&txpb.EventTransfer{Ledger: "payments", Asset: "CNY", From: from, To: toAddr, Amount: 5, FromBalance: 777002, ToBalance: 75, ToOrg: toOrg, Memo: memo}),
		}}}, id
	}
	mine, own := build(keyA, "INV-7", 12)
	_, foreign = build(keyB, "INV-7", 13)
	asked = &calls{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.add(r.URL.String())
		w.Header().Set("Content-Type", "application/json")
		view := api.DecodeTx(mine, time.Unix(1_780_000_100, 0))
		view.ForMember("bankA")
		q := r.URL.Query()
		switch {
		case r.URL.Path == "/v1/tx" && q.Get("id") == own:
			_ = json.NewEncoder(w).Encode(view)
		case r.URL.Path == "/v1/tx":
			w.WriteHeader(http.StatusForbidden)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "identity 5f1c (CN=clerk,O=bankA) of bankA may not read transaction " + q.Get("id") +
				": a member reads only transactions its organisation sent or whose movements touch its accounts; regulators and auditors any"})
		case r.URL.Path == "/v1/txs" && strings.Contains(q.Get("memo"), "'"):
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "GET /v1/txs: memo: the tx index cannot be searched for a quote (')"})
		case r.URL.Path == "/v1/txs":
			_ = json.NewEncoder(w).Encode(api.TxPage{Memo: q.Get("memo"), Total: 21, Page: 2, Limit: 20, Txs: []*api.Tx{view}})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL, own, foreign, asked
}

// A member's console through the node's API: its own transaction decoded
// (message fields, its movements, the events withheld), another bank's
// refused with the node's reason and no content; the memo search lists
// its own transfers from GET /v1/txs, a page at a time.
func TestMemberOwnTransactions(t *testing.T) {
	node, own, foreign, asked := memberAPI(t)
	k, _ := gmcrypto.GenerateKey()
	s := newTestServerWith(t, Config{Node: api.Node{Addr: node}, Key: k, Org: "bankA", Name: "clerk", Lang: "en", Listen: "127.0.0.1:0", Timeout: 5 * time.Second})
	c := login(t, s)
	base := "http://" + s.Addr()

	_, body := get(t, c, base+"/explorer?tx="+own)
	for _, want := range []string{`id="tx-type">transfer`, `id="tx-memo">INV-7`, `id="tx-fields"`, `<th scope="row">memo</th><td><code>INV-7</code>`,
		`id="tx-movements"`, `<td class="num">75</td>`, `id="tx-events-withheld"`, `href="/explorer/tx/` + own + `/proof.json" download id="tx-proof"`, `href="/explorer/block/12"`} {
		if !strings.Contains(body, want) {
			t.Errorf("own transaction: no %q in\n%s", want, body)
		}
	}
	if strings.Contains(body, `id="tx-events"`) || strings.Contains(body, "777002") || strings.Contains(body, `id="tx-error"`) {
		t.Errorf("own transaction: events, bankB's balance or a refusal shown:\n%s", body)
	}

	_, body = get(t, c, base+"/explorer?tx="+foreign)
	if !strings.Contains(body, `id="tx-error"`) || !strings.Contains(body, "may not read transaction "+foreign) || !strings.Contains(body, "HTTP 403") {
		t.Errorf("another bank's transaction: not the node's refusal:\n%s", body)
	}
	if strings.Contains(body, `id="tx-fields"`) || strings.Contains(body, `id="tx-type"`) || strings.Contains(body, `id="tx-movements"`) {
		t.Errorf("another bank's transaction: contents shown:\n%s", body)
	}

	asked.take()
	_, body = get(t, c, base+"/explorer?memo=INV-7&page=2")
	for _, want := range []string{`id="memo-count">21 transfers · page 2`, `href="/explorer?tx=` + own + `"`, `href="/explorer/block/12"`, `href="/explorer?memo=INV-7&amp;page=1" rel="prev"`} {
		if !strings.Contains(body, want) {
			t.Errorf("memo search: no %q in\n%s", want, body)
		}
	}
	if strings.Contains(body, `id="memo-error"`) || strings.Contains(body, "memo-next") || strings.Contains(body, foreign) {
		t.Errorf("memo search: a refusal, a next page or another bank's transfer:\n%s", body)
	}
	if got := asked.take(); len(got) != 1 || got[0] != "/v1/txs?limit=20&memo=INV-7&page=2" {
		t.Errorf("the console asked %q, want one page of GET /v1/txs", got)
	}
	_, body = get(t, c, base+"/explorer?memo=x%27+OR+transfer.to_org%3D%27bankB")
	if !strings.Contains(body, `id="memo-error"`) || !strings.Contains(body, "cannot be searched for a quote") || strings.Contains(body, `id="memo-hits"`) {
		t.Errorf("memo with a quote: not the node's refusal:\n%s", body)
	}
}

// calls records the requests a fake node answered.
type calls struct {
	mu   sync.Mutex
	urls []string
}

func (c *calls) add(u string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.urls = append(c.urls, u)
}

func (c *calls) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	u := c.urls
	c.urls = nil
	return u
}

// TestNoTxIndex: a validator without the API keeps no tx index (ADR 0028)
// and its RPC answers tx_search as CometBFT's null indexer does. From it
// the explorer still shows a transaction by id, from the block the app
// names and its results (code 5, as the block says), and a statement
// says that the node keeps no tx index instead of CometBFT's bare error.
func TestNoTxIndex(t *testing.T) {
	k, _ := gmcrypto.GenerateKey()
	other, _, err := wire.BuildTx(wire.Signer{Key: k, MSPID: "bankA"}, "c1", "payments", time.Unix(1_780_000_000, 0), voteMessage(1, true))
	if err != nil {
		t.Fatal(err)
	}
	raw, id, err := wire.BuildTx(wire.Signer{Key: k, MSPID: "bankA"}, "c1", "payments", time.Unix(1_780_000_001, 0), voteMessage(2, false))
	if err != nil {
		t.Fatal(err)
	}
	const disabled = "transaction indexing is disabled"
	var searched int
	node := fakeNode(t, func(method string, params map[string]json.RawMessage) (any, string) {
		switch method {
		case "abci_query":
			if path, data := queryOf(params); path == queryTx && string(data) == id {
				return queryResult(map[string]any{"height": 7}), ""
			}
			return nil, "no such transaction"
		case "tx_search":
			searched++
			return nil, disabled
		case "block":
			b := &cmttypes.Block{Header: cmttypes.Header{ChainID: "c1", Height: 7, Time: time.Unix(1_780_000_000, 0)}, Data: cmttypes.Data{Txs: cmttypes.Txs{other, raw}}}
			return &ctypes.ResultBlock{Block: b}, ""
		case "block_results":
			return &ctypes.ResultBlockResults{Height: 7, TxsResults: []*abci.ExecTxResult{{Code: 0}, {Code: 5, Codespace: "jinlian", Log: "refused"}}}, ""
		case "status":
			return &ctypes.ResultStatus{SyncInfo: ctypes.SyncInfo{EarliestBlockHeight: 1, LatestBlockHeight: 9}}, ""
		}
		return nil, ""
	})
	s, c := consoleOn(t, node, "en")
	base := "http://" + s.Addr()
	_, body := get(t, c, base+"/explorer?tx="+id)
	if searched == 0 || !strings.Contains(body, `id="tx-block">7<`) || !strings.Contains(body, "Code 5 (jinlian) refused") || strings.Contains(body, `id="tx-error"`) {
		t.Errorf("a transaction from a node without a tx index (tx_search asked %d times):\n%s", searched, body)
	}
	chain := rpcChain{ctx: context.Background(), c: s.rpc}
	if _, err := chain.SearchTxs(context.Background(), "tx.height >= 1 AND tx.height <= 9 AND jinlian_tx.org = 'bankA'"); !errors.Is(err, errNoTxIndex) || !strings.Contains(err.Error(), disabled) {
		t.Errorf("a statement's search on a node without a tx index: %v, want errNoTxIndex", err)
	}
}
