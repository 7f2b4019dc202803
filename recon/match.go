package recon

import (
	"cmp"
	"fmt"
	"math/big"
	"math/bits"
	"slices"
	"strings"
	"time"
)

// Kinds of break: what reconciling an internal file against the chain
// finds wrong, in the order a result lists them.
const (
	BreakMissingOnChain       = "missing_on_chain"      // in the file, not on chain
	BreakMissingInternally    = "missing_internally"    // on chain, not in the file
	BreakAmountMismatch       = "amount_mismatch"       // same reference, different amount
	BreakAssetMismatch        = "asset_mismatch"        // same reference and amount, different asset
	BreakCounterpartyMismatch = "counterparty_mismatch" // only the counterparty differs
	BreakDuplicateOnChain     = "duplicate_on_chain"    // a second movement like one already matched
	BreakDuplicateInternal    = "duplicate_internal"    // a line posted twice in the file
)

// BreakKinds lists every kind of break in the order results sort them.
var BreakKinds = []string{BreakMissingOnChain, BreakMissingInternally, BreakAmountMismatch, BreakAssetMismatch,
	BreakCounterpartyMismatch, BreakDuplicateOnChain, BreakDuplicateInternal}

// ChainSide is a chain movement as a break shows it.
type ChainSide struct {
	Height          int64  `json:"height"`
	TxIndex         uint32 `json:"tx_index"`
	EventIndex      int    `json:"event_index"`
	TxID            string `json:"tx_id"`
	Time            string `json:"time"`
	Ledger          string `json:"ledger"`
	Asset           string `json:"asset"`
	Direction       string `json:"direction"`
	Amount          uint64 `json:"amount,string"`
	Account         string `json:"account"`
	Counterparty    string `json:"counterparty,omitempty"`
	CounterpartyOrg string `json:"counterparty_org,omitempty"`
	Memo            string `json:"memo,omitempty"`
}

// Break is one difference between the file and the chain. A mismatch
// has both sides and lists every field that differs (Kind is the first
// of amount, asset, counterparty); a missing or duplicate line has one.
type Break struct {
	Kind      string   `json:"kind"`
	Reference string   `json:"reference,omitempty"`
	Fields    []string `json:"fields,omitempty"`
	// Counterparty is whom the break is with, as positions count it: the
	// chain's organisation of the other account where the day's
	// statement knows it, else the account, else what the file names.
	Counterparty string     `json:"counterparty,omitempty"`
	Internal     *Record    `json:"internal,omitempty"`
	Chain        *ChainSide `json:"chain,omitempty"`
}

// Position is the flows with one counterparty in one asset, as the chain
// and as the file have them. Sums are decimal strings: a day's flows may
// exceed 64 bits. Net is credits − debits (received − paid).
type Position struct {
	Asset        string `json:"asset"`
	Counterparty string `json:"counterparty"`
	Flows
}

// Flows are gross and net figures of both sides.
type Flows struct {
	ChainCredits    string `json:"chain_credits"`
	ChainDebits     string `json:"chain_debits"`
	ChainNet        string `json:"chain_net"`
	InternalCredits string `json:"internal_credits"`
	InternalDebits  string `json:"internal_debits"`
	InternalNet     string `json:"internal_net"`
	// Agree: both sides have the same gross figures.
	Agree bool `json:"agree"`
}

// DayTotal is the flows of one asset with every counterparty.
type DayTotal struct {
	Asset string `json:"asset"`
	Flows
}

// Summary counts what a reconciliation found.
type Summary struct {
	ChainMovements  int            `json:"chain_movements"`
	InternalRecords int            `json:"internal_records"`
	Matched         int            `json:"matched"`
	Breaks          int            `json:"breaks"`
	ByKind          map[string]int `json:"by_kind"` // every kind, zero included
}

// Reconciliation is what Match returns.
type Reconciliation struct {
	Summary   Summary    `json:"summary"`
	Breaks    []Break    `json:"breaks"`
	Positions []Position `json:"positions"`
	Totals    []DayTotal `json:"totals"`
}

// WrongDayError: no line of the file falls in the day reconciled, so the
// file is for another day.
type WrongDayError struct {
	Date  string // the day reconciled
	Line  int    // the first line with a time
	Time  string
	Other string // the day of that line
}

func (e *WrongDayError) Error() string {
	return fmt.Sprintf("the internal file is not for %s: no line's time falls in it (line %d: %s, on %s); reconcile it with --date %s",
		e.Date, e.Line, e.Time, e.Other, e.Other)
}

