package codathook

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/codathook/codathook/normalize"
)

// HeaderResult is the response header that tells the sender (and you, when
// debugging with curl) what the receiver did with a delivery: one of the
// [Result] values.
const HeaderResult = "Codathook-Result"

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
	ResultUnavailable      Result = "unavailable"        // the dedupe store failed: 503
	ResultUnauthorized     Result = "unauthorized"       // 401
	ResultMalformed        Result = "malformed"          // body is not a JSON object, or ended early: 400
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

// answer writes res as the response and returns its status (as
// [StatusCode] reports it for errors).
func (r *Receiver) answer(w http.ResponseWriter, req *http.Request, res outcome) int {
	w.Header()[HeaderResult] = resultHeader(res.result)
	if res.err == nil {
		w.WriteHeader(http.StatusNoContent)
		return http.StatusNoContent
	}
	switch {
	case res.result == ResultMethodNotAllowed:
		w.Header().Set("Allow", "POST, PUT")
	case res.result == ResultBodyTimeout && req.ProtoMajor == 1:
		// The rest of the body may still come: do not read it as the
		// next request.
		w.Header().Set("Connection", "close")
	}
	r.cfg.errorHandler(w, req, res.err)
	return StatusCode(res.err)
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
// returns 408 for errBodyTimeout, which both services retry.
func StatusCode(err error) int {
	var mbe *http.MaxBytesError
	var me *normalize.MalformedError
	switch {
	case err == nil:
		return http.StatusNoContent
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

func resultHeader(r Result) []string {
	if v, ok := resultHeaders[r]; ok {
		return v
	}
	return []string{string(r)}
}
