// Package codathookotel reports a [codathook.Receiver]'s deliveries to
// OpenTelemetry: one span per delivery and a few metrics.
//
// [New] returns an [Instrumentation]. Install its observer, wrap the
// receiver's handlers, and register the receiver for the metrics read from
// its [codathook.Receiver.Stats]:
//
//	inst, err := codathookotel.New(codathookotel.Config{}) // the global providers
//	rcv, err := codathook.New(
//		codathook.WithSecrets(secret),
//		codathook.WithObserver(inst.Observe),
//	)
//	inst.Register(rcv)
//	mux.Handle("POST /webhooks/codat", inst.Wrap(rcv.Handler(codathook.EndpointNew)))
//	srv := &http.Server{Handler: otelhttp.NewHandler(mux, "webhooks")} // optional outer span
//
// [Instrumentation.Wrap] starts the span, a child of the span in the
// request's context (an outer otelhttp handler's, if any), and
// [Instrumentation.Observe] ends it with the delivery's outcome. Observe
// alone records the metrics but no span.
//
// # Spans
//
// One span per delivery, named "codathook.delivery new" or
// "codathook.delivery legacy" (the endpoint), of kind Internal below an
// outer span and Server when it is the trace's root. Its attributes, each
// left out when empty:
//
//	codathook.endpoint        new, legacy
//	codathook.format          new, legacy: the body's shape
//	codathook.event_type      e.g. connection.connected
//	codathook.result          a codathook.Result: processed, duplicate, failed...
//	codathook.match           for a duplicate or in_flight: message, event, occurrence, twin
//	codathook.delivery_id     the delivery's id (message or event id)
//	http.request.method       POST, PUT, or _OTHER
//	http.response.status_code the status answered
//	error.type                the result, when the status is Error
//
// The span's status is Error, with the error recorded as an event, when
// the receiver could not process a delivery it accepted: results failed
// (the callback returned an error, panicked or timed out), rejected (the
// callback's error was codathook.Permanent), unavailable (the dedupe store
// failed, or the body could not be read) and overloaded. Other
// non-2xx answers (unauthorized, malformed, too_large, body_timeout,
// method_not_allowed: the sender's fault; in_flight and deferred: retries
// by design) leave the status Unset, with their error recorded as an
// event. Errors are recorded by their message, which never holds a body
// or a secret; a panic's stack is not recorded. No payload is ever put in
// a span.
//
// The delivery span has a child span, of kind Internal, for each step the
// receiver timed ([codathook.Outcome] FlagStart, ClaimStart, SettleStart
// and their durations), from the step's start to its end:
//
//	codathook.flag            the endpoint's feature-flag evaluation
//	codathook.dedupe.claim    the dedupe store's claim (status Error when it failed)
//	codathook.dedupe.settle   the commit or release of the claim
//
// A step that did not run has no span: a retry recognised by its
// webhook-id has none, a delivery refused before its body was parsed none,
// an endpoint without flags no codathook.flag.
//
// # Metrics
//
//	name                              instrument              unit         attributes
//	codathook.deliveries              Counter                 {delivery}   endpoint, format, event_type, result
//	codathook.delivery.duration       Histogram               s            endpoint, format, event_type, result
//	codathook.deliveries.active       UpDownCounter           {delivery}   none: the requests inside Wrap
//	codathook.dedupe.store.errors     Counter                 {error}      endpoint, store.operation
//	codathook.twins.paired            Counter                 {delivery}   endpoint, format, event_type
//	codathook.flag.evaluation.errors  ObservableCounter       {error}      endpoint
//	codathook.migration.occurrences   ObservableCounter       {occurrence} format, event_type
//	codathook.migration.twinned       ObservableCounter       {occurrence} format, event_type
//	codathook.migration.unmatched     ObservableCounter       {occurrence} format, event_type
//	codathook.migration.skipped       ObservableCounter       {occurrence} format, event_type
//	codathook.migration.open          ObservableUpDownCounter {occurrence} format, event_type
//	codathook.migration.step          ObservableGauge         -            step (1 to 5)
//
// The attributes are the span's, under the codathook. prefix, but for
// codathook.step, the runbook step (an int). A duplicate
// recognised before its body is parsed has no format or event type.
// codathook.twins.paired counts the duplicates answered because their
// occurrence was processed in the other format (Match "twin");
// codathook.dedupe.store.errors the deliveries answered unavailable because
// the store failed (a [codathook.StoreError]); codathook.flag.evaluation.errors
// the failed flag evaluations of the registered receivers (FlagStats.Errors,
// including timeouts and overloads), read from Stats at each collection.
//
// The codathook.migration.* instruments read the registered receivers'
// [codathook.Receiver.Migration] report at each collection (one call per
// receiver, given 5 seconds: it may ask a shared store about twins other
// replicas received). The counters are the report's totals since each
// receiver started (LegacyTotal, NewTotal), by format and bounded event
// type, added up over the receivers: the occurrences settled, those whose
// twin in the other format arrived within the pairing window (twinned),
// those whose window closed without one (unmatched), and those the
// endpoint's flag skipped; codathook.migration.open counts the windows
// still open. codathook.migration.step is each runbook step's status, 0
// waiting, 1 ready, 2 done, of the least advanced registered receiver.
package codathookotel
