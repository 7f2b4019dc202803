package regulator

import (
	"errors"
	"fmt"
	"os"
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
		return nil, err
	}
	return &c, c.Validate()
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
	if enabled(c.Velocity.Enabled) && (c.Velocity.Window <= 0 || (c.Velocity.MaxCount <= 0 && len(c.Velocity.MaxAmount) == 0)) {
		return fmt.Errorf("velocity: want window > 0 and max_count or max_amount (or enabled = false)")
	}
	if enabled(c.FastInOut.Enabled) && (c.FastInOut.Window <= 0 || c.FastInOut.Percent <= 0 || c.FastInOut.Percent > 100) {
		return fmt.Errorf("fast_in_fast_out: want window > 0 and 0 < percent ≤ 100 (or enabled = false)")
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

func (e *Engine) large(v RuleView, b *Block, m Entry) error {
	c := &e.c.Large
	t, ok, err := e.threshold(v, m.Asset)
	if err != nil {
		return err
	}
	if !enabled(c.Enabled) || !ok || m.Kind != KindTransfer || m.Amount < t {
		return nil
	}
	return v.Raise(Alert{Rule: RuleLarge, Severity: c.Severity, Subject: m.From, TxIDs: []string{m.TxID},
		Reason: fmt.Sprintf("transfer of %d %s on %s from %s to %s reaches the large-amount threshold %d", m.Amount, m.Asset, m.Ledger, m.From, m.To, t)})
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
	below := func(x Entry) bool {
		return x.Kind == KindTransfer && x.From == m.From && x.Asset == m.Asset && x.Amount >= lo && x.Amount < t
	}
	if !below(m) {
		return nil
	}
	subject := m.From + "/" + m.Asset
	if ok, err := cooled(v, RuleStructuring, subject, b.Time, c.Window.D()); err != nil || !ok {
		return err
	}
	es, err := v.AccountEntries(m.From, b.Time.Add(-c.Window.D()))
	if err != nil {
		return err
	}
	var hits []Entry
	for _, x := range es {
		if below(x) {
			hits = append(hits, x)
		}
	}
	if len(hits) < c.Count {
		return nil
	}
	var sum uint64
	for _, x := range hits {
		sum = satAdd(sum, x.Amount)
	}
	return v.Raise(Alert{Rule: RuleStructuring, Severity: c.Severity, Subject: subject, TxIDs: txIDs(hits),
		Reason: fmt.Sprintf("%s sent %d transfers of %s within %s, each just below the %d threshold (%d..%d), %d in total",
			m.From, len(hits), m.Asset, c.Window.D(), t, lo, t-1, sum)})
}

func (e *Engine) velocity(v RuleView, b *Block, m Entry) error {
	c := &e.c.Velocity
	if !enabled(c.Enabled) || m.Kind != KindTransfer {
		return nil
	}
	subject := m.From + "/" + m.Asset
	es, err := v.AccountEntries(m.From, b.Time.Add(-c.Window.D()))
	if err != nil {
		return err
	}
	var out []Entry
	var sum uint64
	for _, x := range es {
		if x.Kind == KindTransfer && x.From == m.From && x.Asset == m.Asset {
			out = append(out, x)
			sum = satAdd(sum, x.Amount)
		}
	}
	maxAmt, hasAmt := c.MaxAmount[m.Asset]
	var why string
	switch {
	case c.MaxCount > 0 && len(out) > c.MaxCount:
		why = fmt.Sprintf("%d outgoing transfers of %s within %s exceed the limit of %d", len(out), m.Asset, c.Window.D(), c.MaxCount)
	case hasAmt && sum > maxAmt:
		why = fmt.Sprintf("outgoing %s total %d within %s exceeds the limit of %d", m.Asset, sum, c.Window.D(), maxAmt)
	default:
		return nil
	}
	if ok, err := cooled(v, RuleVelocity, subject, b.Time, c.Window.D()); err != nil || !ok {
		return err
	}
	return v.Raise(Alert{Rule: RuleVelocity, Severity: c.Severity, Subject: subject, TxIDs: txIDs(out), Reason: m.From + ": " + why})
}

func (e *Engine) fastInOut(v RuleView, b *Block, m Entry) error {
	c := &e.c.FastInOut
	if !enabled(c.Enabled) || m.Kind != KindTransfer {
		return nil
	}
	acct := m.From
	es, err := v.AccountEntries(acct, b.Time.Add(-c.Window.D()))
	if err != nil {
		return err
	}
	// Funds received in the window, then what left after the first receipt.
	var in, out uint64
	var involved []Entry
	seenIn := false
	for _, x := range es {
		if x.Asset != m.Asset || x.Ledger != m.Ledger {
			continue
		}
		switch {
		case x.To == acct && x.From != acct && (x.Kind == KindTransfer || x.Kind == KindIssue):
			in = satAdd(in, x.Amount)
			seenIn = true
			involved = append(involved, x)
		case x.From == acct && x.Kind == KindTransfer && x.To != acct && seenIn:
			out = satAdd(out, x.Amount)
			involved = append(involved, x)
		}
	}
	minIn := c.MinAmount[m.Asset]
	if in == 0 || in < minIn || float64(out)*100 < c.Percent*float64(in) {
		return nil
	}
	subject := acct + "/" + m.Asset
	if ok, err := cooled(v, RuleFastInOut, subject, b.Time, c.Window.D()); err != nil || !ok {
		return err
	}
	return v.Raise(Alert{Rule: RuleFastInOut, Severity: c.Severity, Subject: subject, TxIDs: txIDs(involved),
		Reason: fmt.Sprintf("%s received %d %s and sent %d on (%.0f%%) within %s", acct, in, m.Asset, out, float64(out)*100/float64(in), c.Window.D())})
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
		for _, l := range legs {
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
			if err := e.addFlow(v, b, tx.ID, from, to, l.asset, l.amount, note); err != nil {
				return err
			}
		}
		return nil
	}
	for _, m := range entries {
		if m.Kind != KindTransfer {
			continue
		}
		if err := e.addFlow(v, b, m.TxID, m.FromOrg, m.ToOrg, m.Asset, m.Amount, ""); err != nil {
			return err
		}
	}
	return nil
}

