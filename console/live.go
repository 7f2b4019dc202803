package console

// Live movements: the node's durable event feed (GET /v1/events, its
// API), relayed to the browser as server-sent events so that today's
// statement grows without a reload. The console asks with the user's
// identity, so the node's gate decides whose movements come.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/jinlian-ledger/jinlian/recon"
)

// liveRow is a movement as the statement page shows it.
type liveRow struct {
	Time         string `json:"time"`
	Height       int64  `json:"height"`
	Ledger       string `json:"ledger"`
	Asset        string `json:"asset"`
	Direction    string `json:"direction"`
	Amount       string `json:"amount"`
	Account      string `json:"account"`
	Counterparty string `json:"counterparty"`
	CpOrg        string `json:"counterparty_org"`
	Memo         string `json:"memo"`
	TxID         string `json:"tx_id"`
}

// movementStream relays the feed from ?since= (a height or a cursor) or
// the browser's Last-Event-ID (EventSource resumes with it after a
// break: nothing skipped, nothing repeated).
func (s *Server) movementStream(w http.ResponseWriter, r *http.Request) {
	if s.apiHTTP == nil {
		http.Error(w, tr(s.cfg.Lang, "live_needs_api"), http.StatusNotImplemented)
		return
	}
	cursor := r.Header.Get("Last-Event-ID")
	if cursor == "" {
		cursor = r.URL.Query().Get("since")
	}
	if _, err := strconv.ParseInt(cursor, 10, 64); err != nil && cursor != "" {
		if _, err := recon.ParseCursor(cursor); err != nil {
			http.Error(w, fmt.Sprintf("since %q: want a height or a cursor", cursor), http.StatusBadRequest)
			return
		}
	}
	fl, ok := startStream(w)
	if !ok {
		return
	}
	err := s.cfg.Node.FollowEvents(r.Context(), s.apiHTTP, "", "", cursor, func(c string, m *recon.Movement) error {
		if m == nil {
			_, err := fmt.Fprintf(w, "id: %s\nevent: tick\ndata: {}\n\n", c)
			fl.Flush()
			return err
		}
		loc := s.cfg.TimeZone
		b, err := json.Marshal(liveRow{Time: m.Time.In(loc).Format("15:04:05"), Height: m.Height, Ledger: m.Ledger, Asset: m.Asset,
			Direction: m.Direction, Amount: strconv.FormatUint(m.Amount, 10), Account: m.Account, Counterparty: m.Counterparty,
			CpOrg: m.CounterpartyOrg, Memo: m.Memo, TxID: m.TxID})
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "id: %s\nevent: movement\ndata: %s\n\n", c, b); err != nil {
			return err
		}
		fl.Flush()
		return nil
	})
	if err != nil && r.Context().Err() == nil {
		// The browser reconnects by itself, from the last id it saw.
		b, _ := json.Marshal(map[string]string{"error": err.Error()})
		fmt.Fprintf(w, "event: interrupted\ndata: %s\n\n", b)
		fl.Flush()
	}
}

// startStream answers a server-sent event stream's headers; false (and
// an error answered) when w cannot stream.
func startStream(w http.ResponseWriter) (http.Flusher, bool) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "console: streaming unsupported", http.StatusInternalServerError)
		return nil, false
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	fl.Flush()
	return fl, true
}
