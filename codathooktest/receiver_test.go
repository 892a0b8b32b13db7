package codathooktest_test

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
)

// TestTwinsThroughReceiver sends each Twin to a receiver running both
// endpoints: the occurrence is processed once, the second format is
// acknowledged as a duplicate.
func TestTwinsThroughReceiver(t *testing.T) {
	t.Parallel()
	for _, typ := range []string{
		"connection.created", "connection.connected", "connection.disconnected", "connection.reconnected", "connection.deleted",
		"read.completed", "read.completed.initial", "bills.write.successful", "invoices.write.unsuccessful",
		"client.rateLimit.reached", "client.rateLimit.reset", "expenses.sync.successful", "expenses.sync.unsuccessful",
	} {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			rcv, err := codathook.New(
				codathook.WithSecrets(codathooktest.DevSecret),
				codathook.WithLegacyAuthorization(codathooktest.DevAuthorization),
				codathook.WithLogger(slog.New(slog.DiscardHandler)),
			)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { rcv.Close(context.Background()) })
			var calls atomic.Int64
			if err := codathook.On(rcv, "*", func(context.Context, *codathook.Event) error {
				calls.Add(1)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			nb, lb, err := codathooktest.Twin(typ, codathooktest.SampleOptions{}) // fresh ids, shared by the twins
			if err != nil {
				t.Fatal(err)
			}
			r1 := codathooktest.Do(rcv.Handler(codathook.EndpointNew), codathooktest.MustSigner(codathooktest.DevSecret).NewRequest(http.MethodPost, "/webhooks/codat", nb))
			r2 := codathooktest.Do(rcv.Handler(codathook.EndpointLegacy), codathooktest.NewLegacyRequest("/webhooks/codat/legacy", codathooktest.DevAuthorization, lb))
			if got, want := r1.Header.Get(codathook.HeaderResult), "processed"; got != want {
				t.Errorf("new delivery: %s = %q (status %d), want %q", codathook.HeaderResult, got, r1.StatusCode, want)
			}
			if got, want := r2.Header.Get(codathook.HeaderResult), "duplicate"; got != want {
				t.Errorf("legacy twin: %s = %q (status %d), want %q", codathook.HeaderResult, got, r2.StatusCode, want)
			}
			if got := calls.Load(); got != 1 {
				t.Errorf("callback calls = %d, want 1", got)
			}
		})
	}
}
