package codathookotel

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/codathook/codathook"
)

// scope is the instrumentation scope of the tracer and the meter.
const scope = "github.com/codathook/codathook/adapters/codathookotel"

// spanName is the span's name, followed by the endpoint once it is known.
const spanName = "codathook.delivery"

// The attribute keys of this package.
const (
	keyEndpoint   = attribute.Key("codathook.endpoint")
	keyFormat     = attribute.Key("codathook.format")
	keyEventType  = attribute.Key("codathook.event_type")
	keyResult     = attribute.Key("codathook.result")
	keyMatch      = attribute.Key("codathook.match")
	keyDeliveryID = attribute.Key("codathook.delivery_id")
	keyStoreOp    = attribute.Key("codathook.store.operation")
)

// durationBuckets are the histogram's bounds, in seconds: those
// OpenTelemetry recommends for HTTP server durations, and 15 s, Codat's
// delivery timeout.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 15}

// Config chooses the providers. Its zero value uses the global ones
// ([otel.GetTracerProvider] and [otel.GetMeterProvider]).
type Config struct {
	// TracerProvider creates the delivery spans; nil means the global one.
	TracerProvider trace.TracerProvider
	// MeterProvider creates the metrics; nil means the global one.
	MeterProvider metric.MeterProvider
}

// Instrumentation reports deliveries as spans and metrics: [Instrumentation.Wrap]
// starts a delivery's span, [Instrumentation.Observe] (the receiver's
// observer) records its metrics and ends the span, and
// [Instrumentation.Register] adds a receiver whose Stats the observable
// metrics read. It is safe for concurrent use.
type Instrumentation struct {
	tracer      trace.Tracer
	deliveries  metric.Int64Counter
	duration    metric.Float64Histogram
	active      metric.Int64UpDownCounter
	storeErrors metric.Int64Counter
	twins       metric.Int64Counter

	mu        sync.Mutex
	receivers []*codathook.Receiver
}

// New returns an Instrumentation that uses the providers of cfg. It
// returns an error when the meter provider fails to create an instrument.
func New(cfg Config) (*Instrumentation, error) {
	tp, mp := cfg.TracerProvider, cfg.MeterProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	i := &Instrumentation{tracer: tp.Tracer(scope)}
	m := mp.Meter(scope)
	var err, e error
	i.deliveries, e = m.Int64Counter("codathook.deliveries", metric.WithUnit("{delivery}"),
		metric.WithDescription("Deliveries answered, by endpoint, format, event type and result."))
	err = errors.Join(err, e)
	i.duration, e = m.Float64Histogram("codathook.delivery.duration", metric.WithUnit("s"),
		metric.WithDescription("Time from a delivery's arrival to its outcome."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	err = errors.Join(err, e)
	i.active, e = m.Int64UpDownCounter("codathook.deliveries.active", metric.WithUnit("{delivery}"),
		metric.WithDescription("Deliveries being handled now (inside Wrap)."))
	err = errors.Join(err, e)
	i.storeErrors, e = m.Int64Counter("codathook.dedupe.store.errors", metric.WithUnit("{error}"),
		metric.WithDescription("Deliveries answered unavailable because the dedupe store failed."))
	err = errors.Join(err, e)
	i.twins, e = m.Int64Counter("codathook.twins.paired", metric.WithUnit("{delivery}"),
		metric.WithDescription("Duplicates of an occurrence already processed in the other format."))
	err = errors.Join(err, e)
	_, e = m.Int64ObservableCounter("codathook.flag.evaluation.errors", metric.WithUnit("{error}"),
		metric.WithDescription("Failed flag evaluations of the registered receivers (provider errors, timeouts, overloads)."),
		metric.WithInt64Callback(i.observeFlags))
	err = errors.Join(err, e, i.newMigrationInstruments(m))
	if err != nil {
		return nil, fmt.Errorf("codathookotel: creating instruments: %w", err)
	}
	return i, nil
}

// Register adds rcv to the receivers whose [codathook.Receiver.Stats] (for
// codathook.flag.evaluation.errors, summed by endpoint) and
// [codathook.Receiver.Migration] (for the codathook.migration.*
// instruments: counts summed, each step's least advanced status) the
// observable metrics read at each collection for as long as i lives; each
// Migration call is given 5 seconds. A nil rcv is ignored. Call it once per
// receiver, after [codathook.New].
func (i *Instrumentation) Register(rcv *codathook.Receiver) {
	if rcv == nil {
		return
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.receivers = append(i.receivers, rcv)
}

var (
	attrsNew    = metric.WithAttributeSet(attribute.NewSet(keyEndpoint.String(string(codathook.EndpointNew))))
	attrsLegacy = metric.WithAttributeSet(attribute.NewSet(keyEndpoint.String(string(codathook.EndpointLegacy))))
)

func (i *Instrumentation) observeFlags(_ context.Context, o metric.Int64Observer) error {
	i.mu.Lock()
	rcvs := i.receivers
	i.mu.Unlock()
	if len(rcvs) == 0 {
		return nil
	}
	var newErrs, legacyErrs uint64
	for _, rcv := range rcvs {
		s := rcv.Stats()
		newErrs += s.New.Flag.Errors
		legacyErrs += s.Legacy.Flag.Errors
	}
	o.Observe(int64(newErrs), attrsNew)
	o.Observe(int64(legacyErrs), attrsLegacy)
	return nil
}

// ctxKey carries the delivery that Wrap started.
type ctxKey struct{}

// delivery is one span started by Wrap; ended is set by whichever of
// Observe and Wrap ends it first.
type delivery struct {
	span  trace.Span
	ended atomic.Bool
}

// Wrap returns h with a span around each request and the request counted in
// codathook.deliveries.active while h runs. h is a receiver's handler
// (rcv.Handler(ep), or rcv.Middleware(ep)(next)) on a receiver whose
// observer calls [Instrumentation.Observe], which ends the span with the
// delivery's outcome and puts the endpoint in its name. The span is a
// child of the span in the request's context, and is in the context of
// the request h gets, so callbacks' spans are its children. When h returns
// without the delivery observed (h is not a receiver's handler, or
// panicked), Wrap ends the span itself, with status Error after a panic.
//
// Wrap does not read trace headers from the request: Codat sends none, and
// a sender's headers would choose the trace. Put an otelhttp handler (or
// your own propagation) outside Wrap for that.
func (i *Instrumentation) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		kind := trace.SpanKindInternal
		if !trace.SpanContextFromContext(ctx).IsValid() {
			kind = trace.SpanKindServer
		}
		ctx, span := i.tracer.Start(ctx, spanName, trace.WithSpanKind(kind),
			trace.WithAttributes(semconv.HTTPRequestMethodKey.String(method(r.Method))))
		d := &delivery{span: span}
		ctx = context.WithValue(ctx, ctxKey{}, d)
		i.active.Add(ctx, 1)
		returned := false
		defer func() {
			i.active.Add(ctx, -1)
			if d.ended.CompareAndSwap(false, true) {
				if !returned {
					span.SetStatus(codes.Error, "handler panicked")
				}
				span.End()
			}
		}()
		h.ServeHTTP(w, r.WithContext(ctx))
		returned = true
	})
}

