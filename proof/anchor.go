package proof

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"

	"golang.org/x/crypto/sha3"

	"github.com/jinlian-ledger/jinlian/checkpoint"
)

// Errors of the Ethereum step (CheckAnchor).
var (
	ErrAnchor      = errors.New("anchor: what Ethereum anchored does not match the bundle")
	ErrNotAnchored = errors.New("anchor: the bundle's height is not an anchored checkpoint")
	ErrEthereum    = errors.New("anchor: Ethereum endpoint")
)

// Anchor is a CheckpointAnchor contract (contracts/ethereum) read over an
// Ethereum JSON-RPC endpoint. It needs no account and sends nothing: two
// eth_call and one eth_getLogs. The reader is a few lines of JSON-RPC, so
// that the jinlian binary need not link go-ethereum (ADR 0012).
type Anchor struct {
	RPC     string // JSON-RPC endpoint (http or https)
	Address string // the contract, 0x-prefixed hex
	// FromBlock is the first Ethereum block searched for the checkpoint
	// (0: from genesis; a provider that limits eth_getLogs ranges needs
	// the contract's deployment block).
	FromBlock uint64
	Client    *http.Client // nil: http.DefaultClient
}

// AnchorReport is what CheckAnchor found: the checkpoint of the bundle's
// height as the contract anchored it.
type AnchorReport struct {
	Contract string `json:"contract"`
	Epoch    uint64 `json:"epoch"`
	Height   uint64 `json:"height"`
	AppHash  string `json:"app_hash"`
	// Checkpoint is the SM3 checkpoint hash anchored with it.
	Checkpoint string `json:"checkpoint_hash"`
	EthBlock   uint64 `json:"eth_block"`
	EthTx      string `json:"eth_tx"`
}

// CheckAnchor checks, for a bundle Verify accepted (rep), that the
// contract anchors this chain and, at the bundle's height, its app hash:
// the contract's chain id hash is keccak-256 of the bundle's chain id; a
// CheckpointAnchored event names the bundle's height; the app hash the
// contract stores for that epoch is the bundle's. A height that is not a
// checkpoint height, or not anchored yet, is ErrNotAnchored, with the
// anchored heights nearest to it.
func CheckAnchor(ctx context.Context, a Anchor, rep Report) (AnchorReport, error) {
	out := AnchorReport{Contract: a.Address}
	addr, err := a.ofChain(ctx, rep.ChainID)
	if err != nil {
		return out, err
	}
	out.Contract = addr
	filter := map[string]any{
		"address": addr, "topics": []string{"0x" + hex.EncodeToString(keccak([]byte(anchoredEvent)))},
		"fromBlock": fmt.Sprintf("0x%x", a.FromBlock), "toBlock": "latest",
	}
	var logs json.RawMessage
	if err := a.rpc(ctx, "eth_getLogs", []any{filter}, &logs); err != nil {
		return out, err
	}
	found, err := anchoredAt(logs, uint64(rep.Height))
	if err != nil {
		return out, fmt.Errorf("contract %s: %w", addr, err)
	}
	found.Contract = addr
	out = found
	// The contract's storage, not only its log: the app hash of the epoch.
	stored, err := a.call(ctx, addr, selector("appHash(uint64)"), new(big.Int).SetUint64(out.Epoch))
	if err != nil {
		return out, err
	}
	if got := fmt.Sprintf("%X", stored); got != out.AppHash || got != rep.AppHash {
		return out, fmt.Errorf("%w: contract %s anchored app hash %s for epoch %d (height %d), the bundle proves %s", ErrAnchor, addr, got, out.Epoch, out.Height, rep.AppHash)
	}
	return out, nil
}

// ofChain checks a's address and that its contract anchors chainID (its
// chainIdHash() is keccak-256 of it), and returns the address 0x-prefixed,
// lower case.
func (a Anchor) ofChain(ctx context.Context, chainID string) (string, error) {
	addr, err := parseEthAddress(a.Address)
	if err != nil {
		return a.Address, err
	}
	word, err := a.call(ctx, addr, selector("chainIdHash()"), nil)
	if err != nil {
		return addr, err
	}
	if want := checkpoint.ChainIDHash(chainID); !bytes.Equal(word, want[:]) {
		return addr, fmt.Errorf("%w: contract %s anchors the chain whose id hashes to %X, not %q (%s)", ErrAnchor, addr, word, chainID, want)
	}
	return addr, nil
}

