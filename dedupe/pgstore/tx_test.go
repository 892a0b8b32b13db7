package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"testing"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
	"github.com/codathook/codathook/dedupe/pgstore"
	"github.com/jackc/pgx/v5"
)

// Exactly-once effects: the callback's insert and the delivery's dedupe
// commit are one PostgreSQL transaction. The test kills the connection of
// that transaction after the callback has written and before the receiver
// commits: neither the row nor the commit is visible (the delivery gets
// 503, and its claim is released), so Codat's retry processes it and
// writes the row once; a resend and the legacy twin are duplicates, and a
// callback that fails after writing leaves no row either.
func TestTransactionKilledBeforeCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := newPool(t)
	store, schema := newStoreIn(t, pool, pgstore.WithTransactions())
	orders := pgx.Identifier{schema, "orders"}.Sanitize()
	if _, err := pool.Exec(ctx, "CREATE TABLE "+orders+" (company text NOT NULL, delivery text NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	rows := func(company string) int {
		t.Helper()
		var n int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+orders+" WHERE company = $1", company).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	var kill, fail bool // for the next callback run
	rcv, err := codathook.New(
		codathook.WithSecrets(codathooktest.DevSecret),
		codathook.WithLegacyAuthorization(codathooktest.DevAuthorization),
		codathook.WithDedupe(store, nil),
		codathook.WithLogger(slog.New(slog.DiscardHandler)),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rcv.Close(ctx) })
	err = codathook.On(rcv, "connection.connected", func(ctx context.Context, ev *codathook.ConnectionEvent) error {
		tx, ok := pgstore.TxFromContext(ctx)
		if !ok {
			return errors.New("no transaction in the callback's context")
		}
		del, _ := codathook.DeliveryFromContext(ctx)
		if _, err := tx.Exec(ctx, "INSERT INTO "+orders+" VALUES ($1, $2)", ev.Payload.ReferenceCompany.ID, del.ID); err != nil {
			return err
		}
		if kill {
			kill = false
			// The database connection dies between the callback and
			// the commit (the server restarted, the network broke).
			pid := tx.Conn().PgConn().PID()
			if _, err := pool.Exec(context.Background(), "SELECT pg_terminate_backend($1)", pid); err != nil {
				return fmt.Errorf("terminating backend %d: %w", pid, err)
			}
		}
		if fail {
			fail = false
			return errors.New("a later step failed")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	newEP, legEP := rcv.Handler(codathook.EndpointNew), rcv.Handler(codathook.EndpointLegacy)
	signer := codathooktest.MustSigner(codathooktest.DevSecret)
	company := fmt.Sprintf("co-%x", rand.Uint64())
	body := fmt.Appendf(nil, `{"id":"evt-1","eventType":"connection.connected","generatedDate":%q,"payload":{"referenceCompany":{"id":%q},"connection":{"id":"conn","status":"Linked"}}}`, generated(), company)
	legacy := fmt.Appendf(nil, `{"AlertId":"alert-1","RuleType":"DataConnectionStatusChanged","CompanyId":%q,"DataConnectionId":"conn","Data":{"dataConnectionId":"conn","newStatus":"Linked","oldStatus":"PendingAuth"}}`, company)
	signer.MsgID = "msg_" + codathooktest.NewID()
	deliverNew := func() codathook.Result {
		resp := codathooktest.Do(newEP, signer.NewRequest(http.MethodPost, "/webhooks/codat", body))
		return codathook.Result(resp.Header.Get(codathook.HeaderResult))
	}

	kill = true
	if got := deliverNew(); got != codathook.ResultUnavailable {
		t.Fatalf("connection killed before the commit: %s, want unavailable (503)", got)
	}
	if n := rows(company); n != 0 {
		t.Fatalf("connection killed before the commit: %d rows visible, want 0", n)
	}
	fail = true
	if got := deliverNew(); got != codathook.ResultFailed {
		t.Fatalf("callback failing after its insert: %s, want failed", got)
	}
	if n := rows(company); n != 0 {
		t.Fatalf("callback failed: %d rows visible, want 0", n)
	}
	if got := deliverNew(); got != codathook.ResultProcessed {
		t.Fatalf("the retry: %s, want processed", got)
	}
	if got := deliverNew(); got != codathook.ResultDuplicate {
		t.Fatalf("a resend: %s, want duplicate", got)
	}
	resp := codathooktest.Do(legEP, codathooktest.NewLegacyRequest("/webhooks/codat/legacy", codathooktest.DevAuthorization, legacy))
	if got := codathook.Result(resp.Header.Get(codathook.HeaderResult)); got != codathook.ResultDuplicate {
		t.Fatalf("the legacy twin: %s, want duplicate", got)
	}
	if n := rows(company); n != 1 {
		t.Errorf("after the retry, a resend and the twin: %d rows, want exactly 1", n)
	}
}
