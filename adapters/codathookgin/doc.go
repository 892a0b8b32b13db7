// Package codathookgin mounts a [codathook.Receiver] in a gin engine.
//
// gin handlers are not http.Handlers, and gin apps often read the request
// body before the webhook handler runs (ShouldBindBodyWith in a global
// middleware, request-logging middleware). Signature verification needs the
// exact bytes Codat sent, so this package hands the receiver the original
// body: the live request body when nothing consumed it, or the raw bytes that
// gin's ShouldBindBodyWith cached under [gin.BodyBytesKey] when a middleware
// bound it first. A middleware that reads c.Request.Body some other way must
// put the same bytes back (io.NopCloser(bytes.NewReader(b))); otherwise the
// delivery cannot be verified and is answered with a retryable error.
//
// [Handler] is the terminal form: it runs the callbacks registered with
// [codathook.On] and answers the delivery (204, 401, 400, 405, 413 or 503).
//
//	r := gin.New()
//	r.Use(gin.Logger(), gin.Recovery())
//	r.POST("/webhooks/codat", codathookgin.Handler(rcv, codathook.EndpointNew))
//	r.POST("/webhooks/codat/legacy", codathookgin.Handler(rcv, codathook.EndpointLegacy))
//
// [Middleware] is the wrapper form: it authenticates and deduplicates, then
// runs the rest of the gin chain with the event available through [Event]
// and c.Request.Body restored, so the handler can bind the payload as usual.
//
//	r.POST("/webhooks/codat", codathookgin.Middleware(rcv, codathook.EndpointNew), func(c *gin.Context) {
//		ev, _ := codathookgin.Event(c)
//		...
//		c.Status(http.StatusNoContent)
//	})
//
// Route parameters reach callbacks registered with [codathook.On] through
// [codathook.DeliveryFromContext]: gin does not put them in the request, so
// [Handler] and [Middleware] copy them into the request's path values, and
// d.Request.PathValue("tenant") returns gin's c.Param("tenant").
package codathookgin
