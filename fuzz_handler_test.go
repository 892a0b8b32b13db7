package codathook_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
)

// documentedStatus is every status a delivery may be answered with
// (README, "What happens to a delivery"): never a 500.
var documentedStatus = map[int]bool{
	http.StatusOK: true, http.StatusNoContent: true, // processed, duplicate, skipped (a wrapped handler's 200)
	http.StatusBadRequest: true, http.StatusUnauthorized: true, http.StatusMethodNotAllowed: true,
	http.StatusRequestTimeout: true, http.StatusRequestEntityTooLarge: true, http.StatusServiceUnavailable: true,
}

// FuzzHandler sends any body to a real server running both endpoints and
// the middleware form: unsigned, correctly signed, or with a garbage
// signature; with or without the legacy token; by POST, PUT or another
// method. Every answer must be one of the documented statuses, carry the
// Codathook-Result header, and a 2xx must be a documented result.
func FuzzHandler(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("normalize", "testdata", "*", "*.json"))
	for i, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), uint8(i/3), b, "v1,AAAA")
	}
	f.Add(uint8(0), uint8(1), []byte(`{"id":"1","eventType":"connection.connected","payload":{}}`), "")
	f.Add(uint8(2), uint8(0), []byte(`not json`), "v1,")
	f.Add(uint8(1), uint8(5), []byte(`{"AlertId":"a","RuleType":"x","Data":{},"Data":{}}`), "")

	signer := codathooktest.MustSigner(testSecret)
	signer.Now = func() time.Time { return epoch }
	rcv, err := codathook.New(
		codathook.WithSecrets(testSecret),
		codathook.WithLegacyAuthorization(legacyAuth),
		codathook.WithClock(func() time.Time { return epoch }),
		codathook.WithLogger(slog.New(slog.DiscardHandler)),
		codathook.WithMaxBodyBytes(64<<10),
	)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { rcv.Close(context.Background()) })
	if err := codathook.On(rcv, "*", func(context.Context, *codathook.Event) error { return nil }); err != nil {
		f.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/new", rcv.Handler(codathook.EndpointNew))
	mux.Handle("/legacy", rcv.Handler(codathook.EndpointLegacy))
	mux.Handle("/wrapped", rcv.Middleware(codathook.EndpointNew)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})))
	srv := httptest.NewServer(mux)
	f.Cleanup(srv.Close)
	client := srv.Client()

	f.Fuzz(func(t *testing.T, route, mode uint8, body []byte, sig string) {
		paths := [...]string{"/new", "/legacy", "/wrapped"}
		methods := [...]string{http.MethodPost, http.MethodPut, http.MethodPost, http.MethodGet}
		path, method := paths[int(route)%len(paths)], methods[int(mode>>4)%len(methods)]
		var req *http.Request
		switch mode % 4 {
		case 0: // unsigned, no token
			req, _ = http.NewRequest(method, srv.URL+path, bytes.NewReader(body))
		case 1: // signed correctly
			req = signer.NewRequest(method, srv.URL+path, body)
		case 2: // garbage signature
			req, _ = http.NewRequest(method, srv.URL+path, bytes.NewReader(body))
			req.Header.Set("webhook-id", "msg_fuzz")
			req.Header.Set("webhook-timestamp", "1795000000")
			// Only what a client can send: printable ASCII.
			req.Header.Set("webhook-signature", strings.Map(func(r rune) rune {
				if r < ' ' || r > '~' {
					return -1
				}
				return r
			}, sig))
		case 3: // the legacy token
			req = codathooktest.NewLegacyRequest(srv.URL+path, legacyAuth, body)
			req.Method = method
		}
		req.RequestURI = "" // codathooktest builds server-side requests
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if !documentedStatus[resp.StatusCode] {
			t.Fatalf("%s %s (mode %d): status %d, not a documented one", method, path, mode%4, resp.StatusCode)
		}
		res := codathook.Result(resp.Header.Get(codathook.HeaderResult))
		if res == "" && path == "/wrapped" && resp.StatusCode < 300 {
			return // the wrapped handler answered itself (the header there is issue 17's)
		}
		if res == "" {
			t.Fatalf("%s %s: status %d without %s", method, path, resp.StatusCode, codathook.HeaderResult)
		}
		if resp.StatusCode < 300 && res != codathook.ResultProcessed && res != codathook.ResultDuplicate && res != codathook.ResultSkipped {
			t.Fatalf("%s %s: 2xx with result %q", method, path, res)
		}
	})
}
