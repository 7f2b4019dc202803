package recon

import (
	"errors"
	"fmt"
	"math/bits"
	"testing"
	"time"
)

// fakeHeaders is a block store: times[i] is the time of height base+i.
type fakeHeaders struct {
	base  int64
	times []time.Time
	reads int
}

func (f *fakeHeaders) Heights() (int64, int64, error) {
	if len(f.times) == 0 {
		return 0, 0, nil
	}
	return f.base, f.base + int64(len(f.times)) - 1, nil
}

func (f *fakeHeaders) BlockTime(h int64) (time.Time, error) {
	f.reads++
	if h < f.base || h >= f.base+int64(len(f.times)) {
		return time.Time{}, fmt.Errorf("no header at height %d", h)
	}
	return f.times[h-f.base], nil
}

// linearHeaders is a long chain without a slice: height h at genesis + h·step.
type linearHeaders struct {
	genesis time.Time
	step    time.Duration
	top     int64
	reads   int
}

func (l *linearHeaders) Heights() (int64, int64, error) { return 1, l.top, nil }
func (l *linearHeaders) BlockTime(h int64) (time.Time, error) {
	l.reads++
	return l.genesis.Add(time.Duration(h) * l.step), nil
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestFindDay(t *testing.T) {
	cst := mustZone(t, "Asia/Shanghai")
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04:05.999999999", s, cst)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	chain := []time.Time{
		at("2026-12-02 22:00:00"),           // 1: genesis
		at("2026-12-02 23:59:59.999"),       // 2
		at("2026-12-03 00:00:00"),           // 3: midnight belongs to the day it opens
		at("2026-12-03 12:00:00"),           // 4
		at("2026-12-03 23:59:59.999999999"), // 5
		at("2026-12-04 00:00:00.000000001"), // 6
		at("2026-12-04 10:00:00"),           // 7
		// 2026-12-05: no block (the chain halted for a day)
		at("2026-12-06 09:00:00"), // 8
		at("2026-12-06 10:00:00"), // 9: the latest block
	}
	cases := []struct {
		name     string
		base     int64 // 0: 1
		times    []time.Time
		date     string
		zone     *time.Location
		from, to int64
		complete bool
		err      error // errors.Is / errors.As target kind
	}{
		{name: "a day before genesis has no block and is complete", date: "2026-12-01", complete: true},
		{name: "genesis day", date: "2026-12-02", from: 1, to: 2, complete: true},
		{name: "a block at midnight opens its day; one a nanosecond before closes the last", date: "2026-12-03", from: 3, to: 5, complete: true},
		{name: "a nanosecond after midnight is the next day", date: "2026-12-04", from: 6, to: 7, complete: true},
		{name: "an empty day between blocks is complete", date: "2026-12-05", complete: true},
		{name: "today: blocks so far, not complete", date: "2026-12-06", from: 8, to: 9},
		{name: "a future day has no block yet", date: "2026-12-07"},
		{name: "the same chain cut in UTC", date: "2026-12-03", zone: time.UTC, from: 4, to: 6, complete: true},
		{name: "a chain without blocks", times: []time.Time{}, date: "2026-12-03"},
		{name: "pruned below the day's first block", base: 4, times: chain[3:], date: "2026-12-03", err: &PrunedError{}},
		{name: "pruned, but the day is after the base", base: 4, times: chain[3:], date: "2026-12-04", from: 6, to: 7, complete: true},
		{name: "pruned exactly at the day's midnight block", base: 3, times: chain[2:], date: "2026-12-03", from: 3, to: 5, complete: true},
		{name: "month 13", date: "2026-13-01", err: ErrInvalid},
		{name: "no dashes", date: "20261203", err: ErrInvalid},
		{name: "one-digit day", date: "2026-12-3", err: ErrInvalid},
		{name: "empty date", date: "", err: ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := &fakeHeaders{base: max(c.base, 1), times: chain}
			if c.times != nil {
				h.times = c.times
			}
			zone := c.zone
			if zone == nil {
				zone = cst
			}
			day, err := FindDay(h, c.date, zone)
			if c.err != nil {
				var pe *PrunedError
				if _, pruned := c.err.(*PrunedError); pruned && !errors.As(err, &pe) || !pruned && !errors.Is(err, c.err) {
					t.Fatalf("error %v, want %T %v", err, c.err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if day.FromHeight != c.from || day.ToHeight != c.to || day.Complete != c.complete {
				t.Fatalf("heights %d..%d complete %v, want %d..%d complete %v", day.FromHeight, day.ToHeight, day.Complete, c.from, c.to, c.complete)
			}
			if day.End.Sub(day.Start) != 24*time.Hour || day.Start.Location() != zone {
				t.Fatalf("day [%s, %s)", day.Start, day.End)
			}
		})
	}
}

// The cut is a lookup: a year of one-second blocks takes two binary
// searches of header reads, not a scan.
func TestFindDayReadsLogarithmically(t *testing.T) {
	cst := mustZone(t, "Asia/Shanghai")
	genesis := time.Date(2026, 1, 1, 0, 0, 0, 0, cst)
	l := &linearHeaders{genesis: genesis, step: time.Second, top: 365 * 86400}
	day, err := FindDay(l, "2026-07-01", cst)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 7, 1, 0, 0, 0, 0, cst)
	wantFrom := int64(start.Sub(genesis) / time.Second)
	if day.FromHeight != wantFrom || day.ToHeight != wantFrom+86399 || !day.Complete {
		t.Fatalf("day %+v, want %d..%d", day, wantFrom, wantFrom+86399)
	}
	if limit := 2 * (bits.Len64(uint64(l.top)) + 1); l.reads > limit {
		t.Fatalf("%d header reads for %d blocks, want at most %d", l.reads, l.top, limit)
	}
}

// A day in a zone that moves its clock is 23 or 25 hours long.
func TestParseDateAcrossDaylightSaving(t *testing.T) {
	ny := mustZone(t, "America/New_York")
	for date, want := range map[string]time.Duration{"2026-03-08": 23 * time.Hour, "2026-11-01": 25 * time.Hour, "2026-06-01": 24 * time.Hour} {
		start, end, err := ParseDate(date, ny)
		if err != nil || end.Sub(start) != want {
			t.Errorf("%s: [%s, %s) %v, want %s", date, start, end, err, want)
		}
	}
}

func TestToday(t *testing.T) {
	cst := mustZone(t, "Asia/Shanghai")
	// 2026-12-03 17:30 UTC is already 2026-12-04 in Shanghai.
	h := &fakeHeaders{base: 1, times: []time.Time{time.Date(2026, 12, 3, 17, 30, 0, 0, time.UTC)}}
	for zone, want := range map[*time.Location]string{cst: "2026-12-04", time.UTC: "2026-12-03"} {
		if got, err := Today(h, zone); err != nil || got != want {
			t.Errorf("Today in %s: %q %v, want %s", zone, got, err, want)
		}
	}
	if _, err := Today(&fakeHeaders{}, cst); err == nil {
		t.Error("Today of a chain without blocks: no error")
	}
}
