package codathooktest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/codathook/codathook/codathooktest"
)

func ExampleSigner_Headers() {
	// The Standard Webhooks test vector.
	s := codathooktest.MustSigner("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	h := s.Headers("msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	fmt.Println(h.Get("webhook-id"), h.Get("webhook-timestamp"))
	fmt.Println(h.Get("webhook-signature"))
	// Output:
	// msg_p5jXN8AQM9LWM0D4loKWxJek 1614265330
	// v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=
}

func ExampleSigner_NewRequest() {
	// Two secrets: the request carries two signatures, as during a rotation.
	s := codathooktest.MustSigner(codathooktest.DevSecret, "whsec_plJ3nmyCDGBKInavdOK15jsl")
	s.MsgID = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
	s.Timestamp = time.Unix(1674087231, 0)
	s.HeaderPrefixes = []string{"svix"}
	s.Header.Set("Authorization", codathooktest.DevAuthorization) // carried-over custom header

	body, err := codathooktest.Sample("read.completed", codathooktest.SampleOptions{})
	if err != nil {
		panic(err)
	}
	r := s.NewRequest(http.MethodPost, "/webhooks/codat", body)
	fmt.Println(r.Header.Get("svix-id"))
	fmt.Println(r.Header.Get("svix-timestamp"))
	fmt.Println(len(strings.Fields(r.Header.Get("svix-signature"))), "signatures")
	fmt.Println(r.Header.Get("Authorization"))
	// Output:
	// msg_2KWPBgLlAfxdpx2AI54pPJ85f4W
	// 1674087231
	// 2 signatures
	// Bearer codathook-dev-token
}

func ExampleNewLegacyRequest() {
	body, err := codathooktest.LegacySample("Push Operation Status Changed()", codathooktest.SampleOptions{})
	if err != nil {
		panic(err)
	}
	r := codathooktest.NewLegacyRequest("/webhooks/codat/legacy", codathooktest.DevAuthorization, body)
	r.Header.Set("X-Codat-ClientId", "bae71d36-ff47-420a-b4a6-f8c9ddf41140")

	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != codathooktest.DevAuthorization {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	resp := codathooktest.Do(h, r)
	fmt.Println(resp.StatusCode, r.Header.Get("X-Codat-ClientId"))
	// Output: 204 bae71d36-ff47-420a-b4a6-f8c9ddf41140
}

func ExampleSample() {
	body, err := codathooktest.Sample("bills.write.successful", codathooktest.SampleOptions{})
	if err != nil {
		panic(err)
	}
	var ev struct {
		EventType string `json:"eventType"`
		Payload   struct {
			Status string `json:"status"`
		} `json:"payload"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		panic(err)
	}
	fmt.Println(ev.EventType, ev.Payload.Status)
	// Output: bills.write.successful Success
}

func ExampleSampleOptions() {
	// Two distinct occurrences of one event type.
	a, _ := codathooktest.Sample("client.rateLimit.reached", codathooktest.SampleOptions{ID: "11111111-1111-4111-8111-111111111111"})
	b, _ := codathooktest.Sample("client.rateLimit.reached", codathooktest.SampleOptions{ID: "22222222-2222-4222-8222-222222222222"})
	fmt.Println(string(a))
	fmt.Println(string(b))
	// Output:
	// {"eventType":"client.rateLimit.reached","generatedDate":"2024-08-24T14:15:27Z","id":"11111111-1111-4111-8111-111111111111","payload":{"dailyQuota":1000,"expiryDate":"2023-05-03T00:00:00Z","quotaRemaining":0}}
	// {"eventType":"client.rateLimit.reached","generatedDate":"2024-08-24T14:15:27Z","id":"22222222-2222-4222-8222-222222222222","payload":{"dailyQuota":1000,"expiryDate":"2023-05-03T00:00:00Z","quotaRemaining":0}}
}

func ExampleTwin() {
	newBody, legacyBody, err := codathooktest.Twin("connection.disconnected", codathooktest.SampleOptions{
		ID:           "0c4f3b9e-7d1a-4c55-9a57-3f1e2d6b8a90",
		CompanyID:    "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
		ConnectionID: "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b",
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(len(newBody) > 0)
	fmt.Println(string(legacyBody))
	// Output:
	// true
	// {"AlertId":"0c4f3b9e-7d1a-4c55-9a57-3f1e2d6b8a90","ClientId":"bae71d36-ff47-420a-b4a6-f8c9ddf41140","ClientName":"Bank of Dave","CompanyId":"6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f","Data":{"dataConnectionId":"9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b","newStatus":"Deauthorized","oldStatus":"Linked","platformKey":"gbol"},"DataConnectionId":"9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b","Message":"Data connection for SandBox status changed from PendingAuth to Linked","RuleId":"70af3071-65d9-4ec3-b3cb-5283e8d55dac","RuleType":"DataConnectionStatusChanged"}
}

func ExampleSigner_NewRequest_clock() {
	// A clock of your own; the receiver takes the same one: codathook.WithClock(now).
	t := time.Date(2025, 1, 10, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { return t }
	s := codathooktest.MustSigner(codathooktest.DevSecret)
	s.Now = now

	r1 := s.NewRequest(http.MethodPost, "/webhooks/codat", []byte(`{}`))
	t = t.Add(6 * time.Minute) // past the default 5-minute tolerance
	r2 := s.NewRequest(http.MethodPost, "/webhooks/codat", []byte(`{}`))
	fmt.Println(r1.Header.Get("webhook-timestamp"), r2.Header.Get("webhook-timestamp"))
	// Output: 1736510400 1736510760
}

func ExampleDo() {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%d bytes", len(b))
	})
	resp := codathooktest.Do(h, codathooktest.NewLegacyRequest("/", "", []byte(`{"AlertId":"a"}`)))
	b, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(b))
	// Output: 200 15 bytes
}

func ExampleSend() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println(r.Method, r.URL.Path, r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	body, err := codathooktest.LegacySample("Sync Completed", codathooktest.SampleOptions{})
	if err != nil {
		panic(err)
	}
	r := codathooktest.NewLegacyRequest("/webhooks/codat/legacy", codathooktest.DevAuthorization, body)
	resp, err := codathooktest.Send(context.Background(), srv.Client(), srv.URL+r.URL.Path, r)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode)
	// Output:
	// POST /webhooks/codat/legacy Bearer codathook-dev-token
	// 204
}

func ExampleSampleNames() {
	eventTypes, ruleTypes := codathooktest.SampleNames()
	fmt.Println(len(eventTypes), "event types, first", eventTypes[0])
	fmt.Println(len(ruleTypes), "rule types, first", ruleTypes[0])
	// Output:
	// 26 event types, first company.created
	// 14 rule types, first DataConnectionStatusChanged
}
