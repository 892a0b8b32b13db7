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
		{"ArriveOrdinals", testArriveOrdinals},
		{"ArriveMemberStable", testArriveMemberStable},
		{"ArriveSidesIndependent", testArriveSidesIndependent},
		{"ArriveSlidingWindow", testArriveSliding},
		{"ArriveNewEpochAfterExpiry", testArriveNewEpoch},
		{"RaceOneClaimWins", testRaceClaim},
		{"RaceArriveDistinctOrdinals", testRaceArrive},
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

func (c checker) arrive(s dedupe.Store, key, side, member string, ttl time.Duration, want int64) string {
	c.t.Helper()
	got, epoch, err := s.Arrive(c.t.Context(), key, side, member, ttl)
	if err != nil {
		c.t.Fatalf("%s: Arrive(%s, %q, %q) error: %v", c.rule, short(key), side, member, err)
	}
	if got != want {
		c.t.Errorf("%s: Arrive(%s, %q, %q) ordinal = %d, want %d", c.rule, short(key), side, member, got, want)
	}
	if epoch == "" {
		c.t.Errorf("%s: Arrive(%s, %q, %q) epoch is empty, want an identifier", c.rule, short(key), side, member)
	}
	return epoch
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
	c.arrive(s, "k", "new", "m", long, 1)
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
	c.arrive(s, "a", "legacy", "m", long, 1)
	c.claim(s, "a", long, dedupe.Done)
	c.claim(s, "fresh", long, dedupe.Claimed)
	c.arrive(s, "fresh", "legacy", "m", long, 1)
}

func testArriveOrdinals(t *testing.T, h *harness) {
	c := rule(t, "arrivals are numbered 1, 2, 3 in order per side")
	s := h.store(t)
	e := c.arrive(s, "K", "legacy", "m1", long, 1)
	for i, m := range []string{"m2", "m3", "m4"} {
		if got := c.arrive(s, "K", "legacy", m, long, int64(i+2)); got != e {
			t.Errorf("%s: epoch changed while the record lived: got %q, want %q", c.rule, got, e)
		}
	}
	c.arrive(s, "other", "legacy", "m1", long, 1)
}

func testArriveMemberStable(t *testing.T, h *harness) {
	c := rule(t, "a member keeps its ordinal")
	s := h.store(t)
	c.arrive(s, "K", "new", "a", long, 1)
	c.arrive(s, "K", "new", "b", long, 2)
	c.arrive(s, "K", "new", "a", long, 1)
	c.arrive(s, "K", "new", "b", long, 2)
	c.arrive(s, "K", "new", "c", long, 3)
	c.arrive(s, "K", "new", "a", long, 1)
}

func testArriveSidesIndependent(t *testing.T, h *harness) {
	c := rule(t, "sides count independently and share the epoch")
	s := h.store(t)
	e1 := c.arrive(s, "K", "legacy", "a", long, 1)
	c.arrive(s, "K", "legacy", "b", long, 2)
	e2 := c.arrive(s, "K", "new", "x", long, 1)
	// The same member string on another side is another member.
	c.arrive(s, "K", "new", "a", long, 2)
	c.arrive(s, "K", "legacy", "c", long, 3)
	c.arrive(s, "K", "new", "y", long, 3)
	if e1 != e2 {
		t.Errorf("%s: epochs differ across sides: %q vs %q", c.rule, e1, e2)
	}
}

func testArriveSliding(t *testing.T, h *harness) {
	c := rule(t, "an arrival record lives ttl after its last arrival")
	s, ttl, pass := h.timed(t)
	e := c.arrive(s, "K", "legacy", "a", ttl, 1)
	pass(ttl / 2)
	refreshed := time.Now()
	c.arrive(s, "K", "legacy", "a", ttl, 1) // refreshes the record
	pass(ttl * 7 / 10)                      // 1.2 ttl after the first arrival
	ord, got, err := s.Arrive(t.Context(), "K", "legacy", "b", ttl)
	if err != nil {
		t.Fatalf("%s: Arrive error: %v", c.rule, err)
	}
	if d := time.Since(refreshed); d >= ttl {
		// With real sleeps on a loaded machine the record may rightly have
		// expired: the refresh reached the store no earlier than refreshed.
		t.Skipf("%s: %v passed between the refresh and the last arrival, not under the ttl %v; raise WithRealTTL to judge", c.rule, d, ttl)
	}
	if ord != 2 {
		t.Errorf("%s: Arrive(\"K\", \"legacy\", \"b\") ordinal = %d, want 2", c.rule, ord)
	}
	if got != e {
		t.Errorf("%s: epoch = %q, want %q (record expired too early)", c.rule, got, e)
	}
}

