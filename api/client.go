package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	rpcclient "github.com/cometbft/cometbft/rpc/client"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/nodecfg"
	"github.com/jinlian-ledger/jinlian/recon"
)

// Node is the client side of a node: its address and how to reach it.
// Addr is tcp://, http:// or host:port for the node's CometBFT RPC, or
// https:// for its API over GM TLS or TLS 1.3 (TLS). The CLI and the web
// console reach nodes through it. It prints as the address.
type Node struct {
	Addr string
	TLS  ClientTLS
}

func (n Node) String() string { return n.Addr }

// IsAPI reports whether n is a node's jinlian API (https:// or http://),
// which serves the typed endpoints, rather than its plain CometBFT RPC.
func (n Node) IsAPI() bool {
	return strings.HasPrefix(n.Addr, "https://") || strings.HasPrefix(n.Addr, "http://")
}

// Dial returns an RPC client for the node: CometBFT's HTTP client over
// plain HTTP, or over the API's TLS trusting TLS.CAFile and presenting the
// client certificate.
func (n Node) Dial() (rpcclient.Client, error) {
	addr := n.Addr
	if !strings.Contains(addr, "://") {
		addr = "tcp://" + addr
	}
	if !strings.HasPrefix(addr, "https://") {
		if t := n.TLS; t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" || t.Key != nil {
			return nil, fmt.Errorf("node %s: --tls-ca, --tls-cert and --tls-key need an https:// --node", n)
		}
		c, err := rpchttp.New(addr, "/websocket")
		if err != nil {
			return nil, fmt.Errorf("node %s: %w", n, err)
		}
		return c, nil
	}
	hc, err := n.HTTPClient()
	if err != nil {
		return nil, err
	}
	c, err := rpchttp.NewWithClient(addr, "/websocket", hc)
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", n, err)
	}
	return c, nil
}

// HTTPClient is the HTTP client for an https:// node, the node's API:
// trusting TLS.CAFile, presenting TLS.CertFile/KeyFile (a PEM key, or for
// gmtls a jinlian key file, decrypted with JINLIAN_PASSPHRASE or a prompt)
// or the already loaded TLS.Cert/Key.
func (n Node) HTTPClient() (*http.Client, error) {
	t := n.TLS
	if t.CAFile == "" {
		return nil, fmt.Errorf("node %s: an https:// node needs --tls-ca (the CA of the API's certificate)", n)
	}
	if t.Mode == nodecfg.APITLSGM && t.KeyFile != "" && IsKeystoreFile(t.KeyFile) {
		if err := LoadKeystoreTLSKey(&t); err != nil {
			return nil, fmt.Errorf("node %s: --tls-key: %w", n, err)
		}
	}
	hc, err := NewHTTPClient(t)
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", n, err)
	}
	return hc, nil
}

// NoTxIndex reports whether err is a node's answer that it keeps no tx
// index: CometBFT's tx_search, tx and block_search with the null indexer
// (a validator without the API by default, ADR 0028). A caller then
// reads the block instead, or names the node's choice.
func NoTxIndex(err error) bool {
	return err != nil && strings.Contains(err.Error(), "indexing is disabled")
}

// IsKeystoreFile tells a jinlian key file (JSON) from a PEM key.
func IsKeystoreFile(path string) bool {
	b, err := os.ReadFile(path)
	return err == nil && bytes.HasPrefix(bytes.TrimSpace(b), []byte("{"))
}

// LoadKeystoreTLSKey decrypts the jinlian key file t.KeyFile (passphrase
// from JINLIAN_PASSPHRASE or a prompt) and takes the client certificate
// from t.CertFile or else from the key file.
func LoadKeystoreTLSKey(t *ClientTLS) error {
	pw, err := gmcrypto.ReadPassphrase("", "Passphrase for TLS key "+t.KeyFile+": ")
	if err != nil {
		return err
	}
	info, key, err := gmcrypto.LoadKey(t.KeyFile, pw)
	if err != nil {
		return err
	}
	certPEM := []byte(info.Certificate)
	if t.CertFile != "" {
		if certPEM, err = os.ReadFile(t.CertFile); err != nil {
			return fmt.Errorf("--tls-cert: %w", err)
		}
	}
	if len(certPEM) == 0 {
		return fmt.Errorf("key file %s holds no certificate: pass --tls-cert", t.KeyFile)
	}
	cert, err := gmcrypto.ParseCertificatePEM(certPEM)
	if err != nil {
		return err
	}
	t.Cert, t.Key, t.CertFile, t.KeyFile = cert, key, "", ""
	return nil
}

