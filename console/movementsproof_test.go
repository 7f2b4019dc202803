package console

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/node"
	"github.com/jinlian-ledger/jinlian/node/localnet"
	"github.com/jinlian-ledger/jinlian/proof"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// The account page's completeness download: against a real
// single-validator chain (its plain RPC), the console builds the bundle
// of `jinlian query movements --prove` (proof.Source.ListMovements), and
// the verifier of `jinlian verify proof`, trusting the chain's genesis
// file, proves the list complete. Bad heights are the console's own
// refusal, naming the height.
func TestMovementsProofDownload(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a validator")
	}
	dir := t.TempDir()
	sender, err := gmcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	recipient, _ := gmcrypto.GenerateKey()
	base, err := consensus.FreeBasePort(1)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := localnet.Prepare(localnet.Options{Home: dir, Validators: 1, BasePort: base, TimeoutCommit: 100 * time.Millisecond,
		ExtraFundedAccounts: []string{sender.Public().Address().String(), recipient.Public().Address().String()}, CheckpointInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := ln.Start(context.Background(), nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = node.StopAll(nodes) })
	rpcAddr := ln.Network.Nodes[0].RPCAddr
	c, err := rpchttp.New(rpcAddr, "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := consensus.WaitForHeight(ctx, c, 2); err != nil {
		t.Fatal(err)
	}
	m := &txpb.Message{Body: &txpb.Message_Transfer{Transfer: &txpb.Transfer{Asset: "CNY", To: recipient.Public().Address().Bytes(), Amount: 7, Memo: "inv-42"}}}
	raw, _, err := wire.BuildTx(wire.Signer{Key: sender, MSPID: localnet.BenchOrg}, ln.Network.ChainID, "payments", time.Now(), m)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.BroadcastTxCommit(ctx, raw)
	if err != nil || res.CheckTx.Code != 0 || res.TxResult.Code != 0 {
		t.Fatalf("transfer: %v %+v %+v", err, res.CheckTx, res.TxResult)
	}
	// The bundle's last height needs its quorum certificate (two blocks on).
	if err := consensus.WaitForHeight(ctx, c, res.Height+3); err != nil {
		t.Fatal(err)
	}
	genesis, err := os.ReadFile(filepath.Join(ln.Network.Nodes[0].Home, "config", "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	trust, err := proof.ParseTrust(func() ([]byte, error) { return genesis, nil }, 0, "", false)
	if err != nil {
		t.Fatal(err)
	}

	s := newTestServerWith(t, Config{Node: api.Node{Addr: rpcAddr}, Key: recipient, Org: localnet.BenchOrg, Name: "clerk",
		Listen: "127.0.0.1:0", Timeout: 20 * time.Second})
	cl := login(t, s)
	cl.Timeout = 30 * time.Second
	home := "http://" + s.Addr()
	acct := recipient.Public().Address().String()
	page := "/explorer?ledger=payments&asset=CNY&account=" + acct
	if _, body := get(t, cl, home+page); !strings.Contains(body, `action="/explorer/movements/proof.json"`) || !strings.Contains(body, `id="movements-proof-download"`) {
		t.Fatalf("the account page offers no completeness download:\n%s", body)
	}
	link := "/explorer/movements/proof.json?ledger=payments&asset=CNY&account=" + acct
	for _, cs := range []struct {
		name, query string
		from        int64 // 0: any
		count       int
	}{
		{"from the genesis", fmt.Sprintf("&from=1&to=%d", res.Height+1), 1, 1},
		{"from the transfer's height", fmt.Sprintf("&from=%d&to=%d", res.Height, res.Height), res.Height, 1},
		{"after the transfer", fmt.Sprintf("&from=%d", res.Height+1), res.Height + 1, 0},
		{"the default range (the last heights up to the latest certified)", "", 1, 1},
	} {
		t.Run(cs.name, func(t *testing.T) {
			resp, body := get(t, cl, home+link+cs.query)
			if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), `attachment; filename="movements-payments-CNY-`) {
				t.Fatalf("HTTP %d %q:\n%s", resp.StatusCode, resp.Header.Get("Content-Disposition"), body)
			}
			b, err := proof.Decode([]byte(body))
			if err != nil {
				t.Fatal(err)
			}
			rep, err := proof.Verify(b, trust)
			if err != nil {
				t.Fatalf("jinlian verify proof's check: %v", err)
			}
			cr := rep.Completeness
			if cr == nil || cr.Account != acct || cr.Asset != "CNY" || cr.Count != cs.count || (cs.from != 0 && cr.FromHeight != cs.from) {
				t.Fatalf("completeness %+v, want %d movements of %s from height %d", cr, cs.count, acct, cs.from)
			}
			if cs.count == 1 && cr.BalanceAfter != cr.BalanceBefore+7 {
				t.Errorf("balance %d → %d, want +7", cr.BalanceBefore, cr.BalanceAfter)
			}
		})
	}
	// A list with a movement left out does not verify: the bundle proves
	// the list, not only the balances.
	resp, body := get(t, cl, home+link+"&from=1")
	b, err := proof.Decode([]byte(body))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTP %d, %v", resp.StatusCode, err)
	}
	b.Completeness.Movements = b.Completeness.Movements[:0]
	if _, err := proof.Verify(b, trust); err == nil {
		t.Error("a list without the transfer verified")
	}

	for _, cs := range []struct{ query, want string }{
		{"&from=abc", `from height "abc": want a block height`},
		{"&from=0", `from height "0": want a block height`},
		{"&to=-3", `to height "-3": want a block height`},
		{fmt.Sprintf("&from=%d&to=%d", res.Height, res.Height-1), fmt.Sprintf("heights %d..%d: the first height (from) is above the last (to)", res.Height, res.Height-1)},
		{"&to=99999999", "to height 99999999: the latest height with a quorum certificate is"},
		{"&from=99999999", "heights 99999999.."},
	} {
		resp, body := get(t, cl, home+link+cs.query)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(strings.ReplaceAll(body, "&#34;", `"`), cs.want) || resp.Header.Get("Content-Disposition") != "" {
			t.Errorf("%s: HTTP %d, want 400 naming %q:\n%s", cs.query, resp.StatusCode, cs.want, body)
		}
		// The page keeps the range typed, to be corrected.
		if !strings.Contains(body, `id="movements-proof"`) {
			t.Errorf("%s: the page lost the account's download form", cs.query)
		}
	}
}

