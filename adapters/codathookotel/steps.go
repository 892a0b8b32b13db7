package codathookotel

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/codathook/codathook"
)

// The names of the step spans, children of a delivery's span.
const (
	spanFlag   = "codathook.flag"
	spanClaim  = "codathook.dedupe.claim"
	spanSettle = "codathook.dedupe.settle"
)

// stepSpans records, as children of the delivery span d, the steps o
// timed: the flag evaluation, the dedupe claim and the settle (commit or
// release), each from its start to its start plus its duration. A step
// that did not run (zero start) has no span. A claim the store failed has
// status Error.
func (i *Instrumentation) stepSpans(ctx context.Context, d *delivery, o codathook.Outcome) {
	ctx = trace.ContextWithSpan(ctx, d.span)
	var claimErr error
	if se, ok := errors.AsType[*codathook.StoreError](o.Err); ok && se.Op == "claim" {
		claimErr = se
	}
	i.stepSpan(ctx, spanFlag, o.FlagStart, o.FlagDuration, nil)
	i.stepSpan(ctx, spanClaim, o.ClaimStart, o.ClaimDuration, claimErr)
	i.stepSpan(ctx, spanSettle, o.SettleStart, o.SettleDuration, nil)
}

func (i *Instrumentation) stepSpan(ctx context.Context, name string, start time.Time, d time.Duration, err error) {
	if start.IsZero() {
		return
	}
	_, span := i.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindInternal), trace.WithTimestamp(start))
	if err != nil {
		span.RecordError(err, trace.WithTimestamp(start.Add(d)))
		span.SetStatus(codes.Error, err.Error())
	}
	span.End(trace.WithTimestamp(start.Add(d)))
}
