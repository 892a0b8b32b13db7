package pgstore_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/dedupe/pgstore"
	"github.com/jackc/pgx/v5/pgxpool"
)

func connBody(id string) []byte {
	return fmt.Appendf(nil, `{"id":%q,"eventType":"connection.connected","generatedDate":%q,"payload":{"referenceCompany":{"id":"c-%s"},"connection":{"id":"conn","status":"Linked"}}}`, id, generated(), id)
}

// generated is a generatedDate of now: the occurrence time pairing compares.
func generated() string { return time.Now().UTC().Format(time.RFC3339Nano) }

// legacyTwinBody is the legacy delivery of connBody(company)'s occurrence.
func legacyTwinBody(alertID, company string) []byte {
	return fmt.Appendf(nil, `{"AlertId":%q,"RuleType":"DataConnectionStatusChanged","CompanyId":"c-%s","DataConnectionId":"conn","Data":{"dataConnectionId":"conn","newStatus":"Linked","oldStatus":"PendingAuth"}}`, alertID, company)
}

// trips counts network round trips on the connections of a pool: each
// burst of writes after a read (or first) is one.
type trips struct{ n atomic.Int64 }

// dial is a pgconn DialFunc whose connections count their round trips.
func (tr *trips) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{KeepAlive: 5 * time.Minute}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, trips: tr}, nil
}

type countingConn struct {
	net.Conn
	trips   *trips
	mu      sync.Mutex
	writing bool
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	if !c.writing {
		c.writing = true
		c.trips.n.Add(1)
	}
	c.mu.Unlock()
	return c.Conn.Write(b)
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.mu.Lock()
		c.writing = false
		c.mu.Unlock()
	}
	return n, err
}

// TestRoundTripsPerDelivery counts the network round trips (on a wrapped
// net.Conn) of each delivery through a receiver. The pool has one
// connection, warmed up first: pgx prepares each statement once per
// connection, one more round trip the first time a batch meets it. The
// pool's ping of a connection idle for over a second (pgxpool's
// ShouldPing default) is turned off here: after a pause it costs one more.
//
// With WithTransactions a processed delivery costs two more: BEGIN, and
// COMMIT after the keys' batch, which runs in the transaction.
func TestRoundTripsPerDelivery(t *testing.T) {
	t.Parallel()
	for _, tx := range []bool{false, true} {
		t.Run(fmt.Sprintf("transactions=%v", tx), func(t *testing.T) {
			t.Parallel()
			roundTrips(t, tx)
		})
	}
}

