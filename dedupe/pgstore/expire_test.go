package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/codathook/codathook/dedupe"
	"github.com/codathook/codathook/dedupe/pgstore"
	"github.com/jackc/pgx/v5/pgxpool"
)

// clock is a clock a test moves by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// rows counts the rows of the store's tables in schema.
func rows(t *testing.T, pool *pgxpool.Pool, schema string) (claims, arrivals int64) {
	t.Helper()
	err := pool.QueryRow(t.Context(), fmt.Sprintf("SELECT (SELECT count(*) FROM %s), (SELECT count(*) FROM %s)",
		table(schema, "claims"), table(schema, "arrivals"))).Scan(&claims, &arrivals)
	if err != nil {
		t.Fatal(err)
	}
	return claims, arrivals
}

// fill claims, commits and arrives n keys each in one batch: claims with
// a 1-minute lease, commits for an hour, arrivals kept a minute (and up to
// their 1-minute window more).
func fill(t *testing.T, s *pgstore.Store, prefix string, n int, at time.Time) {
	t.Helper()
	var ops []dedupe.Op
	for i := range n {
		k := fmt.Sprint(prefix, i)
		ops = append(ops,
			dedupe.Op{Kind: dedupe.OpClaim, Key: "claim:" + k, TTL: time.Minute},
			dedupe.Op{Kind: dedupe.OpCommit, Key: "commit:" + k, TTL: time.Hour},
			dedupe.Op{Kind: dedupe.OpArrive, Key: "occ:" + k, Arrival: dedupe.Arrival{Side: "new", Member: k, At: at, Window: time.Minute, TTL: time.Minute, Limit: 64}})
	}
	if err := s.Do(t.Context(), ops); err != nil {
		t.Fatal(err)
	}
}

func TestExpireDeletesExpiredRowsOnly(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	clk := newClock()
	s, schema := newStoreIn(t, pool, pgstore.WithClock(clk.Now), pgstore.WithExpireEvery(0))
	fill(t, s, "k", 1500, clk.Now())
	if c, a := rows(t, pool, schema); c != 3000 || a != 1500 {
		t.Fatalf("after filling: %d claim rows, %d arrival rows; want 3000, 1500", c, a)
	}
	n, err := s.Expire(t.Context())
	if err != nil || n != 0 {
		t.Fatalf("Expire before anything expired = %d, %v; want 0, nil", n, err)
	}
	clk.Advance(2*time.Minute + time.Millisecond) // leases and arrivals (1 minute, and at most the window more) expired
	// A bound of 1000 rows per table each time.
	var got []int64
	for {
		n, err := s.Expire(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if got = append(got, n); n == 0 {
			break
		}
	}
	if want := []int64{2000, 1000, 0}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Expire deleted %v rows, want %v (1000 per table and call)", got, want)
	}
	if c, a := rows(t, pool, schema); c != 1500 || a != 0 {
		t.Errorf("after Expire: %d claim rows, %d arrival rows; want the 1500 commits, 0", c, a)
	}
	// The commits are still Done.
	if st, err := s.Claim(t.Context(), "commit:k7", time.Minute); err != nil || st != dedupe.Done {
		t.Errorf("Claim of a commit after Expire = %v, %v; want done", st, err)
	}
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Expire(t.Context()); !errors.Is(err, dedupe.ErrClosed) {
		t.Errorf("Expire after Close error = %v, want ErrClosed", err)
	}
}

func TestSweepsExpireByThemselves(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	clk := newClock()
	s, schema := newStoreIn(t, pool, pgstore.WithClock(clk.Now), pgstore.WithExpireEvery(100))
	for i := range 5 {
		fill(t, s, fmt.Sprint("b", i, ":"), 500, clk.Now()) // 1500 ops: a sweep, which finds nothing expired
		s.WaitSweep()
	}
	if c, a := rows(t, pool, schema); c != 5000 || a != 2500 {
		t.Fatalf("after filling: %d claim rows, %d arrival rows; want 5000, 2500", c, a)
	}
	clk.Advance(2*time.Minute + time.Millisecond)
	// The next operations start a sweep, which goes on while it expires a
	// full bound.
	for i := range 100 {
		if _, err := s.Claim(t.Context(), fmt.Sprint("late", i), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	s.WaitSweep()
	if c, a := rows(t, pool, schema); c != 2600 || a != 0 {
		t.Errorf("after the sweep: %d claim rows, %d arrival rows; want 2600 (2500 commits, 100 new claims), 0", c, a)
	}
}

func TestCloseStopsTheSweep(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	clk := newClock()
	s, _ := newStoreIn(t, pool, pgstore.WithClock(clk.Now), pgstore.WithExpireEvery(1))
	fill(t, s, "k", 3000, clk.Now())
	s.WaitSweep()
	clk.Advance(time.Hour)
	fill(t, s, "late", 1, clk.Now()) // starts a sweep of 9000 expired rows
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	done := make(chan struct{})
	go func() { s.WaitSweep(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("a sweep still runs after Close returned")
	}
	if err := s.Close(ctx); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
}
