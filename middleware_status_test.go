package codathook_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/codathook/codathook"
)

// A wrapped handler's 5xx reaches Codat as 503 with Retry-After and
// Codathook-Result failed, on both endpoints: Codat's legacy service drops
// a delivery answered 500 without retrying it. The claim is released, so the
// retry reaches the handler again and is processed, and the other format's
// twin is then a duplicate.
func TestMiddlewareFiveXXIsRetrySafe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		fail           func(w http.ResponseWriter)
		wantRetryAfter string
		wantLog        string
	}{
		{name: "500 from http.Error", fail: func(w http.ResponseWriter) {
			http.Error(w, "database down", http.StatusInternalServerError)
		}, wantRetryAfter: "5", wantLog: "answered 500 (sent as 503)"},
		{name: "a bare 500", fail: func(w http.ResponseWriter) { w.WriteHeader(http.StatusInternalServerError) },
			wantRetryAfter: "5", wantLog: "answered 500 (sent as 503)"},
		{name: "502", fail: func(w http.ResponseWriter) { w.WriteHeader(http.StatusBadGateway) },
			wantRetryAfter: "5", wantLog: "answered 502 (sent as 503)"},
		{name: "507", fail: func(w http.ResponseWriter) { w.WriteHeader(http.StatusInsufficientStorage) },
			wantRetryAfter: "5", wantLog: "answered 507 (sent as 503)"},
		{name: "503 with the handler's own Retry-After", fail: func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(http.StatusServiceUnavailable)
		}, wantRetryAfter: "30", wantLog: "answered 503"},
		{name: "500 after an informational 103", fail: func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusInternalServerError)
		}, wantRetryAfter: "5", wantLog: "answered 500 (sent as 503)"},
	}
	for _, proto := range protos {
		for _, tc := range tests {
			t.Run(proto+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				a := newWrappedApp(t, proto, func(call int64, w http.ResponseWriter, r *http.Request) {
					if call == 1 {
						tc.fail(w)
						return
					}
					w.WriteHeader(http.StatusNoContent)
				})
				newB, legB := twinPair(t, "occ-5xx")
				resp, err := a.legacy(t, legB)
				if err != nil {
					t.Fatalf("legacy delivery: %v", err)
				}
				if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != tc.wantRetryAfter || result(resp) != codathook.ResultFailed {
					t.Errorf("legacy delivery: %d %q Retry-After %q, want 503 %q Retry-After %q",
						resp.StatusCode, result(resp), resp.Header.Get("Retry-After"), codathook.ResultFailed, tc.wantRetryAfter)
				}
				resp, err = a.legacy(t, legB)
				if err != nil {
					t.Fatalf("retry: %v", err)
				}
				if resp.StatusCode != 204 || result(resp) != codathook.ResultProcessed {
					t.Errorf("retry: %d %q, want 204 processed (the 5xx released the claim)", resp.StatusCode, result(resp))
				}
				resp, err = a.newFormat(t, newB)
				if err != nil {
					t.Fatalf("new-format twin: %v", err)
				}
				if result(resp) != codathook.ResultDuplicate || a.calls.Load() != 2 {
					t.Errorf("new-format twin: %q after %d handler calls, want duplicate after 2", result(resp), a.calls.Load())
				}
				if logs := a.logs.String(); !strings.Contains(logs, tc.wantLog) {
					t.Errorf("logs do not say %q:\n%s", tc.wantLog, logs)
				}
			})
		}
	}
}

// Every final answer a wrapped handler sends carries Codathook-Result: a
// 2xx (explicit, or the implicit 200 of a Write or a Flush) says processed
// and commits; a 4xx is sent as written, says failed (rejected when the
// handler told Svix to stop retrying), and releases the claim, so the retry
// (or the Portal's replay) reaches the handler again.
func TestMiddlewareAnswersCarryResult(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		answer     func(w http.ResponseWriter)
		wantStatus int
		wantResult codathook.Result
	}{
		{name: "202", answer: func(w http.ResponseWriter) { w.WriteHeader(http.StatusAccepted) },
			wantStatus: 202, wantResult: codathook.ResultProcessed},
		{name: "a Write without WriteHeader", answer: func(w http.ResponseWriter) { _, _ = io.WriteString(w, "ok") },
			wantStatus: 200, wantResult: codathook.ResultProcessed},
		{name: "a Flush without WriteHeader", answer: func(w http.ResponseWriter) { _ = http.NewResponseController(w).Flush() },
			wantStatus: 200, wantResult: codathook.ResultProcessed},
		{name: "400", answer: func(w http.ResponseWriter) { http.Error(w, "no", http.StatusBadRequest) },
			wantStatus: 400, wantResult: codathook.ResultFailed},
		{name: "429", answer: func(w http.ResponseWriter) { w.WriteHeader(http.StatusTooManyRequests) },
			wantStatus: 429, wantResult: codathook.ResultFailed},
		{name: "422 with Webhook-Delivery: abort-message", answer: func(w http.ResponseWriter) {
			w.Header().Set("Webhook-Delivery", "abort-message")
			w.WriteHeader(http.StatusUnprocessableEntity)
		}, wantStatus: 422, wantResult: codathook.ResultRejected},
	}
	for _, proto := range protos {
		for _, tc := range tests {
			t.Run(proto+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				a := newWrappedApp(t, proto, func(call int64, w http.ResponseWriter, r *http.Request) {
					if call == 1 {
						tc.answer(w)
						return
					}
					w.WriteHeader(http.StatusNoContent)
				})
				newB, _ := twinPair(t, "occ-result")
				resp, err := a.newFormat(t, newB)
				if err != nil {
					t.Fatalf("delivery: %v", err)
				}
				if resp.StatusCode != tc.wantStatus || result(resp) != tc.wantResult {
					t.Errorf("delivery: %d %q, want %d %q", resp.StatusCode, result(resp), tc.wantStatus, tc.wantResult)
				}
				resp, err = a.newFormat(t, newB)
				if err != nil {
					t.Fatalf("retry: %v", err)
				}
				want, wantCalls := codathook.ResultDuplicate, int64(1)
				if tc.wantResult != codathook.ResultProcessed {
					want, wantCalls = codathook.ResultProcessed, 2
				}
				if result(resp) != want || a.calls.Load() != wantCalls {
					t.Errorf("retry: %q after %d handler calls, want %q after %d", result(resp), a.calls.Load(), want, wantCalls)
				}
			})
		}
	}
}
