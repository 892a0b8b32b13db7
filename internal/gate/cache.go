package gate

import (
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
)

// evalInput is the complete evaluation context of a Gate evaluation (the
// endpoint determines the flag key and the default value), so equal inputs
// mean equal provider input. It is hashed into a [cacheKey] and never kept.
type evalInput struct {
	endpoint, target, eventType, format, dataType, connectionID, clientID string
}

// cacheKey identifies an [evalInput] by two 64-bit hashes under independent
// seeds, so the cache holds 16 bytes per key whatever the length of the
// strings hashed (a company id can be as long as the body limit allows).
// Two distinct inputs share a key only if both hashes agree, with
// probability 2^-128 per pair.
type cacheKey [2]uint64

// keySeeds are a Gate's hash seeds, drawn per Gate.
type keySeeds [2]maphash.Seed

func newKeySeeds() keySeeds { return keySeeds{maphash.MakeSeed(), maphash.MakeSeed()} }

// key hashes in. maphash.Comparable hashes each string field with its
// length, so the field boundaries are part of what is hashed.
func (s *keySeeds) key(in *evalInput) cacheKey {
	return cacheKey{maphash.Comparable(s[0], *in), maphash.Comparable(s[1], *in)}
}

// numEndpoints is the number of endpoints a Gate knows: EndpointLegacy
// (index 0) and EndpointNew (index 1).
const numEndpoints = 2

// maxCachedString bounds the length of the variant and reason strings a
// cache entry keeps; a decision with a longer one is not cached.
const maxCachedString = 64

// cacheEntry is a cached evaluation outcome (48 bytes on 64-bit platforms,
// plus a variant name of at most maxCachedString bytes held in its own
// allocation); the endpoint's policy turns it back into a Decision.
type cacheEntry struct {
	reason, variant string
	expires         int64 // clock nanoseconds; 0 = no expiry
	value           bool
}

// knownReasons are the reasons the SDK defines, which entries share instead
// of copying.
var knownReasons = [...]openfeature.Reason{
	openfeature.StaticReason, openfeature.TargetingMatchReason, openfeature.DefaultReason,
	openfeature.DisabledReason, openfeature.SplitReason, openfeature.CachedReason, openfeature.UnknownReason,
}

// newCacheEntry returns the entry to cache for a successful evaluation, or
// false when its strings are too long to cache. The strings are copied (or
// shared with the SDK's constants), so an entry never pins a larger buffer
// a provider sliced them from.
func newCacheEntry(o *outcome) (cacheEntry, bool) {
	if len(o.reason) > maxCachedString || len(o.variant) > maxCachedString {
		return cacheEntry{}, false
	}
	e := cacheEntry{value: o.value, reason: o.reason, variant: strings.Clone(o.variant)}
	for _, r := range knownReasons {
		if o.reason == string(r) {
			e.reason = string(r)
			return e, true
		}
	}
	e.reason = strings.Clone(o.reason)
	return e, true
}

func (e *cacheEntry) outcome() outcome {
	return outcome{value: e.value, reason: e.reason, variant: e.variant}
}

// staticEntry is the decision cached for a whole endpoint, complete so that
// the fast path only copies it.
type staticEntry struct {
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
	static        [numEndpoints]atomic.Pointer[staticEntry]
	invalidations atomic.Uint64
}

func newCache(size int, ttl time.Duration, now func() int64) *cache {
	return &cache{max: size, ttl: ttl, now: now, m: make(map[cacheKey]cacheEntry, min(size, 1024))}
}

// live reports whether an entry expiring at expires is unexpired.
func (c *cache) live(expires int64) bool {
	return expires == 0 || c.now() < expires
}

// getStatic returns the STATIC decision cached for the endpoint with index i.
func (c *cache) getStatic(i int) (Decision, bool) {
	if e := c.static[i].Load(); e != nil && c.live(e.expires) {
		return e.d, true
	}
	return Decision{}, false
}

// get returns the cached outcome for k.
func (c *cache) get(k cacheKey) (outcome, bool) {
	c.mu.RLock()
	e, ok := c.m[k]
	disabled := c.disabled
	c.mu.RUnlock()
	if !ok || disabled || !c.live(e.expires) {
		return outcome{}, false
	}
	return e.outcome(), true
}

// generation returns the current generation; an evaluation reads it before
// it asks the provider and passes it to put.
func (c *cache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// put stores the successful outcome o of ep's flag for k, or for the whole
// endpoint when o is STATIC, unless the cache was invalidated since
// generation gen or o's strings are too long to cache.
func (c *cache) put(ep *endpointGate, k cacheKey, o *outcome, gen uint64) {
	e, ok := newCacheEntry(o)
	if !ok {
		return
	}
	if c.ttl > 0 {
		e.expires = c.now() + int64(c.ttl)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen || c.disabled {
		return
	}
	if e.reason == string(openfeature.StaticReason) {
		oc := e.outcome()
		c.static[ep.index].Store(&staticEntry{d: ep.decision(&oc), expires: e.expires})
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
