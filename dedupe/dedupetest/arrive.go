package dedupetest

import (
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/codathook/codathook/dedupe"
)

// The rules of [dedupe.Arrival], one function each.

// t0 is the occurrence time the arrival rules start from, and window their
// pairing window.
var t0 = time.Date(2025, 1, 10, 12, 0, 0, 0, time.UTC)

const window = 10 * time.Minute

// arrival is an Arrival at t0+d with the rules' window, a long TTL and a
// limit no rule reaches unless it sets its own.
func arrival(side, member string, d time.Duration) dedupe.Arrival {
	return dedupe.Arrival{Side: side, Member: member, At: t0.Add(d), Window: window, TTL: long, Limit: 1000}
}

func (c checker) arrive(s dedupe.Store, key string, a dedupe.Arrival) dedupe.Pairing {
	c.t.Helper()
	p, err := s.Arrive(c.t.Context(), key, a)
	if err != nil {
		c.t.Fatalf("%s: Arrive(%s, %q, %q, %v) error: %v", c.rule, short(key), a.Side, a.Member, a.At.Sub(t0), err)
	}
	return p
}

// slot is a Pairing's slot, comparable.
type slot struct {
	epoch string
	n     int64
}

func slotOf(p dedupe.Pairing) slot { return slot{p.Epoch, p.Slot} }

// fresh arrives a and checks that it got a slot of its own, unpaired.
func (c checker) fresh(s dedupe.Store, key string, a dedupe.Arrival) slot {
	c.t.Helper()
	p := c.arrive(s, key, a)
	if p.Epoch == "" || p.Paired {
		c.t.Errorf("%s: Arrive(%s, %q, %q, %v) = %+v, want a slot of its own, unpaired", c.rule, short(key), a.Side, a.Member, a.At.Sub(t0), p)
	}
	return slotOf(p)
}

// twin arrives a and checks that it was paired into want.
func (c checker) twin(s dedupe.Store, key string, a dedupe.Arrival, want slot) {
	c.t.Helper()
	p := c.arrive(s, key, a)
	if !p.Paired || slotOf(p) != want {
		c.t.Errorf("%s: Arrive(%s, %q, %q, %v) = %+v, want paired into slot %v", c.rule, short(key), a.Side, a.Member, a.At.Sub(t0), p, want)
	}
}

func testArriveTwins(t *testing.T, h *harness) {
	c := rule(t, "a legacy and a new arrival within the window share a slot")
	s := h.store(t)
	l := c.fresh(s, "K", arrival("legacy", "a", 0))
	c.twin(s, "K", arrival("new", "x", time.Minute), l)
	// The other order, on another key; any two side names work.
	n := c.fresh(s, "K2", arrival("new", "x", 0))
	c.twin(s, "K2", arrival("legacy", "a", -time.Minute), n)
	o := c.fresh(s, "K3", arrival("left", "a", 0))
	c.twin(s, "K3", arrival("right", "a", 0), o) // same member string, other side
}

func testArriveSameSide(t *testing.T, h *harness) {
	c := rule(t, "two arrivals of one side never share a slot")
	s := h.store(t)
	seen := map[slot]bool{}
	for i, d := range []time.Duration{0, 0, time.Second, -time.Second, 3 * time.Minute} {
		sl := c.fresh(s, "K", arrival("legacy", "m"+strconv.Itoa(i), d))
		if seen[sl] {
			t.Errorf("%s: slot %v handed out twice on one side", c.rule, sl)
		}
		seen[sl] = true
	}
}