// anchoredAt reads eth_getLogs's answer (the CheckpointAnchored events of
// one contract) for the checkpoint of height: ErrNotAnchored, naming the
// anchored heights nearest to it, when none is of that height;
// ErrEthereum when an event is malformed.
func anchoredAt(raw json.RawMessage, height uint64) (AnchorReport, error) {
	var out AnchorReport
	var logs []struct {
		Topics      []string `json:"topics"`
		Data        string   `json:"data"`
		BlockNumber string   `json:"blockNumber"`
		TxHash      string   `json:"transactionHash"`
		Removed     bool     `json:"removed"`
	}
	if err := json.Unmarshal(raw, &logs); err != nil {
		return out, fmt.Errorf("%w: eth_getLogs answered %.100s", ErrEthereum, raw)
	}
	found := false
	var below, above uint64 // the anchored heights nearest to height
	for i, l := range logs {
		if l.Removed {
			continue
		}
		data, err := decodeHex(l.Data)
		if err != nil || len(l.Topics) != 2 || len(data) != 4*32 {
			return out, fmt.Errorf("%w: CheckpointAnchored event %d is malformed", ErrEthereum, i)
		}
		epoch, err := decodeHex(l.Topics[1])
		if err != nil || len(epoch) != 32 || !new(big.Int).SetBytes(epoch).IsUint64() {
			return out, fmt.Errorf("%w: CheckpointAnchored event %d has a malformed epoch topic", ErrEthereum, i)
		}
		hb := new(big.Int).SetBytes(data[:32])
		if !hb.IsUint64() {
			return out, fmt.Errorf("%w: CheckpointAnchored event %d has a malformed height", ErrEthereum, i)
		}
		h := hb.Uint64()
		switch {
		case h == height:
			found = true
			out.Epoch = new(big.Int).SetBytes(epoch).Uint64()
			out.Height = h
			out.AppHash = fmt.Sprintf("%X", data[32:64])
			out.Checkpoint = fmt.Sprintf("%X", data[64:96])
			out.EthTx = l.TxHash
			if n, ok := new(big.Int).SetString(strings.TrimPrefix(l.BlockNumber, "0x"), 16); ok && n.IsUint64() {
				out.EthBlock = n.Uint64()
			}
		case h < height:
			below = max(below, h)
		case above == 0 || h < above:
			above = h
		}
	}
	if !found {
		near := "none below it"
		if below > 0 {
			near = fmt.Sprintf("the nearest below is %d", below)
		}
		if above > 0 {
			near += fmt.Sprintf(", the nearest above is %d", above)
		} else {
			near += ", none above it yet"
		}
		return out, fmt.Errorf("%w: anchored no checkpoint of height %d (%s); build the bundle at an anchored height (--height)", ErrNotAnchored, height, near)
	}
	return out, nil
}

// anchoredEvent is CheckpointAnchor.sol's event; its data is (height,
// appHash, checkpointHash, validatorSet), its topic the epoch.
const anchoredEvent = "CheckpointAnchored(uint64,uint64,bytes32,bytes32,uint256)"

// call runs eth_call of a view returning one 32-byte word, with at most one
// uint argument.
func (a Anchor) call(ctx context.Context, to string, sel []byte, arg *big.Int) ([]byte, error) {
	data := append([]byte(nil), sel...)
	if arg != nil {
		data = append(data, arg.FillBytes(make([]byte, 32))...)
	}
	var res string
	if err := a.rpc(ctx, "eth_call", []any{map[string]string{"to": to, "data": "0x" + hex.EncodeToString(data)}, "latest"}, &res); err != nil {
		return nil, err
	}
	b, err := decodeHex(res)
	if err != nil || len(b) != 32 {
		return nil, fmt.Errorf("%w: %s at %s answered %q: is it a CheckpointAnchor contract?", ErrEthereum, to, a.RPC, res)
	}
	return b, nil
}

