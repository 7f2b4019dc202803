package regulator

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// ReportFormat names the report's JSON layout.
const ReportFormat = "jinlian-compliance-report/v2"

// Report is a compliance report for a period of block time.
type Report struct {
	Format        string       `json:"format"`
	ChainID       string       `json:"chain_id"`
	From          time.Time    `json:"from"`
	To            time.Time    `json:"to"`
	IndexedHeight int64        `json:"indexed_height"`
	FirstHeight   int64        `json:"first_height,omitempty"`
	LastHeight    int64        `json:"last_height,omitempty"`
	GeneratedAt   time.Time    `json:"generated_at"`
	Movements     int          `json:"movements"`
	Totals        []Total      `json:"totals"`
	AlertSummary  []AlertCount `json:"alert_summary"`
	Alerts        []Alert      `json:"alerts"`
	// Anchor ties the report to the chain: the app hash, certified by the
	// SM2 quorum certificate of that height, of the highest height at or
	// below IndexedHeight whose QC is committed. nil when the observer
	// could not read one (it says why in AnchorError).
	Anchor      *ReportAnchor `json:"anchor,omitempty"`
	AnchorError string        `json:"anchor_error,omitempty"`
}

// ReportAnchor is a height's app hash with its SM2 QC, as the app stores it
// (jinlian verify qc checks it against the validator set).
type ReportAnchor struct {
	Height  int64  `json:"height"`
	AppHash string `json:"app_hash"`
	Signers int    `json:"qc_signers"`
	// Covers reports whether every movement of the report (LastHeight) is
	// at or below Height, so in the certified state.
	Covers bool `json:"covers"`
}

// Total is what one organisation moved of one asset in the period. An
// issue counts as issued by the issuer's organisation and received by the
// recipient's; a burn as burned by the holder's.
type Total struct {
	Ledger        string `json:"ledger"`
	Asset         string `json:"asset"`
	Org           string `json:"org"`
	Issued        uint64 `json:"issued,string"`
	Burned        uint64 `json:"burned,string"`
	Sent          uint64 `json:"sent,string"`
	Received      uint64 `json:"received,string"`
	SentCount     int    `json:"sent_count"`
	ReceivedCount int    `json:"received_count"`
}

// AlertCount counts a rule's alerts in the period by status.
type AlertCount struct {
	Rule         string `json:"rule"`
	Open         int    `json:"open"`
	Acknowledged int    `json:"acknowledged"`
}

