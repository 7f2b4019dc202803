package console

// The explorer's blocks: a page of blocks by height, newest first, and a
// block with its header and transactions. Raw blocks carry every
// sub-ledger, so the node's gate gives them to regulators and auditors; a
// member sees the refusal. Nothing reads more than one page.

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/jinlian-ledger/jinlian/wire"
)

// blocksPerPage is how many blocks a page of the block list shows
// (CometBFT's blockchain method answers at most 20).
const blocksPerPage = 20

// blockTxsPerPage is how many transactions a block's page lists.
const blockTxsPerPage = 100

type blocksData struct {
	Blocks []blockRow
	// Latest is the chain's height; Earlier and Later are the before=
	// heights of the neighbouring pages (0: none).
	Latest, Earlier, Later int64
}

type blockTx struct {
	Index    int
	ID, Type string
	Ledger   string
	Org      string
	// QC: the block's first transaction carries the SM2 quorum
	// certificate of height QCOf.
	QCOf     int64
	Code     uint32
	HasCode  bool
	Undecode string
}

type blockData struct {
	Height                                         int64
	Time, Chain, Hash, LastBlock, Proposer         string
	AppHash, DataHash, ResultsHash, ValidatorsHash string
	NumTxs                                         int
	Txs                                            []blockTx
	// From is the index of the first transaction shown; Prev and Next
	// the from= of the neighbouring pages (-1: none).
	From, Prev, Next int
	Latest           int64
}

// blocks lists blocksPerPage blocks up to ?before= (default the latest).
// With ?after=H it answers only the table rows of the blocks after H
// (at most blocksPerPage, newest first): the newest page adds them as
// they commit (console.js).
func (s *Server) blocks(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.ctx(r)
	defer cancel()
	if a := r.URL.Query().Get("after"); a != "" {
		s.blocksAfter(ctx, w, a)
		return
	}
	v := s.view("blocks")
	d := &blocksData{}
	v.Data = d
	var before int64
	if b := r.URL.Query().Get("before"); b != "" {
		h, err := strconv.ParseInt(b, 10, 64)
		if err != nil || h < 1 {
			v.fail(tr(s.cfg.Lang, "blocks"), fmt.Errorf("before %q: want a height", b))
			s.render(w, v)
			return
		}
		before = h
	}
	low := int64(0)
	if before > 0 {
		low = max(1, before-blocksPerPage+1)
	}
	res, err := s.rpc.BlockchainInfo(ctx, low, before)
	if err != nil {
		v.fail(tr(s.cfg.Lang, "blocks"), err)
		s.render(w, v)
		return
	}
	d.Latest = res.LastHeight
	for _, m := range res.BlockMetas {
		d.Blocks = append(d.Blocks, blockRowOf(m))
	}
	if n := len(d.Blocks); n > 0 {
		if low := d.Blocks[n-1].Height; low > 1 {
			d.Earlier = low - 1
		}
		if high := d.Blocks[0].Height; high < d.Latest {
			d.Later = min(d.Latest, high+blocksPerPage)
		}
	}
	s.render(w, v)
}

func blockRowOf(m *cmttypes.BlockMeta) blockRow {
	return blockRow{Height: m.Header.Height, Time: m.Header.Time.UTC().Format(time.RFC3339), Hash: m.BlockID.Hash.String(),
		Txs: m.NumTxs, Proposer: m.Header.ProposerAddress.String()}
}

// blocksAfter writes the rows of the blocks after height a, as the block
// list's table has them.
func (s *Server) blocksAfter(ctx context.Context, w http.ResponseWriter, a string) {
	after, err := strconv.ParseInt(a, 10, 64)
	if err != nil || after < 0 {
		http.Error(w, fmt.Sprintf("after %q: want a height", a), http.StatusBadRequest)
		return
	}
	res, err := s.rpc.BlockchainInfo(ctx, after+1, 0)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	var rows []blockRow
	for _, m := range res.BlockMetas {
		rows = append(rows, blockRowOf(m))
	}
	var b bytes.Buffer
	if err := s.pages.t["blocks"].ExecuteTemplate(&b, "blockrows", rows); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(b.Bytes())
}

