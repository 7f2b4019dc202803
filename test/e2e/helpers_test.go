package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	rpcclient "github.com/cometbft/cometbft/rpc/client"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/ca"
	"github.com/jinlian-ledger/jinlian/node/localnet"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

const (
	ledgerName = "payments"
	assetCNY   = "CNY"
	// pollInterval is how often tests poll a node for a tx or a height.
	pollInterval = 50 * time.Millisecond
)

// account is a signing identity and its address.
type account struct {
	name   string
	signer wire.Signer
	addr   gmcrypto.Address
}

// loadDemoAccounts decrypts the localnet's demo bank keys (the regulator's
// identity, which holds no funds, is left out).
func loadDemoAccounts(t *testing.T, all []localnet.Identity) []*account {
	t.Helper()
	var ids []localnet.Identity
	for _, id := range all {
		if id.Org != localnet.RegulatorOrg {
			ids = append(ids, id)
		}
	}
	out := make([]*account, len(ids))
	for i, id := range ids {
		info, key, err := gmcrypto.LoadKey(id.KeyFile, []byte(localnet.Passphrase))
		if err != nil {
			t.Fatalf("load demo key %s: %v", id.KeyFile, err)
		}
		if info.Address != id.Address || key.Public().Address().String() != id.Address {
			t.Fatalf("demo key %s: address %s, localnet says %s", id.KeyFile, info.Address, id.Address)
		}
		out[i] = &account{name: id.Name, signer: wire.Signer{Key: key, MSPID: id.Org, CertPEM: []byte(info.Certificate)}, addr: key.Public().Address()}
	}
	return out
}

// newAccounts makes n keys that no genesis knows, with client certificates
// from org's localnet CA. They must be registered (registerMembers) before
// they may transact.
func newAccounts(t *testing.T, home string, n int, org string) []*account {
	t.Helper()
	auth, err := ca.Load(localnet.CADir(home, org), []byte(localnet.Passphrase))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]*account, n)
	for i := range out {
		k, err := gmcrypto.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("fresh%d", i)
		cert, err := auth.Issue(name, gmcrypto.RoleClient, k.Public(), 30, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		out[i] = &account{name: name, signer: wire.Signer{Key: k, MSPID: org, CertPEM: cert.PEM()}, addr: k.Public().Address()}
	}
	return out
}

