package gate

import "sync/atomic"

// EndpointStats counts the decisions for one endpoint.
type EndpointStats struct {
	Evaluations uint64 // calls to Evaluate
	Enabled     uint64 // decisions with ActionProcess
	Disabled    uint64 // decisions with ActionAcknowledge or ActionDefer
	Fallbacks   uint64 // decisions taken by the fallback (Errors + DISABLED flags)
	Errors      uint64 // failed evaluations (provider error, not ready, timeout, overload, panic)
	Timeouts    uint64 // evaluations that exceeded Config.Timeout (included in Errors)
	Overloaded  uint64 // evaluations refused for want of a Config.MaxInFlight slot (included in Errors)
	CacheHits   uint64 // decisions served from the cache
}

// Stats is a snapshot of a [Gate]'s counters, for metrics.
type Stats struct {
	Legacy          EndpointStats
	New             EndpointStats
	UnknownEndpoint uint64 // requests for an unknown endpoint (processed)
	Invalidations   uint64 // cache clears caused by provider events or Invalidate
	// InFlight is the number of evaluations running now, each on its own
	// goroutine, at most Config.MaxInFlight. A provider that hangs keeps it
	// at the maximum.
	InFlight int64
}

type counters struct {
	evaluations, enabled, disabled, fallbacks, errors, timeouts, overloaded, cacheHits atomic.Uint64
}

func (c *counters) snapshot() EndpointStats {
	return EndpointStats{
		Evaluations: c.evaluations.Load(),
		Enabled:     c.enabled.Load(),
		Disabled:    c.disabled.Load(),
		Fallbacks:   c.fallbacks.Load(),
		Errors:      c.errors.Load(),
		Timeouts:    c.timeouts.Load(),
		Overloaded:  c.overloaded.Load(),
		CacheHits:   c.cacheHits.Load(),
	}
}

// Stats returns a snapshot of the Gate's counters.
func (g *Gate) Stats() Stats {
	s := Stats{
		Legacy:          g.legacy.snapshot(),
		New:             g.new.snapshot(),
		UnknownEndpoint: g.unknown.Load(),
		InFlight:        g.inFlight.Load(),
	}
	if g.cache != nil {
		s.Invalidations = g.cache.invalidations.Load()
	}
	return s
}

func (ep *endpointGate) count(d Decision) {
	if d.Enabled {
		ep.enabled.Add(1)
	} else {
		ep.disabled.Add(1)
	}
	if d.Fallback {
		ep.fallbacks.Add(1)
	}
}