// rpc is one JSON-RPC 2.0 request.
func (a Anchor) rpc(ctx context.Context, method string, params []any, out any) error {
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.RPC, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrEthereum, a.RPC, err)
	}
	req.Header.Set("Content-Type", "application/json")
	cl := a.Client
	if cl == nil {
		cl = http.DefaultClient
	}
	resp, err := cl.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrEthereum, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrEthereum, a.RPC, err)
	}
	var r struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("%w: %s answered %s to %s, not JSON-RPC", ErrEthereum, a.RPC, resp.Status, method)
	}
	if r.Error != nil {
		return fmt.Errorf("%w: %s: %s: %s (code %d)", ErrEthereum, a.RPC, method, r.Error.Message, r.Error.Code)
	}
	if err := json.Unmarshal(r.Result, out); err != nil {
		return fmt.Errorf("%w: %s: %s answered %.100s", ErrEthereum, a.RPC, method, r.Result)
	}
	return nil
}

func keccak(b []byte) []byte {
	h := sha3.NewLegacyKeccak256()
	h.Write(b)
	return h.Sum(nil)
}

func selector(sig string) []byte { return keccak([]byte(sig))[:4] }

func decodeHex(s string) ([]byte, error) {
	return hex.DecodeString(strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X"))
}

// parseEthAddress checks a 20-byte hex address and returns it 0x-prefixed,
// lower case.
func parseEthAddress(s string) (string, error) {
	b, err := decodeHex(s)
	if err != nil || len(b) != 20 {
		return "", fmt.Errorf("anchor contract address %q is not an Ethereum address (20 bytes of hex)", s)
	}
	return "0x" + hex.EncodeToString(b), nil
}

// LatestAnchored reads the latest checkpoint the contract anchored, for a
// status display (the web console's overview): the contract must anchor
// chainID; its latest height (latestHeight()) is found among the
// CheckpointAnchored events of the Ethereum block of the latest anchoring
// (anchoredAtBlock()), which names the epoch, the app hash and the
// transaction; the app hash the contract stores for that epoch must be
// the event's. Whether that app hash is the chain's is the caller's to
// check, against the header of block Height+1.
func LatestAnchored(ctx context.Context, a Anchor, chainID string) (AnchorReport, error) {
	out := AnchorReport{Contract: a.Address}
	addr, err := a.ofChain(ctx, chainID)
	if err != nil {
		return out, err
	}
	out.Contract = addr
	var h, blk uint64
	for _, v := range []struct {
		sig string
		out *uint64
	}{{"latestHeight()", &h}, {"anchoredAtBlock()", &blk}} {
		w, err := a.call(ctx, addr, selector(v.sig), nil)
		if err != nil {
			return out, err
		}
		n := new(big.Int).SetBytes(w)
		if !n.IsUint64() {
			return out, fmt.Errorf("%w: contract %s: %s is %s", ErrEthereum, addr, v.sig, n)
		}
		*v.out = n.Uint64()
	}
	filter := map[string]any{
		"address": addr, "topics": []string{"0x" + hex.EncodeToString(keccak([]byte(anchoredEvent)))},
		"fromBlock": fmt.Sprintf("0x%x", blk), "toBlock": fmt.Sprintf("0x%x", blk),
	}
	var logs json.RawMessage
	if err := a.rpc(ctx, "eth_getLogs", []any{filter}, &logs); err != nil {
		return out, err
	}
	found, err := anchoredAt(logs, h)
	if err != nil {
		return out, fmt.Errorf("contract %s, Ethereum block %d: %w", addr, blk, err)
	}
	found.Contract = addr
	out = found
	stored, err := a.call(ctx, addr, selector("appHash(uint64)"), new(big.Int).SetUint64(out.Epoch))
	if err != nil {
		return out, err
	}
	if got := fmt.Sprintf("%X", stored); got != out.AppHash {
		return out, fmt.Errorf("%w: contract %s stores app hash %s for epoch %d, its event says %s", ErrAnchor, addr, got, out.Epoch, out.AppHash)
	}
	return out, nil
}
