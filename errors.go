package codathook

import (
	"errors"
	"fmt"
)

// The errors the receiver passes to the error handler and reports in
// [Outcome.Err]. [StatusCode] maps each to its status and [Result] names its
// kind; the comments give the statuses of [DefaultErrorHandler].
var (
	// errMissingSignature: no complete webhook-* or svix-* header set (401).
	errMissingSignature = errors.New("codathook: missing signature headers")
	// errInvalidSignature: no v1 signature matches any configured secret, or
	// the timestamp header is not an integer (401).
	errInvalidSignature = errors.New("codathook: signature mismatch")
	// errStaleTimestamp: the signature timestamp is outside the tolerance (401).
	errStaleTimestamp = errors.New("codathook: timestamp outside tolerance")
	// errUnauthorized: the Authorization header matches no accepted value (401).
	errUnauthorized = errors.New("codathook: authorization header not accepted")
	// errNotConfigured: the endpoint has no authentication configured and was
	// not explicitly made insecure (401).
	errNotConfigured = errors.New("codathook: endpoint has no authentication configured")
	// errUnsignedNewFormat: a new-format body (an eventType envelope)
	// arrived on the legacy endpoint without a signature that verifies with
	// the secrets of [WithSecrets] (401). The legacy endpoint's static
	// Authorization value, or [WithInsecureNoAuth], admits legacy rule
	// bodies only; a new-format body there must be signed like one on the
	// new endpoint. The error wraps the verifier's sentinel
	// (errMissingSignature, errInvalidSignature, errStaleTimestamp)
	// when there was a signature to check.
	errUnsignedNewFormat = errors.New("codathook: a new-format body on the legacy endpoint needs a valid webhook signature")
	// errMethodNotAllowed: the request method is not POST or PUT (405).
	errMethodNotAllowed = errors.New("codathook: method not allowed")
	// errInFlight: the same delivery or occurrence is being processed by
	// another request or replica; the sender should retry (503).
	errInFlight = errors.New("codathook: delivery in flight elsewhere")
	// errDeferred: the endpoint's flag is off and the endpoint is configured to
	// defer rather than acknowledge (503).
	errDeferred = errors.New("codathook: endpoint deferred by feature flag")
	// errBodyUnreadable: the request body could not be read at all, for
	// example because another middleware consumed it first (503, so the
	// sender retries once the app is fixed). A body that ends before its
	// Content-Length is malformed instead (400).
	errBodyUnreadable = errors.New("codathook: request body unreadable")
	// errCallbackTimeout: a callback outlived the configured deadline (503).
	errCallbackTimeout = errors.New("codathook: callback deadline exceeded")
)

// ErrPermanent is the error that errors.Is finds in every error [Permanent]
// returns. Wrapping it yourself (fmt.Errorf("...: %w", codathook.ErrPermanent))
// marks an error permanent too.
var ErrPermanent = errors.New("codathook: permanent failure")

// Permanent marks err as a failure that no retry of the delivery can fix
// (an event your app refuses for good: a company it does not serve, a
// payload it cannot act on), so that the sender stops retrying it. It
// returns nil for a nil err; errors.Is(Permanent(err), ErrPermanent) is
// true, and errors.Is and errors.As also see err.
//
// A callback (or the fallback of [WithFallback]) that returns a permanent
// error gets Result rejected: the receiver releases the claim, so that a
// replay from Codat's Portal processes the delivery again, logs it at
// Warn, and answers 422 Unprocessable Content through the error handler,
// with Webhook-Delivery: abort-message when Codat's new (Svix) service
// signed the delivery: Svix then stops retrying the message and leaves it
// failed, to be replayed from the Portal. Codat's legacy service has no
// such header and retries no 422: the delivery is final there. A panic is
// never permanent, whatever its value.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// permanentError is an error marked by [Permanent].
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }

func (e *permanentError) Unwrap() error { return e.err }

func (e *permanentError) Is(target error) bool { return target == ErrPermanent }

// isPermanent reports whether err is marked permanent and is not a
// callback's panic.
func isPermanent(err error) bool {
	if ce, ok := errors.AsType[*CallbackError](err); ok && ce.Panic != nil {
		return false
	}
	return errors.Is(err, ErrPermanent)
}

// CallbackError reports that a callback returned an error or panicked. The
// delivery is released so that a retry processes it again (503, or 422 for
// a [Permanent] error).
type CallbackError struct {
	EventType string
	// Panic holds the recovered value when the callback panicked, and
	// Stack the panicking goroutine's stack (logged with the failure).
	Panic any
	Stack []byte
	Err   error
}

// Error describes the failure without the payload.
func (e *CallbackError) Error() string {
	if e.Panic != nil {
		return fmt.Sprintf("codathook: callback for %s panicked: %v", e.EventType, e.Panic)
	}
	return fmt.Sprintf("codathook: callback for %s: %v", e.EventType, e.Err)
}

// Unwrap returns the callback's error, or the panic value when it is an error.
func (e *CallbackError) Unwrap() error {
	if e.Err != nil {
		return e.Err
	}
	if err, ok := e.Panic.(error); ok {
		return err
	}
	return nil
}

// StoreError reports that the dedupe store failed; the delivery is answered
// 503 so that nothing is lost (fail-closed).
type StoreError struct {
	Op  string
	Err error
}

// Error names the failed store operation and its error.
func (e *StoreError) Error() string { return "codathook: dedupe store " + e.Op + ": " + e.Err.Error() }

// Unwrap returns the store's error.
func (e *StoreError) Unwrap() error { return e.Err }