// method returns m as the http.request.method attribute spells it: the
// standard methods as they are, any other as _OTHER.
func method(m string) string {
	switch m {
	case http.MethodPost, http.MethodPut, http.MethodGet, http.MethodHead, http.MethodDelete,
		http.MethodPatch, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "_OTHER"
}

// Observe records o in the metrics and ends the span that
// [Instrumentation.Wrap] put in ctx, if any, after giving it a child span
// for each step o timed (the flag evaluation, the dedupe claim, the
// settle). Pass it to [codathook.WithObserver]
// (codathook.WithObserver(inst.Observe)), or call it from your own
// observer: a receiver has one observer, the last WithObserver given.
func (i *Instrumentation) Observe(ctx context.Context, o codathook.Outcome) {
	// attrs is the span's attributes; its first n are the twin counter's,
	// and with the result the other counters'. NewSet sorts its argument in
	// place, so it gets copies.
	attrs := make([]attribute.KeyValue, 0, 10)
	attrs = appendNonEmpty(attrs, keyEndpoint, string(o.Endpoint))
	attrs = appendNonEmpty(attrs, keyFormat, string(o.Format))
	// The metrics get a bounded event type (eventTypeValue); the span the
	// type as received.
	attrs = appendNonEmpty(attrs, keyEventType, eventTypeValue(o.EventType))
	n := len(attrs)
	attrs = appendNonEmpty(attrs, keyResult, string(o.Result))
	set := metric.WithAttributeSet(attribute.NewSet(slices.Clone(attrs)...))
	i.deliveries.Add(ctx, 1, set)
	i.duration.Record(ctx, o.Duration.Seconds(), set)
	if o.Result == codathook.ResultDuplicate && o.Match == "twin" {
		i.twins.Add(ctx, 1, metric.WithAttributeSet(attribute.NewSet(slices.Clone(attrs[:n])...)))
	}
	var se *codathook.StoreError
	if o.Result == codathook.ResultUnavailable && errors.As(o.Err, &se) {
		i.storeErrors.Add(ctx, 1, metric.WithAttributes(keyEndpoint.String(string(o.Endpoint)), keyStoreOp.String(se.Op)))
	}

	d, ok := ctx.Value(ctxKey{}).(*delivery)
	if !ok || !d.ended.CompareAndSwap(false, true) {
		return
	}
	if o.Endpoint != "" {
		d.span.SetName(spanName + " " + string(o.Endpoint))
	}
	if o.EventType != "" {
		for k := range attrs {
			if attrs[k].Key == keyEventType {
				attrs[k] = keyEventType.String(o.EventType)
			}
		}
	}
	attrs = appendNonEmpty(attrs, keyMatch, o.Match)
	attrs = appendNonEmpty(attrs, keyDeliveryID, o.DeliveryID)
	if o.Status != 0 {
		attrs = append(attrs, semconv.HTTPResponseStatusCode(o.Status))
	}
	if failure(o.Result) {
		attrs = append(attrs, semconv.ErrorTypeKey.String(string(o.Result)))
	}
	d.span.SetAttributes(attrs...)
	if o.Err != nil {
		d.span.RecordError(o.Err)
	}
	if failure(o.Result) {
		desc := string(o.Result)
		if o.Err != nil {
			desc = o.Err.Error()
		}
		d.span.SetStatus(codes.Error, desc)
	}
	i.stepSpans(ctx, d, o)
	d.span.End()
}

// appendNonEmpty appends key=v to attrs unless v is empty.
func appendNonEmpty(attrs []attribute.KeyValue, key attribute.Key, v string) []attribute.KeyValue {
	if v == "" {
		return attrs
	}
	return append(attrs, key.String(v))
}

// failure reports whether res means the receiver could not process a
// delivery it accepted: the span's status is then Error.
func failure(res codathook.Result) bool {
	switch res {
	case codathook.ResultFailed, codathook.ResultRejected, codathook.ResultUnavailable, codathook.ResultOverloaded:
		return true
	}
	return false
}
