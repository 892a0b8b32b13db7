package codathookotel_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-feature/go-sdk/openfeature/isolated"
	"github.com/open-feature/go-sdk/openfeature/memprovider"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/dedupe"
	"github.com/codathook/codathook/toggle"
)

// recordingHarness is newHarness with the observer an app might write: it
// keeps each Outcome and passes it to the Instrumentation's Observe from
// inside a span of its own ("app.observe"), which the step spans must not
// take for their parent.
func recordingHarness(t *testing.T, opts ...codathook.Option) (*harness, func() []codathook.Outcome) {
	t.Helper()
	var (
		mu   sync.Mutex
		got  []codathook.Outcome
		inst atomic.Pointer[harness]
	)
	h := newHarness(t, append(opts, codathook.WithObserver(func(ctx context.Context, o codathook.Outcome) {
		mu.Lock()
		got = append(got, o)
		mu.Unlock()
		h := inst.Load()
		ctx, span := h.tp.Tracer("app").Start(ctx, "app.observe")
		defer span.End()
		h.inst.Observe(ctx, o)
	}))...)
	inst.Store(h)
	return h, func() []codathook.Outcome {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
}

// flagsOn returns WithFlags on an isolated OpenFeature API whose
// in-memory provider turns both endpoints on.
func flagsOn(t *testing.T) codathook.Option {
	t.Helper()
	api := isolated.NewAPI()
	t.Cleanup(func() { api.Shutdown(context.Background()) })
	on := memprovider.InMemoryFlag{State: memprovider.Enabled, DefaultVariant: "on", Variants: map[string]any{"on": true, "off": false}}
	if err := api.SetProviderAndWait(context.Background(), memprovider.NewInMemoryProvider(map[string]memprovider.InMemoryFlag{
		toggle.DefaultNewFlag: on, toggle.DefaultLegacyFlag: on,
	})); err != nil {
		t.Fatal(err)
	}
	return codathook.WithFlags(api.NewClient(), &toggle.Config{Timeout: -1})
}

// childrenOf returns the spans of this package (named codathook.*) whose
// parent is parent, in the order they started.
func childrenOf(spans tracetest.SpanStubs, parent tracetest.SpanStub) tracetest.SpanStubs {
	var out tracetest.SpanStubs
	for _, s := range spans {
		if strings.HasPrefix(s.Name, "codathook.") && s.Parent.SpanID() == parent.SpanContext.SpanID() {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b tracetest.SpanStub) int { return a.StartTime.Compare(b.StartTime) })
	return out
}

// exportedDeliveries returns the exported delivery spans, in the order
// they ended.
func (h *harness) exportedDeliveries() tracetest.SpanStubs {
	var out tracetest.SpanStubs
	for _, s := range h.exported.GetSpans() {
		if strings.HasPrefix(s.Name, "codathook.delivery") {
			out = append(out, s)
		}
	}
	return out
}

// A processed delivery on a flagged endpoint has three child spans of its
// delivery span: the flag evaluation, the dedupe claim and the settle,
// each from the step's start to its start plus its duration as the
// Outcome reports them, inside the delivery span and ended before it; its
// retry, answered from the delivery key, runs none of the steps and has no
// child span.
func TestStepSpans(t *testing.T) {
	t.Parallel()
	h, outcomes := recordingHarness(t, flagsOn(t))
	h.signer.MsgID = "msg_steps"
	body := sample(t, "connection.connected", "ev-steps")
	h.sendNew(t, "/new", body)
	h.sendNew(t, "/new", body) // the retry: same message id

	got := outcomes()
	if len(got) != 2 || got[0].Result != codathook.ResultProcessed || got[1].Result != codathook.ResultDuplicate {
		t.Fatalf("outcomes %+v, want processed then duplicate", got)
	}
	o := got[0]
	deliveries := h.exportedDeliveries()
	if len(deliveries) != 2 {
		t.Fatalf("%d delivery spans exported, want 2", len(deliveries))
	}
	all := h.exported.GetSpans()
	parent := deliveries[0]
	children := childrenOf(all, parent)
	want := []struct {
		name  string
		start time.Time
		d     time.Duration
	}{
		{"codathook.flag", o.FlagStart, o.FlagDuration},
		{"codathook.dedupe.claim", o.ClaimStart, o.ClaimDuration},
		{"codathook.dedupe.settle", o.SettleStart, o.SettleDuration},
	}
	if len(children) != len(want) {
		t.Fatalf("the processed delivery's span has %d children %v, want %d", len(children), children.Snapshots(), len(want))
	}
	for k, w := range want {
		s := children[k]
		if s.Name != w.name {
			t.Errorf("child %d is %q, want %q", k, s.Name, w.name)
		}
		if w.start.IsZero() || w.d <= 0 {
			t.Fatalf("the Outcome did not time %s: start %v, duration %v", w.name, w.start, w.d)
		}
		if !s.StartTime.Equal(w.start) || !s.EndTime.Equal(w.start.Add(w.d)) {
			t.Errorf("%s: %v to %v, want the Outcome's %v to %v", s.Name, s.StartTime, s.EndTime, w.start, w.start.Add(w.d))
		}
		if s.StartTime.Before(parent.StartTime) || s.EndTime.After(parent.EndTime) {
			t.Errorf("%s: %v to %v, outside its parent's %v to %v", s.Name, s.StartTime, s.EndTime, parent.StartTime, parent.EndTime)
		}
		if s.SpanContext.TraceID() != parent.SpanContext.TraceID() || s.SpanKind != trace.SpanKindInternal {
			t.Errorf("%s: trace %v kind %v, want the delivery's trace %v, internal", s.Name, s.SpanContext.TraceID(), s.SpanKind, parent.SpanContext.TraceID())
		}
		if s.Status.Code != codes.Unset {
			t.Errorf("%s: status %v, want Unset", s.Name, s.Status)
		}
	}
	// The steps end before the delivery: a processor sees them first.
	ended := slices.IndexFunc(all, func(s tracetest.SpanStub) bool { return s.SpanContext.SpanID() == parent.SpanContext.SpanID() })
	for _, c := range children {
		if slices.IndexFunc(all, func(s tracetest.SpanStub) bool { return s.SpanContext.SpanID() == c.SpanContext.SpanID() }) > ended {
			t.Errorf("%s ended after the delivery span", c.Name)
		}
	}
	if retry := childrenOf(all, deliveries[1]); len(retry) != 0 {
		t.Errorf("the retry's span has children %v, want none", retry.Snapshots())
	}
	// The callback's span is still the delivery span, not a step's.
	h.mu.Lock()
	cb := h.callbacks["ev-steps"]
	h.mu.Unlock()
	if cb.SpanID() != parent.SpanContext.SpanID() {
		t.Errorf("the callback's context has span %v, want the delivery span %v", cb.SpanID(), parent.SpanContext.SpanID())
	}
	// Every step span is a delivery's child: none hangs off the outer span.
	for _, s := range all {
		if strings.HasPrefix(s.Name, "codathook.") && !strings.HasPrefix(s.Name, "codathook.delivery") && s.Parent.SpanID() != parent.SpanContext.SpanID() {
			t.Errorf("%s has parent %v, want the delivery span", s.Name, s.Parent.SpanID())
		}
	}
}

// A store that fails the claim: no flag is configured and no lease was
// taken, so the delivery span has one child, the claim, with status Error.
func TestStepSpanClaimFails(t *testing.T) {
	t.Parallel()
	store := dedupe.NewLRU(dedupe.LRUConfig{})
	if err := store.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, codathook.WithDedupe(store, nil))
	h.sendNew(t, "/new", sample(t, "connection.connected", "ev-1"))
	deliveries := h.exportedDeliveries()
	if len(deliveries) != 1 {
		t.Fatalf("%d delivery spans, want 1", len(deliveries))
	}
	children := childrenOf(h.exported.GetSpans(), deliveries[0])
	if len(children) != 1 || children[0].Name != "codathook.dedupe.claim" {
		t.Fatalf("children %v, want the claim alone", children.Snapshots())
	}
	if c := children[0]; c.Status.Code != codes.Error || !strings.Contains(c.Status.Description, "claim") || len(c.Events) != 1 {
		t.Errorf("claim span: status %v, %d events; want Error with the StoreError recorded", c.Status, len(c.Events))
	}
}
