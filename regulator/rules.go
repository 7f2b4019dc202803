package regulator

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	toml "github.com/pelletier/go-toml/v2"
)

// Rule ids.
const (
	RuleLarge       = "large_amount"
	RuleStructuring = "structuring"
	RuleVelocity    = "velocity"
	RuleFastInOut   = "fast_in_fast_out"
	RuleSanctioned  = "sanctioned"
	// RuleSanctionsAttempt is a refused transaction naming a listed
	// account: the app lets such attempts into blocks so that they are seen.
	RuleSanctionsAttempt = "sanctions_attempt"
	RuleCrossBorder      = "cross_border"
)

// MaxAlertTxIDs bounds the transactions an alert lists.
const MaxAlertTxIDs = 1000

// Duration is a time.Duration written as "24h" in TOML.
type Duration time.Duration

// UnmarshalText parses a Go duration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes a Go duration.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// D is the duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// RulesConfig is the observer's rule file (TOML). Amounts are in each
// asset's smallest unit and keyed by asset symbol; windows are block time.
// The thresholds come from this file only: the chain has no governance
// parameter for them yet.
type RulesConfig struct {
	Large struct {
		Enabled    *bool             `toml:"enabled"`
		Severity   string            `toml:"severity"`
		Thresholds map[string]uint64 `toml:"thresholds"`
	} `toml:"large_amount"`
	Structuring struct {
		Enabled  *bool    `toml:"enabled"`
		Severity string   `toml:"severity"`
		Window   Duration `toml:"window"`
		Count    int      `toml:"count"`
		// Margin: a transfer is "just below" the large-amount threshold T
		// when T×(1−Margin) ≤ amount < T.
		Margin float64 `toml:"margin"`
		// PerOrg also sums, per beneficiary, such transfers from all the
		// accounts of one organisation (default true): Count of them from
		// two or more of its accounts raise subject org:<org>-><to>/<asset>.
		PerOrg *bool `toml:"per_org"`
		// BeneficiaryCount (0 = off) also sums, per beneficiary, such
		// transfers from every sender, of any organisation: this many of
		// them within the window, from two or more accounts, raise
		// subject to:<beneficiary>/<asset>. Set it above Count: at Count,
		// every per-organisation alert would have a twin.
		BeneficiaryCount int `toml:"beneficiary_count"`
	} `toml:"structuring"`
	Velocity struct {
		Enabled   *bool             `toml:"enabled"`
		Severity  string            `toml:"severity"`
		Window    Duration          `toml:"window"`
		MaxCount  int               `toml:"max_count"`
		MaxAmount map[string]uint64 `toml:"max_amount"`
	} `toml:"velocity"`
	FastInOut struct {
		Enabled   *bool             `toml:"enabled"`
		Severity  string            `toml:"severity"`
		Window    Duration          `toml:"window"`
		Percent   float64           `toml:"percent"`
		MinAmount map[string]uint64 `toml:"min_amount"`
		// NetOfOpening (default true): what leaves counts as "fast out"
		// only beyond the balance the account held before the window's
		// first receipt (the balance the state machine reported in that
		// receipt's event, less the receipt).
		NetOfOpening *bool `toml:"net_of_opening"`
		// Baseline (0 = off) is a lookback before the window: when what
		// left within the window is at most BaselineFactor times the
		// account's usual outflow per window over it, the account is
		// moving money as it always does and the rule stays quiet.
		Baseline       Duration `toml:"baseline"`
		BaselineFactor float64  `toml:"baseline_factor"`
	} `toml:"fast_in_fast_out"`
	Sanctions struct {
		Enabled  *bool    `toml:"enabled"`
		Severity string   `toml:"severity"`
		Lookback Duration `toml:"lookback"`
	} `toml:"sanctions"`
	CrossBorder struct {
		Enabled  *bool             `toml:"enabled"`
		Severity string            `toml:"severity"`
		Timezone string            `toml:"timezone"`
		Default  map[string]uint64 `toml:"default_limit"`
		Limits   []PairLimit       `toml:"limit"`
	} `toml:"cross_border"`
}

// PairLimit is a daily limit from one organisation to another in one asset.
type PairLimit struct {
	From   string `toml:"from"`
	To     string `toml:"to"`
	Asset  string `toml:"asset"`
	Amount uint64 `toml:"amount"`
}

