package api

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmttypes "github.com/cometbft/cometbft/types"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/recon"
	"github.com/jinlian-ledger/jinlian/wire"
)

// TxLocator says at which height transaction id (64 lower-case hex
// digits) was committed: the app's spent-id index, its /tx query. An
// error wrapping ErrNotFound says the node knows no such id.
type TxLocator func(ctx context.Context, id string) (int64, error)

// ErrNotFound, wrapped by a TxLocator, says the node knows no such
// transaction (HTTP 404, not 502).
var ErrNotFound = errors.New("not found")

// Tx is a committed transaction, decoded: GET /v1/tx's answer and each
// transaction of GET /v1/txs. What the envelope says (ID, ChainID,
// Ledger, Time, Sender, Org, Type, Fields) is in the transaction's bytes,
// which its proof bundle (GET /v1/proofs/tx) hands to the same callers;
// Result is its ABCI result's code, codespace and log. Events are the
// result's events, for regulators and auditors (and without the gate):
// they carry other organisations' balances (a transfer's from_balance
// and to_balance), so a member gets EventsWithheld instead, and in
// Movements only its own organisation's movements, as its event feed
// (GET /v1/events) hands them.
type Tx struct {
	ID        string    `json:"id"`
	Hash      string    `json:"hash"` // CometBFT's: upper-case hex SHA-256 of the bytes
	Height    int64     `json:"height"`
	Index     uint32    `json:"index"` // position in the block
	BlockTime time.Time `json:"block_time,omitzero"`
	ChainID   string    `json:"chain_id,omitempty"`
	Ledger    string    `json:"ledger,omitempty"`
	// Time is the envelope's timestamp (the sender's clock), UTC.
	Time   time.Time `json:"time,omitzero"`
	Sender string    `json:"sender,omitempty"`
	Org    string    `json:"org,omitempty"` // the sender's organisation (MSP id)
	Type   string    `json:"type,omitempty"`
	Memo   string    `json:"memo,omitempty"`
	// Fields are the message's fields, by name (protojson's names and
	// values; addresses in hex).
	Fields []Field `json:"fields"`
	// DecodeError says why the bytes or the events did not decode.
	DecodeError    string         `json:"decode_error,omitempty"`
	Result         TxResult       `json:"result"`
	Events         []Event        `json:"events,omitempty"`
	EventsWithheld string         `json:"events_withheld,omitempty"`
	Movements      []recon.OrgRow `json:"movements"`
}

// Field is a name and its value.
type Field struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// TxResult is what the app answered a transaction.
type TxResult struct {
	Code      uint32 `json:"code"`
	Codespace string `json:"codespace,omitempty"`
	Log       string `json:"log,omitempty"`
}

// Event is an event of a transaction's result, its attributes in order.
type Event struct {
	Type       string  `json:"type"`
	Attributes []Field `json:"attributes"`
}

// whyWithheld is Tx.EventsWithheld for a member.
const whyWithheld = "events are for regulators and auditors: they carry other organisations' balances; movements lists your organisation's"

// DecodeTx decodes committed transaction r of a block of time at (zero:
// unknown), events and every organisation's movements included: what a
// regulator reads (ForMember cuts it to a member's).
func DecodeTx(r *abci.TxResult, at time.Time) *Tx {
	v := &Tx{Hash: strings.ToUpper(hex.EncodeToString(cmttypes.Tx(r.Tx).Hash())), Height: r.Height, Index: r.Index, BlockTime: at,
		Fields: []Field{}, Movements: []recon.OrgRow{},
		Result: TxResult{Code: r.Result.Code, Codespace: r.Result.Codespace, Log: r.Result.Log}}
	if t, err := wire.DecodeTx(r.Tx); err == nil {
		v.ID, v.Ledger, v.ChainID, v.Org, v.Sender = wire.TxIDOf(t), t.Ledger, t.ChainID, t.MSPID, t.Sender.String()
		v.Time = t.Timestamp.UTC()
		v.Type = wire.MessageName(t.Msg)
		v.Fields = messageFields(t.Msg)
		for _, f := range v.Fields {
			if f.Name == "memo" {
				v.Memo = f.Value
			}
		}
	} else {
		v.DecodeError = err.Error()
	}
	for _, e := range r.Result.Events {
		ev := Event{Type: e.Type, Attributes: make([]Field, 0, len(e.Attributes))}
		for _, a := range e.Attributes {
			ev.Attributes = append(ev.Attributes, Field{a.Key, a.Value})
		}
		v.Events = append(v.Events, ev)
	}
	if rows, err := recon.TxMovements(r, at); err != nil {
		v.DecodeError = cmp.Or(v.DecodeError, err.Error())
	} else if rows != nil {
		v.Movements = rows
	}
	return v
}

// ForMember cuts t to what a member of org reads: no events, and only
// org's movements.
func (t *Tx) ForMember(org string) {
	t.Events, t.EventsWithheld = nil, whyWithheld
	t.Movements = slices.DeleteFunc(t.Movements, func(m recon.OrgRow) bool { return m.Org != org })
}