func testArriveRetry(t *testing.T, h *harness) {
	c := rule(t, "a member arriving again keeps its slot and records nothing")
	s := h.store(t)
	l := c.fresh(s, "K", arrival("legacy", "a", 0))
	// A legacy retry arrives later than the first attempt, within the window.
	if p := c.arrive(s, "K", arrival("legacy", "a", 2*time.Minute)); slotOf(p) != l || p.Paired {
		t.Errorf("%s: retry = %+v, want slot %v unpaired", c.rule, p, l)
	}
	c.twin(s, "K", arrival("new", "x", time.Minute), l)
	// Retries of both now report the pairing.
	c.twin(s, "K", arrival("legacy", "a", time.Minute), l)
	c.twin(s, "K", arrival("new", "x", time.Minute), l)
	// The retries recorded nothing: a second legacy finds no unpaired new.
	c.fresh(s, "K", arrival("legacy", "b", time.Minute))
	// A new member on its own stays on its own when it comes again.
	n := c.fresh(s, "K", arrival("new", "y", 20*time.Minute))
	if p := c.arrive(s, "K", arrival("new", "y", 20*time.Minute)); slotOf(p) != n || p.Paired {
		t.Errorf("%s: retry of an unpaired arrival = %+v, want slot %v unpaired", c.rule, p, n)
	}
}

func testArriveNearest(t *testing.T, h *harness) {
	c := rule(t, "an arrival pairs with the nearest unpaired one of the other side, the earlier on a tie")
	s := h.store(t)
	c.fresh(s, "K", arrival("legacy", "far", 0))
	near := c.fresh(s, "K", arrival("legacy", "near", 4*time.Minute))
	c.twin(s, "K", arrival("new", "x", 3*time.Minute), near)
	// A tie: 2 minutes either side; the earlier wins.
	early := c.fresh(s, "T", arrival("new", "early", -2*time.Minute))
	c.fresh(s, "T", arrival("new", "late", 2*time.Minute))
	c.twin(s, "T", arrival("legacy", "a", 0), early)
	// A tie at one time: the first recorded wins.
	first := c.fresh(s, "F", arrival("new", "first", 0))
	c.fresh(s, "F", arrival("new", "second", 0))
	c.twin(s, "F", arrival("legacy", "a", 0), first)
}

func testArriveOneTwin(t *testing.T, h *harness) {
	c := rule(t, "an arrival pairs with at most one of the other side")
	s := h.store(t)
	l := c.fresh(s, "K", arrival("legacy", "a", 0))
	c.twin(s, "K", arrival("new", "x", 0), l)
	y := c.fresh(s, "K", arrival("new", "y", 0))
	if y == l {
		t.Errorf("%s: a second new arrival got the paired slot %v", c.rule, l)
	}
	// A second legacy pairs with the unpaired new one.
	c.twin(s, "K", arrival("legacy", "b", 0), y)
}

func testArriveWindow(t *testing.T, h *harness) {
	c := rule(t, "arrivals pair only when their times are at most the window apart")
	s := h.store(t)
	l := c.fresh(s, "K", arrival("legacy", "a", 0))
	c.fresh(s, "K", arrival("new", "late", window+time.Millisecond))
	c.fresh(s, "K", arrival("new", "early", -window-time.Millisecond))
	c.twin(s, "K", arrival("new", "edge", window), l)
	// Across an interval boundary: 12:09:59.999 and 12:10:00.500.
	b := c.fresh(s, "B", arrival("legacy", "a", window-time.Millisecond))
	c.twin(s, "B", arrival("new", "x", window+500*time.Millisecond), b)
}

func testArriveLocal(t *testing.T, h *harness) {
	c := rule(t, "an extra or missing arrival affects no pairing more than a window away")
	s := h.store(t)
	const day = 24 * time.Hour
	// Day 0: legacy alone (no new consumer yet), twice. Day 1: a new
	// arrival whose legacy twin was lost. Days 2-6: twins, in either order.
	c.fresh(s, "K", arrival("legacy", "l0", 0))
	c.fresh(s, "K", arrival("legacy", "l0b", time.Hour))
	c.fresh(s, "K", arrival("new", "n1", day))
	for i := 2; i <= 6; i++ {
		d := time.Duration(i) * day
		l, n := arrival("legacy", "l"+strconv.Itoa(i), d+5*time.Second), arrival("new", "n"+strconv.Itoa(i), d)
		if i%2 == 0 {
			l, n = n, l
		}
		first := c.fresh(s, "K", l)
		c.twin(s, "K", n, first)
	}
}

