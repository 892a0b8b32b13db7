package dedupetest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codathook/codathook/dedupe"
)

// Option configures [Run].
type Option func(*config)

type config struct {
	clocked func(t *testing.T, now func() time.Time) dedupe.Store
	realTTL time.Duration
}

// WithClock gives the suite a factory that builds the store on a clock the
// suite controls, so expiry rules run without sleeping. newStore must make
// the store read now for every expiry decision.
func WithClock(newStore func(t *testing.T, now func() time.Time) dedupe.Store) Option {
	return func(c *config) { c.clocked = newStore }
}

// WithRealTTL sets the TTL the expiry rules use when no [WithClock] factory
// is given (default 200ms). The suite sleeps about 1.5 times this per expiry
// rule; raise it for a slow or distant backend.
func WithRealTTL(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.realTTL = d
		}
	}
}

// long is a TTL no test outlives.
const long = time.Hour

// Run checks that the stores newStore returns obey the [dedupe.Store]
// contract, one subtest per rule, in parallel. Failure messages start with
// the rule's name.
func Run(t *testing.T, newStore func(t *testing.T) dedupe.Store, opts ...Option) {
	t.Helper()
	cfg := config{realTTL: 200 * time.Millisecond}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	h := &harness{cfg: cfg, newStore: newStore}
	rules := []struct {
		name string
		fn   func(t *testing.T, h *harness)
	}{
		{"FirstClaimWins", testFirstClaimWins},
		{"DuplicateAfterCommit", testDuplicateAfterCommit},
		{"CommitWithoutClaim", testCommitWithoutClaim},
		{"PendingWhileHeld", testPendingWhileHeld},
		{"ReleaseAllowsReclaim", testReleaseAllowsReclaim},
		{"ReleaseKeepsDone", testReleaseKeepsDone},
		{"ReleaseAbsentKey", testReleaseAbsent},
		{"LeaseExpires", testLeaseExpires},
		{"CommitExpires", testCommitExpires},
		{"KeysIndependent", testKeysIndependent},
		{"ArriveTwinsShareASlot", testArriveTwins},
		{"ArriveSameSideNeverPairs", testArriveSameSide},
		{"ArriveRetryKeepsItsSlot", testArriveRetry},
		{"ArriveNearestFirst", testArriveNearest},
		{"ArriveAtMostOneTwin", testArriveOneTwin},
		{"ArriveOnlyWithinWindow", testArriveWindow},
		{"ArriveErrorsStayLocal", testArriveLocal},
		{"ArriveLimitPerInterval", testArriveLimit},
		{"ArriveExpiresAfterTTL", testArriveExpiry},
		{"RaceOneClaimWins", testRaceClaim},
		{"RaceArriveEachPairsOnce", testRaceArrive},
		{"ClosedStore", testClosed},
		{"CancelledContext", testCancelled},
		{"OddKeys", testOddKeys},
		{"BatchMatchesSingleCalls", testBatch},
		{"PeekReadsWithoutClaiming", testPeek},
	}
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			r.fn(t, h)
		})
	}
}

type harness struct {
	cfg      config
	newStore func(t *testing.T) dedupe.Store
}

// fakeClock is a clock the suite moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// store returns a fresh store closed at the end of the test.
func (h *harness) store(t *testing.T) dedupe.Store {
	t.Helper()
	s := h.newStore(t)
	if s == nil {
		t.Fatal("newStore returned nil")
	}
	t.Cleanup(func() { _ = s.Close(context.WithoutCancel(t.Context())) })
	return s
}

// timed returns a fresh store, the TTL to use for expiry rules, and a
// function that lets d pass for the store (d is a multiple of that TTL).
func (h *harness) timed(t *testing.T) (dedupe.Store, time.Duration, func(d time.Duration)) {
	t.Helper()
	if h.cfg.clocked != nil {
		clk := &fakeClock{now: time.Date(2025, 1, 10, 12, 0, 0, 0, time.UTC)}
		s := h.cfg.clocked(t, clk.Now)
		if s == nil {
			t.Fatal("WithClock factory returned nil")
		}
		t.Cleanup(func() { _ = s.Close(context.WithoutCancel(t.Context())) })
		return s, time.Minute, clk.Advance
	}
	return h.store(t), h.cfg.realTTL, time.Sleep
}

type checker struct {
	t    *testing.T
	rule string
}

func rule(t *testing.T, r string) checker { return checker{t: t, rule: r} }

func (c checker) claim(s dedupe.Store, key string, ttl time.Duration, want dedupe.State) {
	c.t.Helper()
	got, err := s.Claim(c.t.Context(), key, ttl)
	if err != nil {
		c.t.Fatalf("%s: Claim(%s) error: %v", c.rule, short(key), err)
	}
	if got != want {
		c.t.Errorf("%s: Claim(%s) = %v, want %v", c.rule, short(key), got, want)
	}
}

