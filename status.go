package codathook

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/codathook/codathook/internal/deduper"
	"github.com/codathook/codathook/normalize"
)

// HeaderResult is the response header that tells the sender (and you, when
// debugging with curl) what the receiver did with a delivery: one of the
// [Result] values. A duplicate or in_flight answer also carries
// Codathook-Match, the kind of key it matched ([Outcome.Match]).
const HeaderResult = "Codathook-Result"

// headerMatch names the kind of key a duplicate or in_flight matched.
const headerMatch = "Codathook-Match"

// headerWebhookDelivery and abortMessage are Svix's delivery control
// response header and the value that stops retries of one message. Svix's
// docs (https://docs.svix.com/receiving/delivery-control): "If you want to
// dynamically control future webhook delivery to an endpoint from the
// receiving end, Svix will respect the following HTTP header instructions
// in the webhook response: [...] webhook-delivery: abort-message – stops
// retries of the message just sent; has no effect when the message
// wouldn't be retried anyways, such as when delivery is considered
// successful". Codat's docs do not mention the header; Codat's new service
// is Svix (reference: codat-delivery-facts.md, section 0).
const (
	headerWebhookDelivery = "Webhook-Delivery"
	abortMessage          = "abort-message"
)

// retryAfter is the Retry-After value, in seconds, sent with every 503.
// Codat's legacy service honours it and retries at most three times within
// about two minutes.
const retryAfter = 5

// Result is what happened to one delivery.
type Result string

// Results, as reported to the observer and in the [HeaderResult] header.
const (
	ResultProcessed        Result = "processed"          // a callback (or the wrapped handler) succeeded: 204
	ResultDuplicate        Result = "duplicate"          // already processed (retry, resend or the other format's twin): 204
	ResultSkipped          Result = "skipped"            // the endpoint's flag is off: 204, nothing claimed
	ResultDeferred         Result = "deferred"           // the endpoint's flag is off and set to defer: 503
	ResultInFlight         Result = "in_flight"          // a copy is being processed elsewhere: 503
	ResultFailed           Result = "failed"             // the callback failed, panicked or timed out: 503, released
	ResultRejected         Result = "rejected"           // the callback's error is Permanent: 422 (+ Webhook-Delivery: abort-message when signed), released
	ResultUnavailable      Result = "unavailable"        // the dedupe store failed: 503
	ResultUnauthorized     Result = "unauthorized"       // 401
	ResultMalformed        Result = "malformed"          // body is not a JSON object, or ended early: 400 (+ Webhook-Delivery: abort-message when signed)
	ResultTooLarge         Result = "too_large"          // 413
	ResultBodyTimeout      Result = "body_timeout"       // the body did not arrive in time (WithBodyReadTimeout): 408, nothing recorded
	ResultOverloaded       Result = "overloaded"         // WithMaxConcurrentCallbacks callbacks were running: 503, nothing claimed
	ResultMethodNotAllowed Result = "method_not_allowed" // 405
)

// errOverloaded: [WithMaxConcurrentCallbacks] callbacks (or wrapped
// handlers) were already running, so the delivery was shed before it was
// claimed: nothing is recorded, and the sender's retry is processed as if
// it were the first arrival (503 with Retry-After).
var errOverloaded = errors.New("codathook: too many callbacks running")

// answer writes res as the receiver's own response and returns its status
// (as [StatusCode] reports it for errors). It is the one writer of those
// answers: serve calls it once the delivery is settled, and the watchdog at
// the callback deadline while the callback still runs, with complete set.
//
// With complete, the answer is one the client can read to its end before
// the handler returns: the error handler's output is buffered, then written
// with its Content-Length and Connection: close (the connection stays busy
// until the callback returns), and flushed; the status returned is the one
// written. A ResponseWriter that cannot flush sends it when the handler
// returns.
func (r *Receiver) answer(w http.ResponseWriter, req *http.Request, res outcome, complete bool) int {
	out := w
	var bw *bufferedAnswer
	if complete {
		bw = &bufferedAnswer{h: w.Header()}
		out = bw
	}
	out.Header()[HeaderResult] = resultHeader(res.result)
	if res.match != "" {
		out.Header()[headerMatch] = matchHeader(res.match)
	}
	if res.abort {
		out.Header()[headerWebhookDelivery] = abortMessageHeader
	}
	code := http.StatusNoContent
	if res.err == nil {
		out.WriteHeader(code)
	} else {
		switch {
		case res.result == ResultMethodNotAllowed:
			out.Header().Set("Allow", "POST, PUT")
		case res.result == ResultBodyTimeout && req.ProtoMajor == 1:
			// The rest of the body may still come: do not read it as the
			// next request.
			out.Header().Set("Connection", "close")
		}
		r.cfg.errorHandler(out, req, res.err)
		code = StatusCode(res.err)
	}
	if bw == nil {
		return code
	}
	code = bw.code
	if code == 0 {
		code = http.StatusOK // what net/http sends for a handler that writes nothing
	}
	h := w.Header()
	h.Set("Content-Length", strconv.Itoa(len(bw.body)))
	h.Set("Connection", "close")
	w.WriteHeader(code)
	_, _ = w.Write(bw.body)
	_ = http.NewResponseController(w).Flush()
	return code
}

