package readiness_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/codathook/codathook/internal/readiness"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const (
	window = 10 * time.Minute
	grace  = 5 * time.Minute
)

func newLedger() (*readiness.Ledger, *clock) {
	c := &clock{t: time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)}
	return readiness.New(window, grace, c.Now(), true), c
}

func id(n int) readiness.ID { return readiness.ID{Occ: fmt.Sprintf("p:%d", n), Epoch: "e", Slot: 1} }

func report(n, side int) readiness.Report {
	return readiness.Report{ID: id(n), Type: "connection.connected", Side: side, Member: fmt.Sprint(n, side)}
}

// counts returns the recent counts of connection.connected.
func counts(t *testing.T, l *readiness.Ledger, c *clock) [2]readiness.Counts {
	t.Helper()
	s := l.Snapshot(c.Now())
	for _, ty := range s.Types {
		if ty.Name == "connection.connected" {
			return ty.Recent
		}
	}
	return [2]readiness.Counts{}
}

func TestTwinsAreCountedOnBothSides(t *testing.T) {
	l, clk := newLedger()
	l.Record(clk.Now(), report(1, readiness.SideLegacy))
	c := counts(t, l, clk)
	if c[0].Seen != 1 || c[0].Open() != 1 {
		t.Fatalf("after the legacy arrival: %+v, want seen 1, open 1", c[0])
	}
	l.Record(clk.Now(), report(1, readiness.SideNew))
	c = counts(t, l, clk)
	for side := range c {
		if c[side].Seen != 1 || c[side].Twinned != 1 || c[side].Open() != 0 || c[side].Unmatched != 0 {
			t.Errorf("side %d: %+v, want seen 1, twinned 1", side, c[side])
		}
	}
}

func TestRetryIsOneArrival(t *testing.T) {
	l, c := newLedger()
	l.Record(c.Now(), report(1, readiness.SideLegacy))
	c.Add(time.Minute)
	l.Record(c.Now(), report(1, readiness.SideLegacy))
	if got := counts(t, l, c); got[0].Seen != 1 {
		t.Errorf("seen %d, want 1", got[0].Seen)
	}
}

func TestPairedAtArrivalIsTwinned(t *testing.T) {
	l, c := newLedger()
	r := report(1, readiness.SideNew)
	r.Paired = true
	l.Record(c.Now(), r)
	if got := counts(t, l, c); got[1].Twinned != 1 || got[1].Open() != 0 {
		t.Errorf("%+v, want twinned 1", got[1])
	}
}

func TestWindowClosesUnmatched(t *testing.T) {
	l, c := newLedger()
	l.Record(c.Now(), report(1, readiness.SideLegacy))
	c.Add(window + grace - time.Second)
	if l.Due(c.Now()) {
		t.Fatal("due before window+grace")
	}
	l.Sweep(context.Background(), c.Now(), nil, true)
	if got := counts(t, l, c); got[0].Open() != 1 {
		t.Fatalf("swept before the window closed: %+v", got[0])
	}
	c.Add(time.Second)
	if !l.Due(c.Now()) {
		t.Fatal("not due at window+grace")
	}
	l.Sweep(context.Background(), c.Now(), nil, true)
	got := counts(t, l, c)
	if got[0].Unmatched != 1 || got[0].Open() != 0 || !got[0].LastUnmatched.Equal(c.Now()) {
		t.Errorf("%+v, want unmatched 1 at %v", got[0], c.Now())
	}
	// A twin after the window still counts, on its own side.
	r := report(1, readiness.SideNew)
	r.Paired = true
	l.Record(c.Now(), r)
	got = counts(t, l, c)
	if got[0].Unmatched != 1 || got[1].Twinned != 1 {
		t.Errorf("late twin: %+v", got)
	}
}

// A twin that comes after the first side's deadline, before any sweep,
// leaves the first side unmatched, as if the sweep had run on time, and is
// twinned on its own side.
func TestLateTwinBeforeTheSweep(t *testing.T) {
	l, c := newLedger()
	l.Record(c.Now(), report(1, readiness.SideLegacy))
	c.Add(window + grace + time.Minute)
	r := report(1, readiness.SideNew)
	r.Paired = true
	l.Record(c.Now(), r)
	l.Sweep(context.Background(), c.Now(), func(_ context.Context, _ time.Time, items []readiness.Report, paired []bool) []bool {
		t.Errorf("re-asked about %d arrivals whose twin came late", len(items))
		return paired
	}, true)
	got := counts(t, l, c)
	if got[0].Unmatched != 1 || got[0].Twinned != 0 || got[1].Twinned != 1 {
		t.Errorf("legacy %+v, new %+v: want the legacy side unmatched and the new one twinned", got[0], got[1])
	}
}

