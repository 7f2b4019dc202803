package receivables

import (
	"bytes"
	"encoding/hex"
	"fmt"

	"github.com/jinlian-ledger/jinlian/ledger"
)

// InvariantResult is the check of one receivable.
type InvariantResult struct {
	Ledger     string `json:"ledger"`
	Receivable string `json:"receivable"`
	Status     string `json:"status"`
	FaceValue  uint64 `json:"face_value,string"`
	SumParts   uint64 `json:"sum_parts,string"`
	Paid       uint64 `json:"paid,string"`
	Holds      bool   `json:"holds"`
	// Problem names the first broken rule, if any.
	Problem string `json:"problem,omitempty"`
}

// CheckReceivables verifies, for every receivable of ledgerName, that
//   - its parts sum to its face value (once confirmed; a request or a
//     rejected one has none), each part positive, ids increasing and below
//     NextPart;
//   - nothing is paid twice: no part is paid more than its amount, the
//     parts' payments sum to the receivable's, and paid ≤ face value;
//   - it is settled exactly when nothing is outstanding;
//   - its invoice hash's index names it (while requested or confirmed) or
//     no longer names it (rejected).
//
// The payments supply invariant covers the balances themselves.
func (k Keeper) CheckReceivables(kv ledger.Reader, ledgerName string) ([]InvariantResult, error) {
	all, err := k.Receivables(kv, ledgerName)
	if err != nil {
		return nil, err
	}
	out := make([]InvariantResult, 0, len(all))
	for _, r := range all {
		res := InvariantResult{Ledger: ledgerName, Receivable: r.ID, Status: r.Status, FaceValue: r.FaceValue, Paid: r.Paid}
		for _, p := range r.Parts {
			res.SumParts += p.Amount
		}
		res.Problem, err = k.problem(kv, ledgerName, r)
		if err != nil {
			return nil, err
		}
		res.Holds = res.Problem == ""
		out = append(out, res)
	}
	return out, nil
}

func (k Keeper) problem(kv ledger.Reader, ledgerName string, r Receivable) (string, error) {
	if r.Ledger != ledgerName {
		return fmt.Sprintf("recorded on ledger %q", r.Ledger), nil
	}
	if r.Paid > r.FaceValue {
		return fmt.Sprintf("paid %d exceeds the face value %d", r.Paid, r.FaceValue), nil
	}
	var sum, paid uint64
	var last uint32
	for _, p := range r.Parts {
		if p.ID <= last || p.ID >= r.NextPart {
			return fmt.Sprintf("part id %d out of order (next part %d)", p.ID, r.NextPart), nil
		}
		last = p.ID
		if p.Amount == 0 {
			return fmt.Sprintf("part %d is empty", p.ID), nil
		}
		if p.Paid > p.Amount {
			return fmt.Sprintf("part %d paid %d of %d", p.ID, p.Paid, p.Amount), nil
		}
		if sum+p.Amount < sum {
			return "parts overflow", nil
		}
		sum += p.Amount
		paid += p.Paid
	}
	switch r.Status {
	case StatusRequested, StatusRejected:
		if len(r.Parts) != 0 || r.Paid != 0 {
			return fmt.Sprintf("%s with parts or payments", r.Status), nil
		}
	case StatusActive, StatusOverdue, StatusSettled:
		if sum != r.FaceValue {
			return fmt.Sprintf("parts sum to %d, face value %d", sum, r.FaceValue), nil
		}
		if paid != r.Paid {
			return fmt.Sprintf("parts paid %d, the receivable %d", paid, r.Paid), nil
		}
		if (r.Status == StatusSettled) != (r.Paid == r.FaceValue) {
			return fmt.Sprintf("status %s with %d of %d paid", r.Status, r.Paid, r.FaceValue), nil
		}
	default:
		return fmt.Sprintf("status %q", r.Status), nil
	}
	h, err := hex.DecodeString(r.InvoiceHash)
	if err != nil || len(h) != InvoiceHashSize {
		return fmt.Sprintf("invoice hash %q", r.InvoiceHash), nil
	}
	owner, err := kv.Get(ledgerName, invoiceKey(h))
	if err != nil {
		return "", err
	}
	id, _ := hex.DecodeString(r.ID)
	if indexed := bytes.Equal(owner, id); indexed == (r.Status == StatusRejected) {
		return fmt.Sprintf("invoice index of %s names %x", r.InvoiceHash, owner), nil
	}
	return "", nil
}
