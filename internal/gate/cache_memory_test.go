package gate_test

import (
	"context"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/open-feature/go-sdk/openfeature"

	"github.com/codathook/codathook/internal/gate"
	"github.com/codathook/codathook/toggle"
)

// cacheEntryBound is the per-entry bound Config.CacheSize's documentation
// states: 192 bytes of map storage plus a variant name and a non-standard
// reason of at most 64 bytes each.
const cacheEntryBound = 192 + 64 + 64

// heapInUse returns the live heap after a full collection.
func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestGateCacheMemoryBound fills a decision cache with decisions for 100 KiB
// company ids (and 64-byte variant and reason strings the provider allocates
// per answer, the longest an entry keeps), then keeps inserting new ones
// (evicting), and checks the heap the cache holds stays under the documented
// bound: the cache keeps a hash of the evaluation context, never its
// strings. Before keys were hashed, 10,000 such entries held 1,019 MiB.
//
// It measures the process heap, so it does not run in parallel with other
// tests.
func TestGateCacheMemoryBound(t *testing.T) {
	const (
		entries   = 10_000
		companyID = 100 << 10
	)
	long := strings.Repeat("r", 64)
	f := &fakeClient{eval: func(_ context.Context, _ string, _ bool, ec openfeature.EvaluationContext) (openfeature.BooleanEvaluationDetails, error) {
		d := openfeature.BooleanEvaluationDetails{Value: true}
		// Fresh strings per answer, as a provider decoding a response makes.
		d.Variant = string(append([]byte(long[:60]), ec.TargetingKey()[:4]...))
		d.Reason = openfeature.Reason(string(append([]byte(long[:60]), ec.TargetingKey()[4:8]...)))
		return d, nil
	}}
	log, _ := newLogger()
	before := heapInUse()
	g, err := gate.New(f, &toggle.Config{CacheSize: entries, CacheTTL: -1, Timeout: -1, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	buf := []byte(strings.Repeat("c", companyID))
	req := func(i int) gate.Request {
		copy(buf, strconv.AppendInt(make([]byte, 0, 12), int64(100_000_000+i), 10))
		r := benchReq
		r.CompanyID = string(buf) // a new 100 KiB string per delivery, as a decoded body gives
		return r
	}
	for i := range entries {
		g.Evaluate(t.Context(), req(i))
	}
	if d := g.Evaluate(t.Context(), req(entries-1)); !d.Cached {
		t.Fatalf("repeat of the last delivery: Cached = false, want true (decision %+v)", d)
	}
	filled := heapInUse()
	for i := range 2 * entries { // churn: every insert evicts
		g.Evaluate(t.Context(), req(entries+i))
	}
	churned := heapInUse()
	runtime.KeepAlive(g)

	for _, m := range []struct {
		what string
		heap uint64
	}{{"filled", filled}, {"after churn", churned}} {
		growth := int64(m.heap) - int64(before)
		t.Logf("%s: %d entries with %d KiB company ids: heap growth %d bytes, %d B/entry", m.what, entries, companyID>>10, growth, growth/entries)
		if limit := int64(entries*cacheEntryBound + 1<<10); growth > limit {
			t.Errorf("%s: heap growth %d bytes, want at most %d (%d per entry)", m.what, growth, limit, cacheEntryBound)
		}
	}
}

// TestGateCacheSkipsLongStrings: a decision whose variant or reason is longer
// than an entry keeps is evaluated every time rather than cached.
func TestGateCacheSkipsLongStrings(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name            string
		variant, reason string
		cached          bool
	}{
		{name: "64-byte variant is cached", variant: strings.Repeat("v", 64), reason: string(openfeature.TargetingMatchReason), cached: true},
		{name: "65-byte variant is not cached", variant: strings.Repeat("v", 65), reason: string(openfeature.TargetingMatchReason)},
		{name: "64-byte custom reason is cached", reason: strings.Repeat("R", 64), cached: true},
		{name: "65-byte custom reason is not cached", reason: strings.Repeat("R", 65)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeClient{eval: func(context.Context, string, bool, openfeature.EvaluationContext) (openfeature.BooleanEvaluationDetails, error) {
				d := openfeature.BooleanEvaluationDetails{Value: true}
				d.Variant, d.Reason = tt.variant, openfeature.Reason(tt.reason)
				return d, nil
			}}
			g, err := gate.New(f, &toggle.Config{CacheSize: 10, Timeout: -1})
			if err != nil {
				t.Fatal(err)
			}
			g.Evaluate(t.Context(), newReq)
			d := g.Evaluate(t.Context(), newReq)
			if d.Cached != tt.cached {
				t.Errorf("second Evaluate: Cached = %v, want %v", d.Cached, tt.cached)
			}
			if d.Variant != tt.variant || d.Reason != tt.reason {
				t.Errorf("Variant, Reason = %q, %q; want %q, %q", d.Variant, d.Reason, tt.variant, tt.reason)
			}
		})
	}
}

// TestGateCacheKeyFieldBoundaries: the cache key hashes each field of the
// evaluation context separately, so moving bytes from one field to the next
// makes a different key.
func TestGateCacheKeyFieldBoundaries(t *testing.T) {
	t.Parallel()
	f := &fakeClient{reason: openfeature.TargetingMatchReason}
	f.value.Store(true)
	g, err := gate.New(f, &toggle.Config{CacheSize: 10, Timeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	a, b := newReq, newReq
	a.EventType, a.Format = "ab", "c"
	b.EventType, b.Format = "a", "bc"
	g.Evaluate(t.Context(), a)
	if d := g.Evaluate(t.Context(), b); d.Cached {
		t.Errorf("eventType %q format %q served the decision of eventType %q format %q", b.EventType, b.Format, a.EventType, a.Format)
	}
	if d := g.Evaluate(t.Context(), a); !d.Cached {
		t.Errorf("repeat: Cached = false, want true")
	}
}