// Error is the API's refusal of a request: its HTTP status and its
// message.
type Error struct {
	What    string // the endpoint, e.g. "statement"
	Status  int
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s (HTTP %d)", e.What, e.Message, e.Status)
}

// Get reads path (with its query string) from the node's API into out
// (JSON). hc is the client to use; nil means n.HTTPClient for https://, a
// plain one for http://. A refusal is an *Error with the API's own words.
func (n Node) Get(ctx context.Context, hc *http.Client, path string, out any) error {
	body, what, err := n.open(ctx, hc, path)
	if err != nil {
		return err
	}
	defer body.Close()
	b, err := io.ReadAll(io.LimitReader(body, 1<<30))
	if err != nil {
		return fmt.Errorf("node %s: %w", n, err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("node %s: %s: %w", n, what, err)
	}
	return nil
}

// open sends GET path to the node's API (hc as for Get) and returns the
// body of a 200 answer and the endpoint's name; any other answer is an
// error (an *Error with the API's own words when it gave some).
func (n Node) open(ctx context.Context, hc *http.Client, path string) (io.ReadCloser, string, error) {
	base := strings.TrimSuffix(n.Addr, "/")
	what := strings.TrimPrefix(path[:strings.IndexAny(path+"?", "?")], "/v1/")
	switch {
	case strings.HasPrefix(base, "https://"):
		if hc == nil {
			var err error
			if hc, err = n.HTTPClient(); err != nil {
				return nil, what, err
			}
		}
	case strings.HasPrefix(base, "http://"):
		if hc == nil {
			hc = &http.Client{}
		}
	default:
		return nil, what, fmt.Errorf("node %s: the node's API serves %s: pass its address, --node https://host:port (api.listen)", n, what)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		return nil, what, err
	}
	resp, err := hc.Do(hreq)
	if err != nil {
		return nil, what, fmt.Errorf("node %s unreachable: %w", n, err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp.Body, what, nil
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, what, fmt.Errorf("node %s: %w", n, err)
	}
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error == "" {
		return nil, what, fmt.Errorf("node %s does not serve GET /v1/%s (HTTP %s): is --node the node's API (api.listen) rather than its CometBFT RPC?", n, what, resp.Status)
	}
	return nil, what, &Error{What: what, Status: resp.StatusCode, Message: e.Error}
}

// Statement asks the node's API for a statement (GET /v1/statement); hc
// as for Get.
func (n Node) Statement(ctx context.Context, hc *http.Client, req recon.Request) (*recon.Statement, error) {
	var st recon.Statement
	if err := n.Get(ctx, hc, statementPath(req, ""), &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// StatementPage asks the node's API for a page of a statement: limit rows
// from offset, or the last page with offset −1 (GET /v1/statement?limit=
// &offset=); hc as for Get.
func (n Node) StatementPage(ctx context.Context, hc *http.Client, req recon.Request, offset, limit int) (*StatementPage, error) {
	path := statementPath(req, "")
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	off := strconv.Itoa(offset)
	if offset < 0 {
		off = "last"
	}
	var p StatementPage
	if err := n.Get(ctx, hc, path+sep+"limit="+strconv.Itoa(limit)+"&offset="+off, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// StatementCSV copies a statement's CSV form, as the node writes it
// (GET /v1/statement?format=csv, recon.Statement.WriteCSV), to w; hc as
// for Get.
func (n Node) StatementCSV(ctx context.Context, hc *http.Client, req recon.Request, w io.Writer) error {
	body, what, err := n.open(ctx, hc, statementPath(req, "csv"))
	if err != nil {
		return err
	}
	defer body.Close()
	if _, err := io.Copy(w, body); err != nil {
		return fmt.Errorf("node %s: %s: %w", n, what, err)
	}
	return nil
}

// Tx asks the node's API for committed transaction id, decoded (GET
// /v1/tx): whole for a regulator or auditor, a member's cut of it
// (Tx.ForMember) for a member whose organisation it concerns; hc as for
// Get.
func (n Node) Tx(ctx context.Context, hc *http.Client, id string) (*Tx, error) {
	var t Tx
	if err := n.Get(ctx, hc, "/v1/tx?"+url.Values{"id": {id}}.Encode(), &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// TxsByMemo asks the node's API for page (from 1) of limit of the
// transfers whose memo is exactly memo that the caller may read, newest
// first (GET /v1/txs); hc as for Get.
func (n Node) TxsByMemo(ctx context.Context, hc *http.Client, memo string, page, limit int) (*TxPage, error) {
	q := url.Values{"memo": {memo}, "page": {strconv.Itoa(page)}, "limit": {strconv.Itoa(limit)}}
	var p TxPage
	if err := n.Get(ctx, hc, "/v1/txs?"+q.Encode(), &p); err != nil {
		return nil, err
	}
	return &p, nil
}

func statementPath(req recon.Request, format string) string {
	q := url.Values{}
	for k, v := range map[string]string{"org": req.Org, "date": req.Date, "account": req.Account, "asset": req.Asset, "ledger": req.Ledger, "format": format} {
		if v != "" {
			q.Set(k, v)
		}
	}
	path := "/v1/statement"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return path
}

// Anchors reads headers for recon.Range through a node's RPC (its
// commit of a height).
func Anchors(c rpcclient.Client) recon.Anchors { return commitAnchors{c} }

type commitAnchors struct{ c rpcclient.Client }

func (a commitAnchors) Anchor(ctx context.Context, h int64) (string, recon.ChainAnchor, error) {
	c, err := a.c.Commit(ctx, &h)
	if err != nil {
		return "", recon.ChainAnchor{}, err
	}
	return c.ChainID, recon.ChainAnchor{Height: h, BlockHash: c.Commit.BlockID.Hash.String(), AppHash: c.AppHash.String()}, nil
}

// RPCBlocks reads blocks and their results for package recon through a
// node's RPC (/block, /block_results): a node's plain RPC, or its API for
// regulators and auditors, whom the gate gives raw blocks.
func RPCBlocks(ctx context.Context, c rpcclient.Client) recon.Blocks { return rpcBlocks{ctx, c} }

type rpcBlocks struct {
	ctx context.Context
	c   rpcclient.Client
}

func (b rpcBlocks) Stored() (int64, int64, error) {
	st, err := b.c.Status(b.ctx)
	if err != nil {
		return 0, 0, err
	}
	// The newest block's results may not be saved yet.
	return st.SyncInfo.EarliestBlockHeight, st.SyncInfo.LatestBlockHeight - 1, nil
}

func (b rpcBlocks) BlockTxs(h int64) (time.Time, []*abci.TxResult, error) {
	blk, err := b.c.Block(b.ctx, &h)
	if err != nil {
		return time.Time{}, nil, fmt.Errorf("block %d: %w", h, err)
	}
	if len(blk.Block.Txs) == 0 {
		return blk.Block.Time, nil, nil
	}
	res, err := b.c.BlockResults(b.ctx, &h)
	if err != nil {
		return time.Time{}, nil, fmt.Errorf("results of block %d: %w", h, err)
	}
	if len(res.TxsResults) != len(blk.Block.Txs) {
		return time.Time{}, nil, fmt.Errorf("height %d: %d results for %d transactions", h, len(res.TxsResults), len(blk.Block.Txs))
	}
	txs := make([]*abci.TxResult, len(blk.Block.Txs))
	for i, tx := range blk.Block.Txs {
		txs[i] = &abci.TxResult{Height: h, Index: uint32(i), Tx: tx, Result: *res.TxsResults[i]}
	}
	return blk.Block.Time, txs, nil
}

// TxResults reads height h's results alone (recon.ResultsReader): a block
// of 2,000 transfers is another megabyte of JSON that an account's
// movements do not need. Where the node has no results of h, only an
// empty block (whose results may be discarded) is no error.
func (b rpcBlocks) TxResults(h int64) ([]*abci.TxResult, error) {
	res, err := b.c.BlockResults(b.ctx, &h)
	if err == nil {
		return recon.ResultsAt(h, res.TxsResults), nil
	}
	if blk, berr := b.c.Block(b.ctx, &h); berr == nil && len(blk.Block.Txs) == 0 {
		return nil, nil
	}
	return nil, fmt.Errorf("results of block %d: %w", h, err)
}