func testArriveNewEpoch(t *testing.T, h *harness) {
	c := rule(t, "an expired arrival record starts a new epoch at ordinal 1")
	s, ttl, pass := h.timed(t)
	e1 := c.arrive(s, "K", "legacy", "a", ttl, 1)
	c.arrive(s, "K", "legacy", "b", ttl, 2)
	c.arrive(s, "K", "new", "x", ttl, 1)
	pass(ttl + ttl/2)
	e2 := c.arrive(s, "K", "legacy", "b", ttl, 1)
	c.arrive(s, "K", "new", "y", ttl, 1)
	if e1 == e2 {
		t.Errorf("%s: epoch after expiry = %q, want a value other than %q", c.rule, e2, e1)
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
	c := rule(t, "N goroutines arriving at once get ordinals 1..N in one epoch")
	s := h.store(t)
	const n = 32
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		ords   = map[int64]int{}
		epochs = map[string]int{}
		errs   []error
		start  = make(chan struct{})
	)
	for i := range n {
		wg.Go(func() {
			<-start
			o, e, err := s.Arrive(t.Context(), "K", "new", "m"+strconv.Itoa(i), long)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			ords[o]++
			epochs[e]++
		})
	}
	close(start)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%s: Arrive errors: %v", c.rule, errors.Join(errs...))
	}
	for i := int64(1); i <= n; i++ {
		if ords[i] != 1 {
			t.Errorf("%s: ordinal %d handed out %d times, want 1", c.rule, i, ords[i])
		}
	}
	if got, want := len(epochs), 1; got != want {
		t.Errorf("%s: %d distinct epochs, want %d", c.rule, got, want)
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
	if _, _, err := s.Arrive(ctx, "k", "new", "m", long); !errors.Is(err, dedupe.ErrClosed) {
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
		{"Arrive", func() error { _, _, err := s.Arrive(ctx, "k", "new", "m", long); return err }},
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
		c.arrive(s, k, "legacy", k, long, 1)
		c.arrive(s, k, k, "m", long, 1) // odd side names too
		c.arrive(s, k, "legacy", k+"2", long, 2)
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
	c.arrive(s, "a", "new", "m", long, 1)
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
	c.arrive(s, "A", "legacy", "x", long, 1)
	ops := []dedupe.Op{
		{Kind: dedupe.OpClaim, Key: "new", TTL: long},
		{Kind: dedupe.OpClaim, Key: "held", TTL: long},
		{Kind: dedupe.OpClaim, Key: "done", TTL: long},
		{Kind: dedupe.OpCommit, Key: "committed", TTL: long},
		{Kind: dedupe.OpRelease, Key: "pending"},
		{Kind: dedupe.OpRelease, Key: "absent"},
		{Kind: dedupe.OpArrive, Key: "A", Side: "legacy", Member: "y", TTL: long},
		{Kind: dedupe.OpArrive, Key: "A", Side: "new", Member: "z", TTL: long},
		{Kind: dedupe.OpArrive, Key: "B", Side: "legacy", Member: "x", TTL: long},
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
	for i, want := range map[int]int64{6: 2, 7: 1, 8: 1} {
		if got := ops[i].Ordinal; got != want {
			t.Errorf("%s: OpArrive(%q, %q, %q) ordinal = %d, want %d", c.rule, ops[i].Key, ops[i].Side, ops[i].Member, got, want)
		}
		if ops[i].Epoch == "" {
			t.Errorf("%s: OpArrive(%q) epoch is empty", c.rule, ops[i].Key)
		}
	}
	if ops[6].Epoch != ops[7].Epoch {
		t.Errorf("%s: one record's arrivals in one batch got epochs %q and %q, want one", c.rule, ops[6].Epoch, ops[7].Epoch)
	}
	c.claim(s, "new", long, dedupe.Pending)
	c.claim(s, "committed", long, dedupe.Done)
	c.claim(s, "pending", long, dedupe.Claimed)
	c.arrive(s, "A", "legacy", "y", long, 2)

	// A closed store fails every op of a batch with ErrClosed.
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	ops = []dedupe.Op{{Kind: dedupe.OpClaim, Key: "k", TTL: long}, {Kind: dedupe.OpArrive, Key: "A", Side: "new", Member: "m", TTL: long}}
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
