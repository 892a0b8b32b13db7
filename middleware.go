package codathook

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"

	"github.com/codathook/codathook/normalize"
)

// Middleware returns the wrapper form of ep: it authenticates, classifies,
// normalizes, gates and deduplicates each delivery, then calls next with the
// event in the request context ([DeliveryFromContext], whose Event field holds it)
// and r.Body restored to the exact bytes received. Registered callbacks are
// not called. The status next sends decides, so that the sender and the
// store always agree: a 2xx (written, or the implicit 200 of a Write or a
// Flush) commits the delivery, also when next panics or ends its goroutine
// afterwards (the panic is recovered and logged at Error with its stack;
// the 2xx is sent). Any other status, or a panic before anything was sent,
// releases it so that a retry reaches next again; with nothing sent the
// sender gets 503 with Retry-After.
//
// What next sends goes to the sender as next wrote it, with two changes
// that keep it retry-safe: the answer carries the [HeaderResult] header
// (processed for a 2xx, failed otherwise), and a 5xx (500 included) is sent
// as 503 with Retry-After (next's own Retry-After if it set one, else 5 s,
// as the receiver's own 503s), because Codat's legacy service drops a
// delivery answered 500 without retrying it. A 4xx is sent as written, as
// next's deliberate answer: Codat's new service retries it like any
// failure, its legacy service only 408, 420, 429 and 460. To stop Svix
// retrying a delivery next refuses for good, answer a 4xx with the
// Webhook-Delivery: abort-message header, as the receiver does for a
// [Permanent] error: its Result is then rejected.
// next cannot hijack the connection (the receiver must know what it
// answered). Duplicates and gated-off deliveries are answered without
// calling next.
//
// The result fits gorilla/mux's Router.Use, chi's Use and alice.
func (r *Receiver) Middleware(ep Endpoint) func(http.Handler) http.Handler {
	if _, ok := ep.index(); !ok {
		return func(http.Handler) http.Handler { return http.NotFoundHandler() }
	}
	return func(next http.Handler) http.Handler {
		if next == nil {
			next = http.NotFoundHandler()
		}
		return &endpointHandler{r: r, ep: ep, next: next}
	}
}

// runNext calls the wrapped handler synchronously with the event in the
// request context, writing through sw. The rule is that the sender's view
// and the store's agree: the status the handler sent decides, not how the
// handler ended. A 2xx sent (explicitly, implicitly by Write or Flush)
// commits, also when the handler panics afterwards: the panic is recovered
// and logged at Error with its stack, and net/http completes the 2xx it
// already holds. Re-panicking (with http.ErrAbortHandler) would not help: a
// flushed 2xx is already on the wire, and an unflushed one turned into a
// reset makes the sender retry what was committed. A non-2xx sent releases.
// Nothing sent (the handler panicked first, or returned past its deadline)
// is answered by serve: 503 with Retry-After and a release, or 204 and a
// commit when the handler returned in time.
func (r *Receiver) runNext(ctx context.Context, sw *statusWriter, req *http.Request, del *Delivery, ev *normalize.Event, next http.Handler) (res outcome, err error) {
	cctx, cancel := context.WithTimeout(ctx, r.cfg.callbackTimeout)
	defer cancel()
	req2 := req.WithContext(cctx)
	req2.Body = io.NopCloser(bytes.NewReader(del.Body))
	req2.ContentLength = int64(len(del.Body))
	req2.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(del.Body)), nil }
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		if sw.answered2xx() {
			r.cfg.logger.ErrorContext(ctx, "codathook: the wrapped handler panicked after answering 2xx; delivery committed",
				slog.Int("status", sw.status), slog.String("event_type", ev.Type), slog.String("delivery_id", del.ID),
				slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
			res, err = outcome{result: ResultProcessed, written: true, status: sw.status}, nil
			return
		}
		err = &CallbackError{EventType: ev.Type, Panic: p, Stack: debug.Stack()}
		res = outcome{result: ResultFailed, err: err, written: sw.status != 0, status: sw.status}
	}()
	next.ServeHTTP(sw, req2)
	switch {
	case sw.status == 0:
		// next wrote nothing: answer for it.
		if cctx.Err() != nil {
			return outcome{result: ResultFailed, err: errCallbackTimeout}, errCallbackTimeout
		}
		return outcome{result: ResultProcessed}, nil
	case sw.answered2xx():
		return outcome{result: ResultProcessed, written: true, status: sw.status}, nil
	}
	switch {
	case sw.result == ResultRejected:
		err = Permanent(fmt.Errorf("codathook: wrapped handler answered %d with Webhook-Delivery: abort-message", sw.status))
	case sw.asked != sw.status:
		err = fmt.Errorf("codathook: wrapped handler answered %d (sent as %d)", sw.asked, sw.status)
	default:
		err = fmt.Errorf("codathook: wrapped handler answered %d", sw.status)
	}
	return outcome{result: sw.result, err: err, written: true, status: sw.status}, err
}