// CheckDay refuses a file none of whose timed lines falls in day (a
// file with no time column, or no lines, cannot be told apart). Lines on
// a neighbouring day in a file of the day are kept: posted across
// midnight, they show as breaks on both sides.
func CheckDay(f *InternalFile, day Day) error {
	first := -1
	for i := range f.Records {
		r := &f.Records[i]
		if r.at.IsZero() {
			continue
		}
		if !r.at.Before(day.Start) && r.at.Before(day.End) {
			return nil
		}
		if first < 0 {
			first = i
		}
	}
	if first < 0 {
		return nil
	}
	r := f.Records[first]
	return &WrongDayError{Date: day.Date, Line: r.Line, Time: r.Time, Other: r.at.In(day.Start.Location()).Format(DateLayout)}
}

type chainRec struct {
	row  *Row
	used bool
}

type fileRec struct {
	rec  *Record
	i    int
	used bool
}

// posKey is where a record counts in positions: with its movement's
// asset and counterparty when it is paired with one.
type posKey struct {
	asset, cp string
	set       bool
}

// Match reconciles the internal records against the chain's statement
// rows. A record with a tx id pairs with the movement of that tx id and
// direction; a record without pairs with a movement of its reference and
// direction, exact matches (amount, asset, counterparty) first and then
// the closest. Records and movements with no reference pair only on an
// exact match. What is left is missing on the other side, or a duplicate
// when the same side has an identical line already matched. Breaks are
// listed by kind, then by the file's line, then by chain position; the
// result is a function of its inputs alone.
func Match(rows []Row, records []Record) *Reconciliation {
	chain := make([]chainRec, len(rows))
	for i := range rows {
		chain[i].row = &rows[i]
	}
	file := make([]fileRec, len(records))
	for i := range records {
		file[i].rec, file[i].i = &records[i], i
	}
	type pair struct {
		f *fileRec
		c *chainRec
	}
	var pairs []pair
	link := func(f *fileRec, c *chainRec) {
		f.used, c.used = true, true
		pairs = append(pairs, pair{f, c})
	}

	// By tx id: exact first, then any movement of that tx and direction.
	type dirKey struct{ id, dir string }
	byTx := make(map[dirKey][]*chainRec, len(chain))
	for i := range chain {
		k := dirKey{chain[i].row.TxID, chain[i].row.Direction}
		byTx[k] = append(byTx[k], &chain[i])
	}
	for pass := 0; pass < 2; pass++ {
		for i := range file {
			f := &file[i]
			if f.used || f.rec.TxID == "" {
				continue
			}
			for _, c := range byTx[dirKey{f.rec.TxID, f.rec.Direction}] {
				if !c.used && (pass == 1 || len(differs(f.rec, c.row)) == 0) {
					link(f, c)
					break
				}
			}
		}
	}

	// By reference and direction, in groups.
	type group struct {
		chain []*chainRec
		file  []*fileRec
	}
	groups := map[dirKey]*group{}
	var order []dirKey
	grp := func(ref, dir string) *group {
		k := dirKey{ref, dir}
		g := groups[k]
		if g == nil {
			g = &group{}
			groups[k] = g
			order = append(order, k)
		}
		return g
	}
	for i := range chain {
		if !chain[i].used {
			g := grp(chain[i].row.Memo, chain[i].row.Direction)
			g.chain = append(g.chain, &chain[i])
		}
	}
	for i := range file {
		if !file[i].used && file[i].rec.TxID == "" {
			g := grp(file[i].rec.Reference, file[i].rec.Direction)
			g.file = append(g.file, &file[i])
		}
	}
	slices.SortFunc(order, func(a, b dirKey) int { return cmp.Or(cmp.Compare(a.id, b.id), cmp.Compare(a.dir, b.dir)) })
	for _, k := range order {
		g := groups[k]
		if len(g.chain) == 0 || len(g.file) == 0 {
			continue
		}
		// Exact matches, in order on both sides.
		exact := map[uint64][]*chainRec{}
		for _, c := range g.chain {
			exact[c.row.Amount] = append(exact[c.row.Amount], c)
		}
		for _, f := range g.file {
			for _, c := range exact[f.rec.Amount] {
				if !c.used && len(differs(f.rec, c.row)) == 0 {
					link(f, c)
					break
				}
			}
		}
		if k.id == "" {
			continue // no reference: exact matches only
		}
		// The rest pair with the closest movement left (fewest fields
		// differing, the earliest of equals). Long groups pair in order.
		var left []*chainRec
		for _, c := range g.chain {
			if !c.used {
				left = append(left, c)
			}
		}
		for _, f := range g.file {
			if f.used || len(left) == 0 {
				continue
			}
			best := -1
			if len(left) <= 64 {
				for j, c := range left {
					if !c.used && (best < 0 || len(differs(f.rec, c.row)) < len(differs(f.rec, left[best].row))) {
						best = j
					}
				}
			} else {
				for j, c := range left {
					if !c.used {
						best = j
						break
					}
				}
			}
			if best >= 0 {
				link(f, left[best])
			}
		}
	}

	rec := &Reconciliation{Breaks: []Break{}}
	rec.Summary = Summary{ChainMovements: len(rows), InternalRecords: len(records), ByKind: map[string]int{}}
	for _, k := range BreakKinds {
		rec.Summary.ByKind[k] = 0
	}
	add := func(b Break) {
		rec.Breaks = append(rec.Breaks, b)
		rec.Summary.ByKind[b.Kind]++
	}
	// label names the counterparty in positions: the chain's
	// organisation where it has one, else its account, else the file's.
	label := make([]posKey, len(records))
	for _, p := range pairs {
		label[p.f.i] = posKey{p.c.row.Asset, cpLabel(p.c.row), true}
		d := differs(p.f.rec, p.c.row)
		if len(d) == 0 {
			rec.Summary.Matched++
			continue
		}
		kind := map[string]string{"amount": BreakAmountMismatch, "asset": BreakAssetMismatch, "counterparty": BreakCounterpartyMismatch}[d[0]]
		add(Break{Kind: kind, Reference: p.f.rec.Reference, Fields: d, Counterparty: cpLabel(p.c.row), Internal: p.f.rec, Chain: chainSide(p.c.row)})
	}
	// An unpaired line naming a counterparty account the chain knows
	// counts under that account's organisation.
	orgOf := map[string]string{}
	for i := range rows {
		if r := &rows[i]; r.CounterpartyOrg != "" {
			orgOf[r.Counterparty] = r.CounterpartyOrg
		}
	}
	for i := range records {
		if !label[i].set {
			r := &records[i]
			label[i] = posKey{r.Asset, r.Counterparty, true}
			if org, ok := orgOf[strings.ToLower(r.Counterparty)]; ok {
				label[i].cp = org
			}
		}
	}
	// Unpaired lines: duplicates of a line of the same side that is
	// paired, or missing on the other side.
	// Only unpaired lines can be duplicates: collect their keys, then
	// look for a paired line with the same key.
	unpairedFile := map[fileDup]bool{}
	for i := range file {
		if !file[i].used {
			unpairedFile[fileDupKey(file[i].rec)] = false
		}
	}
	unpairedChain := map[chainDup]bool{}
	for i := range chain {
		if !chain[i].used && chain[i].row.Memo != "" {
			unpairedChain[chainDupKey(chain[i].row)] = false
		}
	}
	for _, p := range pairs {
		if _, ok := unpairedFile[fileDupKey(p.f.rec)]; ok {
			unpairedFile[fileDupKey(p.f.rec)] = true
		}
		if _, ok := unpairedChain[chainDupKey(p.c.row)]; ok {
			unpairedChain[chainDupKey(p.c.row)] = true
		}
	}
	for i := range file {
		f := &file[i]
		if f.used {
			continue
		}
		kind := BreakMissingOnChain
		if unpairedFile[fileDupKey(f.rec)] {
			kind = BreakDuplicateInternal
		}
		add(Break{Kind: kind, Reference: f.rec.Reference, Counterparty: label[f.i].cp, Internal: f.rec})
	}
	for i := range chain {
		c := &chain[i]
		if c.used {
			continue
		}
		kind := BreakMissingInternally
		if c.row.Memo != "" && unpairedChain[chainDupKey(c.row)] {
			kind = BreakDuplicateOnChain
		}
		add(Break{Kind: kind, Reference: c.row.Memo, Counterparty: cpLabel(c.row), Chain: chainSide(c.row)})
	}
	rec.Summary.Breaks = len(rec.Breaks)
	kindOrder := map[string]int{}
	for i, k := range BreakKinds {
		kindOrder[k] = i
	}
	slices.SortStableFunc(rec.Breaks, func(a, b Break) int {
		return cmp.Or(cmp.Compare(kindOrder[a.Kind], kindOrder[b.Kind]), cmp.Compare(lineOf(a), lineOf(b)), cmpChain(a.Chain, b.Chain))
	})
	rec.Positions, rec.Totals = positions(rows, records, label)
	return rec
}