func (c checker) commit(s dedupe.Store, key string, ttl time.Duration) {
	c.t.Helper()
	if err := s.Commit(c.t.Context(), key, ttl); err != nil {
		c.t.Fatalf("%s: Commit(%s) error: %v", c.rule, short(key), err)
	}
}

func (c checker) release(s dedupe.Store, key string) {
	c.t.Helper()
	if err := s.Release(c.t.Context(), key); err != nil {
		c.t.Fatalf("%s: Release(%s) error: %v", c.rule, short(key), err)
	}
}

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

// short renders a key for a message without flooding it.
func short(key string) string {
	if len(key) > 40 {
		return fmt.Sprintf("%q...(%d bytes)", key[:40], len(key))
	}
	return strconv.Quote(key)
}

func testFirstClaimWins(t *testing.T, h *harness) {
	c := rule(t, "first claim wins")
	s := h.store(t)
	c.claim(s, "k", long, dedupe.Claimed)
	c.claim(s, "k", long, dedupe.Pending)
}

func testDuplicateAfterCommit(t *testing.T, h *harness) {
	c := rule(t, "a committed key is a duplicate")
	s := h.store(t)
	c.claim(s, "k", long, dedupe.Claimed)
	c.commit(s, "k", long)
	c.claim(s, "k", long, dedupe.Done)
	c.claim(s, "k", long, dedupe.Done)
}

func testCommitWithoutClaim(t *testing.T, h *harness) {
	c := rule(t, "commit marks a key done whatever its state")
	s := h.store(t)
	c.commit(s, "k", long)
	c.claim(s, "k", long, dedupe.Done)
	c.commit(s, "k", long) // committing twice is fine
	c.claim(s, "k", long, dedupe.Done)
}

func testPendingWhileHeld(t *testing.T, h *harness) {
	c := rule(t, "a held key is pending for everyone else")
	s := h.store(t)
	c.claim(s, "k", long, dedupe.Claimed)
	for range 3 {
		c.claim(s, "k", long, dedupe.Pending)
	}
	// Arrivals under the same string do not touch the claim.
	c.fresh(s, "k", arrival("new", "m", 0))
	c.claim(s, "k", long, dedupe.Pending)
}

func testReleaseAllowsReclaim(t *testing.T, h *harness) {
	c := rule(t, "release lets the next claim win")
	s := h.store(t)
	c.claim(s, "k", long, dedupe.Claimed)
	c.release(s, "k")
	c.claim(s, "k", long, dedupe.Claimed)
	c.claim(s, "k", long, dedupe.Pending)
}

func testReleaseKeepsDone(t *testing.T, h *harness) {
	c := rule(t, "release cannot undo a commit")
	s := h.store(t)
	c.claim(s, "k", long, dedupe.Claimed)
	c.commit(s, "k", long)
	c.release(s, "k")
	c.claim(s, "k", long, dedupe.Done)
}

func testReleaseAbsent(t *testing.T, h *harness) {
	c := rule(t, "releasing an absent key is not an error")
	s := h.store(t)
	c.release(s, "never-claimed")
	c.claim(s, "never-claimed", long, dedupe.Claimed)
}

func testLeaseExpires(t *testing.T, h *harness) {
	c := rule(t, "an abandoned claim expires after its TTL")
	s, ttl, pass := h.timed(t)
	c.claim(s, "k", ttl, dedupe.Claimed)
	c.claim(s, "k", long, dedupe.Pending)
	pass(ttl + ttl/2)
	c.claim(s, "k", long, dedupe.Claimed)
}

func testCommitExpires(t *testing.T, h *harness) {
	c := rule(t, "a commit expires after its TTL")
	s, ttl, pass := h.timed(t)
	c.claim(s, "k", long, dedupe.Claimed)
	c.commit(s, "k", ttl)
	c.claim(s, "k", long, dedupe.Done)
	pass(ttl + ttl/2)
	c.claim(s, "k", long, dedupe.Claimed)
}

