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
}

// numEndpoints is the number of endpoints a Gate knows: EndpointLegacy
// (index 0) and EndpointNew (index 1).
const numEndpoints = 2

type cacheEntry struct {
	d       Decision
	expires int64 // clock nanoseconds; 0 = no expiry
}

// cache is a bounded map of decisions with a generation counter: a result is
// stored only if no invalidation happened since its evaluation started, so an
// evaluation racing with a provider change can never store the old value.
//
// A decision the provider resolved as STATIC does not depend on the
// evaluation context, so it is held once per endpoint in static, which
// readers load without the lock: the common case (flags without targeting)
// costs one atomic load, and a clock read when entries expire. static is
// written only under mu, by put (after the generation check) and by
// invalidate and disable (which clear it), so it obeys the same rule.
type cache struct {
	mu            sync.RWMutex
	gen           uint64
	disabled      bool
	max           int
	ttl           time.Duration
	now           func() int64
	m             map[cacheKey]cacheEntry
	static        [numEndpoints]atomic.Pointer[cacheEntry]
	invalidations atomic.Uint64
}

func newCache(size int, ttl time.Duration, now func() int64) *cache {
	return &cache{max: size, ttl: ttl, now: now, m: make(map[cacheKey]cacheEntry, min(size, 1024))}
}

// live reports whether e is present and unexpired.
func (c *cache) live(e *cacheEntry) bool {
	return e != nil && (e.expires == 0 || c.now() < e.expires)
}

// getStatic returns the STATIC decision cached for the endpoint with index i.
func (c *cache) getStatic(i int) (Decision, bool) {
	if e := c.static[i].Load(); c.live(e) {
		return e.d, true
	}
	return Decision{}, false
}

// get returns the cached decision for k and the current generation, which the
// caller passes to put after evaluating on a miss.
func (c *cache) get(k cacheKey) (Decision, uint64, bool) {
	c.mu.RLock()
	e, ok := c.m[k]
	gen, disabled := c.gen, c.disabled
	c.mu.RUnlock()
	if !ok || disabled || !c.live(&e) {
		return Decision{}, gen, false
	}
	return e.d, gen, true
}

// put stores d for k, or for the endpoint with index i when static, unless
// the cache was invalidated since generation gen.
func (c *cache) put(i int, static bool, k cacheKey, d Decision, gen uint64) {
	e := cacheEntry{d: d}
	if c.ttl > 0 {
		e.expires = c.now() + int64(c.ttl)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen || c.disabled {
		return
	}
	if static {
		c.static[i].Store(&e)
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

// clear drops every decision; call with mu held.
func (c *cache) clear() {
	c.gen++
	clear(c.m)
	for i := range c.static {
		c.static[i].Store(nil)
	}
}

func (c *cache) invalidate() {
	c.mu.Lock()
	c.clear()
	c.mu.Unlock()
	c.invalidations.Add(1)
}

func (c *cache) disable() {
	c.mu.Lock()
	c.disabled = true
	c.clear()
	c.mu.Unlock()
}
