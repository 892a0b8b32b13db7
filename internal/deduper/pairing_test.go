package deduper_test

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/codathook/codathook/dedupe"
	"github.com/codathook/codathook/internal/deduper"
)

// set moves the clock to t.
func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// occ is one occurrence of the connected key delivered in up to two
// formats: the legacy delivery arrives lag after the occurrence, the new one
// carries the occurrence as its generatedDate.
type occ struct {
	n   int
	at  time.Time
	lag time.Duration
}

func (o occ) legacy() (string, []byte) {
	id := "a" + strconv.Itoa(o.n)
	return id, legacyConnStatus(id, "PendingAuth", "Linked")
}

func (o occ) new() (string, []byte) {
	return "msg_" + strconv.Itoa(o.n), generatedAt(newConn("e"+strconv.Itoa(o.n), "connection.connected", "Linked"), o.at)
}

// deliver sends o's legacy (when legacy is "process" or "skip") and new
// deliveries in time order on e's clock, and returns how many were
// processed. A skipped delivery is recorded the way a gated-off endpoint
// records it.
func (e *env) deliver(o occ, legacy, nw string) int {
	e.t.Helper()
	processed := 0
	send := func(mode string, key string, body []byte) {
		switch mode {
		case "process":
			if e.process(key, body) == P {
				processed++
			}
		case "skip":
			e.skip(key, body)
		case "", "drop":
		default:
			e.t.Fatalf("mode %q", mode)
		}
	}
	e.clk.set(o.at)
	nk, nb := o.new()
	lk, lb := o.legacy()
	if o.lag < 0 {
		e.clk.set(o.at.Add(-o.lag))
		send(nw, nk, nb)
		send(legacy, lk, lb)
		return processed
	}
	send(nw, nk, nb)
	e.clk.set(o.at.Add(o.lag))
	send(legacy, lk, lb)
	return processed
}

// The runbook as a customer lives it, on a key that recurs daily: legacy
// alone for a days (the new consumer does not exist yet), the new consumer
// added but off, both on, legacy off. Arrival-order pairing lost exactly
// a occurrences at the last step; pairing by occurrence time loses none
// and doubles none.
func TestPairingRunbookOffset(t *testing.T) {
	t.Parallel()
	for _, a := range []int{1, 3, 10} {
		t.Run(fmt.Sprint("legacy alone for ", a, " days"), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			start := e.clk.Now()
			n := 0
			step := func(days int, legacy, nw string) {
				for range days {
					n++
					o := occ{n: n, at: start.Add(time.Duration(n) * 24 * time.Hour), lag: 4 * time.Second}
					if n%2 == 0 {
						o.lag = -o.lag // the new delivery arrives last
					}
					if got := e.deliver(o, legacy, nw); got != 1 {
						t.Errorf("occurrence %d (legacy %s, new %s): processed %d times, want 1", n, legacy, nw, got)
					}
				}
			}
			step(a, "process", "")        // step 1: legacy alone
			step(2, "process", "skip")    // step 2: new consumer configured, new endpoint off
			step(3, "process", "process") // step 4: both on
			step(3, "skip", "process")    // step 5: legacy off
			step(2, "", "process")        // legacy rules deleted
		})
	}
}

// A delivery missing in one format, or an extra one, changes nothing
// outside its window: every later occurrence is processed exactly once.
func TestPairingErrorsStayLocal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	start := e.clk.Now()
	day := func(n int) occ {
		return occ{n: n, at: start.Add(time.Duration(n) * 24 * time.Hour), lag: 3 * time.Second}
	}
	if got := e.deliver(day(1), "drop", "process"); got != 1 {
		t.Errorf("day 1 (legacy dropped): processed %d, want 1", got)
	}
	if got := e.deliver(day(2), "process", "drop"); got != 1 {
		t.Errorf("day 2 (new dropped): processed %d, want 1", got)
	}
	// Day 3: a genuine legacy-only occurrence and, an hour later, a genuine
	// new-only one: neither is anyone's twin.
	if got := e.deliver(day(3), "process", "drop"); got != 1 {
		t.Errorf("day 3 (legacy only): processed %d, want 1", got)
	}
	late := day(3)
	late.n, late.at = 33, late.at.Add(time.Hour)
	if got := e.deliver(late, "drop", "process"); got != 1 {
		t.Errorf("day 3 +1h (new only): processed %d, want 1", got)
	}
	for n := 4; n <= 12; n++ {
		if got := e.deliver(day(n), "process", "process"); got != 1 {
			t.Errorf("day %d: processed %d, want 1", n, got)
		}
	}
}

// Two genuine occurrences of one key three minutes apart, each delivered
// in both formats, are processed twice in all, whatever order the four
// deliveries arrive in: same-side arrivals never share a slot.
func TestPairingTwoOccurrencesInOneWindow(t *testing.T) {
	t.Parallel()
	type delivery struct {
		legacy bool
		o      occ
	}
	base := newClock().Now().Add(time.Hour)
	o1, o2 := occ{n: 1, at: base}, occ{n: 2, at: base.Add(3 * time.Minute)}
	all := []delivery{{true, o1}, {false, o1}, {true, o2}, {false, o2}}
	var perms [][]delivery
	var permute func(rest, acc []delivery)
	permute = func(rest, acc []delivery) {
		if len(rest) == 0 {
			perms = append(perms, append([]delivery(nil), acc...))
			return
		}
		for i := range rest {
			next := append(append([]delivery(nil), rest[:i]...), rest[i+1:]...)
			permute(next, append(acc, rest[i]))
		}
	}
	permute(all, nil)
	for i, p := range perms {
		e := newEnv(t)
		processed := 0
		for j, d := range p {
			// Arrivals in this order, a few seconds apart, after both
			// occurrences (late deliveries keep their generatedDate).
			e.clk.set(o2.at.Add(time.Duration(j+1) * 2 * time.Second))
			key, body := d.o.new()
			if d.legacy {
				key, body = d.o.legacy()
				// A legacy delivery's time is its arrival: make it arrive
				// a few seconds after its own occurrence.
				e.clk.set(d.o.at.Add(time.Duration(j+1) * 2 * time.Second))
			}
			if e.process(key, body) == P {
				processed++
			}
		}
		if processed != 2 {
			t.Errorf("order %d %+v: processed %d, want 2", i, p, processed)
		}
	}
}

