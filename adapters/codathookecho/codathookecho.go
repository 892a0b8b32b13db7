package codathookecho

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/codathook/codathook"
)

// Handler returns a terminal echo handler for ep: it authenticates the
// delivery, runs the callback registered with [codathook.On] and answers
// with the receiver's status (204 processed, duplicate or skipped, with the
// [codathook.HeaderResult] header; 401, 400, 405, 413 or 503 otherwise). It
// always returns nil: the response is written, and echo's error handler has
// nothing to add. It is safe for concurrent use.
func Handler(rcv *codathook.Receiver, ep codathook.Endpoint) echo.HandlerFunc {
	h := rcv.Handler(ep)
	return func(c echo.Context) error {
		prepare(c)
		h.ServeHTTP(c.Response(), c.Request())
		return nil
	}
}

// Middleware returns an echo middleware for ep. It authenticates,
// deduplicates and gates the delivery; then, for a delivery to process, it
// calls the next handler with the event available through [Event] (and
// [codathook.DeliveryFromContext] on c.Request().Context()) and the request
// body restored to the exact bytes received. Callbacks registered with
// [codathook.On] are not called.
//
// What the handler answers decides the delivery: a 2xx commits it (a
// handler that writes nothing and returns nil is answered 204), also when a
// panic follows the 2xx; any other status, a returned error, or a panic
// before any answer, releases it so that Codat's retry
// runs the handler again. A returned error is answered by echo's
// HTTPErrorHandler before the delivery is settled, and is also returned, as
// echo's own middleware do. A 5xx (echo's 500 for a plain error included)
// is sent as 503 with Retry-After, since Codat's legacy service does not
// retry a 500 (see [codathook.Receiver.Middleware]). Duplicates,
// deliveries that fail authentication and gated-off deliveries are answered
// by the middleware without calling the handler.
//
// The handler runs with the request context bounded by the receiver's
// callback timeout. It is safe for concurrent use.
func Middleware(rcv *codathook.Receiver, ep codathook.Endpoint) echo.MiddlewareFunc {
	mw := rcv.Middleware(ep)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			prepare(c)
			origResp, origReq := c.Response(), c.Request()
			var nextErr error
			inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// Writes go through w, which records the status that decides
				// commit or release, and then reach origResp, which keeps
				// echo's bookkeeping (Status, Size, Committed, Before hooks).
				resp := echo.NewResponse(w, c.Echo())
				c.SetResponse(resp)
				c.SetRequest(r)
				defer c.SetResponse(origResp)
				nextErr = next(c)
				if nextErr != nil && !resp.Committed {
					c.Error(nextErr)
				}
			})
			mw(inner).ServeHTTP(origResp, c.Request())
			c.SetRequest(origReq)
			return nextErr
		}
	}
}

// Event returns the event that [Middleware] verified, for the handler it
// wraps. It is false outside such a handler.
func Event(c echo.Context) (*codathook.Event, bool) {
	if c.Request() == nil {
		return nil, false
	}
	del, ok := codathook.DeliveryFromContext(c.Request().Context())
	if !ok || del.Event == nil {
		return nil, false
	}
	return del.Event, true
}

// Delivery returns the metadata of the delivery that [Middleware] verified
// (delivery key, format, endpoint, exact body), for the handler it wraps.
// It is false outside such a handler.
func Delivery(c echo.Context) (*codathook.Delivery, bool) {
	if c.Request() == nil {
		return nil, false
	}
	return codathook.DeliveryFromContext(c.Request().Context())
}

// prepare copies echo's path parameters into the request's path values, so
// that callbacks read them with d.Request.PathValue(name).
func prepare(c echo.Context) {
	r := c.Request()
	names, values := c.ParamNames(), c.ParamValues()
	for i, name := range names {
		if i < len(values) && r.PathValue(name) == "" {
			r.SetPathValue(name, values[i])
		}
	}
}
