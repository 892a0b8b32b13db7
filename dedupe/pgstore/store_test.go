package pgstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/codathook/codathook/dedupe"
	"github.com/codathook/codathook/dedupe/dedupetest"
	"github.com/codathook/codathook/dedupe/pgstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pgDSN returns PGSTORE_DSN, the connection string of the database the
// tests use. Without it the test is skipped, except on CI (CI=true), where
// a missing server is a failure: CI must run these tests.
func pgDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv("PGSTORE_DSN")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal("PGSTORE_DSN is unset on CI; start PostgreSQL and export PGSTORE_DSN (scripts/test.sh does)")
		}
		tb.Skip("PGSTORE_DSN is unset; start PostgreSQL and export PGSTORE_DSN=postgres://... to run")
	}
	return dsn
}

// newPool returns a pool on PGSTORE_DSN, changed by each of mods, closed
// with tb.
func newPool(tb testing.TB, mods ...func(*pgxpool.Config)) *pgxpool.Pool {
	tb.Helper()
	cfg, err := pgxpool.ParseConfig(pgDSN(tb))
	if err != nil {
		tb.Fatalf("PGSTORE_DSN: %v", err)
	}
	for _, m := range mods {
		m(cfg)
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("PGSTORE_DSN: %v", err)
	}
	tb.Cleanup(pool.Close)
	if err := pool.Ping(context.Background()); err != nil {
		tb.Fatalf("PGSTORE_DSN: %v", err)
	}
	return pool
}

// testSchema creates the store's tables in a schema of their own, so that
// tests sharing a database never see each other's rows; the schema is
// dropped afterwards. It returns the schema's name.
func testSchema(tb testing.TB, pool *pgxpool.Pool) string {
	tb.Helper()
	schema := fmt.Sprintf("codathook_test_%x", rand.Uint64())
	if err := pgstore.CreateSchema(context.Background(), pool, pgstore.WithSchema(schema)); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { dropSchema(tb, pool, schema) })
	return schema
}

func dropSchema(tb testing.TB, pool *pgxpool.Pool, schema string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := pool.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
		tb.Errorf("dropping the test schema: %v", err)
	}
}

// table is the quoted name of the store's table ("claims" or "arrivals")
// in schema, with the default prefix.
func table(schema, name string) string {
	return pgx.Identifier{schema, pgstore.DefaultPrefix + name}.Sanitize()
}

// newStore returns a store on its own schema (see testSchema), made with
// opts added.
func newStore(tb testing.TB, pool *pgxpool.Pool, opts ...pgstore.Option) *pgstore.Store {
	tb.Helper()
	s, _ := newStoreIn(tb, pool, opts...)
	return s
}

// newStoreIn is newStore, also returning the schema.
func newStoreIn(tb testing.TB, pool *pgxpool.Pool, opts ...pgstore.Option) (*pgstore.Store, string) {
	tb.Helper()
	schema := testSchema(tb, pool)
	return openStore(tb, pool, append([]pgstore.Option{pgstore.WithSchema(schema)}, opts...)...), schema
}

