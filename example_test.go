package codathook_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/memprovider"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
	"github.com/codathook/codathook/toggle"
)

// quiet keeps the examples' output deterministic.
var quiet = codathook.WithLogger(slog.New(slog.DiscardHandler))

// The quick start, which the README copies: one receiver, a typed callback
// written against the new event types, both endpoints, and an http.Server
// with timeouts, so that a sender that stalls holds a connection only so
// long. The receiver adds its own deadline for the body
// (WithBodyReadTimeout, 5 s); WriteTimeout, counted from the end of the
// headers, must outlast it plus the callback deadline (WithCallbackTimeout,
// 10 s). A signed delivery on the new endpoint is processed; its legacy twin
// is a duplicate.
func Example() {
	secret := codathooktest.DevSecret            // yours: os.Getenv("CODAT_WEBHOOK_SECRET"), the new consumer's whsec_...
	legacyAuth := codathooktest.DevAuthorization // yours: os.Getenv("CODAT_LEGACY_AUTH"), the legacy Authorization value

	rcv, err := codathook.New(
		codathook.WithSecrets(secret),
		codathook.WithLegacyAuthorization(legacyAuth),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer rcv.Close(context.Background())
	err = codathook.On(rcv, "connection.connected", func(ctx context.Context, ev *codathook.ConnectionEvent) error {
		fmt.Println("connected:", ev.Payload.ReferenceCompany.ID, ev.Payload.Connection.ID)
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/codat", rcv.Handler(codathook.EndpointNew))
	mux.Handle("POST /webhooks/codat/legacy", rcv.Handler(codathook.EndpointLegacy))

	srv := &http.Server{
		Addr:              ":8080",
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      20 * time.Second, // > body deadline (5 s) + callback deadline (10 s)
		IdleTimeout:       60 * time.Second,
		HTTP2:             &http.HTTP2Config{MaxConcurrentStreams: 100},
	}
	// log.Fatal(srv.ListenAndServe())

	// Here, a loopback port instead of srv.Addr, and two deliveries.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	send := func(path string, req *http.Request) {
		resp, err := codathooktest.Send(context.Background(), nil, base+path, req)
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode, resp.Header.Get(codathook.HeaderResult))
	}
	body := []byte(`{"id":"e1","eventType":"connection.connected","payload":{"referenceCompany":{"id":"company-1"},"connection":{"id":"k1","platformName":"Xero","status":"Linked"}}}`)
	send("/webhooks/codat", codathooktest.MustSigner(secret).NewRequest(http.MethodPost, "/webhooks/codat", body))
	legacyBody := []byte(`{"AlertId":"a1","RuleType":"DataConnectionStatusChanged","CompanyId":"company-1","DataConnectionId":"k1","Data":{"newStatus":"Linked","oldStatus":"PendingAuth"}}`)
	send("/webhooks/codat/legacy", codathooktest.NewLegacyRequest("/webhooks/codat/legacy", legacyAuth, legacyBody))
	// Output:
	// connected: company-1 k1
	// 204 processed
	// 204 duplicate
}

// Legacy rule deliveries reach the same callbacks as the new event types.
func Example_legacyPayload() {
	rcv, _ := codathook.New(codathook.WithLegacyAuthorization("Bearer my-legacy-token"), quiet)
	codathook.On(rcv, "connection.connected", func(ctx context.Context, ev *codathook.ConnectionEvent) error {
		fmt.Println("connected:", ev.Payload.ReferenceCompany.ID, ev.Payload.Connection.Status)
		fmt.Println("legacy rule:", ev.Legacy.RuleType, "from", ev.Legacy.Data.OldStatus)
		return nil
	})
	body := []byte(`{"AlertId":"a1","RuleType":"DataConnectionStatusChanged","CompanyId":"company-1","DataConnectionId":"k1","Data":{"dataConnectionId":"k1","newStatus":"Linked","oldStatus":"PendingAuth"}}`)
	req := codathooktest.NewLegacyRequest("/webhooks/codat/legacy", "Bearer my-legacy-token", body)
	rec := httptest.NewRecorder()
	rcv.Handler(codathook.EndpointLegacy).ServeHTTP(rec, req)
	fmt.Println(rec.Code)
	// Output:
	// connected: company-1 Linked
	// legacy rule: DataConnectionStatusChanged from PendingAuth
	// 204
}

// A retry of a processed delivery, and the same occurrence arriving in the
// other format, are acknowledged without running the callback again.
func Example_deduplication() {
	secret := codathooktest.DevSecret
	rcv, _ := codathook.New(codathook.WithSecrets(secret), codathook.WithLegacyAuthorization("Bearer t"), quiet)
	calls := 0
	codathook.On(rcv, "connection.connected", func(ctx context.Context, ev *codathook.ConnectionEvent) error {
		calls++
		return nil
	})
	newBody := []byte(`{"id":"e1","eventType":"connection.connected","payload":{"referenceCompany":{"id":"c1"},"connection":{"id":"k1","status":"Linked"}}}`)
	legacyBody := []byte(`{"AlertId":"a1","RuleType":"DataConnectionStatusChanged","CompanyId":"c1","DataConnectionId":"k1","Data":{"newStatus":"Linked","oldStatus":"PendingAuth"}}`)

	signer := codathooktest.MustSigner(secret)
	signer.MsgID = "msg_1" // Svix keeps the message id over retries
	for _, req := range []*http.Request{
		signer.NewRequest(http.MethodPost, "/", newBody),                  // first delivery
		signer.NewRequest(http.MethodPost, "/", newBody),                  // Svix retry
		codathooktest.NewLegacyRequest("/legacy", "Bearer t", legacyBody), // legacy twin
	} {
		ep := codathook.EndpointNew
		if req.URL.Path == "/legacy" {
			ep = codathook.EndpointLegacy
		}
		rec := httptest.NewRecorder()
		rcv.Handler(ep).ServeHTTP(rec, req)
		fmt.Println(rec.Code, rec.Header().Get(codathook.HeaderResult))
	}
	fmt.Println("callback calls:", calls)
	// Output:
	// 204 processed
	// 204 duplicate
	// 204 duplicate
	// callback calls: 1
}

// An OpenFeature flag per endpoint, flipped live in the provider.
func Example_featureFlags() {
	// Any *openfeature.Client works: flagd, LaunchDarkly, or toggle.NewFileProvider.
	provider := memprovider.NewInMemoryProvider(map[string]memprovider.InMemoryFlag{
		"codat-legacy-endpoint": {State: memprovider.Enabled, DefaultVariant: "off", Variants: map[string]any{"on": true, "off": false}},
	})
	if err := openfeature.SetProviderAndWait(provider); err != nil {
		panic(err)
	}
	defer openfeature.Shutdown()

	rcv, _ := codathook.New(
		codathook.WithLegacyAuthorization("Bearer t"),
		codathook.WithFlags(openfeature.NewDefaultClient(), &toggle.Config{Timeout: -1}),
		quiet,
	)
	codathook.On(rcv, "*", func(ctx context.Context, ev *codathook.Event) error {
		fmt.Println("processed", ev.Type)
		return nil
	})
	send := func(id string) {
		body := []byte(`{"AlertId":"` + id + `","RuleType":"Account Categories Updated","CompanyId":"c1","Data":{"modifiedDate":"2019-08-24T14:15:22Z"}}`)
		rec := httptest.NewRecorder()
		rcv.Handler(codathook.EndpointLegacy).ServeHTTP(rec, codathooktest.NewLegacyRequest("/", "Bearer t", body))
		fmt.Println(rec.Code, rec.Header().Get(codathook.HeaderResult))
	}
	send("a1") // flag off: acknowledged, not processed, not claimed
	provider.UpdateFlags(map[string]memprovider.InMemoryFlag{
		"codat-legacy-endpoint": {State: memprovider.Enabled, DefaultVariant: "on", Variants: map[string]any{"on": true, "off": false}},
	})
	send("a1") // the same delivery again, flag on: processed
	// Output:
	// 204 skipped
	// processed AccountCategoriesUpdated
	// 204 processed
}

// Middleware hands the verified, normalized event to an existing handler.
func ExampleReceiver_Middleware() {
	rcv, _ := codathook.New(codathook.WithLegacyAuthorization("Bearer t"), quiet)
	existing := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		del, _ := codathook.DeliveryFromContext(r.Context())
		ev := del.Event
		fmt.Println("existing handler got", ev.Type, "for", ev.CompanyID)
		w.WriteHeader(http.StatusOK)
	})
	h := rcv.Middleware(codathook.EndpointLegacy)(existing)
	body := []byte(`{"AlertId":"a1","RuleType":"Push Operation Status Changed()","CompanyId":"c1","Data":{"dataType":"invoices","status":"Success","pushOperationKey":"op-1"}}`)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, codathooktest.NewLegacyRequest("/", "Bearer t", body))
	fmt.Println(rec.Code)
	// Output:
	// existing handler got invoices.write.successful for c1
	// 200
}

