package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
)

// chi takes the receiver's handlers and middleware as they are; callbacks
// read URL parameters with chi.URLParam on the delivery's request.
func Example() {
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
		fmt.Println("tenant:", chi.URLParam(d.Request, "tenant"), "status:", ev.Payload.Connection.Status)
		return nil
	})
	if err != nil {
		panic(err)
	}

	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	r.Route("/tenants/{tenant}/webhooks/codat", func(r chi.Router) {
		r.Method(http.MethodPost, "/", rcv.Handler(codathook.EndpointNew))
		r.Method(http.MethodPost, "/legacy", rcv.Handler(codathook.EndpointLegacy))
		// The wrapper form in front of an existing handler:
		r.With(rcv.Middleware(codathook.EndpointNew)).Post("/wrapped", func(w http.ResponseWriter, r *http.Request) {
			del, _ := codathook.DeliveryFromContext(r.Context())
			ev := del.Event
			fmt.Println("wrapped:", chi.URLParam(r, "tenant"), ev.Type)
			w.WriteHeader(http.StatusNoContent) // a 2xx commits the delivery
		})
	})

	signer := codathooktest.MustSigner(codathooktest.DevSecret)
	body, _ := codathooktest.Sample("connection.connected", codathooktest.SampleOptions{})
	resp := codathooktest.Do(r, signer.NewRequest(http.MethodPost, "/tenants/acme/webhooks/codat", body))
	fmt.Println(resp.StatusCode, resp.Header.Get(codathook.HeaderResult))
	body, _ = codathooktest.Sample("read.completed", codathooktest.SampleOptions{})
	resp = codathooktest.Do(r, signer.NewRequest(http.MethodPost, "/tenants/acme/webhooks/codat/wrapped", body))
	fmt.Println(resp.StatusCode)
	// Output:
	// tenant: acme status: Linked
	// 204 processed
	// wrapped: acme read.completed
	// 204
}
