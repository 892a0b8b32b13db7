package codathookprom

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/codathook/codathook"
)

// The series read from [codathook.Receiver.Stats] at scrape time.
var (
	flagEvaluations = newDesc("codathook_flag_evaluations_total",
		"Deliveries gated by the endpoint's feature flag.", "endpoint")
	flagDecisions = newDesc("codathook_flag_decisions_total",
		"Flag decisions, by endpoint and decision (enabled: process; disabled: acknowledge or defer without processing).", "endpoint", "decision")
	flagFallbacks = newDesc("codathook_flag_fallbacks_total",
		"Flag decisions taken by the fallback (failed evaluations and DISABLED flags), by endpoint.", "endpoint")
	flagErrors = newDesc("codathook_flag_errors_total",
		"Failed flag evaluations (provider error, not ready, timeout, overload, panic), by endpoint.", "endpoint")
	flagTimeouts = newDesc("codathook_flag_timeouts_total",
		"Flag evaluations that exceeded toggle.Config.Timeout (included in codathook_flag_errors_total), by endpoint.", "endpoint")
	flagOverloaded = newDesc("codathook_flag_overloaded_total",
		"Flag evaluations refused for want of a toggle.Config.MaxInFlight slot (included in codathook_flag_errors_total), by endpoint.", "endpoint")
	flagCacheHits = newDesc("codathook_flag_cache_hits_total",
		"Flag decisions served from the decision cache, by endpoint.", "endpoint")
	flagInvalidations = newDesc("codathook_flag_cache_invalidations_total",
		"Clears of the flag decision cache caused by provider events.")
	flagsInFlight = newDesc("codathook_flag_evaluations_in_flight",
		"Flag evaluations running now; a hung provider keeps it at toggle.Config.MaxInFlight.")
	commitFailures = newDesc("codathook_dedupe_commit_failures_total",
		"Deliveries whose callback succeeded but whose commit to the dedupe store failed: a retry or twin may be processed again.")
	unpaired = newDesc("codathook_dedupe_unpaired_total",
		"Arrivals processed without cross-format pairing because they could not be recorded: the twin of each may be processed too.")
	liveEvictions = newDesc("codathook_dedupe_live_evictions_total",
		"Entries the in-memory dedupe store evicted before they expired: each may let a duplicate through.")
)

// statsDescs lists the descriptors above, for Describe.
var statsDescs = [...]*prometheus.Desc{
	flagEvaluations, flagDecisions, flagFallbacks, flagErrors, flagTimeouts, flagOverloaded,
	flagCacheHits, flagInvalidations, flagsInFlight, commitFailures, unpaired, liveEvictions,
}

func newDesc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

// collectStats sends the series of one Stats snapshot.
func collectStats(ch chan<- prometheus.Metric, s codathook.Stats) {
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	for _, ep := range endpoints {
		f, e := s.New.Flag, string(ep)
		if ep == codathook.EndpointLegacy {
			f = s.Legacy.Flag
		}
		counter(flagEvaluations, f.Evaluations, e)
		counter(flagDecisions, f.Enabled, e, "enabled")
		counter(flagDecisions, f.Disabled, e, "disabled")
		counter(flagFallbacks, f.Fallbacks, e)
		counter(flagErrors, f.Errors, e)
		counter(flagTimeouts, f.Timeouts, e)
		counter(flagOverloaded, f.Overloaded, e)
		counter(flagCacheHits, f.CacheHits, e)
	}
	counter(flagInvalidations, s.FlagInvalidations)
	ch <- prometheus.MustNewConstMetric(flagsInFlight, prometheus.GaugeValue, float64(s.FlagsInFlight))
	counter(commitFailures, s.Dedupe.CommitFailures)
	counter(unpaired, s.Dedupe.Unpaired)
	counter(liveEvictions, s.Dedupe.LiveEvictions)
}
