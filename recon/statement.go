package recon

import (
	"cmp"
	"context"
	"encoding/hex"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// Chain is what a statement reads from a node.
type Chain interface {
	Headers
	// SearchTxs returns every transaction the node's tx index matches
	// with query (CometBFT's query syntax), in any order.
	SearchTxs(ctx context.Context, query string) ([]*abci.TxResult, error)
	// FirstTx returns the first indexed transaction of heights from..to
	// (both included) that match accepts, or nil: a statement checks
	// that the day's first jinlian transaction was indexed with the
	// attributes it searches by.
	FirstTx(from, to int64, match func(*abci.TxResult) bool) (*abci.TxResult, error)
}

// Names that can be on chain: organisations (permission), sub-ledgers
// (ledger) and assets (payments). A name these refuse cannot exist, and no
// name they accept can change the meaning of a query it is quoted in.
var (
	orgPattern    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	ledgerPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	assetPattern  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$`)
)

// Request asks for the statement of Org on Date, optionally of one
// account, asset or sub-ledger.
type Request struct {
	Org     string `json:"org"`
	Date    string `json:"date"`
	Account string `json:"account,omitempty"`
	Asset   string `json:"asset,omitempty"`
	Ledger  string `json:"ledger,omitempty"`
}

// Check validates r and writes the account in its canonical form (40
// lower-case hex digits).
func (r *Request) Check() error {
	if !orgPattern.MatchString(r.Org) {
		return fmt.Errorf("%w: organisation %q: want 1-64 of [A-Za-z0-9_.-], starting alphanumeric", ErrInvalid, r.Org)
	}
	if r.Ledger != "" && !ledgerPattern.MatchString(r.Ledger) {
		return fmt.Errorf("%w: sub-ledger %q: want 1-64 of [A-Za-z0-9_.-]", ErrInvalid, r.Ledger)
	}
	if r.Asset != "" && !assetPattern.MatchString(r.Asset) {
		return fmt.Errorf("%w: asset %q: want 1-32 of [A-Za-z0-9_.-], starting alphanumeric", ErrInvalid, r.Asset)
	}
	if r.Account != "" {
		a, err := gmcrypto.ParseAddress(r.Account)
		if err != nil {
			return fmt.Errorf("%w: account: %v", ErrInvalid, err)
		}
		r.Account = a.String()
	}
	return nil
}

// Kinds of movement: the event that reports it.
const (
	KindIssue             = "issue"
	KindTransfer          = "transfer"
	KindBurn              = "burn"
	KindRedeem            = "redeem"
	KindRedemptionSettled = "redemption_settled"
)

// Directions of a row, seen from the organisation's account.
const (
	// Credit: units arrived in the account.
	Credit = "credit"
	// Debit: units left the account.
	Debit = "debit"
	// Issued: the organisation, as an asset's issuer, created units for
	// the counterparty; no balance of its own changed.
	Issued = "issued"
	// Retired: the organisation, as issuer, burned units a holder had
	// queued for redemption; no balance of its own changed.
	Retired = "retired"
)

// ResultOK is the result of every row: statements list the movements of
// committed, successful transactions (a failed transaction moves nothing
// and emits no event the index could find).
const ResultOK = "ok"

// Row is one movement of one of the organisation's accounts.
type Row struct {
	Time       time.Time `json:"time"` // the block's time, in the day's zone
	Height     int64     `json:"height"`
	TxIndex    uint32    `json:"tx_index"`    // position in the block
	EventIndex int       `json:"event_index"` // position in the transaction's events
	TxID       string    `json:"tx_id"`       // jinlian's id: hex SM3(nonce ‖ creator)
	TxHash     string    `json:"tx_hash"`     // CometBFT's: upper-case hex SHA-256 of the transaction
	Ledger     string    `json:"ledger"`
	Asset      string    `json:"asset"`
	Kind       string    `json:"kind"`
	Direction  string    `json:"direction"`
	Amount     uint64    `json:"amount,string"` // in the asset's smallest unit
	// Account is the organisation's account (for issued and retired: the
	// issuer identity that signed).
	Account string `json:"account"`
	// Counterparty is the other account ("" for a burn or a redemption:
	// the units left circulation or went to the issuer's queue).
	Counterparty    string `json:"counterparty,omitempty"`
	CounterpartyOrg string `json:"counterparty_org,omitempty"`
	// Memo is the payment reference the sender gave (for a redemption,
	// its reference; for a settlement, the issuer's reason).
	Memo string `json:"memo,omitempty"`
	// BalanceAfter is the account's balance of the asset after the
	// movement; absent for issued and retired rows.
	BalanceAfter *uint64 `json:"balance_after,string,omitempty"`
	// Redemption is the queue id of a redemption and its settlement.
	Redemption *uint64 `json:"redemption,string,omitempty"`
	Result     string  `json:"result"`
}

// Total sums a statement's rows of one asset on one sub-ledger. Sums are
// decimal strings: a day's flows may exceed 64 bits.
type Total struct {
	Ledger  string `json:"ledger"`
	Asset   string `json:"asset"`
	Rows    int    `json:"rows"`
	Credits string `json:"credits"`
	Debits  string `json:"debits"`
	Net     string `json:"net"` // credits − debits
	Issued  string `json:"issued"`
	Retired string `json:"retired"`
}

// Statement is an organisation's movements in a business day.
type Statement struct {
	Org     string  `json:"org"`
	Day     Day     `json:"day"`
	Account string  `json:"account,omitempty"`
	Asset   string  `json:"asset,omitempty"`
	Ledger  string  `json:"ledger,omitempty"`
	Rows    []Row   `json:"rows"`
	Totals  []Total `json:"totals"`
}

// IndexError: the node's tx index lacks an attribute statements search
// by at a height of the day, so what it would list is incomplete.
type IndexError struct {
	Height int64
	Reason string
}

func (e *IndexError) Error() string {
	return fmt.Sprintf("the tx index of this node cannot list the day's movements by organisation: at height %d %s", e.Height, e.Reason)
}

// searchKeys are the indexed attributes that name an organisation that a
// movement concerns: the sender's (every movement it sends) and the
// recipient's (credits, and a rejected redemption's return).
var searchKeys = []string{"jinlian_tx.org", "transfer.to_org", "issue.to_org", "redemption_settled.to_org"}

// Build lists every movement of req.Org in req.Date (cut in loc): it finds
// the day's heights (FindDay), asks the index for the transactions of
// those heights whose sender or recipient belongs to the organisation,
// and turns their events into rows, ordered by height, transaction and
// event. Filters (account, asset, sub-ledger) apply to the rows.
func Build(ctx context.Context, chain Chain, loc *time.Location, req Request) (*Statement, error) {
	if err := req.Check(); err != nil {
		return nil, err
	}
	day, err := FindDay(chain, req.Date, loc)
	if err != nil {
		return nil, err
	}
	st := &Statement{Org: req.Org, Day: day, Account: req.Account, Asset: req.Asset, Ledger: req.Ledger, Rows: []Row{}, Totals: []Total{}}
	if day.FromHeight == 0 {
		return st, nil
	}
	if _, _, _, ok := fromIndex(chain, day.FromHeight, day.ToHeight); !ok {
		if err := checkIndexed(chain, day); err != nil {
			return nil, err
		}
	}
	if st.Rows, err = rowsOf(ctx, chain, loc, req, day.FromHeight, day.ToHeight); err != nil {
		return nil, err
	}
	st.Totals = totals(st.Rows)
	return st, nil
}

// Extend brings prev, a statement that Build or Extend returned, up to the
// chain's current height: a day that is over is returned as it is; for
// today's, only the heights after prev's are searched, so a busy day's
// statement asked for again costs what was committed since, not the day.
// prev is not modified.
func Extend(ctx context.Context, chain Chain, loc *time.Location, prev *Statement) (*Statement, error) {
	if prev.Day.Complete {
		return prev, nil
	}
	req := Request{Org: prev.Org, Date: prev.Day.Date, Account: prev.Account, Asset: prev.Asset, Ledger: prev.Ledger}
	day, err := FindDay(chain, req.Date, loc)
	if err != nil {
		return nil, err
	}
	if prev.Day.FromHeight == 0 || day.FromHeight != prev.Day.FromHeight || day.ToHeight < prev.Day.ToHeight {
		// The day's first block is new (or the node was restored to an
		// earlier height): the whole day again.
		return Build(ctx, chain, loc, req)
	}
	st := *prev
	st.Day = day
	if day.ToHeight > prev.Day.ToHeight {
		rows, err := rowsOf(ctx, chain, loc, req, prev.Day.ToHeight+1, day.ToHeight)
		if err != nil {
			return nil, err
		}
		if len(rows) > 0 {
			st.Rows = append(slices.Clip(prev.Rows), rows...)
			st.Totals = totals(st.Rows)
		}
	}
	return &st, nil
}

// rowsOf lists req's rows in heights from..to (both included), ordered by
// height, transaction and event: from the chain's movement index
// (OrgIndex) where it serves from (fromIndex), with the heights it does
// not hold yet (it follows the block store and may trail it by a block)
// from the blocks (BlockTail, up to MaxTail heights) or the tx index;
// else all from the tx index.
func rowsOf(ctx context.Context, chain Chain, loc *time.Location, req Request, from, to int64) ([]Row, error) {
	idx, hi, tail, ok := fromIndex(chain, from, to)
	if !ok {
		return searchedRows(ctx, chain, loc, req, from, to)
	}
	rows := []Row{}
	if from <= hi {
		var err error
		if rows, err = indexedRows(ctx, idx, loc, req, from, min(to, hi)); err != nil || hi >= to {
			return rows, err
		}
		from = hi + 1
	}
	var more []Row
	var err error
	if tail != nil {
		more, err = blockRows(ctx, tail, loc, req, from, to)
	} else {
		more, err = searchedRows(ctx, chain, loc, req, from, to)
	}
	if err != nil {
		return nil, err
	}
	return append(rows, more...), nil
}

// fromIndex reports whether chain's movement index serves heights
// from..to from their start: it holds from, or, on a chain that reads its
// blocks (BlockTail), has not reached from but is at most MaxTail heights
// below to, as on a day that began a block ago. It returns the index, the
// last height it holds, and the chain's blocks when they serve the
// heights above it (nil: those are searched in the tx index).
func fromIndex(chain Chain, from, to int64) (OrgIndex, int64, BlockTail, bool) {
	idx, ok := chain.(OrgIndex)
	if !ok {
		return nil, 0, nil, false
	}
	lo, hi := idx.Indexed()
	if lo == 0 || from < lo {
		return nil, 0, nil, false
	}
	tail, ok := chain.(BlockTail)
	if !ok || to-hi > MaxTail {
		tail = nil
	}
	return idx, hi, tail, from <= hi || tail != nil
}

// blockRows lists req's rows in heights from..to (both included) from
// the blocks themselves: every transaction's movements, those of req.Org
// kept, the rows searchedRows finds in the tx index.
func blockRows(ctx context.Context, chain BlockTail, loc *time.Location, req Request, from, to int64) ([]Row, error) {
	rows := []Row{}
	for h := from; h <= to; h++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t, txs, err := chain.BlockTxs(h)
		if err != nil {
			return nil, err
		}
		for _, r := range txs {
			if rows, err = appendRows(rows, r, req, t.In(loc)); err != nil {
				return nil, err
			}
		}
	}
	return rows, nil
}

// searchedRows lists req's rows in heights from..to (both included): it
// asks the tx index for the transactions of those heights whose sender or
// recipient belongs to the organisation and turns their events into rows,
// ordered by height, transaction and event.
func searchedRows(ctx context.Context, chain Chain, loc *time.Location, req Request, from, to int64) ([]Row, error) {
	heights := fmt.Sprintf("tx.height >= %d AND tx.height <= %d", from, to)
	type at struct {
		height int64
		index  uint32
	}
	found := map[at]*abci.TxResult{}
	for _, key := range searchKeys {
		res, err := chain.SearchTxs(ctx, fmt.Sprintf("%s AND %s = '%s'", heights, key, req.Org))
		// CometBFT's kv indexer answers a cancelled search with what it
		// has found so far and no error: a statement must not be partial.
		if err == nil {
			err = ctx.Err()
		}
		if err != nil {
			return nil, fmt.Errorf("search the tx index by %s: %w", key, err)
		}
		for _, r := range res {
			if r.Height >= from && r.Height <= to {
				found[at{r.Height, r.Index}] = r
			}
		}
	}
	txs := make([]*abci.TxResult, 0, len(found))
	for _, r := range found {
		txs = append(txs, r)
	}
	slices.SortFunc(txs, func(a, b *abci.TxResult) int {
		return cmp.Or(cmp.Compare(a.Height, b.Height), cmp.Compare(a.Index, b.Index))
	})
	rows := []Row{}
	times := map[int64]time.Time{}
	for _, r := range txs {
		var err error
		t, ok := times[r.Height]
		if !ok {
			if t, err = chain.BlockTime(r.Height); err != nil {
				return nil, err
			}
			t = t.In(loc)
			times[r.Height] = t
		}
		if rows, err = appendRows(rows, r, req, t); err != nil {
			return nil, err
		}
	}
	return rows, nil
}

// appendRows appends to rows those of committed transaction r, at time
// at, that req lists.
func appendRows(rows []Row, r *abci.TxResult, req Request, at time.Time) ([]Row, error) {
	mine, err := movements(r, req.Org, at)
	if err != nil {
		return nil, err
	}
	for _, row := range mine {
		if keep(req, &row) {
			rows = append(rows, row)
		}
	}
	return rows, nil
}

// checkIndexed refuses a day whose first jinlian transaction was indexed
// without jinlian_tx.org: a validator's lean index keeps it only from the
// version that added statements on, and a height's index flags are fixed
// when it is indexed (re-indexing replays the same saved events). Heights
// are indexed in order, so the day's first jinlian transaction stands for
// the day.
func checkIndexed(chain Chain, day Day) error {
	var org *abci.EventAttribute
	first, err := chain.FirstTx(day.FromHeight, day.ToHeight, func(r *abci.TxResult) bool {
		if r.Result.Code != abci.CodeTypeOK {
			return false
		}
		for _, ev := range r.Result.Events {
			if ev.Type == "jinlian_tx" {
				for i := range ev.Attributes {
					if ev.Attributes[i].Key == "org" {
						org = &ev.Attributes[i]
					}
				}
				return true
			}
		}
		return false
	})
	switch {
	case err != nil || first == nil:
		return err
	case org == nil:
		return &IndexError{Height: first.Height, Reason: "the jinlian_tx event carries no org attribute"}
	case !org.Index:
		return &IndexError{Height: first.Height, Reason: "jinlian_tx.org is not indexed (a lean index written by a version before statements); ask a node that indexed the day with it, such as an observer (events.index = full)"}
	}
	return nil
}

// movements turns one transaction's events into the rows of org.
func movements(r *abci.TxResult, org string, at time.Time) ([]Row, error) {
	all, err := TxMovements(r, at)
	if err != nil {
		return nil, err
	}
	var rows []Row
	for _, m := range all {
		if m.Org == org {
			rows = append(rows, m.Row)
		}
	}
	return rows, nil
}

// OrgRow is a Row with the organisation whose account it is.
type OrgRow struct {
	Org string `json:"org"`
	Row
}

// TxMovements turns one committed transaction's events into the rows of
// every organisation they concern, in the transaction's order: for each
// event, the sender's side, then the recipient's. It is the one decoder of
// movements: statements keep the rows of one organisation, the event feed
// (feed.go) numbers them all, so a position in this list is the same for
// every caller. A failed transaction moves nothing.
func TxMovements(r *abci.TxResult, at time.Time) ([]OrgRow, error) {
	msgs, jt, err := parseTx(r)
	if err != nil {
		return nil, err
	}
	return movementRows(r, at, msgs, jt)
}

// parseTx decodes a committed transaction's events (none for a failed
// one), and returns the jinlian_tx event among them.
func parseTx(r *abci.TxResult) (msgs []any, jt *txpb.EventJinlianTx, err error) {
	if r.Result.Code != abci.CodeTypeOK {
		return nil, nil, nil
	}
	msgs = make([]any, len(r.Result.Events))
	for i, ev := range r.Result.Events {
		m, ok, err := wire.ParseEvent(ev)
		if err != nil {
			return nil, nil, fmt.Errorf("height %d tx %d: %w", r.Height, r.Index, err)
		}
		if !ok {
			continue
		}
		msgs[i] = m
		if e, ok := m.(*txpb.EventJinlianTx); ok {
			jt = e
		}
	}
	return msgs, jt, nil
}

// movementRows is TxMovements of r's parsed events.
func movementRows(r *abci.TxResult, at time.Time, msgs []any, jt *txpb.EventJinlianTx) ([]OrgRow, error) {
	if jt == nil {
		// A transaction the app made itself (a quorum certificate, a
		// checkpoint) has no sender and moves nothing.
		if slices.ContainsFunc(msgs, isMovement) {
			return nil, fmt.Errorf("height %d tx %d: movements without a jinlian_tx event", r.Height, r.Index)
		}
		return nil, nil
	}
	hash := strings.ToUpper(hex.EncodeToString(cmttypes.Tx(r.Tx).Hash()))
	var rows []OrgRow
	add := func(org string, i int, kind, dir, ledger, asset string, amount uint64, account, cp, cpOrg, memo string, bal *uint64) {
		rows = append(rows, OrgRow{Org: org, Row: Row{Time: at, Height: r.Height, TxIndex: r.Index, EventIndex: i, TxID: jt.Id, TxHash: hash,
			Ledger: ledger, Asset: asset, Kind: kind, Direction: dir, Amount: amount, Account: account,
			Counterparty: cp, CounterpartyOrg: cpOrg, Memo: memo, BalanceAfter: bal, Result: ResultOK}})
	}
	for i, m := range msgs {
		switch e := m.(type) {
		case *txpb.EventTransfer:
			// A transfer moves the sender's own units, except a custody
			// account's payment, which its signers execute: the account
			// is no identity and has no organisation (to_org "" when it
			// is paid), so neither side of it is any organisation's.
			fromOrg := ""
			if e.From == jt.Sender {
				fromOrg = jt.Org
			}
			if fromOrg != "" {
				add(fromOrg, i, KindTransfer, Debit, e.Ledger, e.Asset, e.Amount, e.From, e.To, e.ToOrg, e.Memo, ptr(e.FromBalance))
			}
			if e.ToOrg != "" {
				add(e.ToOrg, i, KindTransfer, Credit, e.Ledger, e.Asset, e.Amount, e.To, e.From, fromOrg, e.Memo, ptr(e.ToBalance))
			}
		case *txpb.EventIssue:
			add(jt.Org, i, KindIssue, Issued, e.Ledger, e.Asset, e.Amount, e.From, e.To, e.ToOrg, e.Memo, nil)
			if e.ToOrg != "" {
				add(e.ToOrg, i, KindIssue, Credit, e.Ledger, e.Asset, e.Amount, e.To, e.From, jt.Org, e.Memo, ptr(e.ToBalance))
			}
		case *txpb.EventBurn:
			add(jt.Org, i, KindBurn, Debit, e.Ledger, e.Asset, e.Amount, e.From, "", "", e.Memo, ptr(e.FromBalance))
		case *txpb.EventRedeem:
			add(jt.Org, i, KindRedeem, Debit, e.Ledger, e.Asset, e.Amount, e.From, "", "", e.Reference, ptr(e.FromBalance))
			rows[len(rows)-1].Redemption = ptr(e.Id)
		case *txpb.EventRedemptionSettled:
			switch {
			case !e.Rejected:
				add(jt.Org, i, KindRedemptionSettled, Retired, e.Ledger, e.Asset, e.Amount, jt.Sender, e.To, e.ToOrg, e.Reason, nil)
				rows[len(rows)-1].Redemption = ptr(e.Id)
			case e.ToOrg != "":
				add(e.ToOrg, i, KindRedemptionSettled, Credit, e.Ledger, e.Asset, e.Amount, e.To, jt.Sender, jt.Org, e.Reason, ptr(e.ToBalance))
				rows[len(rows)-1].Redemption = ptr(e.Id)
			}
		}
	}
	return rows, nil
}

func isMovement(m any) bool {
	switch m.(type) {
	case *txpb.EventTransfer, *txpb.EventIssue, *txpb.EventBurn, *txpb.EventRedeem, *txpb.EventRedemptionSettled:
		return true
	}
	return false
}

func ptr[T any](v T) *T { return &v }

// totals sums rows per (sub-ledger, asset), in that order.
func totals(rows []Row) []Total {
	type key struct{ ledger, asset string }
	type sums struct {
		n                                int
		credits, debits, issued, retired big.Int
	}
	by := map[key]*sums{}
	var keys []key
	for _, r := range rows {
		k := key{r.Ledger, r.Asset}
		s := by[k]
		if s == nil {
			s = &sums{}
			by[k] = s
			keys = append(keys, k)
		}
		s.n++
		var a big.Int
		a.SetUint64(r.Amount)
		switch r.Direction {
		case Credit:
			s.credits.Add(&s.credits, &a)
		case Debit:
			s.debits.Add(&s.debits, &a)
		case Issued:
			s.issued.Add(&s.issued, &a)
		case Retired:
			s.retired.Add(&s.retired, &a)
		}
	}
	slices.SortFunc(keys, func(a, b key) int { return cmp.Or(cmp.Compare(a.ledger, b.ledger), cmp.Compare(a.asset, b.asset)) })
	out := make([]Total, 0, len(keys))
	for _, k := range keys {
		s := by[k]
		var net big.Int
		net.Sub(&s.credits, &s.debits)
		out = append(out, Total{Ledger: k.ledger, Asset: k.asset, Rows: s.n, Credits: s.credits.String(), Debits: s.debits.String(),
			Net: net.String(), Issued: s.issued.String(), Retired: s.retired.String()})
	}
	return out
}

// FindTx finds transaction id (64 lower-case hex digits) among a
// block's transactions; ok is false when the block does not hold it.
func FindTx(txs []*abci.TxResult, id string) (r *abci.TxResult, ok bool) {
	for _, r := range txs {
		if t, err := wire.DecodeTx(r.Tx); err == nil && wire.TxIDOf(t) == id {
			return r, true
		}
	}
	return nil, false // an app-made transaction, or another one
}

// TxParties returns the organisations committed transaction r concerns,
// sorted, once each: its sender's (the envelope's MSP id, also for a
// transaction that failed) and the organisation of each of its movements
// (TxMovements). It is what decides which members may read a transaction
// (the node's API: its decoded form, its proof).
func TxParties(r *abci.TxResult) (orgs []string, err error) {
	t, err := wire.DecodeTx(r.Tx)
	if err != nil {
		return nil, fmt.Errorf("height %d tx %d: %w", r.Height, r.Index, err)
	}
	orgs = append(orgs, t.MSPID)
	rows, err := TxMovements(r, time.Time{})
	if err != nil {
		return nil, err
	}
	for _, row := range rows {
		orgs = append(orgs, row.Org)
	}
	slices.Sort(orgs)
	return slices.Compact(orgs), nil
}

// MaxMemoQuery bounds the memo a search by memo asks for (GET /v1/txs),
// in bytes: memos longer than this are in no memo index.
const MaxMemoQuery = 1024

// TxMemos returns what a search by memo keeps of committed transaction r
// (the node's memo index, GET /v1/txs): the distinct memos of its
// transfer events that a search can ask for (not empty, at most
// MaxMemoQuery bytes), in the order they first appear, and the
// organisations that may read it, as TxParties gives them for a
// transaction that succeeded (its sender's, from its jinlian_tx event,
// and its movements'), read from its events alone. Both are nil when r
// has no such memo; a failed transaction has none.
func TxMemos(r *abci.TxResult) (memos, parties []string, err error) {
	msgs, jt, err := parseTx(r)
	if err != nil {
		return nil, nil, err
	}
	if memos = memosOf(msgs); len(memos) == 0 {
		return nil, nil, nil
	}
	if jt == nil || jt.Org == "" {
		return nil, nil, fmt.Errorf("height %d tx %d: transfers without a jinlian_tx event", r.Height, r.Index)
	}
	rows, err := movementRows(r, time.Time{}, msgs, jt)
	if err != nil {
		return nil, nil, err
	}
	return memos, partiesOf(jt, rows), nil
}

// TxIndexEntries is TxMovements and TxMemos of r from one decoding of its
// events: what a node's movement index keeps of a transaction.
func TxIndexEntries(r *abci.TxResult, at time.Time) (rows []OrgRow, memos, parties []string, err error) {
	msgs, jt, err := parseTx(r)
	if err != nil {
		return nil, nil, nil, err
	}
	if rows, err = movementRows(r, at, msgs, jt); err != nil {
		return nil, nil, nil, err
	}
	if memos = memosOf(msgs); len(memos) == 0 {
		return rows, nil, nil, nil
	}
	if jt.Org == "" { // jt is there: movementRows refused transfers without it
		return nil, nil, nil, fmt.Errorf("height %d tx %d: transfers without a jinlian_tx event", r.Height, r.Index)
	}
	return rows, memos, partiesOf(jt, rows), nil
}

// memosOf is the distinct searchable memos of parsed transfer events, in
// order.
func memosOf(msgs []any) []string {
	var memos []string
	for _, m := range msgs {
		if e, ok := m.(*txpb.EventTransfer); ok && e.Memo != "" && len(e.Memo) <= MaxMemoQuery && !slices.Contains(memos, e.Memo) {
			memos = append(memos, e.Memo)
		}
	}
	return memos
}

// partiesOf is the organisations that may read a transaction: its
// sender's and its movements', sorted, each once.
func partiesOf(jt *txpb.EventJinlianTx, rows []OrgRow) []string {
	parties := []string{jt.Org}
	for _, row := range rows {
		parties = append(parties, row.Org)
	}
	slices.Sort(parties)
	return slices.Compact(parties)
}
