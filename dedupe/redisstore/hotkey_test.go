package redisstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/dedupe/redisstore"
)

// One hot occurrence key in Redis: its arrivals live in one hash per
// window-aligned interval, each holding at most MaxArrivals per side, with a
// TTL fixed by the interval (it never slides as arrivals keep coming).
// Before, one hash gained a field per delivery (about 93 B) and slid
// forever.
func TestHotKeyRecordsAreBounded(t *testing.T) {
	t.Parallel()
	rdb := newClient(t)
	prefix := fmt.Sprintf("codathook-test:%x:", rand.Uint64())
	s := newStore(t, rdb, redisstore.WithPrefix(prefix))
	t.Cleanup(func() { // newStore deletes the keys of its own prefix, not of this one
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	})
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	// WithClock is the receiver's clock for signature timestamps, receive
	// times (a legacy arrival's occurrence time) and, since the Config
	// leaves Now unset, the dedupe leases.
	r := newReplica(t, s, nil, codathook.WithClock(clock))
	r.signer.Now = clock
	ctx := t.Context()
	arrivalKeys := func() []string {
		keys, err := rdb.Keys(ctx, prefix+"a:*").Result()
		if err != nil {
			t.Fatal(err)
		}
		return keys
	}
	var firstKey string
	var firstTTL time.Duration
	const occurrences = 1500 // one per second: 25 minutes, three intervals
	for i := range occurrences {
		now = now.Add(time.Second)
		gen := now.Format(time.RFC3339Nano)
		for _, o := range []codathook.Outcome{
			r.deliverNew(fmt.Sprint("msg_e", i), fmt.Appendf(nil, `{"id":"e%d","eventType":"connection.connected","generatedDate":%q,"payload":{"referenceCompany":{"id":"co"},"connection":{"id":"k","status":"Linked"}}}`, i, gen)),
			r.deliverLegacy(fmt.Appendf(nil, `{"AlertId":"a%d","RuleType":"DataConnectionStatusChanged","CompanyId":"co","DataConnectionId":"k","Data":{"newStatus":"Linked","oldStatus":"PendingAuth"}}`, i)),
		} {
			if o.Result != codathook.ResultProcessed && o.Result != codathook.ResultDuplicate {
				t.Fatalf("occurrence %d, %s delivery: %q (%v), want processed or duplicate", i, o.Format, o.Result, o.Err)
			}
		}
		if i == 0 {
			keys := arrivalKeys()
			if len(keys) != 1 {
				t.Fatalf("after the first occurrence: arrival keys %q, want one", keys)
			}
			firstKey = keys[0]
			firstTTL = rdb.PTTL(ctx, firstKey).Val()
		}
	}
	keys := arrivalKeys()
	if len(keys) > 4 {
		t.Errorf("%d arrival keys for 25 minutes of one key, want at most 4 (one per 10-minute interval)", len(keys))
	}
	for _, k := range keys {
		if tag := hashTag(k); tag == k { // "{#" + key + "}", or the key's group
			t.Errorf("arrival key %q has no hash tag", k)
		}
		n := rdb.HLen(ctx, k).Val()
		// 64: dedupe.Config's documented default MaxArrivals.
		if max := int64(2*64 + 6); n > max {
			t.Errorf("%s holds %d fields, want at most %d (MaxArrivals per side and the counters)", k, n, max)
		}
		mem := rdb.MemoryUsage(ctx, k).Val()
		t.Logf("%s: %d fields, %d bytes", k, rdb.HLen(ctx, k).Val(), mem)
	}
	if ttl := rdb.PTTL(ctx, firstKey).Val(); ttl > firstTTL {
		t.Errorf("the first interval's TTL grew from %v to %v: it must not slide", firstTTL, ttl)
	}
	// dedupe.Config's documented defaults: Retention 34 hours, Window 10 minutes.
	if want := 34*time.Hour + 2*10*time.Minute; firstTTL > want {
		t.Errorf("the first interval's TTL is %v, want at most Retention + 2 Window = %v", firstTTL, want)
	}
	if got := r.rcv.Stats().Dedupe.Unpaired; got == 0 {
		t.Errorf("Stats().Dedupe.Unpaired = 0 after 600 arrivals per side and interval, want the arrivals over MaxArrivals counted")
	}
	if n := r.commitFailures(); n != 0 {
		t.Errorf("%d commits failed, want none", n)
	}
}