// addFlow adds amount of asset to the day's flow from one organisation to
// another and alerts, once per pair, asset and day, when the total passes
// the pair's limit; note ends the alert's reason.
func (e *Engine) addFlow(v RuleView, b *Block, txID, from, to, asset string, amount uint64, note string) error {
	c := &e.c.CrossBorder
	if to == "" {
		to = "unknown"
	}
	if from == "" || from == to {
		return nil
	}
	day := b.Time.In(e.loc).Format("2006-01-02")
	total, err := v.AddOrgFlow(day, from, to, asset, amount)
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
	return v.Raise(Alert{Rule: RuleCrossBorder, Severity: c.Severity, Subject: subject, TxIDs: []string{txID},
		Reason: fmt.Sprintf("%s sent %d %s to %s on %s (%s), over the daily limit of %d%s", from, total, asset, to, day, e.loc, limit, note)})
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
	if err != nil || len(es) == 0 {
		return err
	}
	counter := map[string]bool{}
	var names []string
	for _, x := range es {
		for _, p := range []string{x.From, x.To} {
			if p != "" && p != s.Account && !counter[p] {
				counter[p] = true
				names = append(names, short(p))
			}
		}
	}
	return v.Raise(Alert{Rule: RuleSanctioned, Severity: c.Severity, Subject: s.Account, TxIDs: txIDs(es),
		Reason: fmt.Sprintf("%s was listed as entry %s by tx %s; it made %d movements within %s before, with %d counterparties (%s)",
			s.Account, s.Entry, tx.ID, len(es), c.Lookback.D(), len(names), strings.Join(names, ", "))})
}