// BuildReport summarises the movements and alerts with From ≤ time < To.
func (ix *Index) BuildReport(from, to time.Time, now time.Time) (*Report, error) {
	if !to.After(from) {
		return nil, fmt.Errorf("report period: --to %s is not after --from %s", to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	chain, err := ix.ChainID()
	if err != nil {
		return nil, err
	}
	last, err := ix.LastHeight()
	if err != nil {
		return nil, err
	}
	r := &Report{Format: ReportFormat, ChainID: chain, From: from.UTC(), To: to.UTC(), IndexedHeight: last, GeneratedAt: now.UTC(),
		Totals: []Total{}, AlertSummary: []AlertCount{}, Alerts: []Alert{}}
	es, err := ix.movementsBetween(from, to)
	if err != nil {
		return nil, err
	}
	r.Movements = len(es)
	totals := map[[3]string]*Total{}
	get := func(e Entry, org string) *Total {
		if org == "" {
			org = "unknown"
		}
		k := [3]string{e.Ledger, e.Asset, org}
		if totals[k] == nil {
			totals[k] = &Total{Ledger: e.Ledger, Asset: e.Asset, Org: org}
		}
		return totals[k]
	}
	for _, e := range es {
		if r.FirstHeight == 0 {
			r.FirstHeight = e.Height
		}
		r.LastHeight = e.Height
		switch e.Kind {
		case KindIssue:
			t := get(e, e.FromOrg)
			t.Issued = satAdd(t.Issued, e.Amount)
			t = get(e, e.ToOrg)
			t.Received, t.ReceivedCount = satAdd(t.Received, e.Amount), t.ReceivedCount+1
		case KindBurn:
			t := get(e, e.FromOrg)
			t.Burned = satAdd(t.Burned, e.Amount)
		case KindTransfer:
			t := get(e, e.FromOrg)
			t.Sent, t.SentCount = satAdd(t.Sent, e.Amount), t.SentCount+1
			t = get(e, e.ToOrg)
			t.Received, t.ReceivedCount = satAdd(t.Received, e.Amount), t.ReceivedCount+1
		}
	}
	for _, t := range totals {
		r.Totals = append(r.Totals, *t)
	}
	sort.Slice(r.Totals, func(i, j int) bool {
		a, b := r.Totals[i], r.Totals[j]
		return a.Ledger+"\x00"+a.Asset+"\x00"+a.Org < b.Ledger+"\x00"+b.Asset+"\x00"+b.Org
	})
	counts := map[string]*AlertCount{}
	cursor := ""
	for {
		page, err := ix.Alerts(AlertFilter{From: from, To: to}, cursor, MaxPageSize)
		if err != nil {
			return nil, err
		}
		for _, a := range page.Items {
			r.Alerts = append(r.Alerts, a)
			if counts[a.Rule] == nil {
				counts[a.Rule] = &AlertCount{Rule: a.Rule}
			}
			if a.Status == StatusAcknowledged {
				counts[a.Rule].Acknowledged++
			} else {
				counts[a.Rule].Open++
			}
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	for _, c := range counts {
		r.AlertSummary = append(r.AlertSummary, *c)
	}
	sort.Slice(r.AlertSummary, func(i, j int) bool { return r.AlertSummary[i].Rule < r.AlertSummary[j].Rule })
	return r, nil
}

// QCFunc returns the SM2 quorum certificate of a height, nil when there is
// none (yet).
type QCFunc func(ctx context.Context, height int64) (*txpb.QuorumCertificate, error)

// QCFromBlocks reads the certificate of height h from block h+2 of src
// (wire.QCAt); nil while that block is not committed.
func QCFromBlocks(src BlockSource) QCFunc {
	return func(ctx context.Context, h int64) (*txpb.QuorumCertificate, error) {
		qc, err := wire.QCAt(ctx, src, h)
		if errors.Is(err, wire.ErrNoQCYet) {
			return nil, nil
		}
		return qc, err
	}
}

// AnchorReport sets r.Anchor from the chain's QCs: the QC of height h is
// committed in block h+2, so the newest heights may not have one yet and
// the anchor steps back up to two heights.
func AnchorReport(ctx context.Context, r *Report, qcOf QCFunc) {
	if qcOf == nil {
		r.AnchorError = "this observer reads no blocks"
		return
	}
	var last error
	for h := r.IndexedHeight; h >= 1 && h >= r.IndexedHeight-2; h-- {
		qc, err := qcOf(ctx, h)
		switch {
		case err != nil:
			last = fmt.Errorf("qc of height %d: %w", h, err)
		case qc == nil:
			last = fmt.Errorf("no quorum certificate for height %d", h)
		case qc.Height != h:
			last = fmt.Errorf("the certificate read for height %d is of height %d", h, qc.Height)
		default:
			r.Anchor = &ReportAnchor{Height: qc.Height, AppHash: fmt.Sprintf("%X", qc.AppHash), Signers: len(qc.Signatures), Covers: r.LastHeight <= qc.Height}
			return
		}
	}
	if last == nil {
		last = errors.New("the chain has no committed height yet")
	}
	r.AnchorError = fmt.Sprintf("no quorum certificate at heights %d..%d: %v", max(r.IndexedHeight-2, 1), r.IndexedHeight, last)
}

// JSON renders the report as indented JSON.
func (r *Report) JSON() []byte {
	b, _ := json.MarshalIndent(r, "", "  ")
	return append(b, '\n')
}

// CSV renders the report as one CSV file whose first column names the
// record: report (header facts), total, alert_summary, alert.
func (r *Report) CSV() []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	var anchorH, anchorHash, anchorSigners, covers string
	if a := r.Anchor; a != nil {
		anchorH, anchorHash, anchorSigners, covers = strconv.FormatInt(a.Height, 10), a.AppHash, strconv.Itoa(a.Signers), strconv.FormatBool(a.Covers)
	}
	_ = w.Write([]string{"record", "format", "chain_id", "from", "to", "indexed_height", "first_height", "last_height", "generated_at", "movements",
		"anchor_height", "anchor_app_hash", "anchor_qc_signers", "anchor_covers", "anchor_error"})
	_ = w.Write([]string{"report", r.Format, r.ChainID, ts(r.From), ts(r.To), strconv.FormatInt(r.IndexedHeight, 10),
		strconv.FormatInt(r.FirstHeight, 10), strconv.FormatInt(r.LastHeight, 10), ts(r.GeneratedAt), strconv.Itoa(r.Movements),
		anchorH, anchorHash, anchorSigners, covers, r.AnchorError})
	_ = w.Write([]string{"record", "ledger", "asset", "org", "issued", "burned", "sent", "received", "sent_count", "received_count"})
	for _, t := range r.Totals {
		_ = w.Write([]string{"total", t.Ledger, t.Asset, t.Org, u(t.Issued), u(t.Burned), u(t.Sent), u(t.Received), strconv.Itoa(t.SentCount), strconv.Itoa(t.ReceivedCount)})
	}
	_ = w.Write([]string{"record", "rule", "open", "acknowledged"})
	for _, c := range r.AlertSummary {
		_ = w.Write([]string{"alert_summary", c.Rule, strconv.Itoa(c.Open), strconv.Itoa(c.Acknowledged)})
	}
	_ = w.Write([]string{"record", "id", "rule", "severity", "height", "time", "subject", "status", "ack_by", "ack_note", "tx_ids", "reason"})
	for _, a := range r.Alerts {
		by, note := "", ""
		if a.Ack != nil {
			by, note = a.Ack.By, a.Ack.Note
		}
		_ = w.Write([]string{"alert", a.ID, a.Rule, a.Severity, strconv.FormatInt(a.Height, 10), ts(a.Time), a.Subject, a.Status, by, note, strings.Join(a.TxIDs, " "), a.Reason})
	}
	w.Flush()
	return buf.Bytes()
}

// SignatureFormat names a report signature file's layout.
const SignatureFormat = "jinlian-report-signature/v1"

// ReportSignature is a detached SM2 signature of a report file.
type ReportSignature struct {
	Format    string `json:"format"`
	Algorithm string `json:"algorithm"` // SM2 with SM3, default user id
	Signer    string `json:"signer"`    // address
	PublicKey string `json:"public_key"`
	SM3       string `json:"sm3"` // hex SM3 of the signed bytes
	Signature string `json:"signature"`
}

// SignReport signs a report file's exact bytes.
func SignReport(body []byte, key *gmcrypto.PrivateKey) (*ReportSignature, error) {
	sig, err := key.Sign(body)
	if err != nil {
		return nil, err
	}
	h := gmcrypto.SM3(body)
	return &ReportSignature{Format: SignatureFormat, Algorithm: "SM2-SM3", Signer: key.Public().Address().String(),
		PublicKey: hex.EncodeToString(key.Public().Bytes()), SM3: hex.EncodeToString(h[:]), Signature: hex.EncodeToString(sig)}, nil
}

// ErrBadReportSignature is returned for a report that does not match its
// signature.
var ErrBadReportSignature = errors.New("report signature does not verify")

// VerifyReport checks a report file against its signature and returns the
// signer's address.
func VerifyReport(body []byte, s *ReportSignature) (string, error) {
	if s.Format != SignatureFormat {
		return "", fmt.Errorf("%w: format %q, want %q", ErrBadReportSignature, s.Format, SignatureFormat)
	}
	pb, err := hex.DecodeString(s.PublicKey)
	if err != nil {
		return "", fmt.Errorf("%w: public key: %v", ErrBadReportSignature, err)
	}
	pub, err := gmcrypto.ParsePublicKey(pb)
	if err != nil {
		return "", fmt.Errorf("%w: public key: %v", ErrBadReportSignature, err)
	}
	if pub.Address().String() != strings.ToLower(s.Signer) {
		return "", fmt.Errorf("%w: public key is of %s, signature claims %s", ErrBadReportSignature, pub.Address(), s.Signer)
	}
	h := gmcrypto.SM3(body)
	if hex.EncodeToString(h[:]) != strings.ToLower(s.SM3) {
		return "", fmt.Errorf("%w: the file's SM3 is %x, the signature covers %s: the report was changed", ErrBadReportSignature, h, s.SM3)
	}
	sig, err := hex.DecodeString(s.Signature)
	if err != nil || !pub.Verify(body, sig) {
		return "", fmt.Errorf("%w: the SM2 signature of %s does not verify", ErrBadReportSignature, s.Signer)
	}
	return pub.Address().String(), nil
}
