package codathook

import (
	"sync/atomic"

	"github.com/codathook/codathook/dedupe"
)

// results lists every Result in a fixed order, for the counters.
var results = [...]Result{
	ResultProcessed, ResultDuplicate, ResultSkipped, ResultDeferred, ResultInFlight, ResultFailed,
	ResultUnavailable, ResultUnauthorized, ResultMalformed, ResultTooLarge, ResultMethodNotAllowed,
	ResultBodyTimeout, ResultOverloaded, ResultRejected,
}

// EndpointStats counts one endpoint's deliveries by result.
type EndpointStats struct {
	// Results maps each Result to the number of deliveries that had it.
	Results map[Result]uint64
	// Total is the number of deliveries.
	Total uint64
	// Flag counts the endpoint's flag decisions; zero without [WithFlags].
	Flag FlagStats
}

// FlagStats counts one endpoint's flag decisions.
type FlagStats struct {
	Evaluations uint64 // deliveries gated
	Enabled     uint64 // decisions to process
	Disabled    uint64 // decisions to acknowledge or defer without processing
	Fallbacks   uint64 // decisions taken by the fallback (Errors and DISABLED flags)
	Errors      uint64 // failed evaluations (provider error, not ready, timeout, overload, panic)
	Timeouts    uint64 // evaluations that exceeded toggle.Config.Timeout (included in Errors)
	Overloaded  uint64 // evaluations refused for want of a toggle.Config.MaxInFlight slot (included in Errors)
	CacheHits   uint64 // decisions served from the decision cache
}

// Stats is a snapshot of a receiver's counters. Whether the legacy
// endpoint can be turned off is [Receiver.Migration]'s to say.
type Stats struct {
	New, Legacy EndpointStats
	// FlagsInFlight is the number of flag evaluations running now, at most
	// toggle.Config.MaxInFlight; a provider that hangs keeps it there.
	FlagsInFlight int64
	// FlagInvalidations counts clears of the decision cache caused by
	// provider events.
	FlagInvalidations uint64
	// Dedupe counts what can let an occurrence be processed twice.
	Dedupe DedupeStats
}

// DedupeStats counts the events that can make deduplication process an
// occurrence a second time. Each is logged when it happens; all stay zero
// in a healthy deployment.
type DedupeStats struct {
	// CommitFailures counts deliveries whose callback succeeded but whose
	// commit to the store failed: the sender got its 2xx, but a retry or
	// the other format's twin may be processed again.
	CommitFailures uint64
	// Unpaired counts arrivals processed without pairing because they
	// could not be recorded (over dedupe.Config.MaxArrivals, or older than
	// its Window plus Retention): the twin of each may be processed too.
	Unpaired uint64
	// LiveEvictions counts entries the in-memory store ([dedupe.LRU], the
	// default) evicted for room before they expired: each may let a
	// duplicate through (raise its capacity). Zero for other stores.
	LiveEvictions uint64
}

type endpointCounters [len(results)]atomic.Uint64

func (c *endpointCounters) add(res Result) {
	for i, r := range results {
		if r == res {
			c[i].Add(1)
			return
		}
	}
}

func (c *endpointCounters) snapshot() EndpointStats {
	s := EndpointStats{Results: make(map[Result]uint64, len(results))}
	for i, r := range results {
		n := c[i].Load()
		s.Results[r] = n
		s.Total += n
	}
	return s
}

// Stats returns a snapshot of the receiver's counters. It is safe to call
// concurrently with deliveries.
func (r *Receiver) Stats() Stats {
	s := Stats{New: r.counters[0].snapshot(), Legacy: r.counters[1].snapshot()}
	if r.gate != nil {
		g := r.gate.Stats()
		s.New.Flag, s.Legacy.Flag = FlagStats(g.New), FlagStats(g.Legacy)
		s.FlagsInFlight, s.FlagInvalidations = g.InFlight, g.Invalidations
	}
	s.Dedupe.CommitFailures = r.commitFailures.Load()
	s.Dedupe.Unpaired = r.deduper.Unpaired()
	if lru, ok := r.cfg.store.(*dedupe.LRU); ok {
		s.Dedupe.LiveEvictions = lru.LiveEvictions()
	}
	return s
}
