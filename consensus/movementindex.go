package consensus

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync/atomic"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/jinlian-ledger/jinlian/recon"
)

// The movement index (NodeOptions.MovementIndex): every movement of every
// committed transaction, by organisation, in the node's data directory
// (movements.db, CometBFT's database backend), so that a statement reads
// an organisation's day in one ordered scan (recon.OrgIndex). It is the
// node's own: derived from the block store and the saved results, outside
// the state and the app hash, rebuilt from them whenever it does not
// follow them.
//
// Keys:
//
//	r<org>\x00<height 8 BE><tx 4 BE><move 4 BE>   a row (recon.AppendIndexedRow)
//	o<org>                                        an organisation with rows
//	E<memo>\x00<height 8 BE><tx 4 BE>             a transfer with this memo (value: the tx hash)
//	e<org>\x00<memo>\x00<height 8 BE><tx 4 BE>    one org may read (recon.TxMemos; value: the tx hash)
//	mfrom, mto                                    the heights held (8 BE each)
//	mver                                          the format (movementIndexFormat)
//
// Organisation names never contain a zero byte (recon checks them), so an
// organisation's rows are one contiguous range. A memo may, so memo keys
// write it escaped (memoPrefix): a zero byte as 0x01 0x01 and 0x01 as
// 0x01 0x02, so one memo's keys are one range that no other memo's
// enters. The memo keys are not pruned with the rows: they are a few
// dozen bytes a transfer, and they name transactions that CometBFT's tx
// index keeps after their blocks are pruned.
var (
	movFromKey = []byte("mfrom")
	movToKey   = []byte("mto")
	movVerKey  = []byte("mver")
)

// movementIndexFormat is the index's format: an index of another one
// (version 1, before memo keys, wrote no mver) is indexed again on open.
const movementIndexFormat = 2

// Pace of the movement index.
const (
	// movementPoll is how often the index looks for new heights.
	movementPoll = 200 * time.Millisecond
	// movementBatchRows and movementBatchHeights bound one write while
	// catching up: a crash loses at most one batch, which is read again.
	movementBatchRows    = 20_000
	movementBatchHeights = 256
	// movementPruneStep: rows below the block store's base are deleted
	// once the base has moved this far past the index's first height.
	movementPruneStep = 1000
)

// movementIndex follows the block store and writes its movements.
type movementIndex struct {
	db     dbm.DB
	blocks recon.Blocks
	logger *slog.Logger
	// from and to are the heights held (0, 0: none), as in the database.
	from, to atomic.Int64
	// orgs are the organisations with an o<org> record (the follower's
	// only), so that a batch writes the record of a new one only.
	orgs map[string]bool
}

func openMovementIndex(db dbm.DB, blocks recon.Blocks, logger *slog.Logger) (*movementIndex, error) {
	m := &movementIndex{db: db, blocks: blocks, logger: logger, orgs: map[string]bool{}}
	for _, k := range []struct {
		key []byte
		v   *atomic.Int64
	}{{movFromKey, &m.from}, {movToKey, &m.to}} {
		b, err := db.Get(k.key)
		if err != nil {
			return nil, fmt.Errorf("movement index: read %s: %w", k.key, err)
		}
		switch len(b) {
		case 0:
		case 8:
			k.v.Store(int64(binary.BigEndian.Uint64(b)))
		default:
			return nil, fmt.Errorf("movement index: malformed %s record (%d bytes)", k.key, len(b))
		}
	}
	ver, err := db.Get(movVerKey)
	if err != nil {
		return nil, fmt.Errorf("movement index: read %s: %w", movVerKey, err)
	}
	if m.from.Load() != 0 && !bytes.Equal(ver, []byte{movementIndexFormat}) {
		logger.Info("movement index: written in an older format (without memos); indexing it again", "format", movementIndexFormat)
		if err := m.reset(); err != nil {
			return nil, fmt.Errorf("movement index: %w", err)
		}
	}
	orgs, err := m.orgsOnDisk()
	if err != nil {
		return nil, fmt.Errorf("movement index: read its organisations: %w", err)
	}
	for _, org := range orgs {
		m.orgs[org] = true
	}
	return m, nil
}