// A member asking for the completeness proof of another bank's
// sub-ledger gets the gate's refusal (HTTP 403, the page, no file), as
// for a balance; a bad account is the console's own refusal.
func TestMovementsProofRefused(t *testing.T) {
	s, c := consoleOn(t, memberNode(t), "en")
	base := "http://" + s.Addr()
	acct := strings.Repeat("ab", 20)
	resp, body := get(t, c, base+"/explorer/movements/proof.json?ledger=bonly&asset=CNY&account="+acct+"&from=1")
	body = strings.ReplaceAll(body, "&#39;", "'")
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Content-Disposition") != "" || !strings.Contains(body, refuseLedger) {
		t.Errorf("another bank's sub-ledger: HTTP %d %q, want 403 and the gate's refusal:\n%s", resp.StatusCode, resp.Header.Get("Content-Disposition"), body)
	}
	for _, u := range []string{"/explorer/movements/proof.json?ledger=payments&asset=CNY&account=xyz", "/explorer/movements/proof.json?account=" + acct} {
		if resp, body := get(t, c, base+u); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `class="error"`) {
			t.Errorf("%s: %d, want 400 and the reason", u, resp.StatusCode)
		}
	}
	// Without its cookie: the token guard.
	if resp, _ := get(t, client(t), base+"/explorer/movements/proof.json?ledger=payments&asset=CNY&account="+acct); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: HTTP %d, want 401", resp.StatusCode)
	}
}