// block shows block {height}: its header and a page of its transactions
// (?from= index), each linking to the transaction's page.
func (s *Server) block(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.ctx(r)
	defer cancel()
	v := s.view("block")
	h, err := strconv.ParseInt(r.PathValue("height"), 10, 64)
	if err != nil || h < 1 {
		v.Data = &blockData{}
		v.fail(tr(s.cfg.Lang, "block"), fmt.Errorf("height %q: want a positive height", r.PathValue("height")))
		s.render(w, v)
		return
	}
	from, _ := strconv.Atoi(r.URL.Query().Get("from"))
	d, err := s.readBlock(ctx, h, max(0, from))
	v.Data = d
	v.fail(tr(s.cfg.Lang, "block"), err)
	s.render(w, v)
}

func (s *Server) readBlock(ctx context.Context, h int64, from int) (*blockData, error) {
	d := &blockData{Height: h, Prev: -1, Next: -1}
	blk, err := s.rpc.Block(ctx, &h)
	if err != nil {
		return d, err
	}
	if blk.Block == nil {
		return d, fmt.Errorf("block %d is not in the node's block store", h)
	}
	hd := blk.Block.Header
	d.Time, d.Chain, d.Hash = hd.Time.UTC().Format(time.RFC3339), hd.ChainID, blk.BlockID.Hash.String()
	d.LastBlock, d.Proposer = hd.LastBlockID.Hash.String(), hd.ProposerAddress.String()
	d.AppHash, d.DataHash, d.ResultsHash, d.ValidatorsHash = hd.AppHash.String(), hd.DataHash.String(), hd.LastResultsHash.String(), hd.ValidatorsHash.String()
	d.NumTxs = len(blk.Block.Txs)
	if st, err := s.rpc.Status(ctx); err == nil {
		d.Latest = st.SyncInfo.LatestBlockHeight
	}
	if from >= d.NumTxs {
		from = 0
	}
	d.From = from
	to := min(d.NumTxs, from+blockTxsPerPage)
	if from > 0 {
		d.Prev = max(0, from-blockTxsPerPage)
	}
	if to < d.NumTxs {
		d.Next = to
	}
	// Result codes, when the node gives them; the page stands without.
	codes := s.pageCodes(ctx, h, from, to)
	for i := from; i < to; i++ {
		raw := blk.Block.Txs[i]
		t := blockTx{Index: i}
		if codes != nil {
			t.Code, t.HasCode = codes[i-from], true
		}
		switch {
		case i == 0 && wire.IsQCTx(raw):
			if qc, err := wire.DecodeQCTx(raw); err == nil {
				t.QCOf = qc.Height
			} else {
				t.Undecode = err.Error()
			}
		default:
			if tx, err := wire.DecodeTx(raw); err == nil {
				t.ID, t.Type, t.Ledger, t.Org = wire.TxIDOf(tx), wire.MessageName(tx.Msg), tx.Ledger, tx.MSPID
			} else {
				t.Undecode = strings.ToUpper(hex.EncodeToString(raw.Hash())) + ": " + err.Error()
			}
		}
		d.Txs = append(d.Txs, t)
	}
	return d, nil
}

// pageCodes are the result codes of block h's transactions from..to-1:
// from the tx index, one page of tx_search (CometBFT orders a height's
// transactions by index), which sends the console only the page's
// results; else from block_results, every result of the block with its
// events (with a few thousand transactions a block, that alone took most
// of a second); nil when the node gives neither.
func (s *Server) pageCodes(ctx context.Context, h int64, from, to int) []uint32 {
	if from%blockTxsPerPage == 0 {
		page, per := from/blockTxsPerPage+1, blockTxsPerPage
		res, err := s.rpc.TxSearch(ctx, fmt.Sprintf("tx.height=%d", h), false, &page, &per, "asc")
		if err == nil && len(res.Txs) == to-from {
			codes := make([]uint32, 0, to-from)
			for i, t := range res.Txs {
				if t.Height != h || int(t.Index) != from+i {
					codes = nil
					break
				}
				codes = append(codes, t.TxResult.Code)
			}
			if codes != nil {
				return codes
			}
		}
	}
	res, err := s.rpc.BlockResults(ctx, &h)
	if err != nil || len(res.TxsResults) < to {
		return nil
	}
	codes := make([]uint32, 0, to-from)
	for _, x := range res.TxsResults[from:to] {
		codes = append(codes, x.Code)
	}
	return codes
}