// openStore returns a store made with opts, closed with tb.
func openStore(tb testing.TB, pool *pgxpool.Pool, opts ...pgstore.Option) *pgstore.Store {
	tb.Helper()
	s, err := pgstore.New(context.Background(), pool, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	dedupetest.Run(t, func(t *testing.T) dedupe.Store { return newStore(t, pool) }, &dedupetest.Config{RealTTL: time.Second})
}

func TestConformanceClock(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	dedupetest.Run(t, func(t *testing.T) dedupe.Store { return newStore(t, pool) }, &dedupetest.Config{
		Clock: func(t *testing.T, now func() time.Time) dedupe.Store {
			return newStore(t, pool, pgstore.WithClock(now))
		},
	})
}

func TestConformanceSimpleProtocol(t *testing.T) {
	t.Parallel()
	// A pool that sends every batch as one simple-protocol query, as
	// poolers without prepared statements need.
	pool := newPool(t, func(c *pgxpool.Config) { c.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol })
	dedupetest.Run(t, func(t *testing.T) dedupe.Store { return newStore(t, pool) }, &dedupetest.Config{
		Clock: func(t *testing.T, now func() time.Time) dedupe.Store {
			return newStore(t, pool, pgstore.WithClock(now))
		},
	})
}

func BenchmarkPostgres(b *testing.B) {
	pool := newPool(b)
	dedupetest.RunBenchmarks(b, func(b *testing.B) dedupe.Store { return newStore(b, pool) })
}

func TestNew(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	ctx := t.Context()
	if _, err := pgstore.New(ctx, nil); err == nil {
		t.Error("New(ctx, nil) error = nil, want an error")
	}
	tests := []struct {
		name    string
		pool    *pgxpool.Pool
		opts    []pgstore.Option
		wantErr string // "" for none
		wantLog string
	}{
		{name: "tables that do not exist are an error naming CreateSchema", pool: pool,
			opts: []pgstore.Option{pgstore.WithPrefix(fmt.Sprintf("none_%x_", rand.Uint64()))}, wantErr: "pgstore.CreateSchema"},
		{name: "a prefix longer than 43 bytes is refused", pool: pool,
			opts: []pgstore.Option{pgstore.WithPrefix(strings.Repeat("p", 44))}, wantErr: "longer than 43 bytes"},
		{name: "repeatable read is refused", opts: []pgstore.Option{pgstore.WithSchema(testSchema(t, pool))}, wantErr: "read committed",
			pool: newPool(t, func(c *pgxpool.Config) {
				c.ConnConfig.RuntimeParams["default_transaction_isolation"] = "repeatable read"
			})},
		{name: "synchronous_commit off is a warning", opts: []pgstore.Option{pgstore.WithSchema(testSchema(t, pool))}, wantLog: "synchronous_commit is off",
			pool: newPool(t, func(c *pgxpool.Config) { c.ConnConfig.RuntimeParams["synchronous_commit"] = "off" })},
		{name: "the default setup is accepted silently", pool: pool, opts: []pgstore.Option{pgstore.WithSchema(testSchema(t, pool))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var log bytes.Buffer
			opts := append([]pgstore.Option{pgstore.WithLogger(slog.New(slog.NewTextHandler(&log, nil)))}, tt.opts...)
			s, err := pgstore.New(t.Context(), tt.pool, opts...)
			if s != nil {
				t.Cleanup(func() { _ = s.Close(context.Background()) })
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("New error = %v, want none", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("New error = %v, want one containing %q", err, tt.wantErr)
			}
			if got := log.String(); tt.wantLog == "" && got != "" || !strings.Contains(got, tt.wantLog) {
				t.Errorf("New logged %q, want %q", got, tt.wantLog)
			}
		})
	}
}

func TestNewDefaultSchemaIsPinned(t *testing.T) {
	t.Parallel()
	// Without WithSchema the store uses the current schema of the
	// connection New checks: here the test schema, through search_path.
	pool := newPool(t)
	schema := testSchema(t, pool)
	onPath := newPool(t, func(c *pgxpool.Config) { c.ConnConfig.RuntimeParams["search_path"] = schema })
	s := openStore(t, onPath)
	if _, err := s.Claim(t.Context(), "k", time.Hour); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM "+table(schema, "claims")).Scan(&n); err != nil || n != 1 {
		t.Errorf("rows in %s = %d, %v; want 1", table(schema, "claims"), n, err)
	}
}

func TestCreateSchemaIsIdempotentAndConcurrent(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	schema := fmt.Sprintf("codathook_test_%x", rand.Uint64())
	t.Cleanup(func() { dropSchema(t, pool, schema) })
	errs := make(chan error, 8)
	for range cap(errs) {
		go func() { errs <- pgstore.CreateSchema(t.Context(), pool, pgstore.WithSchema(schema)) }()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Errorf("CreateSchema, 8 at once: %v", err)
		}
	}
	if err := pgstore.CreateSchema(t.Context(), pool, pgstore.WithSchema(schema)); err != nil {
		t.Errorf("CreateSchema once more: %v", err)
	}
	openStore(t, pool, pgstore.WithSchema(schema))
}

func TestFailsClosed(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	schema := testSchema(t, pool)
	own := newPool(t)
	s := openStore(t, own, pgstore.WithSchema(schema), pgstore.WithTimeout(time.Second))
	own.Close() // the database goes away under the store
	ctx := t.Context()
	if _, err := s.Claim(ctx, "k", time.Minute); err == nil {
		t.Error("Claim on a closed pool: error = nil, want an error")
	}
	if err := s.Commit(ctx, "k", time.Minute); err == nil {
		t.Error("Commit on a closed pool: error = nil, want an error")
	}
	if err := s.Release(ctx, "k"); err == nil {
		t.Error("Release on a closed pool: error = nil, want an error")
	}
	if _, err := s.Arrive(ctx, "k", dedupe.Arrival{Side: "new", Member: "m", At: time.Now(), Window: time.Minute, TTL: time.Minute, Limit: 8}); err == nil {
		t.Error("Arrive on a closed pool: error = nil, want an error")
	}
	ops := []dedupe.Op{{Kind: dedupe.OpClaim, Key: "a", TTL: time.Minute}, {Kind: dedupe.OpCommit, Key: "b", TTL: time.Minute}}
	err := s.Do(ctx, ops)
	if err == nil || ops[0].Err == nil || ops[1].Err == nil {
		t.Errorf("Do on a closed pool = %v (ops: %v, %v), want an error for the batch and each op", err, ops[0].Err, ops[1].Err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping on a closed pool: error = nil, want an error")
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	s, schema := newStoreIn(t, pool, pgstore.WithTimeout(200*time.Millisecond))
	// Another session locks the claims table: a claim waits for it until
	// the store's timeout, though its own context has no deadline.
	tx, err := pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	if _, err := tx.Exec(t.Context(), "LOCK TABLE "+table(schema, "claims")+" IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = s.Claim(context.Background(), "k", time.Minute)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Claim on a locked table: error %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Claim returned after %v, want about the 200ms timeout", d)
	}
}
