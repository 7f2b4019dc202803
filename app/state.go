package app

import (
	"encoding/binary"
	"encoding/hex"
	"slices"
	"time"

	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/permission"
)

// Keys of the app's own records in the system ledger.
var (
	keyParams    = []byte("meta/params")
	keyChainID   = []byte("meta/chain_id")
	keyBlockTime = []byte("meta/block_time")
)

func txKey(id string) []byte { return append([]byte("tx/"), id...) }

type reader = ledger.Reader

func setParams(kv ledger.KV, p Params) error {
	b, err := ledger.Encode(p)
	if err != nil {
		return err
	}
	return kv.Set(permission.SystemLedger, keyParams, b)
}

func loadParams(kv reader) (Params, error) {
	p := DefaultParams()
	b, err := kv.Get(permission.SystemLedger, keyParams)
	if err != nil || b == nil {
		return p, err
	}
	return p, ledger.Decode(b, &p)
}

func loadString(kv reader, key []byte) (string, error) {
	b, err := kv.Get(permission.SystemLedger, key)
	return string(b), err
}

func setBlockTime(kv ledger.KV, t time.Time) error {
	return kv.Set(permission.SystemLedger, keyBlockTime, binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano())))
}

func loadBlockTime(kv reader) (time.Time, error) {
	b, err := kv.Get(permission.SystemLedger, keyBlockTime)
	if err != nil || len(b) != 8 {
		return time.Time{}, err
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(b))).UTC(), nil
}

// The spent-id index maps every tx id a committed block spent to that
// block's height and the transaction's own timestamp. It lives in the
// store's aside index, beside the Merkle trees (ADR 0006): every node
// derives it alike from the blocks, and hashing one random key per
// transaction into a tree cost more than the rest of the state machine.
// Whether a node's index is right shows in its results (a missed replay
// changes a result code, which CometBFT hashes).
//
// The replay rule (ADR 0013) reads a record only while it can matter: a
// transaction presented at block time now under the window w is a replay
// when its id was spent by a transaction stamped at or after now − w. A
// replay of the same envelope carries the same stamp and passes the
// timestamp check only while that stamp is at or after now − w, so every
// replay the window lets through is refused; a record stamped before
// now − w decides nothing. So pruning nodes (which delete old records) and
// archive nodes, warm and cold nodes, judge every transaction alike.

// spend is an id spent by the block or check state being executed.
type spend struct {
	height int64
	stamp  time.Time // the transaction's timestamp
}

// spentRecords returns the aside records of the ids spent by a block
// (ids: spent's keys, in order); byTime also indexes them under the
// block's time, for pruneSpent. It returns the latest stamp of the block's
// transactions too.
func spentRecords(s *ledger.Store, spent map[string]spend, ids []string, blockTime time.Time, byTime bool) ([]ledger.AsidePair, time.Time, error) {
	if len(ids) == 0 {
		return nil, time.Time{}, nil
	}
	pairs := make([]ledger.AsidePair, 0, 2*len(ids)+1)
	var latest time.Time
	for _, id := range ids {
		sp := spent[id]
		v := binary.BigEndian.AppendUint64(make([]byte, 0, 16), uint64(sp.height))
		v = binary.BigEndian.AppendUint64(v, uint64(sp.stamp.UnixNano()))
		pairs = append(pairs, ledger.AsidePair{Key: txKey(id), Value: v})
		if byTime {
			pairs = append(pairs, ledger.AsidePair{Key: spentTimeKey(blockTime, id), Value: nil})
		}
		if sp.stamp.After(latest) {
			latest = sp.stamp
		}
	}
	// The latest stamp ever spent bounds what a restarted node's replay
	// set may have missed (loadReplaySet).
	prev, err := latestSpentStamp(s)
	if err != nil {
		return nil, time.Time{}, err
	}
	if latest.After(prev) {
		pairs = append(pairs, ledger.AsidePair{Key: keyLatestStamp, Value: binary.BigEndian.AppendUint64(nil, uint64(latest.UnixNano()))})
	}
	return pairs, latest, nil
}

// keyLatestStamp holds the latest timestamp of any spent transaction.
var keyLatestStamp = []byte("txmax")

// latestSpentStamp returns the latest timestamp of a spent transaction
// (zero when none is recorded: a chain that spent nothing, or whose index
// predates the record).
func latestSpentStamp(s *ledger.Store) (time.Time, error) {
	b, err := s.GetAside(keyLatestStamp)
	if err != nil || len(b) != 8 {
		return time.Time{}, err
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(b))).UTC(), nil
}

// SpentIDRetention is how long a pruning node keeps a spent id: twice the
// longest replay window governance may set, and an hour. A transaction's
// timestamp must lie within the window of its block's time, so a replay of
// an id spent longer ago is refused by the window whatever the window is,
// and every node decides it alike whether or not it pruned the record.
var SpentIDRetention = 2*time.Duration(ParamBounds.TxTimeWindowSeconds[1])*time.Second + time.Hour

var spentTimePrefix = []byte("txt/")

// spentTimeKey indexes a spent id under its block's time (Unix
// nanoseconds, 8 bytes big-endian, so keys sort by time).
func spentTimeKey(t time.Time, id string) []byte {
	k := binary.BigEndian.AppendUint64(slices.Clone(spentTimePrefix), uint64(t.UnixNano()))
	return append(k, id...)
}

// pruneSpent deletes the spent-id records of blocks before cutoff, and
// their time index, and returns how many ids it deleted.
func pruneSpent(s *ledger.Store, cutoff time.Time) (int, error) {
	end := binary.BigEndian.AppendUint64(slices.Clone(spentTimePrefix), uint64(max(cutoff.UnixNano(), 0)))
	var keys [][]byte // tx/<id> and txt/<time><id>
	if err := s.ScanAside(spentTimePrefix, end, func(k, _ []byte) bool {
		keys = append(keys, txKey(string(k[len(spentTimePrefix)+8:])), k)
		return true
	}); err != nil {
		return 0, err
	}
	if len(keys) == 0 {
		return 0, nil
	}
	return len(keys) / 2, s.DeleteAside(keys)
}

// anyStamp asks spentAt for a record whatever its age.
var anyStamp time.Time

// spentAt returns the height of the block that spent tx id, or 0 when no
// block up to height upTo did (records past upTo are of blocks that did
// not commit, or that a View of upTo does not see) or when the spending
// transaction was stamped before notBefore (the replay rule; zero: any).
// A record written before stamps were kept (8 bytes) counts whatever its
// age.
func spentAt(s *ledger.Store, id string, upTo int64, notBefore time.Time) (int64, error) {
	b, err := s.GetAside(txKey(id))
	if err != nil || (len(b) != 8 && len(b) != 16) {
		return 0, err
	}
	h := int64(binary.BigEndian.Uint64(b))
	if h > upTo {
		return 0, nil
	}
	if len(b) == 16 && !notBefore.IsZero() && int64(binary.BigEndian.Uint64(b[8:])) < notBefore.UnixNano() {
		return 0, nil
	}
	return h, nil
}

func validTxID(id string) bool {
	b, err := hex.DecodeString(id)
	return err == nil && len(b) == 32
}