// Patterns register one callback for a family of event types.
func ExampleOn() {
	rcv, _ := codathook.New(codathook.WithSecrets(codathooktest.DevSecret), quiet)
	err := codathook.On(rcv, "*.write.successful", func(ctx context.Context, ev *codathook.WriteEvent) error {
		fmt.Println("written:", ev.DataType(), ev.Payload.ID)
		return nil
	})
	fmt.Println("register:", err)
	err = codathook.On(rcv, "read.completed", func(ctx context.Context, ev *codathook.WriteEvent) error { return nil })
	fmt.Println("wrong type:", err != nil)

	body := []byte(`{"id":"w1","eventType":"bills.write.successful","payload":{"id":"op-9","type":"Create","status":"Success","referenceCompany":{"id":"c1"}}}`)
	rec := httptest.NewRecorder()
	rcv.Handler(codathook.EndpointNew).ServeHTTP(rec, codathooktest.MustSigner(codathooktest.DevSecret).NewRequest(http.MethodPost, "/", body))
	// Output:
	// register: <nil>
	// wrong type: true
	// written: bills op-9
}

// A callback that refuses an event for good returns a Permanent error: Svix
// stops retrying the message, which stays failed and can be replayed from
// Codat's Portal (the claim is released, so a replay is processed).
func ExamplePermanent() {
	rcv, _ := codathook.New(codathook.WithSecrets(codathooktest.DevSecret), quiet)
	codathook.On(rcv, "connection.connected", func(ctx context.Context, ev *codathook.ConnectionEvent) error {
		if company := ev.Payload.ReferenceCompany.ID; company != "company-1" {
			return codathook.Permanent(fmt.Errorf("company %s is not one of ours", company))
		}
		return nil
	})

	body := []byte(`{"id":"e2","eventType":"connection.connected","payload":{"referenceCompany":{"id":"company-2"},"connection":{"id":"k2","status":"Linked"}}}`)
	rec := httptest.NewRecorder()
	rcv.Handler(codathook.EndpointNew).ServeHTTP(rec, codathooktest.MustSigner(codathooktest.DevSecret).NewRequest(http.MethodPost, "/", body))
	fmt.Println(rec.Code, rec.Header().Get(codathook.HeaderResult), rec.Header().Get("Webhook-Delivery"))
	// Output:
	// 422 rejected abort-message
}

// ExampleReceiver_Ready serves the receiver's readiness as a Kubernetes
// readiness probe: 200 while the store answers and the flag provider is
// ready, 503 with the reason otherwise.
func ExampleReceiver_Ready() {
	rcv, err := codathook.New(codathook.WithSecrets(codathooktest.DevSecret))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := rcv.Ready(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		}
	})

	probe := func() {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		fmt.Println(strings.TrimSpace(fmt.Sprint(rec.Code, " ", rec.Body.String())))
	}
	probe()
	_ = rcv.Close(context.Background())
	probe()
	// Output:
	// 200
	// 503 codathook: receiver closed
}
