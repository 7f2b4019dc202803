package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	rpcclient "github.com/cometbft/cometbft/rpc/client"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/contracts/custody"
	"github.com/jinlian-ledger/jinlian/contracts/pvp"
	"github.com/jinlian-ledger/jinlian/contracts/receivables"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/errs"
	"github.com/jinlian-ledger/jinlian/internal/heavytest"
	"github.com/jinlian-ledger/jinlian/node/localnet"
	"github.com/jinlian-ledger/jinlian/node/localnet/localnettest"
	"github.com/jinlian-ledger/jinlian/permission"
)

// bankDesk is a four-validator localnet in this process that the test
// drives only through the jinlian binary, as the banks' operators would:
// every transaction and every read below is a `jinlian` command.
type bankDesk struct {
	t       *testing.T
	ctx     context.Context
	bin     string
	rpc     []string // node i's RPC address
	clients []rpcclient.Client
	keys    map[string]string // demo identity name → key file
	addr    map[string]string // demo identity name → address
}

// deskTx is what `jinlian tx … -o json` prints.
type deskTx struct {
	TxID      string `json:"tx_id"`
	Height    int64  `json:"height"`
	Code      uint32 `json:"code"`
	Codespace string `json:"codespace"`
	Log       string `json:"log"`
	Proposal  uint64 `json:"proposal"`
	Status    string `json:"proposal_status"`
	Custody   *struct {
		Account  string `json:"account"`
		Proposal uint64 `json:"proposal"`
		Status   string `json:"status"`
	} `json:"custody"`
}

func startBankDesk(t *testing.T, ctx context.Context) *bankDesk {
	t.Helper()
	bin := buildJinlian(t)
	h := localnettest.Start(t, localnettest.Options{Options: localnet.Options{Validators: 4, TimeoutCommit: inProcessTimeoutCommit}, WaitHeight: -1})
	ln, nodes := h.Net, h.Nodes
	d := &bankDesk{t: t, ctx: ctx, bin: bin, keys: map[string]string{}, addr: map[string]string{}}
	for i, n := range nodes {
		d.rpc = append(d.rpc, ln.Network.Nodes[i].RPCAddr)
		d.clients = append(d.clients, n.Client())
	}
	for _, id := range ln.Identities {
		d.keys[id.Name], d.addr[id.Name] = id.KeyFile, id.Address
	}
	waitAllHeight(t, ctx, d.clients, 2)
	return d
}

