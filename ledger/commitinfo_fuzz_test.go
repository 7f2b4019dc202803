package ledger

import (
	"bytes"
	"reflect"
	"testing"
)

// FuzzDecodeCommitInfo: a commit record read back from disk may be damaged
// in any way; decoding never panics, and whatever decodes is a record whose
// encoding decodes to the same record (names sorted, fields inside it).
func FuzzDecodeCommitInfo(f *testing.F) {
	f.Add(encodeCommitInfo(CommitInfo{Height: 7, Roots: []LedgerRoot{{Name: "_system", Root: bytes.Repeat([]byte{1}, 32)}, {Name: "payments", Root: bytes.Repeat([]byte{2}, 32)}}}))
	f.Add(encodeCommitInfo(CommitInfo{}))
	f.Add([]byte{commitInfoFormat, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		ci, err := decodeCommitInfo(b)
		if err != nil {
			return
		}
		if ci.Height < 0 {
			t.Fatalf("negative height %d", ci.Height)
		}
		again, err := decodeCommitInfo(encodeCommitInfo(ci))
		if err != nil || !reflect.DeepEqual(again, ci) {
			t.Fatalf("record does not survive re-encoding: %v\n%+v\n%+v", err, ci, again)
		}
	})
}