// Past Config.MaxArrivals arrivals of one side in one window, an arrival
// is processed without pairing: nothing is lost, and each one over the
// bound may be processed once more by its twin (counted by Unpaired).
func TestPairingMaxArrivals(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := dedupe.NewLRU(dedupe.LRUConfig{Capacity: 10_000, Now: clk.Now})
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	d, err := deduper.New(s, &dedupe.Config{Now: clk.Now, MaxArrivals: 3})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, clk: clk, store: s, d: d}
	at := clk.Now()
	legacy, nw := 0, 0
	for i := range 5 {
		o := occ{n: i, at: at.Add(time.Duration(i) * time.Second)}
		e.clk.set(o.at)
		if k, b := o.legacy(); e.process(k, b) == P {
			legacy++
		}
	}
	for i := range 5 {
		o := occ{n: i, at: at.Add(time.Duration(i) * time.Second)}
		if k, b := o.new(); e.process(k, b) == P {
			nw++
		}
	}
	if legacy != 5 || nw != 2 {
		t.Errorf("processed %d legacy and %d new, want 5 and 2 (three new paired with the three recorded legacy arrivals)", legacy, nw)
	}
	if got := d.Unpaired(); got != 4 {
		t.Errorf("Unpaired() = %d, want 4 (two of each side over the bound)", got)
	}
}

// One hot occurrence key at a steady rate: the LRU's heap stops growing
// once its records cover the window plus the retention (arrival records are
// bounded per window and expire a fixed time after their occurrence, never
// sliding). Before, one record gained a member per delivery: 64.5 MiB at
// 200k deliveries and 113 MiB at 400k.
func TestPairingHotKeyMemoryIsFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("pushes 60,000 deliveries")
	}
	clk := newClock()
	quiet := slog.New(slog.DiscardHandler) // the default capacity evicts at this rate; that is issue 13's
	s := dedupe.NewLRU(dedupe.LRUConfig{Capacity: 40_000, Now: clk.Now, Logger: quiet})
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	d, err := deduper.New(s, &dedupe.Config{Now: clk.Now, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, clk: clk, store: s, d: d}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	base := heap()
	n := 0
	run := func(count int) uint64 {
		for range count {
			n++
			// Both formats, one delivery each per 2 s of simulated time.
			o := occ{n: n, at: clk.Now().Add(2 * time.Second), lag: time.Second}
			e.deliver(o, "process", "process")
		}
		return heap() - base
	}
	// 15,000 occurrences fill a store of 40,000 entries: its capacity,
	// not the key's record, must be what bounds the heap from then on.
	first := run(15_000)
	second := run(15_000)
	t.Logf("heap after %d occurrences: %d KiB; after %d: %d KiB; entries %d", 15_000, first>>10, n, second>>10, s.Len())
	if second > first+first/4 {
		t.Errorf("heap grew from %d KiB to %d KiB between 15,000 and 30,000 occurrences of one key, want flat (within 25%%; one growing record would double it)", first>>10, second>>10)
	}
	if second > defaultCapacityMemory {
		t.Errorf("heap %d MiB over the documented 64 MiB", second>>20)
	}
}

// The default store remembers 100,000 deliveries: after that many, a resend
// of the oldest is still a duplicate and nothing was evicted early. (It
// held 25,000: after 26,000 deliveries, 100 of 100 resends of the oldest
// were processed again.)
func TestDefaultStoreHolds100kDeliveries(t *testing.T) {
	if testing.Short() {
		t.Skip("pushes 100,000 deliveries")
	}
	t.Parallel()
	clk := newClock()
	s := dedupe.NewLRU(dedupe.LRUConfig{Now: clk.Now})
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	d, err := deduper.New(s, &dedupe.Config{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, clk: clk, store: s, d: d}
	const n = 100_000
	start := clk.Now()
	body := func(i int) (string, []byte) {
		// A distinct company per delivery: every delivery its own
		// occurrence record and slot, the most entries a delivery takes.
		return fmt.Sprintf("msg_%d", i), generatedAt(newBody(fmt.Sprint("e", i), "connection.connected",
			fmt.Sprintf(`{"referenceCompany":{"id":"co-%d"},"connection":{"id":"k","status":"Linked"}}`, i)), start.Add(time.Duration(i+1)*time.Second))
	}
	for i := range n {
		clk.Advance(time.Second) // 100,000 s: within the 34-hour retention
		if k, b := body(i); e.process(k, b) != P {
			t.Fatalf("delivery %d not processed", i)
		}
	}
	for i := range 100 {
		if k, b := body(i); e.process(k, b) != D {
			t.Errorf("resend of delivery %d after %d deliveries: processed again, want a duplicate", i, n)
		}
	}
	if got := s.LiveEvictions(); got != 0 {
		t.Errorf("LiveEvictions() = %d, want 0", got)
	}
}

// defaultCapacityMemory is the heap bound dedupe.LRUConfig documents for
// the default capacity.
const defaultCapacityMemory = 64 << 20
