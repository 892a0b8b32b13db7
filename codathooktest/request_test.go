package codathooktest_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/codathook/codathook/codathooktest"
)

// echo answers 202 with the method, Authorization and body it received.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	w.Header().Set("X-Method", r.Method)
	w.Header().Set("X-Auth", r.Header.Get("Authorization"))
	w.Header().Set("X-Client", r.Header.Get("X-Codat-ClientId"))
	w.Header().Set("X-Sig", r.Header.Get("webhook-signature"))
	w.WriteHeader(http.StatusAccepted)
	w.Write(b)
})

func TestNewLegacyRequest(t *testing.T) {
	t.Parallel()
	body := []byte(`{"AlertId":"a","RuleType":"Sync Started"}`)
	tests := []struct {
		name, auth string
		edit       func(*http.Request) // the caller's changes to the returned request
		wantClient string
		wantMethod string
	}{
		{name: "no auth", wantMethod: http.MethodPost},
		{name: "bearer", auth: codathooktest.DevAuthorization, wantMethod: http.MethodPost},
		{name: "basic, client id, put", auth: "Basic amFzb246cGFzc3dvcmQ=", edit: func(r *http.Request) {
			r.Header.Set("X-Codat-ClientId", "c-1")
			r.Method = http.MethodPut
		}, wantClient: "c-1", wantMethod: http.MethodPut},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := codathooktest.NewLegacyRequest("/webhooks/codat/legacy", tt.auth, body)
			if tt.edit != nil {
				tt.edit(r)
			}
			_, hasAuth := r.Header["Authorization"]
			if hasAuth != (tt.auth != "") {
				t.Errorf("Authorization present = %v, want %v", hasAuth, tt.auth != "")
			}
			resp := codathooktest.Do(echo, r)
			got, _ := io.ReadAll(resp.Body)
			if string(got) != string(body) {
				t.Errorf("body = %s, want %s", got, body)
			}
			for k, want := range map[string]string{"X-Method": tt.wantMethod, "X-Auth": tt.auth, "X-Client": tt.wantClient, "X-Sig": ""} {
				if got := resp.Header.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if got, want := resp.StatusCode, http.StatusAccepted; got != want {
				t.Errorf("status = %d, want %d", got, want)
			}
		})
	}
}

func TestSend(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(echo)
	t.Cleanup(srv.Close)
	body, err := codathooktest.Sample("connection.connected", codathooktest.SampleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := codathooktest.MustSigner(codathooktest.DevSecret)
	r := s.NewRequest(http.MethodPost, "/webhooks/codat", body)
	for i := range 2 { // r stays reusable: a retry of the same message
		resp, err := codathooktest.Send(context.Background(), srv.Client(), srv.URL+"/webhooks/codat", r)
		if err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(got) != string(body) {
			t.Errorf("Send %d: server got body %s, want %s", i, got, body)
		}
		if got, want := resp.Header.Get("X-Sig"), r.Header.Get("webhook-signature"); got == "" || got != want {
			t.Errorf("Send %d: server got signature %q, want %q", i, got, want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := codathooktest.Send(ctx, nil, srv.URL, r); err == nil {
		t.Error("Send with a cancelled context: error = nil, want an error")
	}
	if _, err := codathooktest.Send(context.Background(), nil, "://bad", r); err == nil {
		t.Error("Send to an invalid URL: error = nil, want an error")
	}
}