func roundTrips(t *testing.T, transactions bool) {
	var tr trips
	pool := newPool(t, func(c *pgxpool.Config) {
		c.MaxConns = 1
		c.ConnConfig.DialFunc = tr.dial
		c.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return false }
	})
	var opts []pgstore.Option
	extra := int64(0) // round trips a processed delivery adds
	if transactions {
		opts, extra = append(opts, pgstore.WithTransactions()), 2
	}
	r := newReplica(t, newStore(t, pool, opts...), nil)
	count := func(deliver func() codathook.Outcome) (codathook.Outcome, int64) {
		t.Helper()
		before := tr.n.Load()
		o := deliver()
		return o, tr.n.Load() - before
	}
	newDelivery := func(msgID string, body []byte) func() codathook.Outcome {
		return func() codathook.Outcome { return r.deliverNew(msgID, body) }
	}
	legacyDelivery := func(body []byte) func() codathook.Outcome {
		return func() codathook.Outcome { return r.deliverLegacy(body) }
	}
	// The warm-up prepares every statement: claim, state, arrive, commit,
	// release.
	if o := r.deliverNew("msg_warm", connBody("warm")); o.Result != codathook.ResultProcessed {
		t.Fatalf("warm-up delivery: %q (%v), want processed", o.Result, o.Err)
	}
	if o := r.deliverLegacy(legacyTwinBody("a_warm", "warm")); o.Result != codathook.ResultDuplicate {
		t.Fatalf("warm-up twin: %q (%v), want duplicate", o.Result, o.Err)
	}
	readBody := func(id string) []byte {
		return fmt.Appendf(nil, `{"id":%q,"eventType":"read.completed","generatedDate":%q,"payload":{"referenceCompany":{"id":"c-%s"},"dataTypes":[`+
			`{"connectionId":"k","dataType":"invoices","status":"Complete"},{"connectionId":"k","dataType":"bills","status":"Complete"},{"connectionId":"k","dataType":"customers","status":"Complete"}]}}`, id, generated(), id)
	}
	tests := []struct {
		name        string
		deliver     func() codathook.Outcome
		want        codathook.Result
		wantTrips   int64
		explanation string
	}{
		{"a new paired delivery", newDelivery("msg_1", connBody("1")), codathook.ResultProcessed, 4 + extra,
			"claim d:msg:msg_1; claim i:1 + arrive; claim slot; commit d:, i:, slot"},
		{"its retry", newDelivery("msg_1", connBody("1")), codathook.ResultDuplicate, 1, "claim d:msg:msg_1 (Done)"},
		{"a read.completed with three elements", newDelivery("msg_2", readBody("2")), codathook.ResultProcessed, 4 + extra,
			"claim d:; claim i: + 3 arrivals; 3 slot claims; 5 commits"},
		{"a legacy twin of the first delivery", legacyDelivery(legacyTwinBody("a1", "1")), codathook.ResultDuplicate, 4,
			"claim d:id:a1; claim i:a1 + arrive; claim slot (Done); commit d:id:a1 + release i:a1"},
	}
	for _, tt := range tests {
		got, n := count(tt.deliver)
		if got.Result != tt.want {
			t.Errorf("%s: result = %q (%v), want %q", tt.name, got.Result, got.Err, tt.want)
		}
		if n != tt.wantTrips {
			t.Errorf("%s: %d round trips, want %d (%s)", tt.name, n, tt.wantTrips, tt.explanation)
		}
		t.Logf("%s: %d PostgreSQL round trips", tt.name, n)
	}
	if n := r.commitFailures(); n != 0 {
		t.Errorf("%d commits failed, want none", n)
	}
}

// sharedStores returns two stores on one schema, each on a pool of its
// own, as two replicas of an app (two processes) have them.
func sharedStores(t *testing.T) (a, b *pgstore.Store) {
	t.Helper()
	schema := testSchema(t, newPool(t))
	opts := []pgstore.Option{pgstore.WithSchema(schema), pgstore.WithLogger(slog.New(slog.DiscardHandler))}
	return openStore(t, newPool(t), opts...), openStore(t, newPool(t), opts...)
}

// TestTwoReceiversShareTheStore runs two receivers on two stores (two
// pools) sharing one schema: a legacy delivery and its new twin, one on
// each, are processed once, in either order, and a retry on the other
// replica is a duplicate.
func TestTwoReceiversShareTheStore(t *testing.T) {
	t.Parallel()
	sa, sb := sharedStores(t)
	a, b := newReplica(t, sa, nil), newReplica(t, sb, nil)
	steps := []struct {
		name    string
		deliver func() codathook.Outcome
		want    codathook.Result
	}{
		{"legacy on A", func() codathook.Outcome { return a.deliverLegacy(legacyTwinBody("a1", "1")) }, codathook.ResultProcessed},
		{"its new twin on B", func() codathook.Outcome { return b.deliverNew("msg_1", connBody("1")) }, codathook.ResultDuplicate},
		{"a retry of the new twin on A", func() codathook.Outcome { return a.deliverNew("msg_1", connBody("1")) }, codathook.ResultDuplicate},
		{"a retry of the legacy delivery on B", func() codathook.Outcome { return b.deliverLegacy(legacyTwinBody("a1", "1")) }, codathook.ResultDuplicate},
		{"new on B", func() codathook.Outcome { return b.deliverNew("msg_2", connBody("2")) }, codathook.ResultProcessed},
		{"its legacy twin on A", func() codathook.Outcome { return a.deliverLegacy(legacyTwinBody("a2", "2")) }, codathook.ResultDuplicate},
	}
	for _, s := range steps {
		if o := s.deliver(); o.Result != s.want {
			t.Errorf("%s: %q (%v), want %q", s.name, o.Result, o.Err, s.want)
		}
	}
	if a.calls+b.calls != 2 {
		t.Errorf("callbacks ran %d times (A %d, B %d), want 2: once per occurrence", a.calls+b.calls, a.calls, b.calls)
	}
}

