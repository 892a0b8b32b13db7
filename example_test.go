package codathook_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/memprovider"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
	"github.com/codathook/codathook/toggle"
)

// quiet keeps the examples' output deterministic.
var quiet = codathook.WithLogger(slog.New(slog.DiscardHandler))

// The quick start: one receiver, both endpoints, one typed callback written
// against the new event types.
func Example() {
	secret := codathooktest.DevSecret // your endpoint's signing secret, from Codat's Portal
	rcv, err := codathook.New(
		codathook.WithSecrets(secret),
		codathook.WithLegacyAuthorization("Bearer my-legacy-token"),
		quiet,
	)
	if err != nil {
		panic(err)
	}
	codathook.On(rcv, "connection.connected", func(ctx context.Context, ev *codathook.ConnectionEvent) error {
		fmt.Println("connected:", ev.Payload.ReferenceCompany.ID, ev.Payload.Connection.PlatformName)
		return nil
	})

	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/codat", rcv.Handler(codathook.EndpointNew))
	mux.Handle("POST /webhooks/codat/legacy", rcv.Handler(codathook.EndpointLegacy))

	body := []byte(`{"id":"e1","eventType":"connection.connected","payload":{"referenceCompany":{"id":"company-1"},"connection":{"id":"k1","platformName":"Xero","status":"Linked"}}}`)
	req := codathooktest.MustSigner(secret).NewRequest(http.MethodPost, "/webhooks/codat", body)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Header().Get(codathook.HeaderResult))
	// Output:
	// connected: company-1 Xero
	// 204 processed
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
		ev, _ := codathook.EventFromContext(r.Context())
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
