package regulator

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
)

// initGenesis reads the source's genesis and indexes it into ix.
func initGenesis(ctx context.Context, src BlockSource, ix *Index) (Genesis, error) {
	gen, err := src.Genesis(ctx)
	if err != nil {
		return Genesis{}, fmt.Errorf("regulator: genesis: %w", err)
	}
	g, err := GenesisFromDoc(gen.Genesis)
	if err != nil {
		return g, err
	}
	return g, ix.InitGenesis(g)
}

// indexBlocks reads blocks from..to from src and indexes each into ix
// under rules, in order, handing fn each block's alerts. It is how the
// observer follows the chain, rebuilds a deleted index and replays a
// what-if; it stops with ctx's error when ctx ends.
func indexBlocks(ctx context.Context, src BlockSource, ix *Index, rules Rules, from, to int64, fn func(b *Block, alerts []Alert)) error {
	for h := from; h <= to; h++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		b, err := FetchBlock(ctx, src, h)
		if err != nil {
			return err
		}
		alerts, err := ix.ApplyBlock(b, rules)
		if err != nil {
			return err
		}
		fn(b, alerts)
	}
	return nil
}

// WhatIfRequest is the body of POST /v1/whatif.
type WhatIfRequest struct {
	// Rules is a whole rule file (TOML), as the observer's.
	Rules string `json:"rules"`
	// From is the first height whose alerts are compared (0: 1). The
	// replay always starts at genesis, so windows and daily totals that
	// began before From count as they do live.
	From int64 `json:"from,omitempty"`
	// To is the last height replayed (0: the last indexed height).
	To int64 `json:"to,omitempty"`
	// Limit bounds the alerts listed per change (0 or more than
	// MaxPageSize: MaxPageSize); the counts are always complete.
	Limit int `json:"limit,omitempty"`
}

// What-if changes.
const (
	WhatIfNew  = "new"  // the rules would raise it; the live index has no such alert
	WhatIfGone = "gone" // live, but the rules would not raise it
	WhatIfSame = "same" // both
)

// WhatIfAlert is one alert of a what-if comparison: for new and same, the
// alert the replay raised (its id is the replay's); for gone, the live one.
type WhatIfAlert struct {
	Change string `json:"change"`
	// LiveID and LiveStatus are the live alert's (gone, same).
	LiveID     string `json:"live_id,omitempty"`
	LiveStatus string `json:"live_status,omitempty"`
	Alert
}

// WhatIf is the answer of a what-if replay. Two alerts are the same when
// they agree on rule, height, subject and transactions (not on the
// reason, which names thresholds, nor on the id, which numbers the
// block's alerts).
type WhatIf struct {
	// RulesSM3 is the SM3 hash (hex) of the rule file replayed, so that an
	// answer (and the observer's log line of it) names the rules it is of.
	RulesSM3 string `json:"rules_sm3"`
	From     int64  `json:"from"`
	To       int64  `json:"to"`
	Raised   int    `json:"raised"` // alerts the rules raise at heights From..To
	Live     int    `json:"live"`   // live alerts at those heights
	New      int    `json:"new"`
	Gone     int    `json:"gone"`
	Same     int    `json:"same"`
	// Alerts are the replay's (new and same) in raise order, then the
	// gone ones in live order, at most Limit of each change.
	Alerts    []WhatIfAlert `json:"alerts"`
	Truncated bool          `json:"truncated,omitempty"`
}

// ErrWhatIfBusy is a what-if asked for while another runs (503).
var ErrWhatIfBusy = errors.New("a what-if replay is already running on this observer; retry when it is done")

func alertKey(a *Alert) string {
	return a.Rule + "\x00" + strconv.FormatInt(a.Height, 10) + "\x00" + a.Subject + "\x00" + strings.Join(a.TxIDs, "\x00")
}