// rowKey is the key of a row: move is its position in its transaction's
// movements (recon.TxMovements), not its event's, since a transfer between
// two accounts of one organisation is two rows of one event.
func rowKey(org string, r *recon.Row, move int) []byte {
	k := orgHeightKey(org, r.Height)
	k = binary.BigEndian.AppendUint32(k, r.TxIndex)
	return binary.BigEndian.AppendUint32(k, uint32(move))
}

// orgHeightKey is the first key of org's rows at height h.
func orgHeightKey(org string, h int64) []byte {
	k := append([]byte{'r'}, org...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, uint64(h))
}

// memoPrefix is the first part of the keys of org's transfers with memo
// (every organisation's for org "").
func memoPrefix(org, memo string) []byte {
	k := []byte{'E'}
	if org != "" {
		k = append([]byte{'e'}, org...)
		k = append(k, 0)
	}
	for i := 0; i < len(memo); i++ {
		switch c := memo[i]; c {
		case 0, 1:
			k = append(k, 1, c+1)
		default:
			k = append(k, c)
		}
	}
	return append(k, 0)
}

// memoKey is the key of transaction tx of height h under memoPrefix(org,
// memo).
func memoKey(org, memo string, h int64, tx uint32) []byte {
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(memoPrefix(org, memo), uint64(h)), tx)
}

// Indexed implements recon.OrgIndex.
func (m *movementIndex) Indexed() (from, to int64) {
	// to first: the follower moves from only up (pruning) and resets
	// both to 0 before a rebuild, so a pair read this way never claims a
	// height it does not hold.
	to = m.to.Load()
	from = m.from.Load()
	if from == 0 || to < from {
		return 0, 0
	}
	return from, to
}

