package codathook_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
	"github.com/codathook/codathook/normalize"
)

// A pattern that matches no event type this version knows fails at
// registration, with the nearest name or pattern, whatever the callback's
// type; a legacy rule type names the event types it is normalized to.
func TestRegistrationCatchesTypos(t *testing.T) {
	t.Parallel()
	generic := func(context.Context, *codathook.Event) error { return nil }
	conn := func(context.Context, *codathook.ConnectionEvent) error { return nil }
	write := func(context.Context, *codathook.WriteEvent) error { return nil }
	read := func(context.Context, *codathook.ReadCompletedEvent) error { return nil }
	tests := []struct {
		name     string
		register func(*codathook.Receiver) error
		want     string // in the error
	}{
		{name: "a misspelt family with *Event", register: func(r *codathook.Receiver) error { return codathook.On(r, "conection.*", generic) },
			want: `did you mean "connection.*"?`},
		{name: "a misspelt family with its type", register: func(r *codathook.Receiver) error { return codathook.On(r, "conection.*", conn) },
			want: `did you mean "connection.*"?`},
		{name: "a misspelt data type", register: func(r *codathook.Receiver) error { return codathook.On(r, "invocies.write.successful", write) },
			want: `did you mean "invoices.write.successful"?`},
		{name: "a misspelt data type with *Event", register: func(r *codathook.Receiver) error {
			return codathook.On(r, "invocies.write.successful", generic)
		}, want: `did you mean "invoices.write.successful"?`},
		{name: "a misspelt status in a pattern", register: func(r *codathook.Receiver) error { return codathook.On(r, "*.write.sucessful", write) },
			want: `did you mean "*.write.successful"?`},
		{name: "a missing letter", register: func(r *codathook.Receiver) error { return codathook.On(r, "read.complete", read) },
			want: `did you mean "read.completed"?`},
		{name: "the wrong case", register: func(r *codathook.Receiver) error { return codathook.On(r, "Connection.Connected", conn) },
			want: `did you mean "connection.connected"?`},
		{name: "a misspelt report family", register: func(r *codathook.Receiver) error { return codathook.On(r, "report.*", generic) },
			want: `did you mean "reports.*"?`},
		{name: "a legacy rule type", register: func(r *codathook.Receiver) error { return codathook.On(r, "Data sync completed", read) },
			want: `legacy rule type, not an event type: register the event types it is normalized to, such as "read.completed"`},
		{name: "a legacy push rule type", register: func(r *codathook.Receiver) error {
			return codathook.On(r, "Push Operation Status Changed()", write)
		}, want: `such as "*.write.successful"`},
		{name: "nothing near", register: func(r *codathook.Receiver) error { return codathook.On(r, "invoices.approved", generic) },
			want: `"invoices.approved" matches no event type this version knows (docs/EVENTS.md lists them; for an event type newer than this version, declare it with codathook.WithNewerEventTypes)`},
		{name: "a write of a data type this version does not list", register: func(r *codathook.Receiver) error {
			return codathook.On(r, "expenseTransactions.write.successful", write)
		}, want: "declare it with codathook.WithNewerEventTypes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rcv, err := codathook.New(codathook.WithSecrets(testSecret))
			if err != nil {
				t.Fatal(err)
			}
			err = tc.register(rcv)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("On: %v, want an error containing %s", err, tc.want)
			}
		})
	}
}