// statusWriter records the final status the wrapped handler sends, as
// net/http sends it: the first WriteHeader that net/http accepts, except
// informational 1xx codes (101 Switching Protocols is final); 200 on a Write
// or a Flush before any WriteHeader. It refuses Hijack: after a hijack the
// receiver could not know what the sender was told.
//
// It makes the handler's answer one Codat acts on as the receiver's own:
// every final status carries the Codathook-Result header (processed for a
// 2xx, rejected for a 4xx next sent with Webhook-Delivery: abort-message,
// failed otherwise), and a 5xx is sent as 503 with
// Retry-After (the handler's own Retry-After, else the receiver's 5 s),
// since Codat's legacy service retries 502, 503 and 504 but not 500.
type statusWriter struct {
	http.ResponseWriter
	status int    // the final status sent; 0 until one is
	asked  int    // the status the handler asked for (status, unless a 5xx was sent as 503)
	result Result // the Codathook-Result sent with it
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status != 0 || code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		// An informational answer, or one net/http ignores as superfluous.
		s.ResponseWriter.WriteHeader(code)
		return
	}
	sent, res := code, ResultFailed
	h := s.ResponseWriter.Header()
	switch {
	case code >= 200 && code <= 299:
		res = ResultProcessed
	case code >= 400 && code <= 499 && h.Get(headerWebhookDelivery) == abortMessage:
		res = ResultRejected // next told Svix to stop retrying
	case code >= 500 && code <= 999: // past 999, net/http panics below
		sent = http.StatusServiceUnavailable
		if h.Get("Retry-After") == "" {
			h.Set("Retry-After", strconv.Itoa(retryAfter))
		}
	}
	h[HeaderResult] = resultHeader(res)
	// net/http panics on an invalid code without sending it: record the
	// code only once the underlying writer has taken it.
	s.ResponseWriter.WriteHeader(sent)
	s.status, s.asked, s.result = sent, code, res
}

// implicit200 sets the Codathook-Result header of the 200 that a Write or
// a Flush before any WriteHeader is about to send.
func (s *statusWriter) implicit200() {
	if s.status == 0 {
		s.ResponseWriter.Header()[HeaderResult] = resultHeader(ResultProcessed)
	}
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.implicit200()
		s.status, s.asked, s.result = http.StatusOK, http.StatusOK, ResultProcessed
	}
	return s.ResponseWriter.Write(b)
}

// FlushError flushes the underlying writer, as http.ResponseController's
// Flush does; a flush before any WriteHeader sends 200.
func (s *statusWriter) FlushError() error {
	s.implicit200()
	err := http.NewResponseController(s.ResponseWriter).Flush()
	if s.status == 0 && !errors.Is(err, http.ErrNotSupported) {
		s.status, s.asked, s.result = http.StatusOK, http.StatusOK, ResultProcessed
	}
	return err
}

// Flush implements http.Flusher for handlers that assert it.
func (s *statusWriter) Flush() { _ = s.FlushError() }

// Hijack refuses: see [statusWriter].
func (s *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return nil, nil, errHijack
}

var errHijack = fmt.Errorf("codathook: a wrapped handler cannot hijack the connection: the receiver commits or releases the delivery by the status it answers: %w", http.ErrNotSupported)

// answered2xx reports whether the handler sent a 2xx status.
func (s *statusWriter) answered2xx() bool { return s.status >= 200 && s.status < 300 }

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