func TestRecheckFindsTwinOnAnotherReplica(t *testing.T) {
	l, c := newLedger()
	l.Record(c.Now(), report(1, readiness.SideLegacy))
	l.Record(c.Now(), report(2, readiness.SideLegacy))
	c.Add(window + grace)
	var asked []string
	l.Sweep(context.Background(), c.Now(), func(_ context.Context, _ time.Time, items []readiness.Report, paired []bool) []bool {
		for i, it := range items {
			asked = append(asked, it.Member)
			paired[i] = it.ID.Occ == id(1).Occ
		}
		return paired
	}, true)
	if len(asked) != 2 {
		t.Fatalf("asked about %v, want both", asked)
	}
	got := counts(t, l, c)
	if got[0].Twinned != 1 || got[0].Unmatched != 1 {
		t.Errorf("%+v, want twinned 1, unmatched 1", got[0])
	}
}

func TestLookBack(t *testing.T) {
	l, c := newLedger()
	l.Record(c.Now(), report(1, readiness.SideLegacy))
	l.Record(c.Now(), report(1, readiness.SideNew))
	c.Add(readiness.Hours * time.Hour)
	l.Sweep(context.Background(), c.Now(), nil, true)
	l.Record(c.Now(), report(2, readiness.SideLegacy))
	s := l.Snapshot(c.Now())
	ty := s.Types[0]
	if ty.Recent[0].Seen != 1 || ty.Recent[0].Twinned != 0 || ty.Recent[1].Seen != 0 {
		t.Errorf("recent %+v, want only the new legacy arrival", ty.Recent)
	}
	if ty.Total[0].Seen != 2 || ty.Total[0].Twinned != 1 || ty.Total[1].Twinned != 1 {
		t.Errorf("total %+v", ty.Total)
	}
}

func TestTypesAreBounded(t *testing.T) {
	l, c := newLedger()
	for i := range readiness.MaxTypes + 10 {
		l.Record(c.Now(), readiness.Report{ID: id(i), Type: fmt.Sprint("t", i)})
	}
	s := l.Snapshot(c.Now())
	if len(s.Types) != readiness.MaxTypes+1 {
		t.Fatalf("%d types, want %d", len(s.Types), readiness.MaxTypes+1)
	}
}

func TestTrackedIsBounded(t *testing.T) {
	l, c := newLedger()
	for i := range readiness.MaxTracked + 3 {
		l.Record(c.Now(), report(i, readiness.SideLegacy))
	}
	if s := l.Snapshot(c.Now()); s.Untracked != 3 || s.UntrackedTotal != 3 {
		t.Errorf("untracked %d (total %d), want 3", s.Untracked, s.UntrackedTotal)
	}
	// They leave the look-back, not the total.
	c.Add(readiness.Hours * time.Hour)
	if s := l.Snapshot(c.Now()); s.Untracked != 0 || s.UntrackedTotal != 3 {
		t.Errorf("a day later: untracked %d (total %d), want 0 (3)", s.Untracked, s.UntrackedTotal)
	}
}

// The ledger at its bound holds MaxTracked open windows in a few MiB: at
// most 160 bytes each (the map slot included), and 200 when it keeps the
// re-check's strings (whose bytes the delivery's keys already hold).
func TestTrackedMemory(t *testing.T) {
	ids := make([]readiness.Report, readiness.MaxTracked)
	for i := range ids {
		ids[i] = readiness.Report{ID: readiness.ID{Occ: fmt.Sprintf("p:5:connection.connected6:co-%06d", i), Epoch: "1733040000000", Slot: 1},
			Type: "connection.connected", Member: fmt.Sprintf("msg_%020d", i), At: time.Unix(1733040000, 0)}
	}
	for _, keep := range []bool{false, true} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		l := readiness.New(window, grace, time.Now(), keep)
		for _, r := range ids {
			l.Record(time.Now(), r)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		per := float64(after.HeapAlloc-before.HeapAlloc) / readiness.MaxTracked
		t.Logf("keep %v: %d open windows, %.0f bytes each (%.1f MiB)", keep, readiness.MaxTracked, per, per*readiness.MaxTracked/(1<<20))
		if limit := map[bool]float64{false: 160, true: 200}[keep]; per > limit {
			t.Errorf("keep %v: %.0f bytes per tracked occurrence, want at most %.0f", keep, per, limit)
		}
		runtime.KeepAlive(l)
	}
	runtime.KeepAlive(ids)
}

func BenchmarkRecord(b *testing.B) {
	l, c := newLedger()
	rs := make([]readiness.Report, 4096)
	for i := range rs {
		rs[i] = report(i, i%2)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		l.Record(c.Now(), rs[i%len(rs)])
		if i%len(rs) == len(rs)-1 {
			c.Add(window + grace)
			l.Sweep(context.Background(), c.Now(), nil, true)
		}
	}
}
