package codathookgin_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/adapters/codathookgin"
	"github.com/codathook/codathook/codathooktest"
)

// TestHandlerAnswersAtDeadline: through gin's ResponseWriter, a callback
// that ignores its context and outlives the deadline still gets its 503 to
// the sender at the deadline; its late success then commits the delivery.
func TestHandlerAnswersAtDeadline(t *testing.T) {
	t.Parallel()
	rcv, err := codathook.New(codathook.WithSecrets(secret), codathook.WithLegacyAuthorization(legacyAuth),
		codathook.WithCallbackTimeout(50*time.Millisecond), codathook.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rcv.Close(context.Background()) })
	release := make(chan struct{})
	var returned, calls atomic.Int32
	err = codathook.On(rcv, "*", func(ctx context.Context, ev *codathook.Event) error {
		calls.Add(1)
		select {
		case <-release:
		case <-time.After(3 * time.Second):
		}
		returned.Add(1)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r := gin.New()
	r.Use(gin.Recovery())
	r.POST("/webhooks/codat", codathookgin.Handler(rcv, codathook.EndpointNew))
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)

	body, _ := sample(t, "connection.connected")
	signer := codathooktest.MustSigner(secret)
	signer.MsgID = "msg_deadline" // every send is a retry of one message
	send := func() *http.Response {
		resp, err := codathooktest.Send(t.Context(), srv.Client(), srv.URL+"/webhooks/codat",
			signer.NewRequest(http.MethodPost, srv.URL+"/webhooks/codat", body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp
	}
	resp := send()
	if returned.Load() != 0 {
		t.Fatal("the answer waited for the callback to return")
	}
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("at the deadline: %d (Retry-After %q), want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for returned.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	// The late success committed: the retry (same webhook-id) is a duplicate.
	if resp = send(); resp.StatusCode != http.StatusNoContent || resp.Header.Get(codathook.HeaderResult) != string(codathook.ResultDuplicate) {
		t.Errorf("retry: %d %q, want 204 duplicate", resp.StatusCode, resp.Header.Get(codathook.HeaderResult))
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("callback calls = %d, want 1", n)
	}
}
