package toggle

import (
	"sync"
	"sync/atomic"
	"time"
)

// cacheKey is the complete evaluation context of a Gate evaluation (the
// endpoint determines the flag key), so equal keys mean equal provider input.
type cacheKey struct {
	endpoint, target, eventType, format, dataType, connectionID, clientID string
	// static marks the endpoint-wide entry of a decision the provider
	// resolved as STATIC: no targeting, so independent of the context.
	static bool
}

type cacheEntry struct {
	d       Decision
	expires int64 // unix nanoseconds; 0 = no expiry
}

// cache is a bounded map of decisions with a generation counter: a result is
// stored only if no invalidation happened since its evaluation started, so an
// evaluation racing with a provider change can never store the old value.
type cache struct {
	mu            sync.RWMutex
	gen           uint64
	disabled      bool
	max           int
	ttl           time.Duration
	m             map[cacheKey]cacheEntry
	invalidations atomic.Uint64
}

func newCache(size int, ttl time.Duration) *cache {
	return &cache{max: size, ttl: ttl, m: make(map[cacheKey]cacheEntry, min(size, 1024))}
}

// get returns the cached decision for k and the current generation, which the
// caller passes to put after evaluating on a miss.
func (c *cache) get(k cacheKey, now time.Time) (Decision, uint64, bool) {
	c.mu.RLock()
	e, ok := c.m[k]
	gen, disabled := c.gen, c.disabled
	c.mu.RUnlock()
	if !ok || disabled || e.expires != 0 && now.UnixNano() >= e.expires {
		return Decision{}, gen, false
	}
	return e.d, gen, true
}

// put stores d unless the cache was invalidated since generation gen.
func (c *cache) put(k cacheKey, d Decision, gen uint64, now time.Time) {
	e := cacheEntry{d: d}
	if c.ttl > 0 {
		e.expires = now.Add(c.ttl).UnixNano()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen || c.disabled {
		return
	}
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		for old := range c.m { // evict an arbitrary entry
			delete(c.m, old)
			break
		}
	}
	c.m[k] = e
}

func (c *cache) invalidate() {
	c.mu.Lock()
	c.gen++
	clear(c.m)
	c.mu.Unlock()
	c.invalidations.Add(1)
}

func (c *cache) disable() {
	c.mu.Lock()
	c.disabled = true
	c.gen++
	clear(c.m)
	c.mu.Unlock()
}
