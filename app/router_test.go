package app

import (
	"maps"
	"slices"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

func TestCheckHandlersRefusesDrift(t *testing.T) {
	if err := checkHandlers(wire.Messages(), handlers); err != nil {
		t.Fatal(err)
	}
	missing := maps.Clone(handlers)
	delete(missing, "burn")
	if err := checkHandlers(wire.Messages(), missing); err == nil {
		t.Error("a registry message without a handler was accepted")
	}
	extra := maps.Clone(handlers)
	extra["mint"] = func(*App, ledger.KV, *wire.Tx, time.Time, int64) ([]abci.Event, error) { return nil, nil }
	if err := checkHandlers(wire.Messages(), extra); err == nil {
		t.Error("a handler without a registry entry was accepted")
	}
}

// What a handler emits is what the registry declares, each event decodes
// with the generated code, and the balances an event reports are the
// balances in state.
func TestEventsAreDeclaredAndTyped(t *testing.T) {
	h := newHarness(t)
	res := h.block(
		h.tx(h.issuer, "bankA", "payments", issue("CNY", h.bob, 50)),
		h.tx(h.alice, "bankB", "payments", transfer("CNY", h.bob, 20)),
		h.tx(h.bob, "bankB", "payments", burn("CNY", 5)),
	)
	for i, r := range res {
		if r.Code != 0 {
			t.Fatalf("tx %d: %s", i, r.Log)
		}
		var name string
		var types []string
		for _, e := range r.Events {
			m, ok, err := wire.ParseEvent(e)
			if !ok || err != nil {
				t.Fatalf("tx %d event %s: %v %v", i, e.Type, ok, err)
			}
			if j, isTx := m.(*txpb.EventJinlianTx); isTx {
				name = j.Type
				continue
			}
			types = append(types, e.Type)
		}
		spec := specNamed(t, name)
		for _, typ := range types {
			if !slices.Contains(spec.EventTypes(), typ) {
				t.Errorf("%s emitted %s, not declared in the registry (%v)", name, typ, spec.EventTypes())
			}
		}
	}
	last := func(r *abci.ExecTxResult) *txpb.EventTransfer {
		m, _, _ := wire.ParseEvent(r.Events[0])
		return m.(*txpb.EventTransfer)
	}
	ev := last(res[1])
	if ev.FromBalance != 480 || ev.ToBalance != 70 || ev.Amount != 20 || ev.ToOrg != "bankB" {
		t.Errorf("transfer event balances %d/%d, want 480/70; recipient organisation %q, want bankB", ev.FromBalance, ev.ToBalance, ev.ToOrg)
	}
	if got := h.balance(h.bob); got != 65 {
		t.Errorf("bob holds %d, want 65", got)
	}
	m, _, _ := wire.ParseEvent(res[2].Events[0])
	if b := m.(*txpb.EventBurn); b.FromBalance != 65 {
		t.Errorf("burn event balance %d, want 65", b.FromBalance)
	}
}

func specNamed(t *testing.T, name string) wire.MessageSpec {
	for _, s := range wire.Messages() {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no registry entry %q", name)
	return wire.MessageSpec{}
}
