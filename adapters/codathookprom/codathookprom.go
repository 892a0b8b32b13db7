package codathookprom

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/codathook/codathook"
)

// durationBuckets bound a delivery's duration, in seconds: from a retry
// answered from the dedupe store (well under a millisecond in memory, a
// few with Redis) to a callback at its default 10 s deadline, and 15 s, past
// which Codat's new service counts the delivery as failed.
var durationBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15}

// endpoints are the receiver's two endpoints, in label order.
var endpoints = [...]codathook.Endpoint{codathook.EndpointNew, codathook.EndpointLegacy}

// Collector is a [prometheus.Collector] for one [codathook.Receiver]. Create
// it with [New], pass [Collector.Observe] to [codathook.WithObserver], and
// [Collector.Attach] the receiver; then register it. It is safe for
// concurrent use.
type Collector struct {
	deliveries *prometheus.CounterVec   // endpoint, format, event_type, result
	duration   *prometheus.HistogramVec // endpoint, result
	inFlight   *prometheus.GaugeVec     // endpoint
	storeFails *prometheus.CounterVec   // endpoint
	twins      *prometheus.CounterVec   // endpoint
	duplicates *prometheus.CounterVec   // endpoint, match
	rcv        atomic.Pointer[codathook.Receiver]
}

// New returns a Collector with every count at zero and no receiver
// attached.
func New() *Collector {
	c := &Collector{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "codathook_deliveries_total",
			Help: "Deliveries answered, by endpoint, body format, normalized event type and result.",
		}, []string{"endpoint", "format", "event_type", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "codathook_delivery_duration_seconds",
			Help:    "Time from a delivery's arrival to its answer being decided, by endpoint and result.",
			Buckets: durationBuckets,
		}, []string{"endpoint", "result"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "codathook_requests_in_flight",
			Help: "Requests running in a handler wrapped with Collector.InFlight, by endpoint.",
		}, []string{"endpoint"}),
		storeFails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "codathook_store_failures_total",
			Help: "Deliveries answered 503 because the dedupe store failed, by endpoint.",
		}, []string{"endpoint"}),
		twins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "codathook_twins_paired_total",
			Help: "Deliveries acknowledged as the other format's twin of an occurrence already processed, by the endpoint of the later one.",
		}, []string{"endpoint"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "codathook_duplicates_total",
			Help: "Deliveries acknowledged as duplicates, by endpoint and the kind of key that matched (message, event, occurrence, twin).",
		}, []string{"endpoint", "match"}),
	}
	for _, ep := range endpoints {
		e := string(ep)
		c.inFlight.WithLabelValues(e)
		c.storeFails.WithLabelValues(e)
		c.twins.WithLabelValues(e)
		for _, m := range matches {
			c.duplicates.WithLabelValues(e, m)
		}
	}
	return c
}

// Observe counts one delivery. Pass it to [codathook.WithObserver], or call
// it from your own observer.
func (c *Collector) Observe(_ context.Context, o codathook.Outcome) {
	ep, res := string(o.Endpoint), string(o.Result)
	c.deliveries.WithLabelValues(ep, string(o.Format), eventTypeLabel(o.EventType), res).Inc()
	c.duration.WithLabelValues(ep, res).Observe(o.Duration.Seconds())
	switch o.Result {
	case codathook.ResultDuplicate:
		m := matchLabel(o.Match)
		c.duplicates.WithLabelValues(ep, m).Inc()
		if m == matchTwin {
			c.twins.WithLabelValues(ep).Inc()
		}
	case codathook.ResultUnavailable:
		if _, ok := errors.AsType[*codathook.StoreError](o.Err); ok {
			c.storeFails.WithLabelValues(ep).Inc()
		}
	}
}

// Attach makes the Collector report rcv's [codathook.Receiver.Stats] (flag
// evaluations, dedupe risks) and [codathook.Receiver.Migration] (migration
// readiness) at each scrape; until then, and after Attach(nil), those
// series are absent. The Collector reports one receiver:
// a later Attach replaces the earlier.
func (c *Collector) Attach(rcv *codathook.Receiver) { c.rcv.Store(rcv) }

// InFlight returns next, which serves endpoint ep (usually
// rcv.Handler(ep)), counting in codathook_requests_in_flight the requests
// it is running. A callback that outlives its deadline keeps its request
// running, so the gauge shows callbacks that hang.
func (c *Collector) InFlight(ep codathook.Endpoint, next http.Handler) http.Handler {
	return promhttp.InstrumentHandlerInFlight(c.inFlight.WithLabelValues(string(ep)), next)
}

// Describe sends the descriptors of every series the Collector reports.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	c.deliveries.Describe(ch)
	c.duration.Describe(ch)
	c.inFlight.Describe(ch)
	c.storeFails.Describe(ch)
	c.twins.Describe(ch)
	c.duplicates.Describe(ch)
	for _, d := range statsDescs {
		ch <- d
	}
	for _, d := range migrationDescs {
		ch <- d
	}
}

// Collect sends the current value of every series, reading the attached
// receiver's Stats and its Migration report once each. The report may ask a
// shared store about twins other replicas received: that call is given 5
// seconds.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.deliveries.Collect(ch)
	c.duration.Collect(ch)
	c.inFlight.Collect(ch)
	c.storeFails.Collect(ch)
	c.twins.Collect(ch)
	c.duplicates.Collect(ch)
	if rcv := c.rcv.Load(); rcv != nil {
		collectStats(ch, rcv.Stats())
		collectMigration(ch, migrationOf(rcv))
	}
}
