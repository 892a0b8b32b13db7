package pgstore_test

import (
	"fmt"
	"log/slog"
	"syscall"
	"testing"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/dedupe/pgstore"
	"github.com/jackc/pgx/v5/pgxpool"
)

// settled fails t unless o is a 2xx (processed or duplicate) or in_flight,
// the outcomes that need no store error to happen, and reports whether
// the callback ran.
func settled(t *testing.T, what string, o codathook.Outcome) (processed bool) {
	t.Helper()
	switch o.Result {
	case codathook.ResultProcessed:
		return true
	case codathook.ResultDuplicate, codathook.ResultInFlight:
		return false
	}
	t.Fatalf("%s: %q (%v)", what, o.Result, o.Err)
	return false
}

// serverReplica returns a receiver on a new store, on a new pool, on srv,
// as one replica (re)started has them.
func serverReplica(t *testing.T, srv *server) *replica {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), srv.DSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := pgstore.CreateSchema(t.Context(), pool); err != nil {
		t.Fatal(err)
	}
	s, err := pgstore.New(t.Context(), pool, pgstore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	return newReplica(t, s, nil)
}

// TestDurabilityAcrossRestart commits deliveries, stops PostgreSQL (a
// fast shutdown, or an immediate one: a crash of the server, whose
// recovery replays the WAL), starts it again, and counts the resends and
// legacy twins processed again: the rows of the package documentation's
// Durability. With synchronous_commit on a commit is answered once its WAL
// is flushed, so a crash forgets none. With synchronous_commit off it is
// answered before, and a crash forgets the commits whose WAL was still in
// the server's buffers (written every wal_writer_delay, 200 ms by
// default): here the last few deliveries, processed again.
func TestDurabilityAcrossRestart(t *testing.T) {
	t.Parallel()
	const n = 50
	tests := []struct {
		name  string
		args  []string
		sig   syscall.Signal
		lossy bool // the last commits may be forgotten
	}{
		{"synchronous_commit on, immediate shutdown (a crash): none processed again", []string{"-c", "synchronous_commit=on"}, syscall.SIGQUIT, false},
		{"synchronous_commit off, fast shutdown: none processed again", []string{"-c", "synchronous_commit=off"}, syscall.SIGINT, false},
		{"synchronous_commit off, immediate shutdown: the last commits processed again", []string{"-c", "synchronous_commit=off"}, syscall.SIGQUIT, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, tt.args...)
			before := serverReplica(t, srv)
			for i := range n {
				id := fmt.Sprint(i)
				if o := before.deliverNew("msg_"+id, connBody(id)); o.Result != codathook.ResultProcessed {
					t.Fatalf("first delivery %s: %q (%v); want processed", id, o.Result, o.Err)
				}
			}
			if f := before.commitFailures(); f != 0 {
				t.Fatalf("%d of the first deliveries' commits failed, want none", f)
			}
			srv.restart(tt.sig)
			after := serverReplica(t, srv) // a fresh pool, store and receiver: nothing in-process survives
			// Each occurrence's legacy twin, then a resend of its new
			// delivery: once one is processed again the other pairs with
			// it, so count occurrences, each processed again once or not.
			var again int
			for i := range n {
				id := fmt.Sprint(i)
				twin := settled(t, "legacy twin "+id, after.deliverLegacy(legacyTwinBody("alert_"+id, id)))
				resend := settled(t, "resend "+id, after.deliverNew("msg_"+id, connBody(id)))
				if twin && resend {
					t.Errorf("occurrence %s: twin and resend both processed after the restart", id)
				}
				if twin || resend {
					again++
				}
			}
			t.Logf("after the restart: %d of %d occurrences processed again", again, n)
			if again != 0 && !tt.lossy {
				t.Errorf("%d of %d occurrences processed again after the restart, want 0", again, n)
			}
		})
	}
}
