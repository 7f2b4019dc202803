package regulator

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
)

// The audit log is a hash chain signed by the observer. Entry n carries
// prev = hash of entry n−1 (entry 1: AuditGenesis), its own hash and an
// SM2 signature of that hash by the observer's key. Editing, deleting or
// reordering an entry breaks the chain at that seq; only the observer's
// key can make a chain that verifies, so whoever edits the Badger files
// (or an exported copy) without it is caught by `jinlian reg audit verify`.
//
// The hash is language neutral: SM3 over
//
//	"jinlian-regulator-audit/v1\n" ‖ u64(seq) ‖ prev (32 bytes) ‖
//	str(at, RFC 3339 with nanoseconds, UTC) ‖ str(who) ‖ u32(#roles) ‖ str(role)… ‖
//	str(action) ‖ str(target) ‖ str(remote) ‖ u64(status) ‖ str(detail)
//
// with u32/u64 big-endian and str(s) = u32(len(s)) ‖ s. The signature is
// GB/T 32918 SM2 (SM3, default user id) over "jinlian-regulator-audit-sig/v1\n" ‖ hash.
const (
	auditHashDomain = "jinlian-regulator-audit/v1\n"
	auditSigDomain  = "jinlian-regulator-audit-sig/v1\n"
)

// AuditGenesis is the prev of the first audit entry: SM3 of a fixed tag.
var AuditGenesis = func() string {
	h := gmcrypto.SM3([]byte("jinlian-regulator-audit/v1 genesis"))
	return hex.EncodeToString(h[:])
}()

// AuditHash computes the chain hash of e from its content, seq and prev
// (its Hash, Signer and Sig fields are ignored).
func AuditHash(e *AuditEntry) ([32]byte, error) {
	prev, err := hex.DecodeString(e.Prev)
	if err != nil || len(prev) != gmcrypto.HashSize {
		return [32]byte{}, fmt.Errorf("prev %q is not an SM3 hash in hex", e.Prev)
	}
	b := []byte(auditHashDomain)
	str := func(s string) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	b = binary.BigEndian.AppendUint64(b, e.Seq)
	b = append(b, prev...)
	str(e.At.UTC().Format(time.RFC3339Nano))
	str(e.Who)
	b = binary.BigEndian.AppendUint32(b, uint32(len(e.Roles)))
	for _, r := range e.Roles {
		str(r)
	}
	str(e.Action)
	str(e.Target)
	str(e.Remote)
	b = binary.BigEndian.AppendUint64(b, uint64(int64(e.Status)))
	str(e.Detail)
	return gmcrypto.SM3(b), nil
}

func auditSigMessage(hash []byte) []byte { return append([]byte(auditSigDomain), hash...) }

// seal fills e's Prev (given), Hash, Signer and Sig.
func sealAudit(e *AuditEntry, prev string, key *gmcrypto.PrivateKey) error {
	e.Prev = prev
	h, err := AuditHash(e)
	if err != nil {
		return err
	}
	sig, err := key.Sign(auditSigMessage(h[:]))
	if err != nil {
		return err
	}
	e.Hash, e.Signer, e.Sig = hex.EncodeToString(h[:]), hex.EncodeToString(key.Public().Bytes()), hex.EncodeToString(sig)
	return nil
}

// ErrAuditBroken names the first entry where an audit chain does not verify.
type ErrAuditBroken struct {
	Seq    uint64 // the seq expected at the break
	Line   int    // 1-based position in the file or list
	Reason string
}

func (e *ErrAuditBroken) Error() string {
	return fmt.Sprintf("audit chain broken at seq %d (entry %d): %s", e.Seq, e.Line, e.Reason)
}

// AuditSummary is what a verified chain says.
type AuditSummary struct {
	Entries  int      `json:"entries"`
	HeadSeq  uint64   `json:"head_seq"`
	HeadHash string   `json:"head_hash"`
	Signers  []string `json:"signers"` // hex public keys, in order of first use
}

// VerifyAudit checks a whole audit log, oldest first: seqs 1, 2, 3… with
// no gap, each prev the hash of the entry before (the first: AuditGenesis),
// each hash recomputed from the content and each signature valid. With
// trusted keys, every entry must be signed by one of them. A deleted,
// inserted, reordered or edited entry is reported at the seq where the
// chain first breaks. Cutting entries off the end leaves a valid shorter
// chain: compare HeadSeq and HeadHash with a head recorded earlier.
func VerifyAudit(entries []AuditEntry, trusted []*gmcrypto.PublicKey) (*AuditSummary, error) {
	sum := &AuditSummary{Signers: []string{}}
	prev := AuditGenesis
	signers := map[string]*gmcrypto.PublicKey{}
	for i := range entries {
		e := &entries[i]
		want := uint64(i) + 1
		broken := func(format string, args ...any) error {
			return &ErrAuditBroken{Seq: want, Line: i + 1, Reason: fmt.Sprintf(format, args...)}
		}
		if e.Seq != want {
			return sum, broken("found seq %d: an entry was deleted, inserted or moved", e.Seq)
		}
		if e.Prev != prev {
			return sum, broken("prev %.16s… is not the hash of entry %d (%.16s…): an entry before it was changed, deleted or moved", e.Prev, want-1, prev)
		}
		h, err := AuditHash(e)
		if err != nil {
			return sum, broken("%v", err)
		}
		if hex.EncodeToString(h[:]) != e.Hash {
			return sum, broken("the entry's content does not hash to its hash: it was edited")
		}
		pub, ok := signers[e.Signer]
		if !ok {
			pb, err := hex.DecodeString(e.Signer)
			if err != nil {
				return sum, broken("signer is not hex")
			}
			if pub, err = gmcrypto.ParsePublicKey(pb); err != nil {
				return sum, broken("signer: %v", err)
			}
			if len(trusted) > 0 && !containsKey(trusted, pub) {
				return sum, broken("signed by %s, which is not a trusted observer key (--pubkey)", e.Signer)
			}
			signers[e.Signer] = pub
			sum.Signers = append(sum.Signers, e.Signer)
		}
		sig, err := hex.DecodeString(e.Sig)
		if err != nil || !pub.Verify(auditSigMessage(h[:]), sig) {
			return sum, broken("the SM2 signature does not verify")
		}
		prev = e.Hash
		sum.Entries, sum.HeadSeq, sum.HeadHash = i+1, e.Seq, e.Hash
	}
	return sum, nil
}

func containsKey(keys []*gmcrypto.PublicKey, k *gmcrypto.PublicKey) bool {
	for _, t := range keys {
		if t.Equal(k) {
			return true
		}
	}
	return false
}

// WriteAuditJSONL writes entries as JSON lines, the export format.
func WriteAuditJSONL(w io.Writer, entries []AuditEntry) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for i := range entries {
		if err := enc.Encode(&entries[i]); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// ReadAuditJSONL reads an export. A line that is not an entry is an
// error naming the line.
func ReadAuditJSONL(r io.Reader) ([]AuditEntry, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var out []AuditEntry
	for n := 1; sc.Scan(); n++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var e AuditEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("no audit entries")
	}
	return out, nil
}

// ReadAuditStore reads the audit log straight from an operator store
// directory (OperatorDir of the index), read-only, with the observer
// stopped: for an export that does not trust the observer's API.
func ReadAuditStore(dir string) ([]AuditEntry, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("operator store: %w", err)
	}
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil).WithReadOnly(true))
	if err != nil {
		return nil, fmt.Errorf("open operator store %s (stop the observer first): %w", dir, err)
	}
	defer db.Close()
	ix := &Index{op: db}
	return ix.AuditLog()
}