// DefaultRulesTOML is the rule file written for a new observer.
const DefaultRulesTOML = `# jinlian regulator rules. Amounts are in the asset's smallest unit (fen for
# CNY with 2 decimals); windows are Go durations measured in block time, so a
# replay from genesis raises exactly the same alerts.

[large_amount]
severity = "high"
[large_amount.thresholds]
CNY = 5000000   # 50,000.00 CNY
USD = 1000000

[structuring]
severity = "high"
window = "24h"
count = 3       # this many transfers by one sender ...
margin = 0.1    # ... each within 10% below the large-amount threshold
per_org = true  # also: this many from 2+ accounts of one organisation to one beneficiary
beneficiary_count = 5  # also: this many from 2+ senders of any organisations into one account (0: off)

[velocity]
severity = "medium"
window = "1h"
max_count = 50  # outgoing movements per account per window
[velocity.max_amount]
CNY = 20000000

[fast_in_fast_out]
severity = "high"
window = "2h"
percent = 80    # at least 80% of what came in within the window left again
net_of_opening = true  # ... beyond the balance held before the window's first receipt
baseline = "0s"        # e.g. "168h": quiet while the outflow is at most ...
baseline_factor = 1.5  # ... 1.5 × the usual outflow per window over the week before
[fast_in_fast_out.min_amount]
CNY = 1000000

[sanctions]
severity = "critical"
lookback = "720h"  # on listing, report the account's movements of the last 30 days

[cross_border]
severity = "medium"
timezone = "Asia/Shanghai"  # days for the daily limit
[cross_border.default_limit]
CNY = 100000000
# [[cross_border.limit]]
# from = "bankA"
# to = "bankB"
# asset = "CNY"
# amount = 200000000
`

// DefaultRules returns the default rule configuration.
func DefaultRules() *RulesConfig {
	c, err := ParseRules([]byte(DefaultRulesTOML))
	if err != nil {
		panic(err)
	}
	return c
}

// LoadRules reads a rule file.
func LoadRules(path string) (*RulesConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	c, err := ParseRules(b)
	if err != nil {
		return nil, fmt.Errorf("rules %s: %w", path, err)
	}
	return c, nil
}

// ParseRules parses and validates a rule file; unknown keys are errors.
func ParseRules(b []byte) (*RulesConfig, error) {
	var c RulesConfig
	dec := toml.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		var sm *toml.StrictMissingError
		if errors.As(err, &sm) {
			return nil, fmt.Errorf("unknown key: %s", sm.String())
		}
		var de *toml.DecodeError
		if errors.As(err, &de) {
			return nil, decodeError(b, de)
		}
		return nil, err
	}
	return &c, c.Validate()
}

var goTypeInError = regexp.MustCompile(`cannot decode TOML (\w+) into struct field .*\.\w+ of type \*?(\S+)$`)

// decodeError names the key of a value that does not decode (go-toml
// names the Go field's type): "fast_in_fast_out.baseline (line 3):
// time: invalid duration "a week"".
func decodeError(b []byte, de *toml.DecodeError) error {
	row, _ := de.Position()
	msg := strings.TrimPrefix(de.Error(), "toml: ")
	if m := goTypeInError.FindStringSubmatch(msg); m != nil {
		msg = fmt.Sprintf("want %s, not a TOML %s", strings.TrimPrefix(m[2], "regulator."), m[1])
	}
	lines := strings.Split(string(b), "\n")
	if row < 1 || row > len(lines) {
		return fmt.Errorf("%s", msg)
	}
	key, _, ok := strings.Cut(lines[row-1], "=")
	key = strings.TrimSpace(key)
	if !ok || key == "" {
		return fmt.Errorf("line %d: %s", row, msg)
	}
	for i := row - 2; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); strings.HasPrefix(l, "[") {
			key = strings.Trim(l, "[] ") + "." + key
			break
		}
	}
	return fmt.Errorf("%s (line %d): %s", key, row, msg)
}

func sev(s *string, def string) error {
	if *s == "" {
		*s = def
	}
	switch *s {
	case SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical:
		return nil
	}
	return fmt.Errorf("severity %q: want low, medium, high or critical", *s)
}

func enabled(b *bool) bool { return b == nil || *b }