// differs lists the fields in which a record and a movement differ; a
// field the file leaves empty (no asset or counterparty column) agrees.
func differs(r *Record, row *Row) []string {
	var d []string
	if r.Amount != row.Amount {
		d = append(d, "amount")
	}
	if r.Asset != "" && r.Asset != row.Asset {
		d = append(d, "asset")
	}
	if cpDiffers(r.Counterparty, row) {
		d = append(d, "counterparty")
	}
	return d
}

// cpDiffers: the file names the counterparty by account or organisation.
func cpDiffers(cp string, row *Row) bool {
	return cp != "" && !strings.EqualFold(cp, row.Counterparty) && cp != row.CounterpartyOrg
}

func cpLabel(row *Row) string {
	if row.CounterpartyOrg != "" {
		return row.CounterpartyOrg
	}
	return row.Counterparty
}

type fileDup struct {
	txID, ref, dir, asset, cp string
	amount                    uint64
}

func fileDupKey(r *Record) fileDup {
	return fileDup{r.TxID, r.Reference, r.Direction, r.Asset, r.Counterparty, r.Amount}
}

type chainDup struct {
	memo, dir, asset, cp string
	amount               uint64
}

func chainDupKey(r *Row) chainDup {
	return chainDup{r.Memo, r.Direction, r.Asset, r.Counterparty, r.Amount}
}

