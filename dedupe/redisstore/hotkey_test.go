package redisstore_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/codathook/codathook/dedupe"
	"github.com/codathook/codathook/dedupe/redisstore"
	"github.com/codathook/codathook/internal/deduper"
	"github.com/codathook/codathook/normalize"
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
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	d, err := deduper.New(s, &dedupe.Config{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
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
		for _, body := range []string{
			fmt.Sprintf(`{"id":"e%d","eventType":"connection.connected","generatedDate":%q,"payload":{"referenceCompany":{"id":"co"},"connection":{"id":"k","status":"Linked"}}}`, i, gen),
			fmt.Sprintf(`{"AlertId":"a%d","RuleType":"DataConnectionStatusChanged","CompanyId":"co","DataConnectionId":"k","Data":{"newStatus":"Linked","oldStatus":"PendingAuth"}}`, i),
		} {
			ev, err := normalize.Parse([]byte(body))
			if err != nil {
				t.Fatal(err)
			}
			l, err := d.Begin(ctx, deduper.Delivery{Key: fmt.Sprint("d", i, body[2]), Event: ev})
			if err != nil {
				t.Fatal(err)
			}
			if l.Outcome() == deduper.Process {
				if err := l.Commit(ctx); err != nil {
					t.Fatal(err)
				}
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
		if !strings.Contains(k, "{#") {
			t.Errorf("arrival key %q has no hash tag", k)
		}
		n := rdb.HLen(ctx, k).Val()
		if max := int64(2*deduper.DefaultMaxArrivals + 6); n > max {
			t.Errorf("%s holds %d fields, want at most %d (MaxArrivals per side and the counters)", k, n, max)
		}
		mem := rdb.MemoryUsage(ctx, k).Val()
		t.Logf("%s: %d fields, %d bytes", k, rdb.HLen(ctx, k).Val(), mem)
	}
	if ttl := rdb.PTTL(ctx, firstKey).Val(); ttl > firstTTL {
		t.Errorf("the first interval's TTL grew from %v to %v: it must not slide", firstTTL, ttl)
	}
	if want := deduper.DefaultRetention + 2*deduper.DefaultWindow; firstTTL > want {
		t.Errorf("the first interval's TTL is %v, want at most Retention + 2 Window = %v", firstTTL, want)
	}
	if got := d.Unpaired(); got == 0 {
		t.Errorf("Unpaired() = 0 after 600 arrivals per side and interval, want the arrivals over MaxArrivals counted")
	}
}
