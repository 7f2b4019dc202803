package regulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	coretypes "github.com/cometbft/cometbft/rpc/core/types"
	"github.com/cometbft/cometbft/types"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// fakeChain is a block source of real signed envelopes with the results a
// jinlian app would give. It tests the API; the indexer against real
// CometBFT nodes is tested in regulator/e2e.
type fakeChain struct {
	mu      sync.Mutex
	genesis *types.GenesisDoc
	blocks  []*types.Block
	results [][]*abci.ExecTxResult
	bal     map[string]uint64 // CNY balances, as the app would report them
}

func (f *fakeChain) Block(_ context.Context, h *int64) (*coretypes.ResultBlock, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if *h < 1 || int(*h) > len(f.blocks) {
		return nil, fmt.Errorf("height %d not available", *h)
	}
	return &coretypes.ResultBlock{Block: f.blocks[*h-1]}, nil
}

func (f *fakeChain) BlockResults(_ context.Context, h *int64) (*coretypes.ResultBlockResults, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if *h < 1 || int(*h) > len(f.results) {
		return nil, fmt.Errorf("results of %d not available", *h)
	}
	return &coretypes.ResultBlockResults{Height: *h, TxsResults: f.results[*h-1]}, nil
}

func (f *fakeChain) Status(context.Context) (*coretypes.ResultStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := &coretypes.ResultStatus{}
	st.SyncInfo.LatestBlockHeight = int64(len(f.blocks))
	st.SyncInfo.EarliestBlockHeight = 1
	return st, nil
}

func (f *fakeChain) ABCIInfo(context.Context) (*coretypes.ResultABCIInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &coretypes.ResultABCIInfo{Response: abci.ResponseInfo{LastBlockHeight: int64(len(f.results))}}, nil
}

func (f *fakeChain) Genesis(context.Context) (*coretypes.ResultGenesis, error) {
	return &coretypes.ResultGenesis{Genesis: f.genesis}, nil
}

type party struct {
	key *gmcrypto.PrivateKey
	org string
}

func newParty(t *testing.T, org string) party {
	k, err := gmcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return party{k, org}
}

func (p party) addr() string { return p.key.Public().Address().String() }

// add appends a block of transfers (from, to, amount, confidential
// plaintext or nil) and returns their tx ids.
type xfer struct {
	from, to party
	amount   uint64
	secret   []byte
	readers  []*gmcrypto.PublicKey
}

func (f *fakeChain) add(t *testing.T, at time.Time, xs ...xfer) []string {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	var txs types.Txs
	var res []*abci.ExecTxResult
	var ids []string
	for _, x := range xs {
		tr := &txpb.Transfer{Asset: "CNY", To: x.to.key.Public().Address().Bytes(), Amount: x.amount}
		if x.secret != nil {
			c, err := wire.SealConfidential(x.secret, x.readers)
			if err != nil {
				t.Fatal(err)
			}
			tr.Confidential = c
		}
		raw, id, err := wire.BuildTx(wire.Signer{Key: x.from.key, MSPID: x.from.org}, f.genesis.ChainID, "payments", at,
			&txpb.Message{Body: &txpb.Message_Transfer{Transfer: tr}})
		if err != nil {
			t.Fatal(err)
		}
		txs = append(txs, raw)
		ids = append(ids, id)
		f.bal[x.from.addr()] -= x.amount
		f.bal[x.to.addr()] += x.amount
		res = append(res, &abci.ExecTxResult{Events: []abci.Event{
			wire.Event(&txpb.EventTransfer{Ledger: "payments", Asset: "CNY", From: x.from.addr(), To: x.to.addr(), Amount: x.amount,
				FromBalance: f.bal[x.from.addr()], ToBalance: f.bal[x.to.addr()]}),
			wire.Event(&txpb.EventJinlianTx{Id: id, Ledger: "payments", Sender: x.from.addr(), Org: x.from.org, Type: "transfer"}),
		}})
	}
	b := &types.Block{Header: types.Header{ChainID: f.genesis.ChainID, Height: int64(len(f.blocks) + 1), Time: at}, Data: types.Data{Txs: txs}}
	f.blocks = append(f.blocks, b)
	f.results = append(f.results, res)
	return ids
}

