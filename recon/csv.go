package recon

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"
)

// CSVHeader is the first line of a statement's CSV form: one column per
// field of Row, named as in its JSON form.
var CSVHeader = []string{"time", "height", "tx_index", "event_index", "tx_id", "tx_hash", "ledger", "asset", "kind", "direction",
	"amount", "account", "counterparty", "counterparty_org", "memo", "balance_after", "redemption", "result"}

// WriteCSV writes the statement's rows as CSV (RFC 4180, UTF-8, CSVHeader
// first): times in RFC 3339 in the day's zone, amounts and balances as
// integers in the asset's smallest unit, empty cells for what a row does
// not have. A memo that a spreadsheet would take for a formula (starting
// with =, +, -, @, a tab or a carriage return) is written with an
// apostrophe in front; the JSON form keeps it as the sender gave it.
func (st *Statement) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	opt := func(v *uint64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatUint(*v, 10)
	}
	for _, r := range st.Rows {
		rec := []string{r.Time.Format(time.RFC3339Nano), strconv.FormatInt(r.Height, 10), strconv.FormatUint(uint64(r.TxIndex), 10),
			strconv.Itoa(r.EventIndex), r.TxID, r.TxHash, r.Ledger, r.Asset, r.Kind, r.Direction, strconv.FormatUint(r.Amount, 10),
			r.Account, r.Counterparty, r.CounterpartyOrg, spreadsheetSafe(r.Memo), opt(r.BalanceAfter), opt(r.Redemption), r.Result}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// spreadsheetSafe defuses CSV injection (OWASP): the memo is free text of
// the sender's choosing.
func spreadsheetSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// BreaksCSVHeader is the first line of a reconciliation's breaks in CSV.
var BreaksCSVHeader = []string{"kind", "fields", "reference", "internal_line", "internal_tx_id", "internal_direction", "internal_amount",
	"internal_asset", "internal_counterparty", "internal_time", "chain_height", "chain_tx_index", "chain_event_index", "chain_tx_id",
	"chain_time", "chain_ledger", "chain_direction", "chain_amount", "chain_asset", "chain_account", "chain_counterparty",
	"chain_counterparty_org", "chain_memo"}

// WriteBreaksCSV writes every break, one per line, in the result's order
// (BreaksCSVHeader first); the side a break does not have is empty.
// Free text (references, memos, counterparties) is defused as in
// WriteCSV.
func WriteBreaksCSV(w io.Writer, breaks []Break) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(BreaksCSVHeader); err != nil {
		return err
	}
	for _, b := range breaks {
		rec := make([]string, 0, len(BreaksCSVHeader))
		rec = append(rec, b.Kind, strings.Join(b.Fields, " "), spreadsheetSafe(b.Reference))
		if r := b.Internal; r != nil {
			rec = append(rec, strconv.Itoa(r.Line), r.TxID, r.Direction, strconv.FormatUint(r.Amount, 10), spreadsheetSafe(r.Asset),
				spreadsheetSafe(r.Counterparty), r.Time)
		} else {
			rec = append(rec, "", "", "", "", "", "", "")
		}
		if c := b.Chain; c != nil {
			rec = append(rec, strconv.FormatInt(c.Height, 10), strconv.FormatUint(uint64(c.TxIndex), 10), strconv.Itoa(c.EventIndex), c.TxID,
				c.Time, c.Ledger, c.Direction, strconv.FormatUint(c.Amount, 10), c.Asset, c.Account, c.Counterparty, c.CounterpartyOrg,
				spreadsheetSafe(c.Memo))
		} else {
			rec = append(rec, "", "", "", "", "", "", "", "", "", "", "", "", "")
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
