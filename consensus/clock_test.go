package consensus

import (
	"errors"
	"log/slog"
	"testing"
	"time"
)

func TestClockWatch(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name       string
		skew       time.Duration // commit time − local clock
		catchingUp bool
		off        bool
	}{
		{"in step, observed late", -4 * time.Second, false, false},
		{"an hour behind", time.Hour, false, true},
		{"an hour ahead", -time.Hour, false, true},
		{"just within", MaxClockSkew, false, false},
		{"catching up: old blocks say nothing", -time.Hour, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w clockWatch
			log := slog.New(slog.DiscardHandler)
			w.observe(10, now.Add(-time.Hour), now, false, log) // the first block is never judged
			if w.err() != nil {
				t.Fatal("judged the first block")
			}
			w.observe(11, now.Add(tc.skew), now, tc.catchingUp, log)
			if err := w.err(); (err != nil) != tc.off || (err != nil && !errors.Is(err, ErrClockSkew)) {
				t.Fatalf("skew %s: %v", tc.skew, err)
			}
			// The same height again changes nothing; a good commit clears it.
			w.observe(11, now, now, false, log)
			if (w.err() != nil) != tc.off {
				t.Fatal("a repeated height was judged")
			}
			w.observe(12, now, now, false, log)
			if w.err() != nil {
				t.Fatalf("skew not cleared: %v", w.err())
			}
		})
	}
}

func TestCheckClockAtStart(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	if err := checkClockAtStart(now.Add(time.Hour), now); !errors.Is(err, ErrClockSkew) {
		t.Fatalf("a committed block an hour in the future: %v", err)
	}
	for _, last := range []time.Time{{}, now.Add(-72 * time.Hour), now.Add(10 * time.Second)} {
		if err := checkClockAtStart(last, now); err != nil {
			t.Errorf("last block at %s: %v", last, err)
		}
	}
}