// run runs jinlian with args against node i and returns its standard
// output and exit error.
func (d *bankDesk) run(i int, args ...string) (string, string, error) {
	cmd := exec.CommandContext(d.ctx, d.bin, append(args, "--node", d.rpc[i%len(d.rpc)], "-o", "json")...)
	cmd.Env = append(os.Environ(), gmcrypto.PassphraseEnv+"="+localnet.Passphrase, "JINLIAN_NODE=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// query runs a read-only command on node i and decodes its JSON into out.
func (d *bankDesk) query(i int, out any, args ...string) {
	d.t.Helper()
	stdout, stderr, err := d.run(i, args...)
	if err != nil {
		d.t.Fatalf("jinlian %s: %v\n%s%s", strings.Join(args, " "), err, stdout, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), out); err != nil {
		d.t.Fatalf("jinlian %s: decode %q: %v", strings.Join(args, " "), stdout, err)
	}
}

// send signs a transaction as who with `jinlian tx …` (or `gov …`),
// sent to a node chosen by the signer, and returns what it printed; it
// waits until every node has the block, so that what follows reads the
// same state on any node.
func (d *bankDesk) send(who string, args ...string) deskTx {
	d.t.Helper()
	// Each bank talks to a node of its own (the first hex digit of its
	// address picks it), so the transactions enter through every node.
	i := int(d.addr[who][0])
	stdout, stderr, err := d.run(i, append(args, "--from", d.keys[who])...)
	var res deskTx
	if jerr := json.Unmarshal([]byte(stdout), &res); jerr != nil {
		d.t.Fatalf("jinlian %s (as %s): %v\n%s%s", strings.Join(args, " "), who, err, stdout, stderr)
	}
	if (err == nil) != (res.Code == 0) {
		d.t.Fatalf("jinlian %s: exit %v with code %d", strings.Join(args, " "), err, res.Code)
	}
	if res.Height > 0 {
		waitAllHeight(d.t, d.ctx, d.clients, res.Height)
	}
	return res
}

// ok is send that wants the transaction committed with code 0.
func (d *bankDesk) ok(who string, args ...string) deskTx {
	d.t.Helper()
	res := d.send(who, args...)
	if res.Code != 0 || res.Height == 0 {
		d.t.Fatalf("jinlian %s (as %s): code %d (%s): %s", strings.Join(args, " "), who, res.Code, res.Codespace, res.Log)
	}
	return res
}

// refused is send that wants the registered error want, and nothing
// moved: the balances named stay as they were on every node.
func (d *bankDesk) refused(want *errs.Error, watch []balanceKey, who string, args ...string) deskTx {
	d.t.Helper()
	before := d.balances(watch)
	res := d.send(who, args...)
	if res.Code != want.Code() || res.Codespace != want.Codespace() || !strings.Contains(res.Log, want.Error()) {
		d.t.Fatalf("jinlian %s (as %s): code %d (%s) %q, want %d (%s) %q", strings.Join(args, " "), who,
			res.Code, res.Codespace, res.Log, want.Code(), want.Codespace(), want.Error())
	}
	// A refusal in CheckTx has no block; one in FinalizeBlock has: wait
	// for the next block either way so that every node has judged it.
	waitAllHeight(d.t, d.ctx, d.clients, maxOf(heights(d.t, d.ctx, d.clients))+1)
	for i := range d.rpc {
		if after := d.balancesOn(i, watch); !equalUints(after, before) {
			d.t.Fatalf("refused %s moved funds on node%d: %v → %v", strings.Join(args, " "), i, before, after)
		}
	}
	return res
}

// balanceKey names an account's balance of an asset on a sub-ledger.
type balanceKey struct{ ledger, asset, account string }

func (d *bankDesk) balance(i int, k balanceKey) uint64 {
	d.t.Helper()
	var res app.BalanceResponse
	d.query(i, &res, "query", "balance", "--ledger", k.ledger, "--asset", k.asset, "--account", k.account)
	return res.Amount
}

func (d *bankDesk) balancesOn(i int, ks []balanceKey) []uint64 {
	out := make([]uint64, len(ks))
	for j, k := range ks {
		out[j] = d.balance(i, k)
	}
	return out
}

func (d *bankDesk) balances(ks []balanceKey) []uint64 { return d.balancesOn(0, ks) }

func equalUints(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// wantBalances asserts every node's balances of ks after a step, as
// differences from before.
func (d *bankDesk) wantBalances(step string, ks []balanceKey, before []uint64, delta ...int64) {
	d.t.Helper()
	for i := range d.rpc {
		got := d.balancesOn(i, ks)
		for j := range ks {
			if want := uint64(int64(before[j]) + delta[j]); got[j] != want {
				d.t.Errorf("%s: node%d: %s %s of %s is %d, want %d", step, i, ks[j].ledger, ks[j].asset, ks[j].account, got[j], want)
			}
		}
	}
}

// pass proposes a governance action as bankA and has bankB and bankC vote
// yes (3 of the 4 committee organisations).
func (d *bankDesk) pass(kind string, args ...string) {
	d.t.Helper()
	res := d.ok("bankA", append([]string{"gov", "propose", kind}, args...)...)
	if res.Proposal == 0 || res.Status != "voting" {
		d.t.Fatalf("gov propose %s: proposal %d %q", kind, res.Proposal, res.Status)
	}
	for _, voter := range []string{"bankB", "bankC"} {
		res = d.ok(voter, "gov", "vote", strconv.FormatUint(res.Proposal, 10), "yes")
	}
	if res.Status != "passed" {
		d.t.Fatalf("gov propose %s: proposal %d is %q after three yes votes", kind, res.Proposal, res.Status)
	}
}

// height is node0's latest height.
func (d *bankDesk) height() int64 {
	d.t.Helper()
	h, err := heightOf(d.ctx, d.clients[0])
	if err != nil {
		d.t.Fatal(err)
	}
	return h
}

// TestContractsThroughCLI runs the banks' business on a four-validator
// localnet through the jinlian binary only: a sub-ledger and an asset made
// by governance, a custody account under dual control, a receivable down a
// supply chain and discounted to a bank, and payment-versus-payment trades
// across two sub-ledgers, with the refusals a bank must see (a lone signer,
// a double financing, an expired trade) each checked for its registered
// error and for moving nothing. At the end every node's invariants hold
// and all four agree on every app hash.
func TestContractsThroughCLI(t *testing.T) {
	heavytest.Long(t, "contracts through the CLI on a four-validator localnet")
	ctx := heavytest.Context(t, 4*time.Minute)
	d := startBankDesk(t, ctx)
	a, b, c, dd := d.addr["bankA"], d.addr["bankB"], d.addr["bankC"], d.addr["bankD"]
	cny := func(acct string) balanceKey { return balanceKey{"payments", "CNY", acct} }
	hkd := func(acct string) balanceKey { return balanceKey{"hkd", "HKD", acct} }

	t.Run("governance: a sub-ledger and an asset by proposal", func(t *testing.T) {
		d.t = t
		d.pass("create-ledger", "--name", "hkd", "--members", "bankA,bankB,bankC,bankD", "--title", "Hong Kong dollar book")
		d.pass("create-asset", "--ledger", "hkd", "--symbol", "HKD", "--issuer", "bankB", "--decimals", "2", "--supply-cap", "10000000")
		ks := []balanceKey{hkd(b), hkd(a)}
		before := d.balances(ks)
		d.ok("bankB", "tx", "issue", "--ledger", "hkd", "--asset", "HKD", "--to", b, "--amount", "500000")
		d.ok("bankB", "tx", "transfer", "--ledger", "hkd", "--asset", "HKD", "--to", a, "--amount", "1000")
		d.wantBalances("issue and transfer on hkd", ks, before, 499000, 1000)
		// The issuer is bankB: bankA's issuer role does not reach this asset.
		d.refused(permission.ErrUnauthorized, ks, "bankA", "tx", "issue", "--ledger", "hkd", "--asset", "HKD", "--to", a, "--amount", "1")
	})

	t.Run("custody: two of three organisations move the funds, one alone cannot", func(t *testing.T) {
		d.t = t
		created := d.ok("bankA", "tx", "custody", "create", "--signer", a+","+b+","+c, "--threshold", "2", "--memo", "settlement vault")
		if created.Custody == nil || created.Custody.Status != "created" || created.Custody.Account == "" {
			t.Fatalf("custody create printed %+v", created.Custody)
		}
		vault := created.Custody.Account
		d.ok("bankA", "tx", "transfer", "--asset", "CNY", "--to", vault, "--amount", "300000")
		ks := []balanceKey{cny(vault), cny(dd)}
		before := d.balances(ks)
		if before[0] != 300000 {
			t.Fatalf("vault holds %d, want 300000", before[0])
		}

		// bankA alone: its proposal counts as one approval of two; a second
		// approval of its own and an execute are refused; nothing moves.
		p := d.ok("bankA", "tx", "custody", "propose", "--account", vault, "--asset", "CNY", "--to", dd, "--amount", "120000", "--memo", "invoice 2026-0042")
		if p.Custody == nil || p.Custody.Proposal != 1 || p.Custody.Status != custody.StatusAwaiting {
			t.Fatalf("custody propose printed %+v", p.Custody)
		}
		d.refused(custody.ErrAlreadyApproved, ks, "bankA", "tx", "custody", "approve", "--account", vault, "--proposal", "1")
		d.refused(custody.ErrNotApproved, ks, "bankA", "tx", "custody", "execute", "--account", vault, "--proposal", "1")
		// bankD is no signer: its approval does not count.
		d.refused(custody.ErrNotSigner, ks, "bankD", "tx", "custody", "approve", "--account", vault, "--proposal", "1")
		// Nobody holds the vault's key: a transfer from it cannot even be
		// signed, so a signer's plain transfer moves its own money only.

		// bankB, a second organisation, approves: the payment executes.
		ap := d.ok("bankB", "tx", "custody", "approve", "--account", vault, "--proposal", "1")
		if ap.Custody == nil || ap.Custody.Status != "executed" {
			t.Fatalf("custody approve printed %+v", ap.Custody)
		}
		d.wantBalances("custody payment", ks, before, -120000, 120000)
		// Executed once: a third signer's approval finds no proposal.
		d.refused(custody.ErrUnknownProposal, ks, "bankC", "tx", "custody", "approve", "--account", vault, "--proposal", "1")
	})

	t.Run("receivables: down the supply chain, discounted, settled; no double financing", func(t *testing.T) {
		d.t = t
		// bankA is the core enterprise (payer); bankB its supplier; bankC
		// the supplier's supplier; bankD the bank that discounts.
		invoice := strings.Repeat("3c9d", 16)
		// Due far enough ahead for the eleven transactions and queries
		// before the discount is accepted (the offer lapses at due): 40
		// heights were passed before it on a loaded CI machine.
		due := d.height() + 100
		reg := d.ok("bankB", "tx", "receivable", "register", "--payer", a, "--face-value", "100000", "--due-height", strconv.FormatInt(due, 10), "--invoice-hash", invoice, "--memo", "PO 7781")
		id := reg.TxID
		d.ok("bankA", "tx", "receivable", "confirm", "--receivable", id)

		// Double financing: the same invoice registered again, by the same
		// supplier or by another, is refused and creates nothing.
		ks := []balanceKey{cny(a), cny(b), cny(c), cny(dd)}
		d.refused(receivables.ErrDuplicateInvoice, ks, "bankB", "tx", "receivable", "register", "--payer", a, "--face-value", "100000", "--due-height", strconv.FormatInt(due, 10), "--invoice-hash", invoice)
		d.refused(receivables.ErrDuplicateInvoice, ks, "bankC", "tx", "receivable", "register", "--payer", a, "--face-value", "50000", "--due-height", strconv.FormatInt(due, 10), "--invoice-hash", invoice)
		var list app.ReceivablesResponse
		d.query(1, &list, "query", "receivables")
		if len(list.Receivables) != 1 || list.Receivables[0].ID != id {
			t.Fatalf("receivables after the double financing: %+v", list.Receivables)
		}

		d.ok("bankB", "tx", "receivable", "split", "--receivable", id, "--amounts", "60000,40000")
		d.ok("bankB", "tx", "receivable", "transfer", "--receivable", id, "--part", "2", "--to", c, "--memo", "pays our supplier")
		// bankC discounts its part to bankD: the price and the part change
		// hands in one transaction.
		before := d.balances(ks)
		d.ok("bankC", "tx", "receivable", "discount-offer", "--receivable", id, "--part", "2", "--bank", dd, "--price", "57000", "--expiry-height", strconv.FormatInt(due, 10))
		// A price other than the offer's is refused and changes nothing.
		d.refused(receivables.ErrNoOffer, ks, "bankD", "tx", "receivable", "discount-accept", "--receivable", id, "--part", "2", "--price", "50000")
		acc := d.ok("bankD", "tx", "receivable", "discount-accept", "--receivable", id, "--part", "2", "--price", "57000")
		d.wantBalances("discount", ks, before, 0, 0, 57000, -57000)
		var r app.ReceivableResponse
		d.query(2, &r, "query", "receivable", id)
		holders := map[uint32]string{}
		for _, p := range r.Receivable.Parts {
			holders[p.ID] = p.Holder
		}
		if r.Receivable.Status != receivables.StatusActive || holders[2] != dd || holders[3] != b {
			t.Fatalf("receivable after the discount (height %d): %s, parts %v", acc.Height, r.Receivable.Status, holders)
		}

		// Not due yet: the payer cannot settle early.
		d.refused(receivables.ErrNotDue, ks, "bankA", "tx", "receivable", "settle", "--receivable", id, "--amount", "100000")
		waitAllHeight(t, ctx, d.clients, due)
		before = d.balances(ks)
		d.ok("bankA", "tx", "receivable", "settle", "--receivable", id, "--amount", "100000")
		d.wantBalances("settlement", ks, before, -100000, 40000, 0, 60000)
		d.query(3, &r, "query", "receivable", id)
		if r.Receivable.Status != receivables.StatusSettled || r.Receivable.Paid != 100000 {
			t.Fatalf("receivable after settlement: %s, paid %d", r.Receivable.Status, r.Receivable.Paid)
		}
		d.refused(receivables.ErrAlreadySettled, ks, "bankA", "tx", "receivable", "settle", "--receivable", id, "--amount", "1")
	})

	t.Run("pvp: both legs settle in one block; an expired leg is refunded", func(t *testing.T) {
		d.t = t
		ks := []balanceKey{cny(a), cny(b), hkd(a), hkd(b)}
		before := d.balances(ks)
		exp := strconv.FormatInt(d.height()+100, 10)
		trade := d.ok("bankA", "tx", "pvp", "propose", "--counterparty", b, "--leg-a", "payments:CNY:9000", "--leg-b", "hkd:HKD:10000", "--expiry-height", exp, "--memo", "FX 0042").TxID
		d.ok("bankA", "tx", "pvp", "fund", "--trade", trade, "--leg", "A")
		d.wantBalances("leg A in escrow", ks, before, -9000, 0, 0, 0)
		// Only the counterparty pays leg B.
		d.refused(pvp.ErrWrongParty, ks, "bankC", "tx", "pvp", "fund", "--trade", trade, "--leg", "B")
		last := d.ok("bankB", "tx", "pvp", "fund", "--trade", trade, "--leg", "B")
		d.wantBalances("settled", ks, before, -9000, 9000, 10000, -10000)
		var tr app.PvpTradeResponse
		for i := range d.rpc {
			d.query(i, &tr, "query", "pvp", "trade", "--trade", trade, "--ledger", "hkd")
			if tr.Trade.Status != pvp.StatusSettled || tr.Trade.ClosedHeight != last.Height || tr.Trade.Rate == "" {
				t.Fatalf("node%d: trade %s: %s, closed at %d, want settled at %d (the funding of leg B)", i, trade, tr.Trade.Status, tr.Trade.ClosedHeight, last.Height)
			}
		}
		d.refused(pvp.ErrClosed, ks, "bankA", "tx", "pvp", "refund", "--trade", trade)

		// A trade whose counterparty never pays: after the expiry the
		// counterparty can no longer fund, and anyone refunds leg A.
		before = d.balances(ks)
		expiry := d.height() + 12
		late := d.ok("bankA", "tx", "pvp", "propose", "--counterparty", b, "--leg-a", "payments:CNY:7000", "--leg-b", "hkd:HKD:8000", "--expiry-height", strconv.FormatInt(expiry, 10)).TxID
		d.ok("bankA", "tx", "pvp", "fund", "--trade", late, "--leg", "A")
		d.refused(pvp.ErrNotExpired, ks, "bankC", "tx", "pvp", "refund", "--trade", late)
		waitAllHeight(t, ctx, d.clients, expiry)
		d.refused(pvp.ErrExpired, ks, "bankB", "tx", "pvp", "fund", "--trade", late, "--leg", "B")
		d.ok("bankC", "tx", "pvp", "refund", "--trade", late, "--reason", "counterparty did not pay")
		d.wantBalances("refunded", ks, before, 0, 0, 0, 0)
		d.query(0, &tr, "query", "pvp", "trade", "--trade", late)
		if tr.Trade.Status != pvp.StatusRefunded || tr.Trade.ClosedBy != c {
			t.Fatalf("trade %s after refund: %s, closed by %s, want refunded by bankC %s", late, tr.Trade.Status, tr.Trade.ClosedBy, c)
		}
	})

	d.t = t
	// Every node: `jinlian debug invariants` holds, with the custody
	// account, the receivable and both trades in it; then the four agree on
	// every app hash.
	top := maxOf(heights(t, ctx, d.clients))
	waitAllHeight(t, ctx, d.clients, top)
	for i := range d.rpc {
		var inv app.InvariantsResponse
		stdout, stderr, err := d.run(i, "debug", "invariants", "--height", strconv.FormatInt(top, 10))
		if jerr := json.Unmarshal([]byte(stdout), &inv); err != nil || jerr != nil {
			t.Fatalf("node%d: jinlian debug invariants: %v %v\n%s%s", i, err, jerr, stdout, stderr)
		}
		if !inv.Holds || len(inv.Custody) != 1 || len(inv.Receivables) != 1 || len(inv.Pvp) != 2 {
			t.Fatalf("node%d invariants at %d: holds %t, %d custody, %d receivables, %d pvp", i, top, inv.Holds, len(inv.Custody), len(inv.Receivables), len(inv.Pvp))
		}
		assets := map[string]bool{}
		for _, r := range inv.Results {
			assets[fmt.Sprintf("%s/%s", r.Ledger, r.Asset)] = r.Holds
		}
		if !assets["hkd/HKD"] || !assets["payments/CNY"] {
			t.Fatalf("node%d: supply invariants %v", i, assets)
		}
	}
	sameAppHashes(t, ctx, d.clients, top)
}