func chainSide(r *Row) *ChainSide {
	return &ChainSide{Height: r.Height, TxIndex: r.TxIndex, EventIndex: r.EventIndex, TxID: r.TxID, Time: r.Time.Format(time.RFC3339Nano),
		Ledger: r.Ledger, Asset: r.Asset, Direction: r.Direction, Amount: r.Amount, Account: r.Account,
		Counterparty: r.Counterparty, CounterpartyOrg: r.CounterpartyOrg, Memo: r.Memo}
}

func lineOf(b Break) int {
	if b.Internal == nil {
		return 0
	}
	return b.Internal.Line
}

func cmpChain(a, b *ChainSide) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	return cmp.Or(cmp.Compare(a.Height, b.Height), cmp.Compare(a.TxIndex, b.TxIndex), cmp.Compare(a.EventIndex, b.EventIndex))
}

// u128 sums amounts: a day's flows may exceed 64 bits, and a big.Int
// per addition would cost an allocation per line.
type u128 struct{ hi, lo uint64 }

func (u *u128) add(v uint64) {
	var c uint64
	u.lo, c = bits.Add64(u.lo, v, 0)
	u.hi += c
}

func (u *u128) big() *big.Int {
	b := new(big.Int).SetUint64(u.hi)
	return b.Lsh(b, 64).Or(b, new(big.Int).SetUint64(u.lo))
}

type sums struct{ cc, cd, ic, id u128 }

func (s *sums) add(chain bool, dir string, amount uint64) {
	switch {
	case chain && dir == Credit:
		s.cc.add(amount)
	case chain && dir == Debit:
		s.cd.add(amount)
	case !chain && dir == Credit:
		s.ic.add(amount)
	case !chain && dir == Debit:
		s.id.add(amount)
	}
}

func (s *sums) flows() Flows {
	cc, cd, ic, id := s.cc.big(), s.cd.big(), s.ic.big(), s.id.big()
	return Flows{ChainCredits: cc.String(), ChainDebits: cd.String(), ChainNet: new(big.Int).Sub(cc, cd).String(),
		InternalCredits: ic.String(), InternalDebits: id.String(), InternalNet: new(big.Int).Sub(ic, id).String(),
		Agree: s.cc == s.ic && s.cd == s.id}
}

// positions sums credits and debits (issued and retired rows move no
// balance of the bank's and are left out) per asset and counterparty,
// sorted by asset and counterparty, and per asset; label is each
// record's (asset, counterparty).
func positions(rows []Row, records []Record, label []posKey) ([]Position, []DayTotal) {
	type key struct{ asset, cp string }
	by := map[key]*sums{}
	tot := map[string]*sums{}
	get := func(asset, cp string) (*sums, *sums) {
		k := key{asset, cp}
		if by[k] == nil {
			by[k] = &sums{}
		}
		if tot[asset] == nil {
			tot[asset] = &sums{}
		}
		return by[k], tot[asset]
	}
	for i := range rows {
		r := &rows[i]
		if r.Direction != Credit && r.Direction != Debit {
			continue
		}
		p, t := get(r.Asset, cpLabel(r))
		p.add(true, r.Direction, r.Amount)
		t.add(true, r.Direction, r.Amount)
	}
	for i := range records {
		r := &records[i]
		if r.Direction != Credit && r.Direction != Debit {
			continue
		}
		k := label[i]
		p, t := get(k.asset, k.cp)
		p.add(false, r.Direction, r.Amount)
		t.add(false, r.Direction, r.Amount)
	}
	keys := make([]key, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int { return cmp.Or(cmp.Compare(a.asset, b.asset), cmp.Compare(a.cp, b.cp)) })
	ps := make([]Position, 0, len(keys))
	for _, k := range keys {
		ps = append(ps, Position{Asset: k.asset, Counterparty: k.cp, Flows: by[k].flows()})
	}
	assets := make([]string, 0, len(tot))
	for a := range tot {
		assets = append(assets, a)
	}
	slices.Sort(assets)
	ts := make([]DayTotal, 0, len(assets))
	for _, a := range assets {
		ts = append(ts, DayTotal{Asset: a, Flows: tot[a].flows()})
	}
	return ps, ts
}