// messageFields flattens a message's body into name → value, as protojson
// writes it (bytes as base64 there: addresses are shown in hex here).
func messageFields(m *txpb.Message) []Field {
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	if err != nil {
		return []Field{{"error", err.Error()}}
	}
	var outer map[string]map[string]any
	if err := json.Unmarshal(b, &outer); err != nil {
		return []Field{{"message", string(b)}}
	}
	out := []Field{}
	for _, body := range outer {
		for k, val := range body {
			out = append(out, Field{k, fieldValue(k, val)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func fieldValue(k string, v any) string {
	s, ok := v.(string)
	if !ok {
		b, _ := json.Marshal(v)
		return string(b)
	}
	// protojson writes bytes fields as base64; addresses read as hex.
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == 20 && (k == "to" || k == "account" || strings.HasSuffix(k, "address") || k == "from") {
		return hex.EncodeToString(b)
	}
	return s
}

// mayReadTx is the one rule of who reads a committed transaction, its
// decoded form (GET /v1/tx, GET /v1/txs) as its proof (GET
// /v1/proofs/tx): regulators and auditors any; a member one its
// organisation sent or whose movements touch its accounts
// (recon.TxParties).
func (c caller) mayReadTx(r *abci.TxResult) (bool, error) {
	if c.privileged {
		return true, nil
	}
	parties, err := recon.TxParties(r)
	if err != nil {
		return false, err
	}
	return slices.Contains(parties, c.org), nil
}

// authorizeTx decides, with the gate on, whether the caller of req may
// read transaction r (id): the caller (zero without the gate), or an
// error for HTTP status code. what names the refused read in the
// message ("transaction", "the proof of transaction"); refusals are
// logged as audit entries, as logMsg.
func (s *Server) authorizeTx(req *http.Request, logMsg, what string, r *abci.TxResult, id string) (caller, int, error) {
	if !s.gated() {
		return caller{privileged: true}, 0, nil
	}
	c, err := s.caller(req)
	if err == nil {
		var ok bool
		if ok, err = c.mayReadTx(r); err != nil {
			return c, http.StatusInternalServerError, err
		}
		if !ok {
			err = fmt.Errorf("%s may not read %s %s: a member reads only transactions its organisation sent or whose movements touch its accounts; regulators and auditors any", c.desc, what, id)
		}
	}
	if err != nil {
		s.opts.Logger.Warn(logMsg, "caller", cmp.Or(c.desc, connectionInfo(req).Client), "tx", id, "height", r.Height,
			"remote", req.RemoteAddr, "err", err)
		return c, http.StatusForbidden, err
	}
	return c, 0, nil
}

// blockTx reads transaction id from block h of the node's block store
// and saved results, with the block's time; or an error for HTTP status
// code: 410 for a pruned block, 404 for one not committed or a block
// that does not hold it.
func (s *Server) blockTx(h int64, id string) (*abci.TxResult, time.Time, int, error) {
	base, latest, err := s.opts.Events.Stored()
	switch {
	case err != nil:
		return nil, time.Time{}, http.StatusInternalServerError, err
	case h < base:
		return nil, time.Time{}, http.StatusGone, fmt.Errorf("block %d is pruned here (this node keeps blocks from %d): ask an archive node", h, base)
	case h > latest:
		return nil, time.Time{}, http.StatusNotFound, fmt.Errorf("block %d: %w (this node's latest is %d)", h, ErrNotYet, latest)
	}
	at, txs, err := s.opts.Events.BlockTxs(h)
	if err != nil {
		return nil, time.Time{}, http.StatusInternalServerError, err
	}
	r, ok := recon.FindTx(txs, id)
	if !ok {
		return nil, time.Time{}, http.StatusNotFound, fmt.Errorf("block %d holds no transaction %s", h, id)
	}
	return r, at, 0, nil
}

// tx serves GET /v1/tx?id=ID: committed transaction ID, decoded (Tx),
// read from the block the app says holds it. With the gate on, a member
// reads a transaction its organisation sent or whose movements touch its
// accounts, without its events and with its own movements only;
// regulators and auditors any, whole. Refusals are logged as audit
// entries.
func (s *Server) tx(w http.ResponseWriter, r *http.Request) {
	fail := func(code int, err error) { writeJSON(w, code, map[string]string{"error": err.Error()}) }
	if s.opts.TxHeight == nil || s.opts.Events == nil {
		fail(http.StatusNotFound, errors.New("this node serves no transactions"))
		return
	}
	id, err := parseTxQuery(r.URL.RawQuery)
	if err != nil {
		fail(http.StatusBadRequest, fmt.Errorf("GET /v1/tx: %w", err))
		return
	}
	if s.gated() {
		// Whoever the chain does not know learns nothing, not even
		// whether the id was committed.
		if _, err := s.caller(r); err != nil {
			s.opts.Logger.Warn("api: transaction refused", "caller", connectionInfo(r).Client, "tx", id, "remote", r.RemoteAddr, "err", err)
			fail(http.StatusForbidden, err)
			return
		}
	}
	h, err := s.opts.TxHeight(r.Context(), id)
	switch {
	case errors.Is(err, ErrNotFound):
		fail(http.StatusNotFound, err)
		return
	case err != nil:
		fail(http.StatusBadGateway, err)
		return
	}
	res, at, code, err := s.blockTx(h, id)
	if err != nil {
		fail(code, err)
		return
	}
	c, code, err := s.authorizeTx(r, "api: transaction refused", "transaction", res, id)
	if err != nil {
		fail(code, err)
		return
	}
	v := DecodeTx(res, at)
	if !c.privileged {
		v.ForMember(c.org)
	}
	writeJSON(w, http.StatusOK, v)
}

// parseTxQuery reads GET /v1/tx's query string strictly: exactly id=.
func parseTxQuery(raw string) (string, error) {
	vals, err := strictQuery(raw, []string{"id"})
	if err != nil {
		return "", err
	}
	id := strings.ToLower(vals.Get("id"))
	if !txIDPattern.MatchString(id) {
		return "", fmt.Errorf("id %q: want a transaction id, 64 hex digits", vals.Get("id"))
	}
	return id, nil
}