// Registration errors name the callback types as programs import them:
// *codathook.ConnectionEvent, never *normalize.ConnectionEvent.
func TestRegistrationErrorsNamePublicTypes(t *testing.T) {
	t.Parallel()
	rcv, err := codathook.New(codathook.WithSecrets(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	// A callback type no event type is delivered as, so that On names the
	// event's type in its error for every name of the catalogue.
	type mine struct{}
	for _, name := range normalize.EventTypes() {
		err := codathook.On(rcv, name, func(context.Context, *mine) error { return nil })
		if err == nil {
			t.Errorf("On(%q) with *mine: nil, want an error", name)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, "normalize.") || !strings.Contains(msg, "delivers *codathook.") || !strings.Contains(msg, "register *codathook.Event") {
			t.Errorf("On(%q): %q, want the public types *codathook.X and *codathook.Event", name, msg)
		}
	}
	err = codathook.On(rcv, "read.completed", func(context.Context, codathook.ReadCompletedEvent) error { return nil })
	if want := `"read.completed" delivers *codathook.ReadCompletedEvent, not codathook.ReadCompletedEvent`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("On with a non-pointer type: %v, want %s", err, want)
	}
}

// WithNewerEventTypes is the explicit opt-in for types newer than this
// version: their callbacks register (a *WriteEvent one for a write of a
// data type this version does not list, *Event for any other) and receive
// their deliveries through a real server, patterns over them match them,
// and undeclared types still fail.
func TestNewerEventTypes(t *testing.T) {
	t.Parallel()
	rcv, err := codathook.New(codathook.WithSecrets(testSecret), codathook.WithLogger(slog.New(slog.DiscardHandler)),
		codathook.WithNewerEventTypes("invoices.approved", "expenseTransactions.write.successful", "connection.connected"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rcv.Close(context.Background()) })
	var mu sync.Mutex
	var got []string
	record := func(s string) {
		mu.Lock()
		got = append(got, s)
		mu.Unlock()
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(codathook.On(rcv, "invoices.approved", func(_ context.Context, ev *codathook.Event) error {
		record("approved:" + ev.ID)
		return nil
	}))
	must(codathook.On(rcv, "expenseTransactions.write.successful", func(_ context.Context, ev *codathook.WriteEvent) error {
		record("write:" + ev.DataType())
		return nil
	}))
	must(codathook.On(rcv, "invoices.*", func(_ context.Context, ev *codathook.Event) error {
		record("pattern:" + ev.Type)
		return nil
	}))
	if err := codathook.On(rcv, "bills.approved", func(context.Context, *codathook.Event) error { return nil }); err == nil {
		t.Error(`On("bills.approved"), not declared: nil, want an error`)
	}
	err = codathook.On(rcv, "invoices.approved", func(context.Context, *codathook.WriteEvent) error { return nil })
	if want := `"invoices.approved" is newer than this version, which delivers it as *codathook.Event only`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("a typed callback for a declared type with no Go type: %v, want %s", err, want)
	}

	srv := httptest.NewServer(rcv.Handler(codathook.EndpointNew))
	t.Cleanup(srv.Close)
	signer := codathooktest.MustSigner(testSecret)
	for _, body := range []string{
		`{"id":"a1","eventType":"invoices.approved","payload":{"referenceCompany":{"id":"c"}}}`,
		`{"id":"w1","eventType":"expenseTransactions.write.successful","payload":{"id":"op-1","type":"Create","status":"Success","referenceCompany":{"id":"c"}}}`,
		`{"id":"r1","eventType":"invoices.rejected","payload":{"referenceCompany":{"id":"c"}}}`,
	} {
		resp, _ := send(t, signer.NewRequest(http.MethodPost, srv.URL, []byte(body)))
		if resp.StatusCode != 204 || result(resp) != codathook.ResultProcessed {
			t.Errorf("%s: %d %q, want 204 processed", body, resp.StatusCode, result(resp))
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if want := "approved:a1,write:expenseTransactions,pattern:invoices.rejected"; strings.Join(got, ",") != want {
		t.Errorf("callbacks ran %v, want %s", got, want)
	}
}

func TestNewerEventTypesOptionErrors(t *testing.T) {
	t.Parallel()
	for _, types := range [][]string{nil, {""}, {"invoices.*"}, {"*"}, {"invoices..approved"}} {
		if _, err := codathook.New(codathook.WithNewerEventTypes(types...)); err == nil {
			t.Errorf("WithNewerEventTypes(%q): New succeeded, want an error", types)
		}
	}
}

// Registering a declared type, or a typo of one, is caught as for known
// types: the declared names are candidates of the did-you-mean too.
func ExampleWithNewerEventTypes() {
	rcv, _ := codathook.New(
		codathook.WithSecrets(codathooktest.DevSecret),
		codathook.WithNewerEventTypes("invoices.approved"), // newer than this version
	)
	err := codathook.On(rcv, "invoices.approved", func(ctx context.Context, ev *codathook.Event) error {
		fmt.Println("approved:", ev.ID) // ev.Typed is nil: this version has no Go type for it
		return nil
	})
	fmt.Println("declared:", err)
	err = codathook.On(rcv, "invoices.aproved", func(ctx context.Context, ev *codathook.Event) error { return nil })
	fmt.Println(err)
	err = codathook.On(rcv, "conection.*", func(ctx context.Context, ev *codathook.ConnectionEvent) error { return nil })
	fmt.Println(err)
	// Output:
	// declared: <nil>
	// codathook: "invoices.aproved" matches no event type this version knows: did you mean "invoices.approved"? (for an event type newer than this version, declare it with codathook.WithNewerEventTypes)
	// codathook: "conection.*" matches no event type this version knows: did you mean "connection.*"? (for an event type newer than this version, declare it with codathook.WithNewerEventTypes)
}