// OrgRows implements recon.OrgIndex.
func (m *movementIndex) OrgRows(ctx context.Context, org string, from, to int64, fn func(recon.Row) error) error {
	it, err := m.db.Iterator(orgHeightKey(org, from), orgHeightKey(org, to+1))
	if err != nil {
		return err
	}
	defer it.Close()
	var rd recon.RowDecoder
	for n := 0; it.Valid(); it.Next() {
		if n++; n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		r, err := rd.Decode(it.Value())
		if err != nil {
			return fmt.Errorf("key %x: %w", it.Key(), err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return it.Error()
}

// follow indexes new heights until quit is closed.
func (m *movementIndex) follow(quit <-chan struct{}) {
	t := time.NewTicker(movementPoll)
	defer t.Stop()
	failing := false
	for {
		err := m.catchUp(quit)
		switch {
		case err != nil && !failing:
			m.logger.Error("movement index: "+err.Error()+"; statements read the tx index meanwhile", "indexed_to", m.to.Load())
		case err == nil && failing:
			m.logger.Info("movement index: indexing again", "indexed_to", m.to.Load())
		}
		failing = err != nil
		select {
		case <-quit:
			return
		case <-t.C:
		}
	}
}

// catchUp indexes the heights stored since the last call, in batches.
func (m *movementIndex) catchUp(quit <-chan struct{}) error {
	base, latest, err := m.blocks.Stored()
	if err != nil {
		return err
	}
	base = max(base, 1)
	from, to := m.from.Load(), m.to.Load()
	if from != 0 && (to > latest || base > to+1) {
		// The block store no longer continues the index (restored from a
		// snapshot, rolled back, or pruned past it while the index was
		// off): index it again from its base.
		m.logger.Warn("movement index: the block store does not continue it; indexing again from the store's base",
			"indexed_from", from, "indexed_to", to, "store_base", base, "store_height", latest)
		if err := m.reset(); err != nil {
			return err
		}
		from, to = 0, 0
	}
	next := to + 1
	if from == 0 {
		next = base
	}
	started, logged := time.Now(), false
	for next <= latest {
		select {
		case <-quit:
			return nil
		default:
		}
		if !logged && latest-next > movementBatchHeights {
			m.logger.Info("movement index: catching up", "from", next, "to", latest)
			logged = true
		}
		n, err := m.writeBatch(next, latest)
		if err != nil {
			return err
		}
		next += n
	}
	if logged {
		m.logger.Info("movement index: caught up", "height", latest, "took", time.Since(started).Round(time.Millisecond).String())
	}
	if from != 0 && base-from >= movementPruneStep {
		return m.prune(base)
	}
	return nil
}

// writeBatch indexes heights from next on, up to latest, in one batch of
// at most movementBatchHeights heights and about movementBatchRows rows,
// and returns how many heights it wrote.
func (m *movementIndex) writeBatch(next, latest int64) (int64, error) {
	b := m.db.NewBatch()
	defer b.Close()
	first := m.from.Load() == 0
	var newOrgs []string
	rows, h := 0, next
	for ; h <= latest && h-next < movementBatchHeights && rows < movementBatchRows; h++ {
		at, txs, err := m.blocks.BlockTxs(h)
		if err != nil {
			return 0, err
		}
		for _, tx := range txs {
			mv, memos, parties, err := recon.TxIndexEntries(tx, at.UTC())
			if err != nil {
				return 0, err
			}
			for i := range mv {
				if err := b.Set(rowKey(mv[i].Org, &mv[i].Row, i), recon.AppendIndexedRow(nil, &mv[i].Row)); err != nil {
					return 0, err
				}
				if org := mv[i].Org; !m.orgs[org] && !slices.Contains(newOrgs, org) {
					newOrgs = append(newOrgs, org)
				}
			}
			rows += len(mv)
			if len(memos) == 0 {
				continue
			}
			hash := cmttypes.Tx(tx.Tx).Hash()
			for _, memo := range memos {
				for _, org := range append([]string{""}, parties...) {
					if err := b.Set(memoKey(org, memo, tx.Height, tx.Index), hash); err != nil {
						return 0, err
					}
				}
			}
			rows += len(memos) * (1 + len(parties))
		}
	}
	for _, org := range newOrgs {
		if err := b.Set(append([]byte{'o'}, org...), []byte{}); err != nil {
			return 0, err
		}
	}
	if first {
		if err := b.Set(movFromKey, binary.BigEndian.AppendUint64(nil, uint64(next))); err != nil {
			return 0, err
		}
		if err := b.Set(movVerKey, []byte{movementIndexFormat}); err != nil {
			return 0, err
		}
	}
	if err := b.Set(movToKey, binary.BigEndian.AppendUint64(nil, uint64(h-1))); err != nil {
		return 0, err
	}
	if err := b.Write(); err != nil {
		return 0, fmt.Errorf("write heights %d-%d: %w", next, h-1, err)
	}
	for _, org := range newOrgs {
		m.orgs[org] = true
	}
	if first {
		m.from.Store(next)
	}
	m.to.Store(h - 1)
	return h - next, nil
}

// prune deletes the rows of heights below base, which the block store no
// longer keeps (statements of those days are refused: recon.PrunedError).
func (m *movementIndex) prune(base int64) error {
	orgs := slices.Sorted(maps.Keys(m.orgs))
	// from first, so that a reader never trusts a height being deleted.
	if err := m.db.Set(movFromKey, binary.BigEndian.AppendUint64(nil, uint64(base))); err != nil {
		return err
	}
	old := m.from.Swap(base)
	for _, org := range orgs {
		if err := m.deleteRange(orgHeightKey(org, old), orgHeightKey(org, base)); err != nil {
			return fmt.Errorf("prune below height %d: %w", base, err)
		}
	}
	return nil
}

// reset empties the index.
func (m *movementIndex) reset() error {
	m.from.Store(0)
	m.to.Store(0)
	clear(m.orgs)
	if err := m.db.Delete(movFromKey); err != nil {
		return err
	}
	return m.deleteRange(nil, nil)
}

// orgsOnDisk lists the organisations the index has an o<org> record of.
func (m *movementIndex) orgsOnDisk() ([]string, error) {
	it, err := m.db.Iterator([]byte{'o'}, []byte{'o' + 1})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []string
	for ; it.Valid(); it.Next() {
		out = append(out, string(it.Key()[1:]))
	}
	return out, it.Error()
}

// deleteRange deletes the keys in [start, end), in batches.
func (m *movementIndex) deleteRange(start, end []byte) error {
	for {
		it, err := m.db.Iterator(start, end)
		if err != nil {
			return err
		}
		b := m.db.NewBatch()
		n := 0
		for ; it.Valid() && n < movementBatchRows; it.Next() {
			if err = b.Delete(it.Key()); err != nil {
				break
			}
			n++
		}
		err = errors.Join(err, it.Error(), it.Close())
		if err == nil && n > 0 {
			err = b.Write()
		}
		err = errors.Join(err, b.Close())
		if err != nil || n < movementBatchRows {
			return err
		}
	}
}
