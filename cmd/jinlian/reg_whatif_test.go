package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	coretypes "github.com/cometbft/cometbft/rpc/core/types"
	"github.com/cometbft/cometbft/types"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/regulator"
	"github.com/jinlian-ledger/jinlian/wire"
)

// twoTransfers is a block source of a chain whose one block holds two
// transfers from bankA to bankB: 6,000,000 and 2,000,000 CNY.
type twoTransfers struct {
	genesis *types.GenesisDoc
	block   *types.Block
	results []*abci.ExecTxResult
	ids     []string
}

func newTwoTransfers(t *testing.T) *twoTransfers {
	t.Helper()
	a, b := mustGenKey(t), mustGenKey(t)
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	st, _ := json.Marshal(map[string]any{
		"identities": []map[string]any{{"address": a.Public().Address().String(), "org": "bankA"}, {"address": b.Public().Address().String(), "org": "bankB"}},
		"ledgers":    []map[string]any{{"name": "payments", "balances": []map[string]any{{"asset": "CNY", "account": a.Public().Address().String(), "amount": "100000000"}}}},
	})
	c := &twoTransfers{genesis: &types.GenesisDoc{ChainID: "whatif-test", GenesisTime: start.Add(-time.Hour), AppState: st}}
	var txs types.Txs
	bal := uint64(100_000_000)
	var got uint64
	for _, amount := range []uint64{6_000_000, 2_000_000} {
		raw, id, err := wire.BuildTx(wire.Signer{Key: a, MSPID: "bankA"}, c.genesis.ChainID, "payments", start,
			&txpb.Message{Body: &txpb.Message_Transfer{Transfer: &txpb.Transfer{Asset: "CNY", To: b.Public().Address().Bytes(), Amount: amount}}})
		if err != nil {
			t.Fatal(err)
		}
		bal, got = bal-amount, got+amount
		txs, c.ids = append(txs, raw), append(c.ids, id)
		c.results = append(c.results, &abci.ExecTxResult{Events: []abci.Event{
			wire.Event(&txpb.EventTransfer{Ledger: "payments", Asset: "CNY", From: a.Public().Address().String(), To: b.Public().Address().String(),
				Amount: amount, FromBalance: bal, ToBalance: got}),
			wire.Event(&txpb.EventJinlianTx{Id: id, Ledger: "payments", Sender: a.Public().Address().String(), Org: "bankA", Type: "transfer"}),
		}})
	}
	c.block = &types.Block{Header: types.Header{ChainID: c.genesis.ChainID, Height: 1, Time: start}, Data: types.Data{Txs: txs}}
	return c
}

func (c *twoTransfers) Block(_ context.Context, h *int64) (*coretypes.ResultBlock, error) {
	if *h != 1 {
		return nil, fmt.Errorf("no block %d", *h)
	}
	return &coretypes.ResultBlock{Block: c.block}, nil
}
func (c *twoTransfers) BlockResults(_ context.Context, h *int64) (*coretypes.ResultBlockResults, error) {
	if *h != 1 {
		return nil, errors.New("no results")
	}
	return &coretypes.ResultBlockResults{Height: 1, TxsResults: c.results}, nil
}
func (c *twoTransfers) Status(context.Context) (*coretypes.ResultStatus, error) {
	st := &coretypes.ResultStatus{}
	st.SyncInfo.LatestBlockHeight, st.SyncInfo.EarliestBlockHeight = 1, 1
	return st, nil
}
func (c *twoTransfers) ABCIInfo(context.Context) (*coretypes.ResultABCIInfo, error) {
	return &coretypes.ResultABCIInfo{Response: abci.ResponseInfo{LastBlockHeight: 1}}, nil
}
func (c *twoTransfers) Genesis(context.Context) (*coretypes.ResultGenesis, error) {
	return &coretypes.ResultGenesis{Genesis: c.genesis}, nil
}