// ReplayWhatIf replays src's chain from genesis to req.To under rules
// into a separate index in dir ("" = in memory; a directory is removed
// afterwards), and compares the alerts it raises at heights
// req.From..req.To with those of live. It writes nothing to live: not its
// index, acknowledgements or audit log.
func ReplayWhatIf(ctx context.Context, src BlockSource, live *Index, rules *RulesConfig, req WhatIfRequest, dir string) (*WhatIf, error) {
	eng, err := NewEngine(rules)
	if err != nil {
		return nil, badf("rules: %v", err)
	}
	last, err := live.LastHeight()
	if err != nil {
		return nil, err
	}
	from, to := req.From, req.To
	if from == 0 {
		from = 1
	}
	if to == 0 {
		to = last
	}
	if from < 1 || to > last || from > to {
		return nil, badf("what-if heights %d..%d: the index holds heights 1..%d (from ≤ to)", from, to, last)
	}
	limit := req.Limit
	if limit <= 0 || limit > MaxPageSize {
		limit = MaxPageSize
	}
	if dir != "" {
		tmp, err := os.MkdirTemp(dir, "jinlian-whatif-")
		if err != nil {
			return nil, fmt.Errorf("what-if index: %w", err)
		}
		defer os.RemoveAll(tmp)
		dir = filepath.Join(tmp, "whatif.badger")
	}
	ix, err := OpenIndex(dir)
	if err != nil {
		return nil, err
	}
	defer ix.Close()
	if _, err := initGenesis(ctx, src, ix); err != nil {
		return nil, err
	}
	var raised []Alert
	err = indexBlocks(ctx, src, ix, eng, 1, to, func(b *Block, alerts []Alert) {
		if b.Height >= from {
			raised = append(raised, alerts...)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("what-if replay: %w", err)
	}
	var liveAlerts []Alert
	for cursor := ""; ; {
		page, err := live.Alerts(AlertFilter{}, cursor, MaxPageSize)
		if err != nil {
			return nil, err
		}
		for _, a := range page.Items {
			if a.Height >= from && a.Height <= to {
				liveAlerts = append(liveAlerts, a)
			}
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	out := &WhatIf{From: from, To: to, Raised: len(raised), Live: len(liveAlerts), Alerts: []WhatIfAlert{}}
	byKey := map[string][]int{} // live alerts by key, in live order
	for i := range liveAlerts {
		k := alertKey(&liveAlerts[i])
		byKey[k] = append(byKey[k], i)
	}
	matched := make([]bool, len(liveAlerts))
	listed := map[string]int{}
	add := func(w WhatIfAlert) {
		if listed[w.Change] < limit {
			out.Alerts = append(out.Alerts, w)
		} else {
			out.Truncated = true
		}
		listed[w.Change]++
	}
	for _, a := range raised {
		w := WhatIfAlert{Change: WhatIfNew, Alert: a}
		k := alertKey(&a)
		if is := byKey[k]; len(is) > 0 {
			l := liveAlerts[is[0]]
			byKey[k] = is[1:]
			matched[is[0]] = true
			w.Change, w.LiveID, w.LiveStatus = WhatIfSame, l.ID, l.Status
			out.Same++
		} else {
			out.New++
		}
		add(w)
	}
	for i, l := range liveAlerts {
		if !matched[i] {
			out.Gone++
			add(WhatIfAlert{Change: WhatIfGone, LiveID: l.ID, LiveStatus: l.Status, Alert: l})
		}
	}
	return out, nil
}

// WhatIf replays the chain under req's rules beside the live index (one
// replay at a time): see ReplayWhatIf. The replay's index lives in the
// system's temporary directory, or in memory for an in-memory observer.
func (s *Service) WhatIf(ctx context.Context, req WhatIfRequest) (*WhatIf, error) {
	c, err := ParseRules([]byte(req.Rules))
	if err != nil {
		return nil, badf("rules: %v", err)
	}
	if !s.whatIfMu.TryLock() {
		return nil, ErrWhatIfBusy
	}
	defer s.whatIfMu.Unlock()
	dir := ""
	if s.cfg.IndexDir != "" {
		dir = os.TempDir()
	}
	out, err := ReplayWhatIf(ctx, s.cfg.Source, s.ix, c, req, dir)
	if err != nil {
		return nil, err
	}
	h := gmcrypto.SM3([]byte(req.Rules))
	out.RulesSM3 = hex.EncodeToString(h[:])
	s.log.Info("what-if replay", "rules_sm3", out.RulesSM3, "from", out.From, "to", out.To, "new", out.New, "gone", out.Gone, "same", out.Same)
	return out, nil
}
