package bench

import (
	"slices"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	cases := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty input gives zero", nil, 50, 0},
		{"one sample is every percentile", ms(7), 99, 7 * time.Millisecond},
		{"median of an odd count is the middle", ms(1, 2, 3, 4, 5), 50, 3 * time.Millisecond},
		{"median of an even count is the lower middle (nearest rank)", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p99 of 100 samples is the 99th", hundred, 99, 99 * time.Millisecond},
		{"p100 is the maximum", hundred, 100, 100 * time.Millisecond},
		{"p99 of 10 samples rounds up to the maximum", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
		{"a tiny p clamps to the minimum", ms(4, 5), 0.001, 4 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentile(tc.sorted, tc.p); got != tc.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tc.sorted, tc.p, got, tc.want)
			}
		})
	}
}

func TestLatencyStatsSorts(t *testing.T) {
	lat := []time.Duration{30, 10, 20}
	p50, p99, maxLat := latencyStats(lat)
	if p50 != 20 || p99 != 30 || maxLat != 30 {
		t.Errorf("latencyStats = %v, %v, %v; want 20, 30, 30", p50, p99, maxLat)
	}
}

func TestThroughputWindow(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	cases := []struct {
		name       string
		blocks     []blockSample
		wantTxs    int
		wantWindow time.Duration
		wantRate   float64
	}{
		{name: "no blocks: no window", blocks: nil},
		{name: "one loaded block: no window", blocks: []blockSample{{1, at(0), 500}}},
		{
			name:       "first loaded block opens the window and is not counted",
			blocks:     []blockSample{{1, at(0), 100}, {2, at(500), 300}, {3, at(1000), 200}},
			wantTxs:    500,
			wantWindow: time.Second,
			wantRate:   500,
		},
		{
			name: "empty blocks before and after the load are outside the window",
			blocks: []blockSample{
				{1, at(0), 0}, {2, at(300), 50}, {3, at(800), 400}, {4, at(1300), 600}, {5, at(1800), 0},
			},
			wantTxs:    1000,
			wantWindow: time.Second,
			wantRate:   1000,
		},
		{
			name:       "an empty block inside the window still counts as time",
			blocks:     []blockSample{{1, at(0), 10}, {2, at(1000), 0}, {3, at(2000), 400}},
			wantTxs:    400,
			wantWindow: 2 * time.Second,
			wantRate:   200,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			txs, window, rate := throughput(tc.blocks)
			if txs != tc.wantTxs || window != tc.wantWindow || rate != tc.wantRate {
				t.Errorf("throughput = %d txs over %v = %.1f/s; want %d over %v = %.1f/s",
					txs, window, rate, tc.wantTxs, tc.wantWindow, tc.wantRate)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	cases := []struct {
		name string
		xs   []float64
		want float64
	}{
		{"empty gives zero", nil, 0},
		{"odd count: the middle one", []float64{3, 1, 2}, 2},
		{"even count: mean of the middle two", []float64{4, 1, 3, 2}, 2.5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := append([]float64(nil), tc.xs...)
			if got := median(tc.xs); got != tc.want {
				t.Errorf("median(%v) = %v, want %v", tc.xs, got, tc.want)
			}
			for i := range in {
				if in[i] != tc.xs[i] {
					t.Fatalf("median reordered its input")
				}
			}
		})
	}
}

func TestSustained(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	cases := []struct {
		name     string
		blocks   []blockSample
		loadEnd  time.Time
		wantTxs  int
		wantSpan time.Duration
		wantRate float64
	}{
		{"no load committed is 0", []blockSample{{1, at(500), 0}}, at(1000), 0, 0, 0},
		{
			name:     "counts the first block's transactions and the wait for it",
			blocks:   []blockSample{{1, at(1000), 100}, {2, at(2000), 300}},
			loadEnd:  at(1500),
			wantTxs:  400,
			wantSpan: 2 * time.Second,
			wantRate: 200,
		},
		{
			name: "a run that waited long for its blocks shows a low rate",
			// throughput's window (9 s to 10 s) would say 1,000/s.
			blocks:   []blockSample{{1, at(9000), 100}, {2, at(10000), 1000}},
			loadEnd:  at(8000),
			wantTxs:  1100,
			wantSpan: 10 * time.Second,
			wantRate: 110,
		},
		{
			name: "a chain that halts while load is offered is measured to the load's end",
			// to its last commit it would be 1,000/s.
			blocks:   []blockSample{{1, at(1000), 1000}, {2, at(2000), 1000}},
			loadEnd:  at(8000),
			wantTxs:  2000,
			wantSpan: 8 * time.Second,
			wantRate: 250,
		},
		{
			name:     "empty blocks after the last load do not count",
			blocks:   []blockSample{{1, at(500), 0}, {2, at(4000), 2000}, {3, at(4100), 0}},
			loadEnd:  at(3000),
			wantTxs:  2000,
			wantSpan: 4 * time.Second,
			wantRate: 500,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			txs, span, rate := sustained(tc.blocks, t0, tc.loadEnd)
			if txs != tc.wantTxs || span != tc.wantSpan || rate != tc.wantRate {
				t.Errorf("sustained = %d txs over %v = %.1f/s; want %d over %v = %.1f/s",
					txs, span, rate, tc.wantTxs, tc.wantSpan, tc.wantRate)
			}
		})
	}
}

func TestLongestStall(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	steady := []blockSample{{1, at(400), 100}, {2, at(600), 0}, {3, at(900), 100}, {4, at(1100), 100}}
	cases := []struct {
		name    string
		blocks  []blockSample
		loadEnd time.Time
		want    time.Duration
	}{
		{"the wait for the first block counts", steady[:1], at(400), 400 * time.Millisecond},
		{"empty blocks do not end a stall", steady, at(1000), 500 * time.Millisecond},
		{"no commit until the load's end is a stall", steady, at(9000), 7900 * time.Millisecond},
		{"the drain after the load does not count", steady, at(700), 500 * time.Millisecond},
		{"nothing committed: the whole load", nil, at(8000), 8 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := longestStall(tc.blocks, t0, tc.loadEnd); got != tc.want {
				t.Errorf("longestStall = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestTxIndexOf: the index each app's nodes keep for each --tx-index,
// with and without --api, as Serve configures them (ADR 0028 and 0029:
// jinlian's validators keep none unless given kv, API or not).
func TestTxIndexOf(t *testing.T) {
	for _, api := range []bool{false, true} {
		for _, c := range []struct{ app, flag, want string }{
			{"kvstore", "", "kv"}, {"kvstore", "kv", "kv"}, {"kvstore", "null", "none"},
			{"jinlian", "", "none"}, {"jinlian", "kv", "lean"}, {"jinlian", "null", "none"},
			{"jinlian-shared", "", "none"},
		} {
			if got := txIndexOf(c.app, c.flag, api); got != c.want {
				t.Errorf("%s --tx-index %q --api=%v: %q, want %q", c.app, c.flag, api, got, c.want)
			}
		}
	}
}

// TestLedgerEnvOf: the ledger settings a run's jinlian nodes took from the
// environment are named under its row, sorted; kvstore's rows name none.
func TestLedgerEnvOf(t *testing.T) {
	env := []string{"PATH=/bin", "JINLIAN_LEDGER_VALUE_THRESHOLD=64", "JINLIAN_API_LISTEN=x", "JINLIAN_LEDGER_LEVEL_ZERO_TABLES=10"}
	got := ledgerEnvOf("jinlian", env)
	want := []string{"JINLIAN_LEDGER_LEVEL_ZERO_TABLES=10", "JINLIAN_LEDGER_VALUE_THRESHOLD=64"}
	if !slices.Equal(got, want) {
		t.Errorf("jinlian: %q, want %q", got, want)
	}
	if got := ledgerEnvOf("kvstore", env); got != nil {
		t.Errorf("kvstore: %q, want none", got)
	}
	if got := ledgerEnvOf("jinlian", []string{"HOME=/root"}); got != nil {
		t.Errorf("no setting: %q", got)
	}
}