// registerMembers has admin register accounts as members of its
// organisation, waits for each commit on c and returns the last height.
func registerMembers(t *testing.T, ctx context.Context, c rpcclient.Client, chainID string, admin *account, accounts []*account) (height int64) {
	t.Helper()
	for _, a := range accounts {
		m := &txpb.Message{Body: &txpb.Message_RegisterIdentity{RegisterIdentity: &txpb.RegisterIdentity{Address: a.addr.Bytes(), Name: a.name, Roles: []string{"member"}, Certificate: a.signer.CertPEM}}}
		raw, _, err := wire.BuildTx(admin.signer, chainID, permission.SystemLedger, time.Now(), m)
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.BroadcastTxCommit(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		if res.CheckTx.Code != 0 || res.TxResult.Code != 0 {
			t.Fatalf("register %s: %s%s", a.name, res.CheckTx.Log, res.TxResult.Log)
		}
		height = max(height, res.Height)
	}
	return height
}

type opKind int

const (
	opIssue opKind = iota
	opTransfer
	opBurn
)

// op is one CNY payment operation, as the test means it.
type op struct {
	kind   opKind
	from   *account
	to     *account // nil for burn
	amount uint64
}

func (o op) String() string {
	switch o.kind {
	case opIssue:
		return fmt.Sprintf("issue %d %s→%s", o.amount, o.from.name, o.to.name)
	case opTransfer:
		return fmt.Sprintf("transfer %d %s→%s", o.amount, o.from.name, o.to.name)
	default:
		return fmt.Sprintf("burn %d by %s", o.amount, o.from.name)
	}
}

func (o op) message() *txpb.Message {
	switch o.kind {
	case opIssue:
		return &txpb.Message{Body: &txpb.Message_Issue{Issue: &txpb.Issue{Asset: assetCNY, To: o.to.addr.Bytes(), Amount: o.amount}}}
	case opTransfer:
		return &txpb.Message{Body: &txpb.Message_Transfer{Transfer: &txpb.Transfer{Asset: assetCNY, To: o.to.addr.Bytes(), Amount: o.amount}}}
	default:
		return &txpb.Message{Body: &txpb.Message_Burn{Burn: &txpb.Burn{Asset: assetCNY, Amount: o.amount}}}
	}
}

// build signs o for chainID, stamped now.
func (o op) build(chainID string) ([]byte, string, error) {
	return wire.BuildTx(o.from.signer, chainID, ledgerName, time.Now(), o.message())
}

// ledgerModel is the test's own bookkeeping of the CNY asset, against
// which the nodes' answers are checked.
type ledgerModel struct {
	balances       map[gmcrypto.Address]uint64
	issued, burned uint64
}

func newLedgerModel(funded []*account, each uint64) *ledgerModel {
	m := &ledgerModel{balances: map[gmcrypto.Address]uint64{}}
	for _, a := range funded {
		m.balances[a.addr] = each
		m.issued += each
	}
	return m
}

func (m *ledgerModel) apply(o op) {
	switch o.kind {
	case opIssue:
		m.balances[o.to.addr] += o.amount
		m.issued += o.amount
	case opTransfer:
		m.balances[o.from.addr] -= o.amount
		m.balances[o.to.addr] += o.amount
	case opBurn:
		m.balances[o.from.addr] -= o.amount
		m.burned += o.amount
	}
}

// abciQuery runs an app query at the latest height and decodes its JSON
// answer into out. A non-zero code is an error naming it.
func abciQuery(ctx context.Context, c rpcclient.ABCIClient, path string, data []byte, out any) error {
	res, err := c.ABCIQuery(ctx, path, data)
	if err != nil {
		return fmt.Errorf("query %s: %w", path, err)
	}
	if r := res.Response; r.Code != 0 {
		return &queryCodeError{Path: path, Code: r.Code, Codespace: r.Codespace, Log: r.Log}
	}
	if err := json.Unmarshal(res.Response.Value, out); err != nil {
		return fmt.Errorf("query %s: decode %q: %w", path, res.Response.Value, err)
	}
	return nil
}

// queryCodeError is an app query answered with a non-zero code.
type queryCodeError struct {
	Path      string
	Code      uint32
	Codespace string
	Log       string
}

func (e *queryCodeError) Error() string {
	return fmt.Sprintf("query %s: code %d (%s): %s", e.Path, e.Code, e.Codespace, e.Log)
}

// txHeight asks the app where tx id was committed; found is false when the
// app answers that it has no such tx.
func txHeight(ctx context.Context, c rpcclient.ABCIClient, id string) (h int64, found bool, err error) {
	var loc app.TxLocation
	err = abciQuery(ctx, c, app.QueryTx, []byte(id), &loc)
	var qe *queryCodeError
	switch {
	case errors.As(err, &qe):
		return 0, false, nil
	case err != nil:
		return 0, false, err
	case loc.ID != id || loc.Height <= 0:
		return 0, false, fmt.Errorf("query tx %s: answer %+v", id, loc)
	}
	return loc.Height, true, nil
}

// txResultAt reads the result of the transaction whose CometBFT hash is
// hash from block h and its saved results (api.RPCBlocks), as `jinlian
// query tx` does on a node without a tx index (a validator without the
// API, ADR 0028).
func txResultAt(ctx context.Context, c rpcclient.Client, h int64, hash []byte) (*abci.ExecTxResult, error) {
	_, txs, err := api.RPCBlocks(ctx, c).BlockTxs(h)
	if err != nil {
		return nil, err
	}
	for _, r := range txs {
		if bytes.Equal(cmttypes.Tx(r.Tx).Hash(), hash) {
			return &r.Result, nil
		}
	}
	return nil, fmt.Errorf("block %d holds no transaction %X", h, hash)
}

// waitTx polls c until tx id is committed and returns its height.
func waitTx(ctx context.Context, c rpcclient.ABCIClient, id string) (int64, error) {
	return waitAnyTx(ctx, c, []string{id})
}

// waitAnyTx polls c until one of the txs ids is committed and returns its
// height.
func waitAnyTx(ctx context.Context, c rpcclient.ABCIClient, ids []string) (int64, error) {
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		for _, id := range ids {
			h, found, err := txHeight(ctx, c, id)
			if err != nil {
				return 0, err
			}
			if found {
				return h, nil
			}
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("wait for any of txs %v: %w", ids, ctx.Err())
		case <-t.C:
		}
	}
}

func balanceOf(ctx context.Context, c rpcclient.ABCIClient, addr gmcrypto.Address) (uint64, error) {
	req, err := json.Marshal(app.BalanceRequest{Ledger: ledgerName, Asset: assetCNY, Account: addr.String()})
	if err != nil {
		return 0, err
	}
	var res app.BalanceResponse
	if err := abciQuery(ctx, c, app.QueryBalance, req, &res); err != nil {
		return 0, err
	}
	return res.Amount, nil
}

