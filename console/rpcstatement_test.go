package console

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/libs/pubsub/query"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	"github.com/cometbft/cometbft/state/txindex/kv"

	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// TestRPCStatementSearchIsNotQuadratic: a statement's searches over a
// plain RPC find every match of a busy day (most heights a few of the
// organisation's transactions, one height a thousand) with each match
// read a few times, where paging CometBFT's tx_search, which reads every
// match of the query for each page it answers, read the day's matches
// once a page: T²/100 (here 50 times each match). The node is a real kv tx index behind a JSON-RPC
// server that answers tx_search as CometBFT does.
func TestRPCStatementSearchIsNotQuadratic(t *testing.T) {
	idx := kv.NewTxIndex(dbm.NewMemDB())
	add := func(h int64, i int, org string) {
		r := &abci.TxResult{Height: h, Index: uint32(i), Tx: []byte(fmt.Sprintf("tx %d/%d", h, i))}
		r.Result.Events = []abci.Event{wire.Event(&txpb.EventJinlianTx{Id: fmt.Sprintf("%064x", h<<16|int64(i)), Ledger: "payments", Sender: "s", Org: org, Type: "transfer"})}
		if err := idx.Index(r); err != nil {
			t.Fatal(err)
		}
	}
	for h := int64(1); h <= 1000; h++ {
		for i := range 8 {
			add(h, i, []string{"bankA", "bankB"}[i%2])
		}
	}
	for i := 8; i < 1008; i++ {
		add(250, i, "bankA")
	}
	node, read := kvNode(t, idx, 1, 1000)
	c, err := rpchttp.New(node, "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	chain := rpcChain{ctx: context.Background(), c: c}
	for _, q := range []struct {
		query string
		want  int
	}{
		{"tx.height >= 1 AND tx.height <= 1000 AND jinlian_tx.org = 'bankA'", 1000*4 + 1000},
		{"tx.height >= 100 AND tx.height <= 249 AND jinlian_tx.org = 'bankB'", 150 * 4},
		{"tx.height >= 251 AND tx.height <= 251 AND jinlian_tx.org = 'bankA'", 4},
		{"tx.height >= 7 AND tx.height <= 3 AND jinlian_tx.org = 'bankA'", 0},
		{"jinlian_tx.org = 'bankB'", 1000 * 4}, // no height range: paged
	} {
		*read = 0
		got, err := chain.SearchTxs(context.Background(), q.query)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, r := range got {
			seen[string(r.Tx)] = true
		}
		if len(got) != q.want || len(seen) != q.want {
			t.Errorf("%s: %d results (%d distinct), want %d", q.query, len(got), len(seen), q.want)
		}
		if bound := 12 * q.want; heightRanged.MatchString(q.query) && q.want > 1000 && *read > bound {
			t.Errorf("%s: the node read %d matches for %d (more than %d)", q.query, *read, q.want, bound)
		}
		t.Logf("%s: %d results, %d read", q.query, len(got), *read)
	}
}

// kvNode is a node's JSON-RPC over the kv tx index idx, of heights
// base..top: tx_search answers as CometBFT v0.38's does (every match of
// the query read, sorted, then the page cut; a page past the end
// refused), status gives the heights. *read counts the matches it read
// over every search.
func kvNode(t *testing.T, idx *kv.TxIndex, base, top int64) (url string, read *int) {
	t.Helper()
	read = new(int)
	var mu sync.Mutex
	return fakeNode(t, func(method string, params map[string]json.RawMessage) (any, string) {
		switch method {
		case "status":
			return &ctypes.ResultStatus{SyncInfo: ctypes.SyncInfo{EarliestBlockHeight: base, LatestBlockHeight: top}}, ""
		case "tx_search":
		default:
			return nil, ""
		}
		var q, page, per, order string
		_ = json.Unmarshal(params["query"], &q)
		_ = json.Unmarshal(params["page"], &page)
		_ = json.Unmarshal(params["per_page"], &per)
		_ = json.Unmarshal(params["order_by"], &order)
		parsed, err := query.New(q)
		if err != nil {
			t.Errorf("query %q: %v", q, err)
			return nil, ""
		}
		all, err := idx.Search(context.Background(), parsed)
		if err != nil {
			t.Errorf("search %q: %v", q, err)
			return nil, ""
		}
		mu.Lock()
		*read += len(all)
		mu.Unlock()
		slices.SortFunc(all, func(a, b *abci.TxResult) int {
			c := cmp.Or(cmp.Compare(a.Height, b.Height), cmp.Compare(a.Index, b.Index))
			if order == "desc" {
				return -c
			}
			return c
		})
		p, _ := strconv.Atoi(page)
		n, _ := strconv.Atoi(per)
		if pages := max((len(all)+n-1)/n, 1); p < 1 || p > pages {
			return nil, fmt.Sprintf("page should be within [1, %d] range, given %d", pages, p)
		}
		res := &ctypes.ResultTxSearch{TotalCount: len(all)}
		for _, r := range all[(p-1)*n : min(p*n, len(all))] {
			res.Txs = append(res.Txs, &ctypes.ResultTx{Height: r.Height, Index: r.Index, Tx: r.Tx, TxResult: r.Result})
		}
		return res, ""
	}), read
}
