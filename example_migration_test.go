package codathook_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
)

// The migration-readiness report, in Go and as a page: one occurrence
// delivered in both formats is twinned; one the new consumer never
// delivered is unmatched once its pairing window closes, so step 5 waits.
func ExampleReceiver_Migration() {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	rcv, err := codathook.New(
		codathook.WithSecrets(codathooktest.DevSecret),
		codathook.WithLegacyAuthorization(codathooktest.DevAuthorization),
		codathook.WithClock(clock), quiet,
	)
	if err != nil {
		log.Fatal(err)
	}
	defer rcv.Close(context.Background())
	_ = codathook.On(rcv, "connection.connected", func(context.Context, *codathook.ConnectionEvent) error { return nil })

	// The operators' page: mount it behind your own authentication.
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/codat", rcv.Handler(codathook.EndpointNew))
	mux.Handle("POST /webhooks/codat/legacy", rcv.Handler(codathook.EndpointLegacy))
	mux.Handle("GET /ops/codat-migration", rcv.MigrationHandler()) // yours: requireOperator(rcv.MigrationHandler())

	signer := codathooktest.MustSigner(codathooktest.DevSecret)
	signer.Now = clock
	for i, both := range []bool{true, false} {
		o := codathooktest.SampleOptions{ID: fmt.Sprint("evt-", i), CompanyID: fmt.Sprint("co-", i), GeneratedDate: now.Format(time.RFC3339)}
		newBody, legacyBody, _ := codathooktest.Twin("connection.connected", o)
		legacyBody = bytes.Replace(legacyBody, []byte(`"AlertId":"evt-`), []byte(`"AlertId":"legacy-`), 1)
		mux.ServeHTTP(httptest.NewRecorder(), codathooktest.NewLegacyRequest("/webhooks/codat/legacy", codathooktest.DevAuthorization, legacyBody))
		if both {
			mux.ServeHTTP(httptest.NewRecorder(), signer.NewRequest(http.MethodPost, "/webhooks/codat", newBody))
		}
	}
	now = now.Add(20 * time.Minute) // past the pairing window and its grace

	m := rcv.Migration(context.Background())
	for _, t := range m.Types {
		fmt.Printf("%s: legacy %d seen, %d twinned, %d unmatched\n", t.EventType, t.Legacy.Seen, t.Legacy.Twinned, t.Legacy.Unmatched)
	}
	for _, s := range m.Steps {
		fmt.Println(s.Step, s.Status)
	}
	fmt.Println(m.Verdict)
	// Output:
	// connection.connected: legacy 2 seen, 1 twinned, 1 unmatched
	// 1 done
	// 2 done
	// 3 done
	// 4 done
	// 5 waiting
	// Step 5 (disable the old webhook consumer): 1 legacy occurrence had no new twin since 2026-12-01T09:00:00Z (the last window closed at 2026-12-01T09:20:00Z): connection.connected (1); the new consumer is not complete.
}
