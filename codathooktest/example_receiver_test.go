package codathooktest_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
)

// Example_testingYourCallbacks is the "Testing your callbacks" walk-through
// of the package documentation and docs/TESTING.md: drive your own callbacks
// with signed deliveries, a resend, a stale timestamp and the legacy twin
// of the same occurrence, all without Codat.
func Example_testingYourCallbacks() {
	// 1. A secret and a clock of your own; the receiver and the signer share both.
	secret := codathooktest.NewSecret()
	now := func() time.Time { return time.Date(2025, 1, 10, 9, 0, 0, 0, time.UTC) }

	rcv, err := codathook.New(
		codathook.WithSecrets(secret),
		codathook.WithLegacyAuthorization(codathooktest.DevAuthorization),
		codathook.WithClock(now),
		codathook.WithLogger(slog.New(slog.DiscardHandler)), // quiet tests
	)
	if err != nil {
		panic(err)
	}
	defer rcv.Close(context.Background())

	// 2. Your callback, exactly as in production.
	err = codathook.On(rcv, "connection.connected", func(ctx context.Context, ev *codathook.ConnectionEvent) error {
		fmt.Println("callback:", ev.EventType, ev.Payload.Connection.Status)
		return nil
	})
	if err != nil {
		panic(err)
	}
	newEndpoint := rcv.Handler(codathook.EndpointNew)
	legacyEndpoint := rcv.Handler(codathook.EndpointLegacy)

	// 3. A signed delivery of Codat's sample body, and the twin of the same
	// occurrence in the legacy format (fresh ids, which the two share).
	body, legacyBody, err := codathooktest.Twin("connection.connected", codathooktest.SampleOptions{})
	if err != nil {
		panic(err)
	}
	signer := codathooktest.MustSigner(secret)
	signer.Now = now
	signer.MsgID = "msg_" + codathooktest.NewID()

	show := func(step string, resp *http.Response) {
		fmt.Println(step, resp.StatusCode, resp.Header.Get(codathook.HeaderResult))
	}
	show("delivery:", codathooktest.Do(newEndpoint, signer.NewRequest(http.MethodPost, "/webhooks/codat", body)))

	// 4. Codat resends the same message (same webhook-id): acknowledged, not re-run.
	show("resend:", codathooktest.Do(newEndpoint, signer.NewRequest(http.MethodPost, "/webhooks/codat", body)))

	// 5. The legacy service delivers the same occurrence: acknowledged, not re-run.
	show("legacy twin:", codathooktest.Do(legacyEndpoint, codathooktest.NewLegacyRequest("/webhooks/codat/legacy", codathooktest.DevAuthorization, legacyBody)))

	// 6. A delivery signed six minutes ago is refused.
	stale := codathooktest.MustSigner(secret)
	stale.Timestamp = now().Add(-6 * time.Minute)
	show("stale:", codathooktest.Do(newEndpoint, stale.NewRequest(http.MethodPost, "/webhooks/codat", body)))

	// Output:
	// callback: connection.connected Linked
	// delivery: 204 processed
	// resend: 204 duplicate
	// legacy twin: 204 duplicate
	// stale: 401 unauthorized
}