// bufferedAnswer records a status and body; its header is the real one.
type bufferedAnswer struct {
	h    http.Header
	code int
	body []byte
}

func (b *bufferedAnswer) Header() http.Header { return b.h }

func (b *bufferedAnswer) WriteHeader(code int) {
	if b.code == 0 {
		b.code = code
	}
}

func (b *bufferedAnswer) Write(p []byte) (int, error) {
	if b.code == 0 {
		b.code = http.StatusOK
	}
	b.body = append(b.body, p...)
	return len(p), nil
}

func levelFor(res Result) slog.Level {
	switch res {
	case ResultFailed, ResultUnavailable:
		return slog.LevelError
	case ResultDeferred, ResultInFlight:
		return slog.LevelInfo
	}
	return slog.LevelWarn
}

// StatusCode returns the HTTP status [DefaultErrorHandler] answers err with.
// It never returns 500: Codat's legacy service does not retry it. It
// returns 408 for errBodyTimeout, which both services retry, 422 for a
// [Permanent] error, and 503 for any other callback error, whatever it
// wraps.
func StatusCode(err error) int {
	var mbe *http.MaxBytesError
	var me *normalize.MalformedError
	var ce *CallbackError
	switch {
	case err == nil:
		return http.StatusNoContent
	case isPermanent(err):
		return http.StatusUnprocessableEntity
	case errors.As(err, &ce):
		// Not what the callback's error wraps: a callback that returns an
		// io.ErrUnexpectedEOF of its own failed, it sent nothing malformed.
		return http.StatusServiceUnavailable
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, errBodyTimeout):
		return http.StatusRequestTimeout
	case errors.Is(err, errMethodNotAllowed):
		return http.StatusMethodNotAllowed
	case errors.Is(err, errMissingSignature), errors.Is(err, errInvalidSignature),
		errors.Is(err, errStaleTimestamp), errors.Is(err, errUnauthorized), errors.Is(err, errNotConfigured),
		errors.Is(err, errUnsignedNewFormat):
		return http.StatusUnauthorized
	case errors.As(err, &me), errors.Is(err, io.ErrUnexpectedEOF):
		return http.StatusBadRequest
	}
	return http.StatusServiceUnavailable
}

// DefaultErrorHandler answers a failed delivery with [StatusCode]'s status, the
// status text as body, and Retry-After on 503. It never reveals err's text.
func DefaultErrorHandler(w http.ResponseWriter, _ *http.Request, err error) {
	code := StatusCode(err)
	if code == http.StatusServiceUnavailable {
		after := retryAfter
		var de *deferredError
		if errors.As(err, &de) && de.after > 0 {
			after = int((de.after + time.Second - 1) / time.Second)
		}
		w.Header().Set("Retry-After", strconv.Itoa(after))
	}
	http.Error(w, http.StatusText(code), code)
}

// deferredError is errDeferred with the Retry-After the flag gate asked for.
type deferredError struct{ after time.Duration }

func (e *deferredError) Error() string { return errDeferred.Error() }

func (e *deferredError) Unwrap() error { return errDeferred }

// resultHeaders holds one immutable header value per Result, so answering
// allocates no header slice.
var resultHeaders = func() map[Result][]string {
	m := make(map[Result][]string, len(results))
	for _, r := range results {
		m[r] = []string{string(r)}
	}
	return m
}()

// matchHeaders are the header values of each match kind, built once so
// that answering a duplicate allocates nothing for them.
var matchHeaders = map[deduper.Match][]string{
	deduper.MatchMessage:    {string(deduper.MatchMessage)},
	deduper.MatchEvent:      {string(deduper.MatchEvent)},
	deduper.MatchOccurrence: {string(deduper.MatchOccurrence)},
	deduper.MatchTwin:       {string(deduper.MatchTwin)},
}

// abortMessageHeader is the Webhook-Delivery header value, built once.
var abortMessageHeader = []string{abortMessage}

func matchHeader(m deduper.Match) []string {
	if v, ok := matchHeaders[m]; ok {
		return v
	}
	return []string{string(m)}
}

func resultHeader(r Result) []string {
	if v, ok := resultHeaders[r]; ok {
		return v
	}
	return []string{string(r)}
}
