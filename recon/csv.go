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
