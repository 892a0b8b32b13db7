package codathook_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
)

// net/http's ServeMux (Go 1.22+ patterns): mount the terminal handlers with
// a method pattern; callbacks read path wildcards from the delivery's request.
func Example_serveMux() {
	rcv, err := codathook.New(
		codathook.WithSecrets(codathooktest.DevSecret), // os.Getenv("CODAT_WEBHOOK_SECRET")
		codathook.WithLegacyAuthorization(codathooktest.DevAuthorization),
		codathook.WithLogger(slog.New(slog.DiscardHandler)),
	)
	if err != nil {
		panic(err)
	}
	defer rcv.Close(context.Background())
	err = codathook.On(rcv, "connection.connected", func(ctx context.Context, ev *codathook.ConnectionEvent) error {
		d, _ := codathook.DeliveryFromContext(ctx)
		fmt.Println("tenant:", d.Request.PathValue("tenant"), "status:", ev.Payload.Connection.Status)
		return nil
	})
	if err != nil {
		panic(err)
	}

	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/codat", rcv.Handler(codathook.EndpointNew))
	mux.Handle("POST /webhooks/codat/legacy", rcv.Handler(codathook.EndpointLegacy))
	mux.Handle("POST /tenants/{tenant}/webhooks/codat", rcv.Handler(codathook.EndpointNew))

	body, _ := codathooktest.Sample("connection.connected", codathooktest.SampleOptions{})
	signer := codathooktest.MustSigner(codathooktest.DevSecret)
	resp := codathooktest.Do(mux, signer.NewRequest(http.MethodPost, "/tenants/acme/webhooks/codat", body))
	fmt.Println(resp.StatusCode, resp.Header.Get(codathook.HeaderResult))
	resp = codathooktest.Do(mux, signer.NewRequest(http.MethodGet, "/webhooks/codat", nil))
	fmt.Println(resp.StatusCode) // the method pattern answers other methods
	// Output:
	// tenant: acme status: Linked
	// 204 processed
	// 405
}

// net/http's ServeMux with the wrapper form: an existing handler receives
// the verified event and the restored body.
func Example_serveMuxMiddleware() {
	rcv, err := codathook.New(
		codathook.WithSecrets(codathooktest.DevSecret),
		codathook.WithLogger(slog.New(slog.DiscardHandler)),
	)
	if err != nil {
		panic(err)
	}
	defer rcv.Close(context.Background())

	existing := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		del, _ := codathook.DeliveryFromContext(r.Context())
		ev := del.Event
		fmt.Println("tenant:", r.PathValue("tenant"), "event:", ev.Type)
		w.WriteHeader(http.StatusNoContent) // a 2xx commits the delivery
	})
	mux := http.NewServeMux()
	mux.Handle("POST /tenants/{tenant}/webhooks/codat", rcv.Middleware(codathook.EndpointNew)(existing))

	body, _ := codathooktest.Sample("read.completed", codathooktest.SampleOptions{})
	req := codathooktest.MustSigner(codathooktest.DevSecret).NewRequest(http.MethodPost, "/tenants/acme/webhooks/codat", body)
	fmt.Println(codathooktest.Do(mux, req).StatusCode)
	// Output:
	// tenant: acme event: read.completed
	// 204
}

// gorilla/mux: mount the terminal handlers on routes with variables;
// callbacks read them with mux.Vars on the delivery's request.
func Example_gorillaMux() {
	rcv, err := codathook.New(
		codathook.WithSecrets(codathooktest.DevSecret),
		codathook.WithLegacyAuthorization(codathooktest.DevAuthorization),
		codathook.WithLogger(slog.New(slog.DiscardHandler)),
	)
	if err != nil {
		panic(err)
	}
	defer rcv.Close(context.Background())
	err = codathook.On(rcv, "connection.connected", func(ctx context.Context, ev *codathook.ConnectionEvent) error {
		d, _ := codathook.DeliveryFromContext(ctx)
		fmt.Println("tenant:", mux.Vars(d.Request)["tenant"], "status:", ev.Payload.Connection.Status)
		return nil
	})
	if err != nil {
		panic(err)
	}

	r := mux.NewRouter()
	hooks := r.PathPrefix("/tenants/{tenant}/webhooks").Subrouter()
	hooks.Handle("/codat", rcv.Handler(codathook.EndpointNew)).Methods(http.MethodPost)
	hooks.Handle("/codat/legacy", rcv.Handler(codathook.EndpointLegacy)).Methods(http.MethodPost)

	body, _ := codathooktest.LegacySample("DataConnectionStatusChanged", codathooktest.SampleOptions{})
	req := codathooktest.NewLegacyRequest("/tenants/acme/webhooks/codat/legacy", codathooktest.DevAuthorization, body)
	resp := codathooktest.Do(r, req)
	fmt.Println(resp.StatusCode, resp.Header.Get(codathook.HeaderResult))
	// Output:
	// tenant: acme status: Linked
	// 204 processed
}

// gorilla/mux with Router.Use on a subrouter: the wrapper form runs after
// routing, so the wrapped handlers see the event and the route variables.
func Example_gorillaMuxUse() {
	rcv, err := codathook.New(
		codathook.WithSecrets(codathooktest.DevSecret),
		codathook.WithLogger(slog.New(slog.DiscardHandler)),
	)
	if err != nil {
		panic(err)
	}
	defer rcv.Close(context.Background())

	r := mux.NewRouter()
	hooks := r.PathPrefix("/tenants/{tenant}/webhooks").Subrouter()
	hooks.Use(rcv.Middleware(codathook.EndpointNew))
	hooks.HandleFunc("/codat", func(w http.ResponseWriter, req *http.Request) {
		del, _ := codathook.DeliveryFromContext(req.Context())
		ev := del.Event
		fmt.Println("tenant:", mux.Vars(req)["tenant"], "event:", ev.Type)
		w.WriteHeader(http.StatusNoContent) // a 2xx commits the delivery
	}).Methods(http.MethodPost)

	body, _ := codathooktest.Sample("company.created", codathooktest.SampleOptions{})
	signer := codathooktest.MustSigner(codathooktest.DevSecret)
	signer.MsgID = "msg_" + codathooktest.NewID() // a retry keeps its message id
	resp := codathooktest.Do(r, signer.NewRequest(http.MethodPost, "/tenants/acme/webhooks/codat", body))
	fmt.Println(resp.StatusCode)
	resp = codathooktest.Do(r, signer.NewRequest(http.MethodPost, "/tenants/acme/webhooks/codat", body))
	fmt.Println(resp.StatusCode, resp.Header.Get(codathook.HeaderResult))
	// Output:
	// tenant: acme event: company.created
	// 204
	// 204 duplicate
}