func testKeysIndependent(t *testing.T, h *harness) {
	c := rule(t, "keys are independent")
	s := h.store(t)
	c.claim(s, "a", long, dedupe.Claimed)
	c.commit(s, "a", long)
	c.claim(s, "b", long, dedupe.Claimed)
	c.claim(s, "A", long, dedupe.Claimed)
	c.claim(s, "a ", long, dedupe.Claimed)
	c.release(s, "b")
	c.claim(s, "a", long, dedupe.Done)
	// Claim keys and arrival keys are separate namespaces.
	c.fresh(s, "a", arrival("legacy", "m", 0))
	c.claim(s, "a", long, dedupe.Done)
	c.claim(s, "fresh", long, dedupe.Claimed)
	c.fresh(s, "fresh", arrival("legacy", "m", 0))
	// Occurrence keys are independent too.
	c.fresh(s, "b", arrival("new", "x", 0))
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

func testRaceClaim(t *testing.T, h *harness) {
	c := rule(t, "N goroutines racing on one key: exactly one wins")
	s := h.store(t)
	const n = 32
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		states  = map[dedupe.State]int{}
		errs    []error
		release = make(chan struct{})
	)
	for range n {
		wg.Go(func() {
			<-release
			st, err := s.Claim(t.Context(), "contended", long)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			states[st]++
		})
	}
	close(release)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%s: Claim errors: %v", c.rule, errors.Join(errs...))
	}
	if got, want := states[dedupe.Claimed], 1; got != want {
		t.Errorf("%s: Claimed %d times, want %d", c.rule, got, want)
	}
	if got, want := states[dedupe.Pending], n-1; got != want {
		t.Errorf("%s: Pending %d times, want %d", c.rule, got, want)
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

func testClosed(t *testing.T, h *harness) {
	c := rule(t, "a closed store returns ErrClosed")
	s := h.store(t)
	ctx := t.Context()
	c.claim(s, "k", long, dedupe.Claimed)
	if err := s.Close(ctx); err != nil {
		t.Fatalf("%s: Close: %v", c.rule, err)
	}
	if err := s.Close(ctx); err != nil {
		t.Errorf("%s: second Close = %v, want nil (Close is idempotent)", c.rule, err)
	}
	if _, err := s.Claim(ctx, "k", long); !errors.Is(err, dedupe.ErrClosed) {
		t.Errorf("%s: Claim after Close error = %v, want ErrClosed", c.rule, err)
	}
	if err := s.Commit(ctx, "k", long); !errors.Is(err, dedupe.ErrClosed) {
		t.Errorf("%s: Commit after Close error = %v, want ErrClosed", c.rule, err)
	}
	if err := s.Release(ctx, "k"); !errors.Is(err, dedupe.ErrClosed) {
		t.Errorf("%s: Release after Close error = %v, want ErrClosed", c.rule, err)
	}
	if _, err := s.Arrive(ctx, "k", arrival("new", "m", 0)); !errors.Is(err, dedupe.ErrClosed) {
		t.Errorf("%s: Arrive after Close error = %v, want ErrClosed", c.rule, err)
	}
}

func testCancelled(t *testing.T, h *harness) {
	const r = "a cancelled context returns promptly, with nil or ctx.Err()"
	s := h.store(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	ops := []struct {
		name string
		fn   func() error
	}{
		{"Claim", func() error { _, err := s.Claim(ctx, "k", long); return err }},
		{"Commit", func() error { return s.Commit(ctx, "k", long) }},
		{"Release", func() error { return s.Release(ctx, "k") }},
		{"Arrive", func() error { _, err := s.Arrive(ctx, "k", arrival("new", "m", 0)); return err }},
	}
	for _, op := range ops {
		done := make(chan error, 1)
		go func() { done <- op.fn() }()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("%s: %s error = %v, want nil or one matching context.Canceled", r, op.name, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: %s still running 5s after its context was cancelled", r, op.name)
		}
	}
}

func testOddKeys(t *testing.T, h *harness) {
	c := rule(t, "odd keys (empty, 10KB, non-ASCII, binary) work")
	s := h.store(t)
	keys := []string{
		"",
		strings.Repeat("k", 10<<10),
		strings.Repeat("k", 10<<10-1) + "j",
		"Café Ünïcode ☕ 日本語",
		"\x00\xff\xfe binary",
		"a:b#c|d*e?[f]",
	}
	for _, k := range keys {
		c.claim(s, k, long, dedupe.Claimed)
	}
	for _, k := range keys {
		c.claim(s, k, long, dedupe.Pending)
		c.commit(s, k, long)
		c.claim(s, k, long, dedupe.Done)
	}
	for _, k := range keys {
		l := c.fresh(s, k, arrival("legacy", k, 0))
		c.twin(s, k, arrival(k, "m", 0), l) // odd side names too
		c.fresh(s, k, arrival("legacy", k+"2", 0))
	}
}

// testBatch runs only for a [dedupe.BatchStore]: one batch of every kind of
// op must give each op the result its single call would, and leave the
// same state behind.
func testPeek(t *testing.T, h *harness) {
	c := rule(t, "peek reports a claim key's state and changes nothing")
	s, ttl, pass := h.timed(t)
	p, ok := s.(dedupe.Peeker)
	if !ok {
		t.Skip("the store does not implement dedupe.Peeker")
	}
	ctx := t.Context()
	peek := func(key string, want dedupe.State) {
		t.Helper()
		got, err := p.Peek(ctx, key)
		if err != nil || got != want {
			t.Errorf("%s: Peek(%q) = %v, %v; want %v", c.rule, key, got, err, want)
		}
	}
	peek("k", 0)
	c.claim(s, "k", long, dedupe.Claimed) // the peek did not claim it
	peek("k", dedupe.Pending)
	c.claim(s, "k", long, dedupe.Pending)
	c.release(s, "k")
	peek("k", 0)
	c.claim(s, "k", long, dedupe.Claimed)
	c.commit(s, "k", ttl)
	peek("k", dedupe.Done)
	c.fresh(s, "a", arrival("new", "m", 0))
	peek("a", 0) // arrival keys are another namespace
	pass(ttl + ttl/2)
	peek("k", 0)
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Peek(ctx, "k"); !errors.Is(err, dedupe.ErrClosed) {
		t.Errorf("%s: Peek after Close error = %v, want ErrClosed", c.rule, err)
	}
}

func testBatch(t *testing.T, h *harness) {
	c := rule(t, "a batch gives every op the result of its single call")
	s := h.store(t)
	bs, ok := s.(dedupe.BatchStore)
	if !ok {
		t.Skip("the store does not implement dedupe.BatchStore")
	}
	ctx := t.Context()
	c.claim(s, "held", long, dedupe.Claimed)
	c.commit(s, "done", long)
	c.claim(s, "pending", long, dedupe.Claimed)
	x := c.fresh(s, "A", arrival("legacy", "x", 0))
	ops := []dedupe.Op{
		{Kind: dedupe.OpClaim, Key: "new", TTL: long},
		{Kind: dedupe.OpClaim, Key: "held", TTL: long},
		{Kind: dedupe.OpClaim, Key: "done", TTL: long},
		{Kind: dedupe.OpCommit, Key: "committed", TTL: long},
		{Kind: dedupe.OpRelease, Key: "pending"},
		{Kind: dedupe.OpRelease, Key: "absent"},
		{Kind: dedupe.OpArrive, Key: "A", Arrival: arrival("legacy", "y", 0)},
		{Kind: dedupe.OpArrive, Key: "A", Arrival: arrival("new", "z", time.Second)},
		{Kind: dedupe.OpArrive, Key: "B", Arrival: arrival("legacy", "x", 0)},
	}
	if err := bs.Do(ctx, ops); err != nil {
		t.Fatalf("%s: Do error: %v", c.rule, err)
	}
	for i, o := range ops {
		if o.Err != nil {
			t.Fatalf("%s: op %d (%s) error: %v", c.rule, i, o.Key, o.Err)
		}
	}
	for i, want := range []dedupe.State{dedupe.Claimed, dedupe.Pending, dedupe.Done} {
		if got := ops[i].State; got != want {
			t.Errorf("%s: OpClaim(%q) = %v, want %v", c.rule, ops[i].Key, got, want)
		}
	}
	y, z, b := ops[6].Pairing, ops[7].Pairing, ops[8].Pairing
	if y.Epoch == "" || y.Paired || slotOf(y) == x {
		t.Errorf("%s: OpArrive(A, legacy, y) = %+v, want a slot of its own", c.rule, y)
	}
	if !z.Paired || slotOf(z) != x && slotOf(z) != slotOf(y) {
		t.Errorf("%s: OpArrive(A, new, z) = %+v, want paired with x %v or y %v", c.rule, z, x, slotOf(y))
	}
	if b.Epoch == "" || b.Paired {
		t.Errorf("%s: OpArrive(B, legacy, x) = %+v, want a slot of its own", c.rule, b)
	}
	c.claim(s, "new", long, dedupe.Pending)
	c.claim(s, "committed", long, dedupe.Done)
	c.claim(s, "pending", long, dedupe.Claimed)
	if p := c.arrive(s, "A", arrival("legacy", "y", 0)); slotOf(p) != slotOf(y) {
		t.Errorf("%s: retry of y after the batch = %+v, want slot %v", c.rule, p, slotOf(y))
	}

	// A closed store fails every op of a batch with ErrClosed.
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	ops = []dedupe.Op{{Kind: dedupe.OpClaim, Key: "k", TTL: long}, {Kind: dedupe.OpArrive, Key: "A", Arrival: arrival("new", "m", 0)}}
	err := bs.Do(ctx, ops)
	for i, o := range ops {
		if !errors.Is(o.Err, dedupe.ErrClosed) {
			t.Errorf("%s: closed store: op %d error = %v, want ErrClosed", c.rule, i, o.Err)
		}
	}
	if !errors.Is(err, dedupe.ErrClosed) {
		t.Errorf("%s: closed store: Do error = %v, want ErrClosed", c.rule, err)
	}
}