func testArriveLimit(t *testing.T, h *harness) {
	c := rule(t, "past Limit arrivals of a side per interval, an arrival is not recorded")
	s := h.store(t)
	limited := func(side, member string, d time.Duration) dedupe.Arrival {
		a := arrival(side, member, d)
		a.Limit = 3
		return a
	}
	var first slot
	for i := range 3 {
		sl := c.fresh(s, "K", limited("new", "n"+strconv.Itoa(i), time.Duration(i)*time.Second))
		if i == 0 {
			first = sl
		}
	}
	for _, m := range []string{"over", "over", "again"} {
		if p := c.arrive(s, "K", limited("new", m, 5*time.Second)); p != (dedupe.Pairing{}) {
			t.Errorf("%s: arrival %q past the limit = %+v, want the zero Pairing", c.rule, m, p)
		}
	}
	// The other side has a limit of its own; the recorded arrivals still pair.
	c.twin(s, "K", limited("legacy", "a", 0), first)
	// The next interval has room again.
	c.fresh(s, "K", limited("new", "later", window+time.Second))
}

func testArriveExpiry(t *testing.T, h *harness) {
	c := rule(t, "an arrival is kept TTL (and at most TTL plus the window), then forgotten")
	s, ttl, pass := h.timed(t)
	a := func(side, member string) dedupe.Arrival {
		// The window is the TTL, so the rule's bound is 2 TTL.
		return dedupe.Arrival{Side: side, Member: member, At: t0, Window: ttl, TTL: ttl, Limit: 10}
	}
	old := c.fresh(s, "K", a("legacy", "a"))
	c.fresh(s, "K", a("legacy", "b"))
	pass(ttl / 2)
	c.twin(s, "K", a("new", "x"), old) // still there
	pass(2*ttl + ttl/2)
	// Forgotten: the same members arrive as if for the first time, with
	// slots no earlier arrival had.
	n := c.fresh(s, "K", a("new", "x"))
	l := c.arrive(s, "K", a("legacy", "a"))
	if slotOf(l) != n || !l.Paired {
		t.Errorf("%s: after expiry legacy a = %+v, want paired into %v", c.rule, l, n)
	}
	if n == old {
		t.Errorf("%s: a slot after expiry equals one from before it: %v", c.rule, n)
	}
}

func testRaceArrive(t *testing.T, h *harness) {
	c := rule(t, "N new and N legacy arrivals racing at one time pair one to one")
	s := h.store(t)
	const n = 16
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		slots = map[string]map[slot]int{"new": {}, "legacy": {}}
		pairs int
		errs  []error
		start = make(chan struct{})
	)
	for i := range 2 * n {
		side := "new"
		if i%2 == 1 {
			side = "legacy"
		}
		wg.Go(func() {
			<-start
			p, err := s.Arrive(t.Context(), "K", arrival(side, "m"+strconv.Itoa(i), 0))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			slots[side][slotOf(p)]++
			if p.Paired {
				pairs++
			}
		})
	}
	close(start)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%s: Arrive errors: %v", c.rule, errors.Join(errs...))
	}
	for side, m := range slots {
		if len(m) != n {
			t.Errorf("%s: %d distinct %s slots, want %d", c.rule, len(m), side, n)
		}
		for sl := range m {
			if slots["new"][sl] != 1 || slots["legacy"][sl] != 1 {
				t.Errorf("%s: slot %v went to %d new and %d legacy arrivals, want 1 and 1", c.rule, sl, slots["new"][sl], slots["legacy"][sl])
			}
		}
	}
	if pairs != n {
		t.Errorf("%s: %d arrivals reported Paired, want %d (the second of each pair)", c.rule, pairs, n)
	}
}