// TestRegWhatIf: reg whatif under a stricter rule file lists the extra
// alert as new and the live one as same (acknowledged); the live alerts
// and acknowledgements are unchanged afterwards; a bad rule file is
// refused with the key it names, before anything is sent.
func TestRegWhatIf(t *testing.T) {
	dir := t.TempDir()
	keyFile, pwFile := filepath.Join(dir, "regulator.json"), filepath.Join(dir, "pw")
	if err := gmcrypto.SaveKey(keyFile, gmcrypto.KeyInfo{Name: "regulator"}, mustGenKey(t), []byte("pw")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pwFile, []byte("pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	chain := newTwoTransfers(t)
	svc, err := regulator.New(regulator.Config{Source: chain, IndexDir: filepath.Join(dir, "regulator.badger"), AuditKey: mustGenKey(t),
		Listen: "127.0.0.1:0", PollInterval: 10 * time.Millisecond,
		Roles: func(context.Context, string) ([]string, error) { return []string{permission.RoleRegulator}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer svc.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := svc.WaitForHeight(ctx, 1); err != nil {
		t.Fatal(err)
	}
	reg := []string{"reg", "--observer", svc.URL(), "--from", keyFile, "--passphrase-file", pwFile}
	if _, err := runCLI(t, append(reg, "ack", "1-1", "--note", "reported")...); err != nil {
		t.Fatalf("ack: %v", err)
	}
	liveBefore, _ := runCLI(t, append(reg, "alerts", "-o", "json")...)

	stricter := filepath.Join(dir, "stricter.toml")
	if err := os.WriteFile(stricter, []byte(strings.Replace(regulator.DefaultRulesTOML, "CNY = 5000000", "CNY = 2000000", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, append(reg, "whatif", "--rules", stricter)...)
	if err != nil {
		t.Fatalf("whatif: %v\n%s", err, out)
	}
	for _, want := range []string{"heights 1..1 (replayed from genesis): 2 alerts, live 1: 1 new, 0 gone, 1 same",
		"same [2026-03-02T09:00:00Z] 1-1 high     large_amount", "(live 1-1, acknowledged)",
		"new  [2026-03-02T09:00:00Z] 1-2 high     large_amount", "reaches the large-amount threshold 2000000", "txs: " + chain.ids[1]} {
		if !strings.Contains(out, want) {
			t.Errorf("whatif output lacks %q:\n%s", want, out)
		}
	}
	out, err = runCLI(t, append(reg, "whatif", "--rules", stricter, "-o", "json")...)
	var res regulator.WhatIf
	if err != nil || json.Unmarshal([]byte(out), &res) != nil || res.New != 1 || res.Same != 1 || len(res.Alerts) != 2 || res.Alerts[1].TxIDs[0] != chain.ids[1] {
		t.Fatalf("whatif -o json: %v %s", err, out)
	}

	bad := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(bad, []byte(strings.Replace(regulator.DefaultRulesTOML, "percent = 80", "percent = \"most\"", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, append(reg, "whatif", "--rules", bad)...); err == nil || !strings.Contains(err.Error(), "fast_in_fast_out.percent") {
		t.Fatalf("bad rule file: %v", err)
	}
	if _, err := runCLI(t, append(reg, "whatif", "--rules", stricter, "--to-height", "2")...); err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("beyond the index: %v", err)
	}
	if liveAfter, _ := runCLI(t, append(reg, "alerts", "-o", "json")...); liveAfter != liveBefore || !strings.Contains(liveAfter, `"status": "acknowledged"`) {
		t.Fatalf("live alerts changed:\n%s\n%s", liveBefore, liveAfter)
	}
	audit, err := runCLI(t, append(reg, "audit", "-o", "json")...)
	if err != nil || strings.Count(audit, `"action": "what-if replay"`) != 3 {
		t.Fatalf("audit log: want the three what-ifs sent (not the refused file): %v\n%s", err, audit)
	}
}
