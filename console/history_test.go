package console

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// TestAccountHistoryLive: the newest page of an account's history tells
// console.js where to ask for what commits next; /explorer/history answers
// the movements after a height as the table's rows, newest first, with
// the height read up to and the balance there, and refuses what it must.
func TestAccountHistoryLive(t *testing.T) {
	acct := strings.Repeat("ab", 20)
	var top atomic.Int64 // the balance's height
	top.Store(10)
	refuse := atomic.Bool{}
	// Heights 9 and 10 each carry a transfer to the account.
	transfer := func(h int64) abci.ExecTxResult {
		return abci.ExecTxResult{Events: []abci.Event{
			wire.Event(&txpb.EventTransfer{Ledger: "payments", Asset: "CNY", From: strings.Repeat("cd", 20), To: acct, Amount: uint64(h), FromBalance: 1, ToBalance: uint64(100 + h),
				ToOrg: "bankA", Memo: "live-" + strconv.FormatInt(h, 10)}),
			wire.Event(&txpb.EventJinlianTx{Id: strings.Repeat("0", 62) + strconv.FormatInt(h, 10), Ledger: "payments", Sender: strings.Repeat("cd", 20), Org: "bankB", Type: "transfer"}),
		}}
	}
	node := fakeNode(t, func(method string, params map[string]json.RawMessage) (any, string) {
		var hs string
		_ = json.Unmarshal(params["height"], &hs)
		h, _ := strconv.ParseInt(hs, 10, 64)
		switch method {
		case "abci_query":
			if path, _ := queryOf(params); path == queryBalance {
				if refuse.Load() {
					return nil, "bankA may not read sub-ledger payments"
				}
				return queryResult(map[string]any{"amount": strconv.FormatInt(100+top.Load(), 10), "height": top.Load()}), ""
			}
		case "status":
			return &ctypes.ResultStatus{SyncInfo: ctypes.SyncInfo{EarliestBlockHeight: 1, LatestBlockHeight: top.Load() + 1}}, ""
		case "block":
			b := &cmttypes.Block{Header: cmttypes.Header{Height: h, Time: time.Unix(1_780_000_000+h, 0)}}
			if h == 9 || h == 10 {
				b.Data.Txs = cmttypes.Txs{cmttypes.Tx("tx " + hs)}
			}
			return &ctypes.ResultBlock{Block: b}, ""
		case "block_results":
			if h < 5 { // an empty block's results, discarded
				return nil, "could not find results for height #" + hs
			}
			if h != 9 && h != 10 {
				return &ctypes.ResultBlockResults{Height: h}, ""
			}
			return &ctypes.ResultBlockResults{Height: h, TxsResults: []*abci.ExecTxResult{ptrTo(transfer(h))}}, ""
		}
		return nil, ""
	})
	s, c := consoleOn(t, node, "en")
	base := "http://" + s.Addr()
	query := "ledger=payments&asset=CNY&account=" + acct

	top.Store(8)
	_, page := get(t, c, base+"/explorer?"+query)
	if !strings.Contains(page, `data-live-after="8"`) || !strings.Contains(page, `data-live-url="/explorer/history?account=`+acct+`&amp;asset=CNY&amp;ledger=payments"`) {
		t.Fatalf("the newest page does not ask for live rows:\n%s", page)
	}
	if regexp.MustCompile(`live-[0-9]`).MatchString(page) {
		t.Fatalf("heights 1..8 move nothing, the page lists:\n%s", page)
	}
	if _, older := get(t, c, base+"/explorer?"+query+"&before=5"); strings.Contains(older, "data-live-url") || strings.Contains(older, "could not find results") {
		t.Errorf("an earlier page asks for live rows, or its empty heights without results are an error:\n%s", older)
	}

	after := func(h string) (int, historyNew, string) {
		t.Helper()
		resp, body := get(t, c, base+"/explorer/history?"+query+"&after="+h)
		var out historyNew
		if resp.StatusCode == http.StatusOK {
			if err := json.Unmarshal([]byte(body), &out); err != nil {
				t.Fatal(err)
			}
		}
		return resp.StatusCode, out, body
	}
	top.Store(10)
	code, out, body := after("8")
	if code != 200 || out.To != 10 || out.Balance != "110" || !strings.Contains(out.Rows, "live-10") || strings.Index(out.Rows, "live-10") > strings.Index(out.Rows, "live-9") {
		t.Fatalf("after 8: HTTP %d %+v %s", code, out, body)
	}
	if strings.Contains(out.Rows, "<script") || strings.Count(out.Rows, "<tr>") != 2 {
		t.Fatalf("rows %q", out.Rows)
	}
	if code, out, _ = after("10"); code != 200 || out.Rows != "" || out.To != 10 {
		t.Fatalf("after 10: HTTP %d %+v", code, out)
	}
	for _, c := range []struct {
		after string
		code  int
		want  string
	}{
		{"x", 400, "want a height"},
		{"-1", 400, "want a height"},
	} {
		if code, _, body := after(c.after); code != c.code || !strings.Contains(body, c.want) {
			t.Errorf("after %s: HTTP %d %q, want %d naming %q", c.after, code, body, c.code, c.want)
		}
	}
	top.Store(historySpan + 5) // a page left open across a long break
	if code, _, body := after("4"); code != http.StatusConflict || !strings.Contains(body, "reload") {
		t.Errorf("after a long break: HTTP %d %q", code, body)
	}
	top.Store(10)
	refuse.Store(true)
	if code, _, body := after("8"); code != http.StatusBadGateway || !strings.Contains(body, "may not read sub-ledger payments") || strings.Contains(body, "live-") {
		t.Errorf("refused balance: HTTP %d %q", code, body)
	}
}

func ptrTo[T any](v T) *T { return &v }