type apiFixture struct {
	chain                    *fakeChain
	svc                      *Service
	cfg                      Config
	regulator, auditor, bank party
	bankB, outsider          party
	start                    time.Time

	mu    sync.Mutex
	roles map[string][]string // on-chain roles by address; setRoles changes them
	skew  time.Duration       // the observer's clock runs this far ahead
}

// setRoles changes addr's on-chain roles (none: revoked).
func (fx *apiFixture) setRoles(addr string, roles ...string) {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	fx.roles[addr] = roles
}

// advance moves the observer's clock forward.
func (fx *apiFixture) advance(d time.Duration) {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	fx.skew += d
}

// another starts a second observer of the same chain and roles.
func (fx *apiFixture) another(t *testing.T) *Service {
	t.Helper()
	svc, err := New(fx.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Stop() })
	return svc
}

func newAPIFixture(t *testing.T, withKey bool) *apiFixture {
	t.Helper()
	fx := &apiFixture{regulator: newParty(t, "regulator"), auditor: newParty(t, "regulator"), bank: newParty(t, "bankA"),
		bankB: newParty(t, "bankB"), outsider: newParty(t, "bankC"), start: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	st := map[string]any{
		"identities": []map[string]any{
			{"address": fx.regulator.addr(), "org": "regulator", "roles": []string{"regulator", "auditor"}},
			{"address": fx.auditor.addr(), "org": "regulator", "roles": []string{"auditor"}},
			{"address": fx.bank.addr(), "org": "bankA", "roles": []string{"member"}},
			{"address": fx.bankB.addr(), "org": "bankB", "roles": []string{"member"}},
		},
		"ledgers": []map[string]any{{"name": "payments", "balances": []map[string]any{
			{"asset": "CNY", "account": fx.bank.addr(), "amount": "100000000"}}}},
	}
	stb, _ := json.Marshal(st)
	fx.chain = &fakeChain{genesis: &types.GenesisDoc{ChainID: "fake", GenesisTime: fx.start.Add(-time.Hour), AppState: stb},
		bal: map[string]uint64{fx.bank.addr(): 100_000_000}}
	fx.roles = map[string][]string{}
	for _, id := range st["identities"].([]map[string]any) {
		fx.roles[id["address"].(string)] = id["roles"].([]string)
	}
	roles := func(_ context.Context, addr string) ([]string, error) {
		fx.mu.Lock()
		defer fx.mu.Unlock()
		return slices.Clone(fx.roles[addr]), nil
	}
	now := func() time.Time {
		fx.mu.Lock()
		defer fx.mu.Unlock()
		return time.Now().Add(fx.skew)
	}
	cfg := Config{Source: fx.chain, Roles: roles, Now: now, Listen: "127.0.0.1:0", PollInterval: 10 * time.Millisecond,
		Rules: testRules(t), Query: func(_ context.Context, path string, _ []byte) ([]byte, error) {
			if path == "/sanctions" {
				return []byte(`[]`), nil
			}
			return nil, errors.New("unknown path")
		}}
	if withKey {
		cfg.Key = fx.regulator.key
	}
	fx.cfg = cfg
	fx.svc = fx.another(t)
	return fx
}

func testRules(t *testing.T) *RulesConfig {
	c, err := ParseRules([]byte(testRulesTOML))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (fx *apiFixture) wait(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, _ := fx.chain.Status(ctx)
	if err := fx.svc.WaitForHeight(ctx, st.SyncInfo.LatestBlockHeight); err != nil {
		t.Fatal(err)
	}
}

func statusErr(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

func TestAPIAuthenticationAndRoles(t *testing.T) {
	fx := newAPIFixture(t, false)
	ctx := context.Background()
	cases := []struct {
		name   string
		key    *gmcrypto.PrivateKey
		call   func(c *Client) error
		status int
	}{
		{"unsigned request is refused", nil, func(c *Client) error { _, err := c.Status(ctx); return err }, http.StatusUnauthorized},
		{"a bank identity cannot read", fx.bank.key, func(c *Client) error { _, err := c.Txs(ctx, nil); return err }, http.StatusForbidden},
		{"an unregistered key cannot read", fx.outsider.key, func(c *Client) error { _, err := c.Alerts(ctx, nil); return err }, http.StatusForbidden},
		{"an auditor reads", fx.auditor.key, func(c *Client) error { _, err := c.Txs(ctx, nil); return err }, 0},
		{"an auditor cannot acknowledge", fx.auditor.key, func(c *Client) error { _, err := c.Ack(ctx, "1-1", "x"); return err }, http.StatusForbidden},
		{"an auditor cannot decrypt", fx.auditor.key, func(c *Client) error { _, err := c.Decrypt(ctx, strings.Repeat("a", 64)); return err }, http.StatusForbidden},
		{"the regulator reads", fx.regulator.key, func(c *Client) error { _, err := c.Status(ctx); return err }, 0},
		{"bad parameters are named", fx.regulator.key, func(c *Client) error { _, err := c.Txs(ctx, url.Values{"min": {"lots"}}); return err }, http.StatusBadRequest},
		{"decryption without a key is refused", fx.regulator.key, func(c *Client) error { _, err := c.Decrypt(ctx, strings.Repeat("a", 64)); return err }, http.StatusNotImplemented},
	}
	for _, tc := range cases {
		err := tc.call(NewClient(fx.svc.URL(), tc.key))
		if got := statusErr(err); got != tc.status {
			t.Errorf("%s: status %d (%v), want %d", tc.name, got, err, tc.status)
		}
	}
	// A replayed signature from another date is refused.
	req, _ := http.NewRequest(http.MethodGet, fx.svc.URL()+"/v1/status", nil)
	_ = SignRequest(req, fx.regulator.key, nil, time.Now().Add(-time.Hour))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("stale request: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	// Every request, refused or not, is in the audit log with who asked.
	audit, err := NewClient(fx.svc.URL(), fx.regulator.key).Audit(ctx, url.Values{"limit": {"1000"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(audit.Items) != len(cases)+1 { // the audit query itself is logged after it answers
		t.Fatalf("audit log has %d entries, want %d", len(audit.Items), len(cases)+1)
	}
	who := map[string]int{}
	for _, e := range audit.Items {
		who[e.Who]++
	}
	if who["anonymous"] != 2 || who[fx.bank.addr()] != 1 || who[fx.auditor.addr()] != 3 {
		t.Fatalf("audit callers %v", who)
	}
}

func TestAPIQueriesAlertsAndStream(t *testing.T) {
	fx := newAPIFixture(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := NewClient(fx.svc.URL(), fx.regulator.key)

	// Follow the stream from the start.
	events := make(chan StreamEvent, 16)
	go func() {
		_ = c.Stream(ctx, 0, func(e StreamEvent) error { events <- e; return nil })
	}()

	small := fx.chain.add(t, fx.start, xfer{from: fx.bank, to: fx.bankB, amount: 1000})
	large := fx.chain.add(t, fx.start.Add(time.Minute), xfer{from: fx.bank, to: fx.bankB, amount: 6_000_000})
	fx.wait(t)

	page, err := c.Txs(ctx, url.Values{"account": {fx.bankB.addr()}, "min": {"5000"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Items[0].TxID != large[0] || page.Items[0].FromOrg != "bankA" || page.Items[0].ToOrg != "bankB" {
		t.Fatalf("txs: %+v", page.Items)
	}
	// Paging: one item a page.
	p1, err := c.Txs(ctx, url.Values{"asset": {"CNY"}, "limit": {"1"}})
	if err != nil || len(p1.Items) != 1 || p1.Items[0].TxID != small[0] || p1.NextCursor == "" {
		t.Fatalf("page 1: %+v %v", p1, err)
	}
	p2, err := c.Txs(ctx, url.Values{"asset": {"CNY"}, "limit": {"1"}, "cursor": {p1.NextCursor}})
	if err != nil || len(p2.Items) != 1 || p2.Items[0].TxID != large[0] {
		t.Fatalf("page 2: %+v %v", p2, err)
	}
	if p3, err := c.Txs(ctx, url.Values{"asset": {"CNY"}, "limit": {"1"}, "cursor": {p2.NextCursor}}); err != nil || len(p3.Items) != 0 && p2.NextCursor != "" {
		t.Fatalf("page 3: %+v %v", p3, err)
	}
	byAmount, err := c.Txs(ctx, url.Values{"asset": {"CNY"}, "sort": {"amount"}, "order": {"desc"}})
	if err != nil || len(byAmount.Items) != 2 || byAmount.Items[0].Amount != 6_000_000 {
		t.Fatalf("by amount: %+v %v", byAmount, err)
	}
	hist, err := c.History(ctx, fx.bank.addr(), url.Values{"asset": {"CNY"}})
	if err != nil {
		t.Fatal(err)
	}
	wantValues := []string{"100000000", "99999000", "93999000"}
	if len(hist.Items) != 3 {
		t.Fatalf("history: %+v", hist.Items)
	}
	for i, h := range hist.Items {
		if h.Value != wantValues[i] {
			t.Fatalf("history[%d] = %+v, want balance %s", i, h, wantValues[i])
		}
	}

	var alert Alert
	select {
	case e := <-events:
		alert = e.Alert
		if e.Kind != "alert" || alert.Rule != RuleLarge || alert.TxIDs[0] != large[0] {
			t.Fatalf("streamed %+v", e)
		}
	case <-ctx.Done():
		t.Fatal("no alert streamed")
	}
	if _, err := c.Ack(ctx, alert.ID, ""); statusErr(err) != http.StatusBadRequest {
		t.Fatalf("ack without a note: %v", err)
	}
	acked, err := c.Ack(ctx, alert.ID, "customer's documented property purchase")
	if err != nil || acked.Status != StatusAcknowledged || acked.Ack.By != fx.regulator.addr() {
		t.Fatalf("ack: %+v %v", acked, err)
	}
	if _, err := c.Ack(ctx, alert.ID, "again"); statusErr(err) != http.StatusConflict {
		t.Fatalf("second ack: %v", err)
	}
	select {
	case e := <-events:
		if e.Kind != "ack" || e.Alert.ID != alert.ID {
			t.Fatalf("streamed %+v", e)
		}
	case <-ctx.Done():
		t.Fatal("no ack streamed")
	}
	// A live alert after the backlog.
	live := fx.chain.add(t, fx.start.Add(2*time.Minute), xfer{from: fx.bank, to: fx.bankB, amount: 7_000_000})
	select {
	case e := <-events:
		if e.Alert.TxIDs[0] != live[0] || e.Alert.Seq != alert.Seq+1 {
			t.Fatalf("streamed %+v", e)
		}
	case <-ctx.Done():
		t.Fatal("no live alert streamed")
	}
	// A client resuming after the first alert gets only the second.
	var resumed []Alert
	rctx, rcancel := context.WithTimeout(ctx, 500*time.Millisecond)
	_ = c.Stream(rctx, alert.Seq, func(e StreamEvent) error { resumed = append(resumed, e.Alert); return nil })
	rcancel()
	if len(resumed) != 1 || resumed[0].TxIDs[0] != live[0] {
		t.Fatalf("resumed stream: %+v", resumed)
	}
	open, err := c.Alerts(ctx, url.Values{"status": {"open"}})
	if err != nil || len(open.Items) != 1 {
		t.Fatalf("open alerts: %+v %v", open, err)
	}
}

func TestReportSignedAndVerified(t *testing.T) {
	fx := newAPIFixture(t, false)
	fx.chain.add(t, fx.start, xfer{from: fx.bank, to: fx.bankB, amount: 6_000_000})
	fx.chain.add(t, fx.start.Add(48*time.Hour), xfer{from: fx.bank, to: fx.bankB, amount: 10})
	fx.wait(t)
	c := NewClient(fx.svc.URL(), fx.auditor.key)
	rep, err := c.Report(context.Background(), fx.start.Add(-time.Hour), fx.start.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Movements != 1 || len(rep.Totals) != 2 || len(rep.Alerts) != 1 || rep.AlertSummary[0].Open != 1 {
		t.Fatalf("report: %+v", rep)
	}
	if rep.Totals[0].Org != "bankA" || rep.Totals[0].Sent != 6_000_000 || rep.Totals[1].Org != "bankB" || rep.Totals[1].Received != 6_000_000 {
		t.Fatalf("totals: %+v", rep.Totals)
	}
	for _, body := range [][]byte{rep.JSON(), rep.CSV()} {
		sig, err := SignReport(body, fx.regulator.key)
		if err != nil {
			t.Fatal(err)
		}
		signer, err := VerifyReport(body, sig)
		if err != nil || signer != fx.regulator.addr() {
			t.Fatalf("verify: %s %v", signer, err)
		}
		tampered := []byte(strings.Replace(string(body), "6000000", "600000", 1))
		if _, err := VerifyReport(tampered, sig); !errors.Is(err, ErrBadReportSignature) {
			t.Fatalf("tampered report verified: %v", err)
		}
		forged := *sig
		other, _ := SignReport(tampered, fx.outsider.key)
		forged.SM3, forged.Signature = other.SM3, other.Signature
		if _, err := VerifyReport(tampered, &forged); !errors.Is(err, ErrBadReportSignature) {
			t.Fatalf("signature of another key verified: %v", err)
		}
	}
	if !strings.Contains(string(rep.CSV()), "total,payments,CNY,bankA,0,0,6000000,0,1,0") {
		t.Fatalf("csv:\n%s", rep.CSV())
	}
}

func TestAPIDecrypt(t *testing.T) {
	fx := newAPIFixture(t, true)
	secret := []byte("invoice 2026-0042: 120 t copper cathode, LC 7781")
	readers := []*gmcrypto.PublicKey{fx.bank.key.Public(), fx.bankB.key.Public(), fx.regulator.key.Public()}
	ids := fx.chain.add(t, fx.start, xfer{from: fx.bank, to: fx.bankB, amount: 5, secret: secret, readers: readers},
		xfer{from: fx.bank, to: fx.bankB, amount: 6})
	fx.wait(t)
	ctx := context.Background()
	c := NewClient(fx.svc.URL(), fx.regulator.key)
	d, err := c.Decrypt(ctx, ids[0])
	if err != nil || d.Plaintext != string(secret) {
		t.Fatalf("regulator decrypt: %+v %v", d, err)
	}
	if _, err := c.Decrypt(ctx, ids[1]); statusErr(err) != http.StatusUnprocessableEntity {
		t.Fatalf("decrypt of a plain tx: %v", err)
	}
	tx, err := c.Tx(ctx, ids[0])
	if err != nil || !tx.Confidential {
		t.Fatalf("indexed tx: %+v %v", tx, err)
	}
	raw := fx.chain.blocks[0].Txs[0]
	if strings.Contains(string(raw), "copper") {
		t.Fatal("plaintext in the block")
	}
	for _, p := range []party{fx.bank, fx.bankB} {
		if pt, err := DecryptTx(raw, p.key); err != nil || string(pt) != string(secret) {
			t.Fatalf("party decrypt: %v", err)
		}
	}
	if _, err := DecryptTx(raw, fx.outsider.key); !errors.Is(err, ErrNotReader) {
		t.Fatalf("non-party decrypt: %v", err)
	}
	audit, _ := c.Audit(ctx, url.Values{"who": {fx.regulator.addr()}})
	n := 0
	for _, e := range audit.Items {
		if e.Action == "decrypt" {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("%d decryptions audited, want 2", n)
	}
	_ = permission.RoleRegulator
}

func TestTxsTimeRange(t *testing.T) {
	fx := newAPIFixture(t, false)
	var ids []string
	for d := range 5 {
		ids = append(ids, fx.chain.add(t, fx.start.Add(time.Duration(d)*24*time.Hour), xfer{from: fx.bank, to: fx.bankB, amount: uint64(100 + d)})...)
	}
	fx.wait(t)
	c := NewClient(fx.svc.URL(), fx.auditor.key)
	day := func(d int) string { return fx.start.Add(time.Duration(d) * 24 * time.Hour).Format(time.RFC3339) }
	cases := []struct {
		name string
		q    url.Values
		want []string
	}{
		{"from..to", url.Values{"from": {day(1)}, "to": {day(3)}}, ids[1:3]},
		{"from..to, newest first", url.Values{"from": {day(1)}, "to": {day(3)}, "order": {"desc"}}, []string{ids[2], ids[1]}},
		{"account and period", url.Values{"account": {fx.bankB.addr()}, "from": {day(3)}}, ids[3:]},
		{"asset and amount", url.Values{"asset": {"CNY"}, "min": {"102"}, "max": {"103"}}, ids[2:4]},
		{"by amount, largest first", url.Values{"asset": {"CNY"}, "sort": {"amount"}, "order": {"desc"}, "limit": {"2"}}, []string{ids[4], ids[3]}},
	}
	for _, tc := range cases {
		page, err := c.Txs(context.Background(), tc.q)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var got []string
		for _, e := range page.Items {
			got = append(got, e.TxID)
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s: got %d txs %v, want %v", tc.name, len(got), got, tc.want)
		}
	}
}