// checkLedger asserts that every node holds the model's balances and that
// the supply invariant holds with the model's issued and burned totals.
func checkLedger(t *testing.T, ctx context.Context, clients []rpcclient.Client, m *ledgerModel) {
	t.Helper()
	addrs := make([]gmcrypto.Address, 0, len(m.balances))
	for a := range m.balances {
		addrs = append(addrs, a)
	}
	sort.Slice(addrs, func(i, j int) bool { return bytes.Compare(addrs[i][:], addrs[j][:]) < 0 })
	for i, c := range clients {
		for _, a := range addrs {
			got, err := balanceOf(ctx, c, a)
			if err != nil {
				t.Fatalf("node%d: balance of %s: %v", i, a, err)
			}
			if got != m.balances[a] {
				t.Errorf("node%d: balance of %s is %d, want %d", i, a, got, m.balances[a])
			}
		}
		var inv app.InvariantsResponse
		if err := abciQuery(ctx, c, app.QueryInvariants, nil, &inv); err != nil {
			t.Fatalf("node%d: %v", i, err)
		}
		if !inv.Holds {
			t.Errorf("node%d: supply invariant broken at height %d: %+v", i, inv.Height, inv.Results)
		}
		var cny bool
		for _, r := range inv.Results {
			if r.Ledger != ledgerName || r.Asset != assetCNY {
				continue
			}
			cny = true
			if r.Issued != m.issued || r.Burned != m.burned || r.SumBalances != m.issued-m.burned {
				t.Errorf("node%d: CNY supply issued %d burned %d sum %d, want %d %d %d", i,
					r.Issued, r.Burned, r.SumBalances, m.issued, m.burned, m.issued-m.burned)
			}
		}
		if !cny {
			t.Errorf("node%d: invariants report no CNY result: %+v", i, inv.Results)
		}
	}
}

func heightOf(ctx context.Context, c rpcclient.StatusClient) (int64, error) {
	st, err := c.Status(ctx)
	if err != nil {
		return 0, err
	}
	return st.SyncInfo.LatestBlockHeight, nil
}

// heights returns every node's latest height.
func heights(t *testing.T, ctx context.Context, clients []rpcclient.Client) []int64 {
	t.Helper()
	out := make([]int64, len(clients))
	for i, c := range clients {
		h, err := heightOf(ctx, c)
		if err != nil {
			t.Fatalf("node%d status: %v", i, err)
		}
		out[i] = h
	}
	return out
}

func waitAllHeight(t *testing.T, ctx context.Context, clients []rpcclient.Client, h int64) {
	t.Helper()
	for i, c := range clients {
		if err := consensus.WaitForHeight(ctx, c, h); err != nil {
			t.Fatalf("node%d: %v", i, err)
		}
	}
}

// appHashes returns the app hash in the header of every block from..to.
func appHashes(ctx context.Context, c rpcclient.Client, from, to int64) ([][]byte, error) {
	const page = 20 // BlockchainInfo's maximum
	out := make([][]byte, to-from+1)
	for lo := from; lo <= to; lo += page {
		hi := min(lo+page-1, to)
		res, err := c.BlockchainInfo(ctx, lo, hi)
		if err != nil {
			return nil, fmt.Errorf("blockchain info %d..%d: %w", lo, hi, err)
		}
		for _, m := range res.BlockMetas {
			if h := m.Header.Height; h >= lo && h <= hi {
				out[h-from] = m.Header.AppHash
			}
		}
	}
	for i, h := range out {
		if len(h) == 0 {
			return nil, fmt.Errorf("no app hash for height %d", from+int64(i))
		}
	}
	return out, nil
}

// sameAppHashes asserts that every node's header at every height 1..to
// carries the same app hash, and returns them (index 0 is height 1).
func sameAppHashes(t *testing.T, ctx context.Context, clients []rpcclient.Client, to int64) [][]byte {
	t.Helper()
	var want [][]byte
	for i, c := range clients {
		got, err := appHashes(ctx, c, 1, to)
		if err != nil {
			t.Fatalf("node%d: %v", i, err)
		}
		if i == 0 {
			want = got
			continue
		}
		for j := range got {
			if !bytes.Equal(got[j], want[j]) {
				t.Fatalf("app hash divergence at height %d: node%d %X, node0 %X", j+1, i, got[j], want[j])
			}
		}
	}
	return want
}

// checkAppMatchesChain asserts that the app's last committed app hash
// (ABCI Info) is the one the next block's header carries.
func checkAppMatchesChain(t *testing.T, ctx context.Context, clients []rpcclient.Client) {
	t.Helper()
	for i, c := range clients {
		info, err := c.ABCIInfo(ctx)
		if err != nil {
			t.Fatalf("node%d abci info: %v", i, err)
		}
		h := info.Response.LastBlockHeight
		if err := consensus.WaitForHeight(ctx, c, h+1); err != nil {
			t.Fatalf("node%d: %v", i, err)
		}
		next := h + 1
		b, err := c.Block(ctx, &next)
		if err != nil {
			t.Fatalf("node%d block %d: %v", i, next, err)
		}
		if !bytes.Equal(b.Block.AppHash, info.Response.LastBlockAppHash) {
			t.Fatalf("node%d: app reports hash %X after height %d, block %d header says %X",
				i, info.Response.LastBlockAppHash, h, next, b.Block.AppHash)
		}
	}
}

func maxOf(hs []int64) int64 {
	var m int64
	for _, h := range hs {
		m = max(m, h)
	}
	return m
}

func minOf(hs []int64) int64 {
	m := hs[0]
	for _, h := range hs[1:] {
		m = min(m, h)
	}
	return m
}
