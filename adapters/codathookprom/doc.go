// Package codathookprom exports a [codathook.Receiver]'s deliveries and
// counters as Prometheus metrics.
//
// A [Collector] serves one receiver. It counts each delivery from the
// receiver's observer ([Collector.Observe], passed to
// [codathook.WithObserver]), reads the receiver's flag and dedupe counters
// from [codathook.Receiver.Stats] and its migration-readiness report from
// [codathook.Receiver.Migration] at scrape time once attached
// ([Collector.Attach]), and, optionally, counts the requests running in a
// handler wrapped with [Collector.InFlight]:
//
//	col := codathookprom.New()
//	rcv, err := codathook.New(
//		codathook.WithSecrets(os.Getenv("CODAT_WEBHOOK_SECRET")),
//		codathook.WithObserver(col.Observe),
//	)
//	...
//	col.Attach(rcv)
//	prometheus.MustRegister(col)
//	mux.Handle("POST /webhooks/codat", col.InFlight(codathook.EndpointNew, rcv.Handler(codathook.EndpointNew)))
//	mux.Handle("GET /metrics", promhttp.Handler())
//
// A receiver has one observer (the later [codathook.WithObserver] wins), so
// an app that also traces its deliveries calls Observe from its own
// observer.
//
// Every series is prefixed codathook_. Label values are bounded: endpoint,
// format, result and match come from the receiver's fixed sets, and
// event_type is a type this version of codathook knows
// ([normalize.EventTypes]), "" for a delivery refused or recognised as a
// retry before its body was read, "other.write.successful" or
// "other.write.unsuccessful" for a write event of a data type it does not
// know, and "other" for any other type, so that a sender cannot create
// series at will; the codathook_migration_* series add up the types that
// share a label.
//
// The codathook_migration_* series report the migration from Codat's legacy
// webhooks to the new ones: per format and event type, the occurrences
// settled since the receiver started and how many found their twin in the
// other format (counters, so that increase() gives any window), and the
// status of each runbook step (codathook_migration_step: 0 waiting, 1 ready,
// 2 done; min by (step) across replicas is the least advanced one). The
// legacy consumer can be turned off when
//
//	sum(increase(codathook_migration_unmatched_total{format="legacy",event_type!~"[A-Z].*"}[24h])) == 0
//
// and min(codathook_migration_step{step="5"}) >= 1. docs/OBSERVABILITY.md
// lists the series; dashboard.json is a Grafana dashboard built on them.
package codathookprom
