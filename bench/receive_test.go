package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
)

// discardWriter is a ResponseWriter that keeps nothing, so the benchmark
// measures the receiver and not a recorder.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }

// source hands out signed deliveries, each with its own message id, event id
// and company, signing them in chunks with the timer stopped.
type source struct {
	signer *codathooktest.Signer
	n      int
	legacy bool
	next   int
	buf    []*http.Request
	seq    int
}

var target, _ = url.Parse("http://127.0.0.1/webhooks/codat")

func newSource(n int, legacy bool) *source {
	return &source{signer: codathooktest.MustSigner(Secret), n: n, legacy: legacy}
}

func (s *source) fill() {
	const chunk = 4096
	s.buf = s.buf[:0]
	now := time.Now()
	for range chunk {
		s.seq++
		id := strconv.Itoa(s.seq)
		var body []byte
		if s.legacy {
			body = NewLegacyBody("alert-"+id, "company-"+id)
		} else {
			body = NewBody("event-"+id, "company-"+id, s.n)
		}
		h := s.signer.Headers("msg_"+id, now, body)
		h.Set("Authorization", codathooktest.DevAuthorization)
		s.buf = append(s.buf, &http.Request{Method: http.MethodPost, URL: target, Header: h,
			Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body))})
	}
	s.next = 0
}

func (s *source) get(b *testing.B) *http.Request {
	if s.next == len(s.buf) {
		b.StopTimer()
		s.fill()
		b.StartTimer()
	}
	r := s.buf[s.next]
	s.next++
	return r
}

func newReceiver(b *testing.B) *codathook.Receiver {
	b.Helper()
	rcv, err := codathook.New(
		codathook.WithSecrets(Secret),
		codathook.WithLegacyAuthorization(codathooktest.DevAuthorization),
		codathook.WithLogger(slog.New(slog.DiscardHandler)),
	)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rcv.Close(context.Background()) })
	var sink int
	if err := codathook.On(rcv, "read.completed", func(_ context.Context, ev *codathook.ReadCompletedEvent) error {
		sink += len(ev.Payload.DataTypes)
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	return rcv
}

// BenchmarkReceive measures codathook's receive pipeline (verify, classify,
// decode, normalize, dedupe with the default in-memory store, dispatch to one
// typed callback) beside svix-go's Verify plus encoding/json into typed
// structs, for the same deliveries.
func BenchmarkReceive(b *testing.B) {
	for _, size := range []struct {
		name string
		n    int
	}{{"new-600B", 1}, {"new-1.5KB", 9}} {
		b.Run("codathook/"+size.name, func(b *testing.B) {
			rcv := newReceiver(b)
			h := rcv.Handler(codathook.EndpointNew)
			src := newSource(size.n, false)
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, src.get(b))
				if w.code != http.StatusNoContent {
					b.Fatalf("status %d", w.code)
				}
			}
		})
		b.Run("svix+json/"+size.name, func(b *testing.B) {
			wh, err := svix.NewWebhook(Secret)
			if err != nil {
				b.Fatal(err)
			}
			src := newSource(size.n, false)
			b.ReportAllocs()
			for b.Loop() {
				r := src.get(b)
				body, _ := io.ReadAll(r.Body)
				if err := wh.Verify(body, r.Header); err != nil {
					b.Fatal(err)
				}
				var ev ReadCompleted
				if err := json.Unmarshal(body, &ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("codathook/legacy", func(b *testing.B) {
		rcv := newReceiver(b)
		h := rcv.Handler(codathook.EndpointLegacy)
		src := newSource(1, true)
		w := &discardWriter{h: http.Header{}}
		b.ReportAllocs()
		for b.Loop() {
			clear(w.h)
			h.ServeHTTP(w, src.get(b))
			if w.code != http.StatusNoContent {
				b.Fatalf("status %d", w.code)
			}
		}
	})
	b.Run("codathook/duplicate", func(b *testing.B) {
		rcv := newReceiver(b)
		h := rcv.Handler(codathook.EndpointNew)
		body := NewBody("event-dup", "company-dup", 1)
		hdr := codathooktest.MustSigner(Secret).Headers("msg_dup", time.Now(), body)
		w := &discardWriter{h: http.Header{}}
		h.ServeHTTP(w, &http.Request{Method: http.MethodPost, URL: target, Header: hdr, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body))})
		b.ReportAllocs()
		rd := bytes.NewReader(body)
		req := &http.Request{Method: http.MethodPost, URL: target, Header: hdr, Body: io.NopCloser(rd), ContentLength: int64(len(body))}
		for b.Loop() {
			clear(w.h)
			rd.Reset(body)
			h.ServeHTTP(w, req)
			if w.h.Get(codathook.HeaderResult) != string(codathook.ResultDuplicate) {
				b.Fatalf("result %q", w.h.Get(codathook.HeaderResult))
			}
		}
	})
}