// TestTwoReceiversRacingTwins delivers each occurrence's legacy delivery
// to one receiver and its new twin to the other at the same time: each
// occurrence is processed exactly once, the other copy answered as a
// duplicate, or in flight and then, retried, a duplicate.
func TestTwoReceiversRacingTwins(t *testing.T) {
	t.Parallel()
	const n = 40
	sa, sb := sharedStores(t)
	var (
		mu        sync.Mutex
		processed [n]int
		inFlight  int
	)
	// Both replicas start delivering once both are built.
	var ready sync.WaitGroup
	ready.Add(2)
	drive := func(t *testing.T, store *pgstore.Store, deliver func(r *replica, i int) codathook.Outcome) {
		t.Parallel()
		r := newReplica(t, store, nil)
		ready.Done()
		ready.Wait()
		for i := range n {
			for attempt := 1; ; attempt++ {
				o := deliver(r, i)
				if o.Result == codathook.ResultInFlight && attempt < 100 {
					mu.Lock()
					inFlight++
					mu.Unlock()
					time.Sleep(5 * time.Millisecond) // the other replica is processing it: retry, as Codat would
					continue
				}
				if o.Result != codathook.ResultProcessed && o.Result != codathook.ResultDuplicate {
					t.Errorf("occurrence %d: %q (%v), want processed or duplicate", i, o.Result, o.Err)
				}
				if o.Result == codathook.ResultProcessed {
					mu.Lock()
					processed[i]++
					mu.Unlock()
				}
				break
			}
		}
	}
	t.Run("replicas", func(t *testing.T) {
		t.Run("legacy on A", func(t *testing.T) {
			drive(t, sa, func(r *replica, i int) codathook.Outcome {
				return r.deliverLegacy(legacyTwinBody(fmt.Sprint("a", i), fmt.Sprint(i)))
			})
		})
		t.Run("new on B", func(t *testing.T) {
			drive(t, sb, func(r *replica, i int) codathook.Outcome {
				return r.deliverNew(fmt.Sprint("msg_", i), connBody(fmt.Sprint(i)))
			})
		})
	})
	var wrong []string
	for i, p := range processed {
		if p != 1 {
			wrong = append(wrong, fmt.Sprintf("occurrence %d processed %d times", i, p))
		}
	}
	if len(wrong) > 0 {
		t.Errorf("want each occurrence processed once: %s", strings.Join(wrong, "; "))
	}
	t.Logf("%d occurrences, %d answers in flight (retried)", n, inFlight)
}

// TestReceiverReadyPingsPostgres checks that a receiver on the store is
// ready while its database answers, and not ready once it is gone.
func TestReceiverReadyPingsPostgres(t *testing.T) {
	t.Parallel()
	schema := testSchema(t, newPool(t))
	own := newPool(t)
	r := newReplica(t, openStore(t, own, pgstore.WithSchema(schema)), nil)
	if err := r.rcv.Ready(t.Context()); err != nil {
		t.Fatalf("Ready with the database up: %v", err)
	}
	own.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if err := r.rcv.Ready(ctx); err == nil || !strings.Contains(err.Error(), "dedupe store") {
		t.Fatalf("Ready with the database gone = %v, want an error naming the store", err)
	}
}
