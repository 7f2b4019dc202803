package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

const commitInfoFormat = 1

// encodeCommitInfo writes the commit record of a height:
//
//	format byte (1) ‖ uvarint(height) ‖ uvarint(n) ‖ n × (uvarint(len name) ‖ name ‖ uvarint(len root) ‖ root)
//
// The app hash is not stored; it is recomputed from the roots on load.
func encodeCommitInfo(ci CommitInfo) []byte {
	out := []byte{commitInfoFormat}
	out = binary.AppendUvarint(out, uint64(ci.Height))
	out = binary.AppendUvarint(out, uint64(len(ci.Roots)))
	for _, r := range ci.Roots {
		out = binary.AppendUvarint(out, uint64(len(r.Name)))
		out = append(out, r.Name...)
		out = binary.AppendUvarint(out, uint64(len(r.Root)))
		out = append(out, r.Root...)
	}
	return out
}

var errMalformedCommitInfo = errors.New("malformed commit record")

func decodeCommitInfo(b []byte) (CommitInfo, error) {
	if len(b) == 0 || b[0] != commitInfoFormat {
		return CommitInfo{}, fmt.Errorf("%w: unknown format", errMalformedCommitInfo)
	}
	b = b[1:]
	next := func() (uint64, error) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, fmt.Errorf("%w: bad varint", errMalformedCommitInfo)
		}
		b = b[n:]
		return v, nil
	}
	bytesField := func() ([]byte, error) {
		l, err := next()
		if err != nil {
			return nil, err
		}
		if l > uint64(len(b)) {
			return nil, fmt.Errorf("%w: field longer than record", errMalformedCommitInfo)
		}
		f := append([]byte(nil), b[:l]...)
		b = b[l:]
		return f, nil
	}
	height, err := next()
	if err != nil {
		return CommitInfo{}, err
	}
	if height > math.MaxInt64 {
		return CommitInfo{}, fmt.Errorf("%w: height %d", errMalformedCommitInfo, height)
	}
	n, err := next()
	if err != nil {
		return CommitInfo{}, err
	}
	if n > uint64(len(b)) {
		return CommitInfo{}, fmt.Errorf("%w: %d roots in %d bytes", errMalformedCommitInfo, n, len(b))
	}
	ci := CommitInfo{Height: int64(height), Roots: make([]LedgerRoot, 0, n)}
	for i := uint64(0); i < n; i++ {
		name, err := bytesField()
		if err != nil {
			return CommitInfo{}, err
		}
		root, err := bytesField()
		if err != nil {
			return CommitInfo{}, err
		}
		if len(ci.Roots) > 0 && ci.Roots[len(ci.Roots)-1].Name >= string(name) {
			return CommitInfo{}, fmt.Errorf("%w: roots not sorted", errMalformedCommitInfo)
		}
		ci.Roots = append(ci.Roots, LedgerRoot{Name: string(name), Root: root})
	}
	if len(b) != 0 {
		return CommitInfo{}, fmt.Errorf("%w: %d trailing bytes", errMalformedCommitInfo, len(b))
	}
	ci.AppHash = AppHash(ci.Roots)
	return ci, nil
}
