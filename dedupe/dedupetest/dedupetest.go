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

// Config tunes [Run]. A nil *Config selects the defaults.
type Config struct {
	// Clock, when set, builds the store on a clock the suite controls, so
	// the expiry rules run without sleeping; the store must read now for
	// every expiry decision.
	Clock func(t *testing.T, now func() time.Time) dedupe.Store
	// RealTTL is the TTL the expiry rules use without Clock (default
	// 200ms). The suite sleeps about 1.5 times this per expiry rule; raise
	// it for a slow or distant backend.
	RealTTL time.Duration
}

type config struct {
	clocked func(t *testing.T, now func() time.Time) dedupe.Store
	realTTL time.Duration
}

// long is a TTL no test outlives.
const long = time.Hour

// Run checks that the stores newStore returns obey the [dedupe.Store]
// contract, one subtest per rule, in parallel. Failure messages start with
// the rule's name.
func Run(t *testing.T, newStore func(t *testing.T) dedupe.Store, c *Config) {
	t.Helper()
	cfg := config{realTTL: 200 * time.Millisecond}
	if c != nil {
		cfg.clocked = c.Clock
		if c.RealTTL > 0 {
			cfg.realTTL = c.RealTTL
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
		{"BatchGate", testBatchGate},
		{"BatchSlotClaim", testBatchSlotClaim},
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
			t.Fatal("Config.Clock factory returned nil")
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
