package codathookgin

import (
	"bytes"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/codathook/codathook"
)

// Handler returns a terminal gin handler for ep: it authenticates the
// delivery, runs the callback registered with [codathook.On] and answers
// with the receiver's status (204 processed, duplicate or skipped, with the
// [codathook.HeaderResult] header; 401, 400, 405, 413 or 503 otherwise). It
// aborts the gin chain, so handlers registered after it do not run; the
// middleware before it (logging, recovery) see the status as usual.
//
// Mount it for POST (and PUT if your Codat transformation uses it). It is
// safe for concurrent use.
func Handler(rcv *codathook.Receiver, ep codathook.Endpoint) gin.HandlerFunc {
	h := rcv.Handler(ep)
	return func(c *gin.Context) {
		prepare(c)
		h.ServeHTTP(c.Writer, c.Request)
		c.Abort()
	}
}

// Middleware returns a gin middleware for ep. It authenticates,
// deduplicates and gates the delivery; then, for a delivery to process, it
// runs the rest of the gin chain with the event available through [Event]
// (and [codathook.DeliveryFromContext] on c.Request.Context()) and
// c.Request.Body restored to the exact bytes received. Callbacks registered
// with [codathook.On] are not called.
//
// What the rest of the chain answers decides the delivery: a 2xx commits it
// (a chain that writes nothing is answered 204), also when a panic follows
// the 2xx; any other status, a panic before any answer, or errors recorded
// with c.Error and no response, release it so that
// Codat's retry runs the chain again (the last case is answered 503 with
// Retry-After). A 5xx is sent as 503 with Retry-After, since Codat's legacy
// service does not retry a 500 (see [codathook.Receiver.Middleware]).
// Duplicates, deliveries that fail authentication and gated-off deliveries
// are answered by the middleware, and the chain is aborted.
//
// The chain runs with the request context bounded by the receiver's callback
// timeout. It is safe for concurrent use.
func Middleware(rcv *codathook.Receiver, ep codathook.Endpoint) gin.HandlerFunc {
	mw := rcv.Middleware(ep)
	return func(c *gin.Context) {
		prepare(c)
		origW, origR := c.Writer, c.Request
		ran := false
		next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ran = true
			gw := &responseWriter{ResponseWriter: origW, w: w}
			c.Writer, c.Request = gw, r
			errs := len(c.Errors)
			defer func() { c.Writer = origW }()
			c.Next()
			if !gw.wrote && len(c.Errors) > errs {
				w.Header().Set(codathook.HeaderResult, string(codathook.ResultFailed))
				w.Header().Set("Retry-After", retryAfter)
				http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
			}
		})
		mw(next).ServeHTTP(origW, c.Request)
		c.Writer, c.Request = origW, origR
		if !ran {
			c.Abort()
		}
	}
}

// Event returns the event that [Middleware] verified, for the handlers that
// run after it. It is false outside such a handler.
func Event(c *gin.Context) (*codathook.Event, bool) {
	if c.Request == nil {
		return nil, false
	}
	del, ok := codathook.DeliveryFromContext(c.Request.Context())
	if !ok || del.Event == nil {
		return nil, false
	}
	return del.Event, true
}

// Delivery returns the metadata of the delivery that [Middleware] verified
// (delivery key, format, endpoint, exact body), for the handlers that run
// after it. It is false outside such a handler.
func Delivery(c *gin.Context) (*codathook.Delivery, bool) {
	if c.Request == nil {
		return nil, false
	}
	return codathook.DeliveryFromContext(c.Request.Context())
}

// prepare gives the receiver the original body and the route parameters.
//
// When a middleware bound the body with ShouldBindBodyWith, c.Request.Body is
// drained and gin keeps the raw bytes under gin.BodyBytesKey: those bytes are
// what was received, so the receiver verifies them (its body limit still
// applies through Content-Length). Route parameters are copied into the
// request's path values so that callbacks read them with
// d.Request.PathValue(name).
func prepare(c *gin.Context) {
	if v, ok := c.Get(gin.BodyBytesKey); ok {
		if b, ok := v.([]byte); ok && b != nil {
			c.Request.Body = io.NopCloser(bytes.NewReader(b))
			c.Request.ContentLength = int64(len(b))
		}
	}
	for _, p := range c.Params {
		if c.Request.PathValue(p.Key) == "" {
			c.Request.SetPathValue(p.Key, p.Value)
		}
	}
}

// responseWriter routes the gin chain's writes through the receiver's writer
// w, which records the status that decides commit or release. The gin
// bookkeeping (Status, Size, Written) stays with the original writer, which
// w writes to in turn.
type responseWriter struct {
	gin.ResponseWriter
	w     http.ResponseWriter
	wrote bool
}

func (rw *responseWriter) Header() http.Header { return rw.w.Header() }

func (rw *responseWriter) WriteHeader(code int) {
	rw.wrote = true
	rw.w.WriteHeader(code)
}

func (rw *responseWriter) Write(b []byte) (int, error) {
	rw.wrote = true
	return rw.w.Write(b)
}

func (rw *responseWriter) WriteString(s string) (int, error) {
	rw.wrote = true
	return io.WriteString(rw.w, s)
}

func (rw *responseWriter) WriteHeaderNow() {
	if !rw.wrote {
		rw.WriteHeader(rw.ResponseWriter.Status())
	}
	rw.ResponseWriter.WriteHeaderNow()
}

func (rw *responseWriter) Flush() {
	if !rw.wrote {
		rw.WriteHeader(rw.ResponseWriter.Status())
	}
	rw.ResponseWriter.Flush()
}

// Unwrap lets http.ResponseController reach the original writer.
func (rw *responseWriter) Unwrap() http.ResponseWriter { return rw.ResponseWriter }

// retryAfter is the Retry-After the receiver sends with a 503, in seconds.
const retryAfter = "5"
