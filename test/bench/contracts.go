package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/jinlian-ledger/jinlian/contracts/custody"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/node/localnet"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// custodyProposalsPerAccount stays under the custody contract's 64 live
// proposals per account.
const custodyProposalsPerAccount = 50

// buildContractLoad pre-signs a contract workload: o.Count measured
// transactions and the setup phases that make the state they need, with
// o.Accounts/2 funded identities in each of two organisations (bench and
// bench-b), so that the parties the contracts want apart (a receivable's
// payer and payee, a trade's receivers) are.
func buildContractLoad(l *txLoad, workload string, o *Options) error {
	n := max(o.Accounts/2, 1)
	a, b := make([]*gmcrypto.PrivateKey, n), make([]*gmcrypto.PrivateKey, n)
	for i := range n {
		var err error
		if a[i], err = gmcrypto.GenerateKey(); err != nil {
			return err
		}
		if b[i], err = gmcrypto.GenerateKey(); err != nil {
			return err
		}
		l.accounts = append(l.accounts, a[i].Public().Address().String(), b[i].Public().Address().String()+" "+localnet.BenchOrgB)
	}
	now := time.Now()
	signA := func(i int, ledger string, m *txpb.Message) ([]byte, string, error) {
		return wire.BuildTx(wire.Signer{Key: a[i%n], MSPID: localnet.BenchOrg}, ChainID, ledger, now, m)
	}
	signB := func(i int, ledger string, m *txpb.Message) ([]byte, string, error) {
		return wire.BuildTx(wire.Signer{Key: b[i%n], MSPID: localnet.BenchOrgB}, ChainID, ledger, now, m)
	}
	addr := func(k *gmcrypto.PrivateKey) []byte { return k.Public().Address().Bytes() }
	count := len(l.txs)
	switch workload {
	case WorkloadCustodyApprove:
		// Accounts j of signers a[j], b[j], two of two, each funded, with
		// up to custodyProposalsPerAccount payments proposed by a[j].
		k := (count + custodyProposalsPerAccount - 1) / custodyProposalsPerAccount
		creates, funds, proposals := make([][]byte, k), make([][]byte, k), make([][]byte, count)
		accts := make([][]byte, k)
		for j := range k {
			raw, id, err := signA(j, "payments", &txpb.Message{Body: &txpb.Message_CustodyCreate{CustodyCreate: &txpb.CustodyCreate{
				Signers: [][]byte{addr(a[j%n]), addr(b[j%n])}, Threshold: 2, ExpiryBlocks: 1_000_000}}})
			if err != nil {
				return err
			}
			acct, err := custody.AccountAddress("payments", id)
			if err != nil {
				return err
			}
			creates[j], accts[j] = raw, acct.Bytes()
			if funds[j], _, err = signA(j, "payments", &txpb.Message{Body: &txpb.Message_Transfer{Transfer: &txpb.Transfer{
				Asset: "CNY", To: accts[j], Amount: custodyProposalsPerAccount}}}); err != nil {
				return err
			}
		}
		err := parallel(count, func(i int) error {
			j := i % k
			var err error
			proposals[i], _, err = signA(j, "payments", &txpb.Message{Body: &txpb.Message_CustodyPropose{CustodyPropose: &txpb.CustodyPropose{
				Account: accts[j], Asset: "CNY", To: addr(b[(j+1)%n]), Amount: 1}}})
			if err != nil {
				return err
			}
			// Account j's proposals are alike, so which one the i-th
			// approval names does not matter: ids 1, 2, … in any order.
			l.txs[i], _, err = signB(j, "payments", &txpb.Message{Body: &txpb.Message_CustodyApprove{CustodyApprove: &txpb.CustodyApprove{
				Account: accts[j], Proposal: uint64(i/k + 1)}}})
			return err
		})
		if err != nil {
			return err
		}
		l.setup = [][][]byte{creates, funds, proposals}
	case WorkloadReceivableTransfer:
		// Receivable i: payee b[i] (the supplier, who registers it) on
		// payer a[i] (who confirms it); the load passes it to b[i+1].
		regs, confirms := make([][]byte, count), make([][]byte, count)
		err := parallel(count, func(i int) error {
			hash := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("jinlian bench invoice"), uint64(i)))
			raw, id, err := signB(i, "payments", &txpb.Message{Body: &txpb.Message_ReceivableRegister{ReceivableRegister: &txpb.ReceivableRegister{
				Payer: addr(a[i%n]), Asset: "CNY", FaceValue: 1000, DueHeight: 1_000_000, InvoiceHash: hash[:]}}})
			if err != nil {
				return err
			}
			regs[i] = raw
			if confirms[i], _, err = signA(i, "payments", &txpb.Message{Body: &txpb.Message_ReceivableConfirm{ReceivableConfirm: &txpb.ReceivableConfirm{Receivable: id}}}); err != nil {
				return err
			}
			l.txs[i], _, err = signB(i, "payments", &txpb.Message{Body: &txpb.Message_ReceivableTransfer{ReceivableTransfer: &txpb.ReceivableTransfer{
				Receivable: id, Part: 1, To: addr(b[(i+1)%n])}}})
			return err
		})
		if err != nil {
			return err
		}
		l.setup = [][][]byte{regs, confirms}
	case WorkloadPvpSettle:
		// Trade i: a[i] pays 100 CNY (leg A), b[i] pays 14 USD (leg B),
		// both on payments; a[i] funds leg A in setup, the load's b[i]
		// funding of leg B settles it.
		props, fundA := make([][]byte, count), make([][]byte, count)
		err := parallel(count, func(i int) error {
			raw, trade, err := signA(i, permission.SystemLedger, &txpb.Message{Body: &txpb.Message_PvpPropose{PvpPropose: &txpb.PvpPropose{
				Counterparty: addr(b[i%n]), LegA: &txpb.PvpLeg{Ledger: "payments", Asset: "CNY", Amount: 100},
				LegB: &txpb.PvpLeg{Ledger: "payments", Asset: "USD", Amount: 14}, ExpiryHeight: 1_000_000}}})
			if err != nil {
				return err
			}
			props[i] = raw
			if fundA[i], _, err = signA(i, permission.SystemLedger, &txpb.Message{Body: &txpb.Message_PvpFund{PvpFund: &txpb.PvpFund{Trade: trade, Leg: "A"}}}); err != nil {
				return err
			}
			l.txs[i], _, err = signB(i, permission.SystemLedger, &txpb.Message{Body: &txpb.Message_PvpFund{PvpFund: &txpb.PvpFund{Trade: trade, Leg: "B"}}})
			return err
		})
		if err != nil {
			return err
		}
		l.setup = [][][]byte{props, fundA}
	default:
		return fmt.Errorf("workload %q has no contract load", workload)
	}
	return nil
}

