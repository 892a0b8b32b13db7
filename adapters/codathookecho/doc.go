// Package codathookecho mounts a [codathook.Receiver] in an echo (v4) server.
//
// Signature verification needs the exact bytes Codat sent. The receiver
// reads c.Request().Body once, verifies those bytes and, in the
// [Middleware] form, puts them back so that the handler can c.Bind the
// payload as usual. Middleware that run before it must leave the body
// readable: echo's BodyDump and Logger do; a middleware that calls c.Bind
// drains the body (echo keeps no copy), and the delivery is then answered
// with a retryable error. Bind in the handler, after [Middleware], instead.
//
// [Handler] is the terminal form: it runs the callbacks registered with
// [codathook.On] and answers the delivery (204, 401, 400, 405, 413 or 503).
//
//	e := echo.New()
//	e.Use(middleware.Logger(), middleware.Recover())
//	e.POST("/webhooks/codat", codathookecho.Handler(rcv, codathook.EndpointNew))
//	e.POST("/webhooks/codat/legacy", codathookecho.Handler(rcv, codathook.EndpointLegacy))
//
// [Middleware] is the wrapper form: it authenticates and deduplicates, then
// runs the handler with the event available through [Event].
//
//	e.POST("/webhooks/codat", func(c echo.Context) error {
//		ev, _ := codathookecho.Event(c)
//		...
//		return c.NoContent(http.StatusNoContent)
//	}, codathookecho.Middleware(rcv, codathook.EndpointNew))
//
// Route parameters reach callbacks registered with [codathook.On] through
// [codathook.DeliveryFromContext]: [Handler] and [Middleware] copy echo's
// path parameters into the request's path values, so
// d.Request.PathValue("tenant") returns c.Param("tenant").
package codathookecho