// Validate fills defaults and names the first bad key.
func (c *RulesConfig) Validate() error {
	checks := []struct {
		key string
		err error
	}{
		{"large_amount.severity", sev(&c.Large.Severity, SeverityHigh)},
		{"structuring.severity", sev(&c.Structuring.Severity, SeverityHigh)},
		{"velocity.severity", sev(&c.Velocity.Severity, SeverityMedium)},
		{"fast_in_fast_out.severity", sev(&c.FastInOut.Severity, SeverityHigh)},
		{"sanctions.severity", sev(&c.Sanctions.Severity, SeverityCritical)},
		{"cross_border.severity", sev(&c.CrossBorder.Severity, SeverityMedium)},
	}
	for _, ch := range checks {
		if ch.err != nil {
			return fmt.Errorf("%s: %w", ch.key, ch.err)
		}
	}
	if enabled(c.Structuring.Enabled) {
		if c.Structuring.Window <= 0 || c.Structuring.Count < 2 || c.Structuring.Margin <= 0 || c.Structuring.Margin >= 1 {
			return fmt.Errorf("structuring: want window > 0, count ≥ 2 and 0 < margin < 1 (or enabled = false)")
		}
	}
	if n := c.Structuring.BeneficiaryCount; n < 0 || n == 1 {
		return fmt.Errorf("structuring.beneficiary_count: want 0 (off) or at least 2, got %d", n)
	}
	if enabled(c.Velocity.Enabled) && (c.Velocity.Window <= 0 || (c.Velocity.MaxCount <= 0 && len(c.Velocity.MaxAmount) == 0)) {
		return fmt.Errorf("velocity: want window > 0 and max_count or max_amount (or enabled = false)")
	}
	if enabled(c.FastInOut.Enabled) && (c.FastInOut.Window <= 0 || c.FastInOut.Percent <= 0 || c.FastInOut.Percent > 100) {
		return fmt.Errorf("fast_in_fast_out: want window > 0 and 0 < percent ≤ 100 (or enabled = false)")
	}
	if c.FastInOut.Baseline < 0 {
		return fmt.Errorf("fast_in_fast_out.baseline: must not be negative (0 turns the baseline off)")
	}
	if c.FastInOut.BaselineFactor == 0 {
		c.FastInOut.BaselineFactor = 1
	}
	if c.FastInOut.BaselineFactor < 0 {
		return fmt.Errorf("fast_in_fast_out.baseline_factor: want a positive factor, got %g", c.FastInOut.BaselineFactor)
	}
	if c.Sanctions.Lookback < 0 {
		return fmt.Errorf("sanctions.lookback: must not be negative")
	}
	if c.CrossBorder.Timezone == "" {
		c.CrossBorder.Timezone = "UTC"
	}
	if _, err := time.LoadLocation(c.CrossBorder.Timezone); err != nil {
		return fmt.Errorf("cross_border.timezone: %w", err)
	}
	for i, l := range c.CrossBorder.Limits {
		if l.From == "" || l.To == "" || l.Asset == "" || l.Amount == 0 {
			return fmt.Errorf("cross_border.limit[%d]: want from, to, asset and a positive amount", i)
		}
	}
	return nil
}

// Engine runs the rules of a RulesConfig. It keeps no state of its own:
// windows are read back from the index, so a restarted observer and a
// fresh replay evaluate every block identically.
type Engine struct {
	c   *RulesConfig
	loc *time.Location
}