// runSetup commits the setup phases in order: each phase in chunks of
// setupChunk, sent with broadcast_tx_sync round-robin to every node (a
// CheckTx refusal is an error), each chunk waited for in node0's blocks
// (a failed transaction is an error) and then on every node, so that the
// next chunk passes CheckTx wherever it goes.
func runSetup(ctx context.Context, hc *http.Client, rpcs []string, batch int, phases [][][]byte) error {
	for p, txs := range phases {
		for lo := 0; lo < len(txs); lo += setupChunk {
			if err := setupChunkRun(ctx, hc, rpcs, batch, txs[lo:min(lo+setupChunk, len(txs))]); err != nil {
				return fmt.Errorf("phase %d, transactions %d..: %w", p+1, lo, err)
			}
		}
	}
	return nil
}

func setupChunkRun(ctx context.Context, hc *http.Client, rpcs []string, batch int, txs [][]byte) error {
	from, err := latestHeight(ctx, hc, rpcs[0])
	if err != nil {
		return err
	}
	pending := make(map[[32]byte]bool, len(txs))
	for _, tx := range txs {
		pending[sha256.Sum256(tx)] = true
	}
	// One sender per node, each with its share of the batches.
	errs := make([]error, len(rpcs))
	var wg sync.WaitGroup
	for node := range rpcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lo := node * batch; lo < len(txs) && errs[node] == nil; lo += batch * len(rpcs) {
				full, err := broadcastSync(ctx, hc, rpcs[node], txs[lo:min(lo+batch, len(txs))])
				if err == nil && len(full) > 0 {
					err = fmt.Errorf("%d setup transactions refused: mempool is full", len(full))
				}
				errs[node] = err
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	deadline := time.Now().Add(2 * time.Minute)
	h := from + 1
	for len(pending) > 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d transactions not committed within 2m", len(pending), len(txs))
		}
		var blk rpcBlock
		if err := getJSON(ctx, hc, fmt.Sprintf("%s/block?height=%d", rpcs[0], h), &blk); err != nil || blk.Error != nil {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		var mine []int
		for i, tx := range blk.Result.Block.Data.Txs {
			if k := sha256.Sum256(tx); pending[k] {
				delete(pending, k)
				mine = append(mine, i)
			}
		}
		if len(mine) > 0 {
			res, err := blockResults(ctx, hc, rpcs[0], h)
			if err != nil {
				return err
			}
			for _, i := range mine {
				if i < len(res) && res[i].Code != 0 {
					return fmt.Errorf("height %d: a setup transaction failed: code %d: %s", h, res[i].Code, res[i].Log)
				}
			}
		}
		h++
	}
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for _, rpc := range rpcs {
		if err := waitHeight(waitCtx, hc, rpc, h-1); err != nil {
			return err
		}
	}
	return nil
}

// broadcastSync sends txs in one JSON-RPC batch of
// broadcast_tx_sync and returns the positions of those a full mempool
// refused; any other refusal (CheckTx's or the RPC's) is an error.
func broadcastSync(ctx context.Context, hc *http.Client, rpc string, txs [][]byte) (full []int, err error) {
	var body bytes.Buffer
	body.WriteByte('[')
	for i, tx := range txs {
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `{"jsonrpc":"2.0","id":%d,"method":"broadcast_tx_sync","params":{"tx":"%s"}}`, i, base64.StdEncoding.EncodeToString(tx))
	}
	body.WriteByte(']')
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rpc, &body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '{' {
		raw = append(append([]byte{'['}, raw...), ']')
	}
	var out []struct {
		ID     int `json:"id"`
		Result struct {
			Code uint32 `json:"code"`
			Log  string `json:"log"`
		} `json:"result"`
		Error *struct {
			Message string `json:"message"`
			Data    string `json:"data"`
		} `json:"error"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("broadcast_tx_sync: status %d: %w", resp.StatusCode, err)
	}
	for _, o := range out {
		switch {
		case o.Error != nil && strings.Contains(o.Error.Data, "mempool is full") && o.ID >= 0 && o.ID < len(txs):
			full = append(full, o.ID)
		case o.Error != nil:
			return nil, fmt.Errorf("broadcast_tx_sync: %s: %s", o.Error.Message, o.Error.Data)
		case o.Result.Code != 0:
			return nil, fmt.Errorf("transaction refused by CheckTx: code %d: %s", o.Result.Code, o.Result.Log)
		}
	}
	return full, nil
}