// NewEngine returns an engine over a validated configuration.
func NewEngine(c *RulesConfig) (*Engine, error) {
	if c == nil {
		c = DefaultRules()
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(c.CrossBorder.Timezone)
	if err != nil {
		return nil, err
	}
	return &Engine{c: c, loc: loc}, nil
}

// Config is the engine's configuration.
func (e *Engine) Config() *RulesConfig { return e.c }

func short(a string) string {
	if len(a) > 12 {
		return a[:12] + "…"
	}
	return a
}

// cooled reports whether rule may alert on subject again at t: once per
// window per subject, so a burst raises one alert, not one per movement.
func cooled(v RuleView, rule, subject string, t time.Time, window time.Duration) (bool, error) {
	last, ok, err := v.LastAlert(rule, subject)
	if err != nil || !ok {
		return err == nil, err
	}
	return !t.Before(last.Add(window)), nil
}

func txIDs(es []Entry) []string {
	var out []string
	seen := map[string]bool{}
	for _, e := range es {
		if !seen[e.TxID] {
			seen[e.TxID] = true
			out = append(out, e.TxID)
		}
	}
	return out
}

// OnTx evaluates one transaction.
func (e *Engine) OnTx(v RuleView, b *Block, tx *Tx, entries []Entry) error {
	if err := e.sanctioned(v, b, tx); err != nil {
		return err
	}
	for _, m := range entries {
		for _, rule := range []func(RuleView, *Block, Entry) error{e.large, e.structuring, e.velocity, e.fastInOut} {
			if err := rule(v, b, m); err != nil {
				return err
			}
		}
	}
	return e.crossBorder(v, b, tx, entries)
}

// threshold is the large-amount threshold of asset: the one set on chain
// (SetAMLThreshold) if any, else the rule file's.
func (e *Engine) threshold(v RuleView, asset string) (uint64, bool, error) {
	if t, ok, err := v.Threshold(asset); err != nil || ok {
		return t, ok, err
	}
	t, ok := e.c.Large.Thresholds[asset]
	return t, ok, nil
}

// large alerts on a transfer, issue or burn of at least the threshold:
// money created or destroyed in one go is screened like money moved.
func (e *Engine) large(v RuleView, b *Block, m Entry) error {
	c := &e.c.Large
	if !enabled(c.Enabled) {
		return nil
	}
	t, ok, err := e.threshold(v, m.Asset)
	if err != nil || !ok || m.Amount < t {
		return err
	}
	a := Alert{Rule: RuleLarge, Severity: c.Severity, Subject: m.From, TxIDs: []string{m.TxID}}
	switch m.Kind {
	case KindTransfer:
		a.Reason = fmt.Sprintf("transfer of %d %s on %s from %s to %s reaches the large-amount threshold %d", m.Amount, m.Asset, m.Ledger, m.From, m.To, t)
	case KindIssue:
		a.Subject = m.To
		a.Reason = fmt.Sprintf("issue of %d %s on %s by %s to %s reaches the large-amount threshold %d", m.Amount, m.Asset, m.Ledger, m.From, m.To, t)
	case KindBurn:
		a.Reason = fmt.Sprintf("burn of %d %s on %s from %s reaches the large-amount threshold %d", m.Amount, m.Asset, m.Ledger, m.From, t)
	default:
		return nil
	}
	return v.Raise(a)
}

func (e *Engine) structuring(v RuleView, b *Block, m Entry) error {
	c := &e.c.Structuring
	t, ok, err := e.threshold(v, m.Asset)
	if err != nil {
		return err
	}
	if !enabled(c.Enabled) || !ok || m.Kind != KindTransfer {
		return nil
	}
	lo := uint64(float64(t) * (1 - c.Margin))
	// A refund (a PvP leg back to its payer) returns the payer's own
	// money: it is no payment, whatever its amount.
	inBand := func(x *Entry) bool {
		return x.Kind == KindTransfer && !x.Refund && x.Asset == m.Asset && x.Amount >= lo && x.Amount < t
	}
	if !inBand(&m) {
		return nil
	}
	band := fmt.Sprintf("each just below the %d threshold (%d..%d)", t, lo, t-1)
	subject := m.From + "/" + m.Asset
	err = e.structured(v, b, subject, m.From, func(x *Entry) bool { return inBand(x) && x.From == m.From }, c.Count, 1,
		func(hits []Entry, sum uint64) string {
			return fmt.Sprintf("%s sent %d transfers of %s within %s, %s, %d in total", m.From, len(hits), m.Asset, c.Window.D(), band, sum)
		})
	if err != nil || m.To == "" {
		return err
	}
	if m.FromOrg != "" && (c.PerOrg == nil || *c.PerOrg) {
		// The same, split across the accounts of one organisation, towards
		// one beneficiary: read from the beneficiary's side.
		subject = "org:" + m.FromOrg + "->" + m.To + "/" + m.Asset
		err = e.structured(v, b, subject, m.To, func(x *Entry) bool { return inBand(x) && x.FromOrg == m.FromOrg && x.To == m.To }, c.Count, 2,
			func(hits []Entry, sum uint64) string {
				senders, _ := sendersOf(hits)
				return fmt.Sprintf("%d accounts of %s (%s) sent %s %d transfers of %s within %s, %s, %d in total",
					len(senders), m.FromOrg, strings.Join(senders, ", "), m.To, len(hits), m.Asset, c.Window.D(), band, sum)
			})
		if err != nil {
			return err
		}
	}
	if c.BeneficiaryCount == 0 || m.To == m.From {
		return nil
	}
	// The same from every sender, of any organisation, into one account:
	// the beneficiary's own entries of the window (the cache of recent
	// entries holds them, as for the per-organisation sum).
	subject = "to:" + m.To + "/" + m.Asset
	return e.structured(v, b, subject, m.To, func(x *Entry) bool { return inBand(x) && x.To == m.To && x.From != m.To }, c.BeneficiaryCount, 2,
		func(hits []Entry, sum uint64) string {
			senders, orgs := sendersOf(hits)
			listed := senders
			if len(listed) > maxNamedSenders {
				listed = append(slices.Clone(listed[:maxNamedSenders]), fmt.Sprintf("and %d more", len(senders)-maxNamedSenders))
			}
			return fmt.Sprintf("%s received %d transfers of %s from %d accounts of %s (%s) within %s, %s, %d in total",
				m.To, len(hits), m.Asset, len(senders), plural(len(orgs), "organisation"), strings.Join(listed, ", "), c.Window.D(), band, sum)
		})
}

// maxNamedSenders bounds the senders a structuring reason names.
const maxNamedSenders = 10

// sendersOf lists the distinct senders of hits (shortened) and their
// organisations ("unknown" for none), in order of first appearance.
func sendersOf(hits []Entry) (senders, orgs []string) {
	for _, x := range hits {
		if s := short(x.From); !slices.Contains(senders, s) {
			senders = append(senders, s)
		}
		org := x.FromOrg
		if org == "" {
			org = "unknown"
		}
		if !slices.Contains(orgs, org) {
			orgs = append(orgs, org)
		}
	}
	return senders, orgs
}

// structured raises structuring on subject when at least count of acct's
// movements within the window match, from at least minSenders accounts.
// The alert lists at most MaxAlertTxIDs of their transactions.
func (e *Engine) structured(v RuleView, b *Block, subject, acct string, match func(*Entry) bool, count, minSenders int, why func([]Entry, uint64) string) error {
	c := &e.c.Structuring
	if ok, err := cooled(v, RuleStructuring, subject, b.Time, c.Window.D()); err != nil || !ok {
		return err
	}
	es, err := v.AccountEntries(acct, b.Time.Add(-c.Window.D()))
	if err != nil {
		return err
	}
	var hits []Entry
	var sum uint64
	senders := 0
	for x := range es.From(0) {
		if match(x) {
			if !slices.ContainsFunc(hits, func(h Entry) bool { return h.From == x.From }) {
				senders++
			}
			hits = append(hits, *x)
			sum = satAdd(sum, x.Amount)
		}
	}
	if len(hits) < count || senders < minSenders {
		return nil
	}
	ids := txIDs(hits)
	reason := why(hits, sum)
	if len(ids) > MaxAlertTxIDs {
		reason += fmt.Sprintf("; the first %d of %d transactions listed", MaxAlertTxIDs, len(ids))
		ids = ids[:MaxAlertTxIDs]
	}
	return v.Raise(Alert{Rule: RuleStructuring, Severity: c.Severity, Subject: subject, TxIDs: ids, Reason: reason})
}

// velocity: more than max_count outgoing transfers of one account in one
// asset within the window, or more than max_amount in total. A PvP refund
// is no activity of the escrow that returns it (nor of the payer, for whom
// it is a receipt): it neither counts nor raises. The funding it returns
// still counts: the payer did send it.
func (e *Engine) velocity(v RuleView, b *Block, m Entry) error {
	c := &e.c.Velocity
	if !enabled(c.Enabled) || m.Kind != KindTransfer || m.Refund {
		return nil
	}
	subject := m.From + "/" + m.Asset
	es, err := v.AccountEntries(m.From, b.Time.Add(-c.Window.D()))
	if err != nil {
		return err
	}
	outgoing := func(x *Entry) bool {
		return x.Kind == KindTransfer && !x.Refund && x.From == m.From && x.Asset == m.Asset
	}
	// Counted as the window grows (a busy account's window is long, and
	// it is read at each of its movements); the transactions are listed
	// only for an alert.
	f := v.fold(foldKey{rule: RuleVelocity, addr: m.From, asset: m.Asset, since: b.Time.Add(-c.Window.D()).UnixNano()}, es)
	for x := range es.From(f.upto) {
		if outgoing(x) {
			f.n++
			f.sum.add(x.Amount)
			f.keep(x, false)
		}
	}
	f.folded(es)
	n, sum := f.n, f.sum.sat()
	maxAmt, hasAmt := c.MaxAmount[m.Asset]
	var why string
	switch {
	case c.MaxCount > 0 && n > c.MaxCount:
		why = fmt.Sprintf("%d outgoing transfers of %s within %s exceed the limit of %d", n, m.Asset, c.Window.D(), c.MaxCount)
	case hasAmt && sum > maxAmt:
		why = fmt.Sprintf("outgoing %s total %d within %s exceeds the limit of %d", m.Asset, sum, c.Window.D(), maxAmt)
	default:
		return nil
	}
	if ok, err := cooled(v, RuleVelocity, subject, b.Time, c.Window.D()); err != nil || !ok {
		return err
	}
	var out []Entry
	for x := range es.From(0) {
		if outgoing(x) {
			out = append(out, *x)
		}
	}
	return v.Raise(Alert{Rule: RuleVelocity, Severity: c.Severity, Subject: subject, TxIDs: txIDs(out), Reason: m.From + ": " + why})
}

// fastInOut: an account that received at least min_amount within the
// window and sent at least percent of it on again. Only what leaves beyond
// the balance the account held before the window's first receipt counts
// (net_of_opening): a settlement account that holds a large balance and
// pays all day is not passing through what it receives. With a baseline,
// an outflow no larger than baseline_factor × the account's usual outflow
// per window is its ordinary business, too.
//
// A PvP refund is the payer's own money coming back from the trade's
// escrow: it is no receipt of the payer (it neither counts in nor opens
// the window) and no payment out of the escrow; and the funding it
// returns (the payer's transfer into that escrow, of that ledger and
// asset) is no longer money passed on, once the refund is in the window.
func (e *Engine) fastInOut(v RuleView, b *Block, m Entry) error {
	c := &e.c.FastInOut
	if !enabled(c.Enabled) || m.Kind != KindTransfer || m.Refund {
		return nil
	}
	acct := m.From
	es, err := v.AccountEntries(acct, b.Time.Add(-c.Window.D()))
	if err != nil {
		return err
	}
	// Folded as the window grows; from its start again when a refund
	// turns up, which takes its escrow's funding out of what was passed on.
	f := v.fold(foldKey{rule: RuleFastInOut, addr: acct, asset: m.Asset, ledger: m.Ledger, since: b.Time.Add(-c.Window.D()).UnixNano()}, es)
	// One reading of the new entries: each is folded with the escrows
	// known so far, which are all of them unless a refund comes later.
	for x := range es.From(f.upto) {
		f.escrows = addRefunded(f.escrows, x, acct, m)
		if len(f.escrows) == f.returned && f.pass.add(x, acct, m, f.escrows) {
			f.keep(x, x.To == acct)
		}
	}
	f.folded(es)
	if len(f.escrows) != f.returned {
		f.pass, f.returned = passing{}, len(f.escrows)
		for x := range es.From(0) {
			f.pass.add(x, acct, m, f.escrows)
		}
		f.noCarry = true // what counts depends on the refunds in the window
	}
	in, out, opening := f.pass.in.sat(), f.pass.out.sat(), f.pass.opening
	fast := out
	if c.NetOfOpening == nil || *c.NetOfOpening {
		fast = out - min(out, opening)
	}
	minIn := c.MinAmount[m.Asset]
	if in == 0 || in < minIn || float64(fast)*100 < c.Percent*float64(in) {
		return nil
	}
	subject := acct + "/" + m.Asset
	if ok, err := cooled(v, RuleFastInOut, subject, b.Time, c.Window.D()); err != nil || !ok {
		return err
	}
	usual := ""
	if c.Baseline > 0 {
		avg, err := e.usualOutflow(v, b, m, acct)
		if err != nil {
			return err
		}
		if float64(out) <= c.BaselineFactor*avg {
			return nil
		}
		usual = fmt.Sprintf("; its usual outflow is %.0f per %s (%s before)", avg, c.Window.D(), c.Baseline.D())
	}
	held := ""
	if fast != out {
		held = fmt.Sprintf(" beyond the %d it held before", opening)
	}
	var involved []Entry
	var again passing
	for x := range es.From(0) {
		if again.add(x, acct, m, f.escrows) {
			involved = append(involved, *x)
		}
	}
	return v.Raise(Alert{Rule: RuleFastInOut, Severity: c.Severity, Subject: subject, TxIDs: txIDs(involved),
		Reason: fmt.Sprintf("%s received %d %s and sent %d on%s (%.0f%%) within %s%s", acct, in, m.Asset, fast, held, float64(fast)*100/float64(in), c.Window.D(), usual)})
}

// passing is fastInOut's reading of an account's window, a left fold:
// what it received in m's ledger and asset, what left after the first
// receipt, and the balance it held before that receipt.
type passing struct {
	in, out wide
	opening uint64
	seenIn  bool
}

// add folds x in and says whether it counted. What acct paid into an
// escrow that refunded it (returned) was not passed on.
func (p *passing) add(x *Entry, acct string, m Entry, returned map[string]bool) bool {
	if x.Asset != m.Asset || x.Ledger != m.Ledger || x.Refund || (x.From == acct && returned[x.To]) {
		return false
	}
	switch {
	case x.To == acct && x.From != acct && (x.Kind == KindTransfer || x.Kind == KindIssue):
		if !p.seenIn && x.ToBalance >= x.Amount {
			// The balance after the receipt is the state machine's (its
			// event); before it, the account held the rest. An entry
			// indexed without balances (ToBalance < Amount) counts as an
			// empty account.
			p.opening = x.ToBalance - x.Amount
		}
		p.in.add(x.Amount)
		p.seenIn = true
	case x.From == acct && x.Kind == KindTransfer && x.To != acct && p.seenIn:
		p.out.add(x.Amount)
	default:
		return false
	}
	return true
}

// foldKey names a rule's running reading of one account's window in one
// block (RuleView.fold).
type foldKey struct {
	rule, addr, asset, ledger string
	since                     int64 // UnixNano
}

// windowFold is a rule's running reading of a window. Within a block a
// window only grows (AccountEntries appends the block's entries), so each
// movement folds in only the entries after upto; a busy account's rules
// then cost what its new entries cost, not its whole window at each of
// its movements. It is carried to the next block (slide.go), so that a
// block costs what its own entries cost (BenchmarkHotAccounts).
type windowFold struct {
	upto int      // es.From(upto) is not folded yet
	last entryPos // the last entry folded (read, counted or not)
	// The entries counted, oldest first from head, to subtract when the
	// window moves past them (keep); noCarry: not carried to the next
	// block.
	items   []foldItem
	head    int
	noCarry bool
	// velocity: the outgoing transfers counted and their sum.
	n   int
	sum wide
	// fastInOut: the escrows that refunded the account, the fold of the
	// entries up to upto, and how many escrows it was folded with.
	escrows  map[string]bool
	pass     passing
	returned int
}

// keep records a counted entry, for the next block's fold to subtract.
func (f *windowFold) keep(x *Entry, receipt bool) {
	f.items = append(f.items, foldItem{at: x.Time.UnixNano(), amount: x.Amount, balance: x.ToBalance, receipt: receipt})
}

// folded records that the fold has read es to its end.
func (f *windowFold) folded(es Window) {
	f.upto = es.Len()
	if x := es.last(); x != nil {
		f.last = posOf(x)
	}
}

// usualOutflow is what acct sent in m's asset per window, on average, over
// the baseline before the window.
func (e *Engine) usualOutflow(v RuleView, b *Block, m Entry, acct string) (float64, error) {
	c := &e.c.FastInOut
	start := b.Time.Add(-c.Window.D())
	es, err := v.AccountEntries(acct, start.Add(-c.Baseline.D()))
	if err != nil {
		return 0, err
	}
	returned := refundedEscrows(es, acct, m)
	var sum uint64
	for x := range es.From(0) {
		if !x.Time.Before(start) {
			break
		}
		if x.From == acct && x.To != acct && x.Kind == KindTransfer && !x.Refund && !returned[x.To] && x.Asset == m.Asset && x.Ledger == m.Ledger {
			sum = satAdd(sum, x.Amount)
		}
	}
	return float64(sum) * float64(c.Window) / float64(c.Baseline), nil
}

// refundedEscrows are the PvP escrows that refunded acct in m's ledger
// and asset among es: what acct paid into them came back. An escrow is
// one trade's leg on one ledger, funded once by that leg's payer, so the
// refund returns exactly that funding. The set is only looked up, never
// ranged over.
func refundedEscrows(es Window, acct string, m Entry) map[string]bool {
	var r map[string]bool
	for x := range es.From(0) {
		r = addRefunded(r, x, acct, m)
	}
	return r
}

// addRefunded adds x's escrow to r if x refunded acct in m's ledger and
// asset.
func addRefunded(r map[string]bool, x *Entry, acct string, m Entry) map[string]bool {
	if x.Refund && x.To == acct && x.From != acct && x.Asset == m.Asset && x.Ledger == m.Ledger {
		if r == nil {
			r = map[string]bool{}
		}
		r[x.From] = true
	}
	return r
}

// crossBorder sums, per calendar day in the configured time zone, what
// each organisation's accounts send to another organisation's accounts.
//
// For a payment-versus-payment trade it reads the trade, not the
// movements: those go into and out of escrows, which belong to no
// organisation, so that funding a leg is no flow and its settlement would
// seem to come from nowhere. When a trade settles, each leg counts once,
// from its payer's organisation to its receiver's, in its own asset, and
// an alert names the trade, both legs and their rate; funding and refunds
// count nothing (the money stays with, or returns to, its payer).
//
// For any other transaction each transfer counts: the sender's
// organisation is the jinlian_tx event's org; the receiver's is the one
// the index learned for its address (genesis identities,
// register_identity events, or the org it signed with as a sender).
// Transfers to an address of unknown organisation count as "unknown".
func (e *Engine) crossBorder(v RuleView, b *Block, tx *Tx, entries []Entry) error {
	if !enabled(e.c.CrossBorder.Enabled) {
		return nil
	}
	if p := tx.Pvp; p != nil {
		if p.Status != PvpSettled {
			return nil
		}
		legs := []struct {
			payer, receiver, ledger, asset, name string
			amount                               uint64
		}{
			{p.Proposer, p.ReceiverB, p.LedgerA, p.AssetA, "A", p.AmountA},
			{p.Counterparty, p.ReceiverA, p.LedgerB, p.AssetB, "B", p.AmountB},
		}
		for i, l := range legs {
			from, err := v.OrgOf(l.payer)
			if err != nil {
				return err
			}
			to, err := v.OrgOf(l.receiver)
			if err != nil {
				return err
			}
			note := fmt.Sprintf("; PvP trade %s leg %s on %s (%d %s on %s against %d %s on %s, rate %s %s per %s)",
				p.Trade, l.name, l.ledger, p.AmountA, p.AssetA, p.LedgerA, p.AmountB, p.AssetB, p.LedgerB, p.Rate, p.AssetB, p.AssetA)
			// A leg counts as a movement of the trade's transaction (its
			// event number the leg's), to be listed in the day's flow.
			leg := Entry{TxID: tx.ID, Height: b.Height, Index: tx.Index, Event: i, Ledger: l.ledger, Asset: l.asset, Amount: l.amount}
			if err := e.addFlow(v, b, leg, from, to, note); err != nil {
				return err
			}
		}
		return nil
	}
	for _, m := range entries {
		if m.Kind != KindTransfer {
			continue
		}
		if err := e.addFlow(v, b, m, m.FromOrg, m.ToOrg, ""); err != nil {
			return err
		}
	}
	return nil
}

// addFlow adds movement m to the day's flow from one organisation to
// another and alerts, once per pair, asset and day, when the total passes
// the pair's limit, listing every transaction of the flow; note ends the
// alert's reason.
func (e *Engine) addFlow(v RuleView, b *Block, m Entry, from, to, note string) error {
	c := &e.c.CrossBorder
	asset := m.Asset
	if to == "" {
		to = "unknown"
	}
	if from == "" || from == to {
		return nil
	}
	day := b.Time.In(e.loc).Format("2006-01-02")
	total, err := v.AddOrgFlow(day, from, to, m)
	if err != nil {
		return err
	}
	limit, ok := c.Default[asset]
	for _, l := range c.Limits {
		if l.From == from && l.To == to && l.Asset == asset {
			limit, ok = l.Amount, true
		}
	}
	if !ok || total <= limit {
		return nil
	}
	subject := from + "->" + to + "/" + asset + "/" + day
	if _, done, err := v.LastAlert(RuleCrossBorder, subject); err != nil || done {
		return err
	}
	// Every transaction that makes up the total, up to MaxAlertTxIDs.
	ids, n, err := v.OrgFlowTxIDs(day, from, to, asset, MaxAlertTxIDs)
	if err != nil {
		return err
	}
	more := ""
	if n > len(ids) {
		more = fmt.Sprintf("; the first %d listed", len(ids))
	}
	return v.Raise(Alert{Rule: RuleCrossBorder, Severity: c.Severity, Subject: subject, TxIDs: ids,
		Reason: fmt.Sprintf("%s sent %d %s to %s on %s (%s) in %s, over the daily limit of %d%s%s", from, total, asset, to, day, e.loc, plural(n, "transaction"), limit, more, note)})
}

// sanctioned alerts on any committed transaction that names a listed
// account, once per transaction and listed account. The app refuses
// transfers, issues and burns naming one in the block, after CheckTx let
// them in if nothing else was wrong (ADR 0007 §4), so a refused one is an
// attempt (sanctions_attempt: who, to whom, what, at which height); an
// executed one (a message the list does not stop) is "sanctioned".
func (e *Engine) sanctioned(v RuleView, b *Block, tx *Tx) error {
	c := &e.c.Sanctions
	if !enabled(c.Enabled) {
		return nil
	}
	parties := append([]string{}, tx.Parties...)
	sort.Strings(parties)
	for i, p := range parties {
		if p == "" || (i > 0 && parties[i-1] == p) {
			continue
		}
		s, err := v.Sanctioned(p)
		if err != nil {
			return err
		}
		if s == nil {
			continue
		}
		a := Alert{Rule: RuleSanctioned, Severity: c.Severity, Subject: p, TxIDs: []string{tx.ID},
			Reason: fmt.Sprintf("%s tx %s by %s names %s, on the sanctions list as entry %s%s (executed)", tx.Type, tx.ID, tx.Sender, p, s.Entry, listSource(s))}
		if !tx.OK() {
			target := "-"
			if len(tx.Parties) > 1 {
				target = tx.Parties[1]
			}
			what := tx.Type
			if tx.Asset != "" {
				what = fmt.Sprintf("%s of %d %s on %s", tx.Type, tx.Amount, tx.Asset, tx.Ledger)
			}
			a.Rule = RuleSanctionsAttempt
			a.Reason = fmt.Sprintf("attempted %s from %s to %s at height %d, refused (code %d %s): %s is on the sanctions list as entry %s%s",
				what, tx.Sender, target, b.Height, tx.Code, tx.Codespace, p, s.Entry, listSource(s))
		}
		if err := v.Raise(a); err != nil {
			return err
		}
	}
	return nil
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func listSource(s *SanctionChange) string {
	if s.Source == "" {
		return ""
	}
	return " of " + s.Source
}

// OnSanction reports, when an account is listed, what it moved within the
// lookback window before.
func (e *Engine) OnSanction(v RuleView, b *Block, tx *Tx, s SanctionChange) error {
	c := &e.c.Sanctions
	if !enabled(c.Enabled) || s.Removed || c.Lookback <= 0 {
		return nil
	}
	es, err := v.AccountEntries(s.Account, b.Time.Add(-c.Lookback.D()))
	if err != nil || es.Len() == 0 {
		return err
	}
	counter := map[string]bool{}
	var names []string
	for x := range es.From(0) {
		for _, p := range []string{x.From, x.To} {
			if p != "" && p != s.Account && !counter[p] {
				counter[p] = true
				names = append(names, short(p))
			}
		}
	}
	return v.Raise(Alert{Rule: RuleSanctioned, Severity: c.Severity, Subject: s.Account, TxIDs: txIDs(es.Entries()),
		Reason: fmt.Sprintf("%s was listed as entry %s by tx %s; it made %d movements within %s before, with %d counterparties (%s)",
			s.Account, s.Entry, tx.ID, es.Len(), c.Lookback.D(), len(names), strings.Join(names, ", "))})
}
