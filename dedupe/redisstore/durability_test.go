package redisstore_test

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/dedupe/redisstore"
	"github.com/redis/go-redis/v9"
)

// legacyTwinBody is the legacy delivery of connBody(company)'s occurrence.
func legacyTwinBody(alertID, company string) []byte {
	return fmt.Appendf(nil, `{"AlertId":%q,"RuleType":"DataConnectionStatusChanged","CompanyId":"c-%s","DataConnectionId":"conn","Data":{"dataConnectionId":"conn","newStatus":"Linked","oldStatus":"PendingAuth"}}`, alertID, company)
}

// newRedisReplica returns a receiver on a new store on rdb, as one replica
// has them.
func newRedisReplica(t *testing.T, rdb *redis.Client, opts ...redisstore.Option) *replica {
	t.Helper()
	s, err := redisstore.New(t.Context(), rdb, append([]redisstore.Option{redisstore.WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return newReplica(t, s, nil)
}

// settled fails t unless o is a 2xx (processed or duplicate) or in_flight,
// the outcomes that need no store error to happen, and reports whether
// the callback ran.
func settled(t *testing.T, what string, o codathook.Outcome) (processed bool) {
	t.Helper()
	switch o.Result {
	case codathook.ResultProcessed:
		return true
	case codathook.ResultDuplicate, codathook.ResultInFlight:
		return false
	}
	t.Fatalf("%s: %q (%v)", what, o.Result, o.Err)
	return false
}

// TestDurabilityAcrossRestart commits deliveries, restarts Redis, and
// counts the resends and legacy twins processed again: the restart rows
// of the table in the package documentation, Durability.
func TestDurabilityAcrossRestart(t *testing.T) {
	t.Parallel()
	const n = 50
	tests := []struct {
		name  string
		args  []string
		crash bool // SIGKILL instead of SHUTDOWN
		lost  bool // every committed delivery is forgotten
	}{
		{"no persistence (--save '' --appendonly no), SHUTDOWN: all processed again",
			[]string{"--save", "", "--appendonly", "no"}, false, true},
		{"AOF everysec, SHUTDOWN: none processed again",
			[]string{"--save", "", "--appendonly", "yes", "--appendfsync", "everysec"}, false, false},
		{"AOF always, SIGKILL: none processed again",
			[]string{"--save", "", "--appendonly", "yes", "--appendfsync", "always"}, true, false},
		{"RDB snapshots, SHUTDOWN (which saves one): none processed again",
			[]string{"--save", "3600 1", "--appendonly", "no"}, false, false},
		{"RDB snapshots, SIGKILL before the first snapshot: all processed again",
			[]string{"--save", "3600 1", "--appendonly", "no"}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, append(tt.args, "--maxmemory-policy", "noeviction")...)
			before := newRedisReplica(t, srv.client(t))
			for i := range n {
				id := fmt.Sprint(i)
				if o := before.deliverNew("msg_"+id, connBody(id)); o.Result != codathook.ResultProcessed {
					t.Fatalf("first delivery %s: %q (%v); want processed", id, o.Result, o.Err)
				}
			}
			if f := before.commitFailures(); f != 0 {
				t.Fatalf("%d of the first deliveries' commits failed, want none", f)
			}
			srv.restart(tt.crash)
			after := newRedisReplica(t, srv.client(t)) // a fresh client, store and receiver: nothing in-process survives
			// Each occurrence's legacy twin, then a resend of its new
			// delivery. Once one is processed again the other pairs with it,
			// so count occurrences, each processed again once or not at all.
			var twins, resends, again int
			for i := range n {
				id := fmt.Sprint(i)
				twin := settled(t, "legacy twin "+id, after.deliverLegacy(legacyTwinBody("alert_"+id, id)))
				resend := settled(t, "resend "+id, after.deliverNew("msg_"+id, connBody(id)))
				if twin && resend {
					t.Errorf("occurrence %s: twin and resend both processed after the restart", id)
				}
				if twin {
					twins++
				}
				if resend {
					resends++
				}
				if twin || resend {
					again++
				}
			}
			t.Logf("after the restart: %d of %d occurrences processed again (%d legacy twins, %d resends)", again, n, twins, resends)
			want := 0
			if tt.lost {
				want = n
			}
			if again != want {
				t.Errorf("%d of %d occurrences processed again after the restart, want %d", again, n, want)
			}
		})
	}
}

// TestMemoryPressure fills Redis to its maxmemory. With noeviction every
// delivery that writes fails (the receiver answers 503 and Codat retries),
// none is processed, and once memory is freed the resends are duplicates:
// nothing committed was forgotten. With allkeys-lru (accepted only with
// WithEvictionAllowed) committed deliveries are evicted and their resends
// processed again.
func TestMemoryPressure(t *testing.T) {
	t.Parallel()
	const n = 200
	tests := []struct {
		name   string
		policy string
		opts   []redisstore.Option
	}{
		{"noeviction: deliveries fail at the limit, none forgotten", "noeviction", nil},
		{"allkeys-lru: resends of evicted deliveries processed again", "allkeys-lru", []redisstore.Option{redisstore.WithEvictionAllowed()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, "--save", "", "--appendonly", "no", "--maxmemory-policy", tt.policy)
			rdb := srv.client(t)
			r := newRedisReplica(t, rdb, tt.opts...)
			for i := range n {
				id := fmt.Sprint(i)
				if o := r.deliverNew("msg_"+id, connBody(id)); o.Result != codathook.ResultProcessed {
					t.Fatalf("first delivery %s: %q (%v); want processed", id, o.Result, o.Err)
				}
			}
			if f := r.commitFailures(); f != 0 {
				t.Fatalf("%d of the first deliveries' commits failed, want none", f)
			}
			// Other data (the app's, say) then fills memory to the limit,
			// set 4 MiB above what Redis uses now.
			used, err := strconv.Atoi(infoField(t, rdb, "memory", "used_memory"))
			if err != nil {
				t.Fatal(err)
			}
			configSet(t, rdb, "maxmemory", strconv.Itoa(used+4<<20))
			fill(t, rdb, 8<<20)
			// count sends n deliveries and counts those processed (the
			// callback ran, whether or not the commit then failed) and
			// those answered 503 because Redis refused a write (OOM).
			count := func(key func(i int) string) (processed, failed int) {
				for i := range n {
					id := key(i)
					o := r.deliverNew("msg_"+id, connBody(id))
					switch {
					case o.Result == codathook.ResultUnavailable && o.Err != nil && strings.Contains(o.Err.Error(), "OOM"):
						failed++
					case settled(t, "delivery msg_"+id, o):
						processed++
					}
				}
				return processed, failed
			}
			resends := func(i int) string { return fmt.Sprint(i) }
			news := func(i int) string { return fmt.Sprint("new", i) }
			resent, failed := count(resends)
			fresh, freshFailed := count(news)
			t.Logf("%s at the limit: resends: %d of %d processed again, %d failed (503); new deliveries: %d processed, %d failed (503); %d commits failed after processing",
				tt.policy, resent, n, failed, fresh, freshFailed, r.commitFailures())
			if tt.policy != "noeviction" {
				if resent == 0 || freshFailed != 0 {
					t.Errorf("%d resends processed again, %d new deliveries failed; want some evicted and processed again, none failed", resent, freshFailed)
				}
				return
			}
			// Memory hovers at the limit: some writes get through, the rest
			// fail. None may process a committed delivery again.
			if resent != 0 || freshFailed == 0 {
				t.Errorf("%d resends processed again, %d of %d new deliveries failed; want 0, and failures", resent, freshFailed, n)
			}
			configSet(t, rdb, "maxmemory", "0") // memory freed: Codat's retries get through
			resent, failed = count(resends)
			retried, retryFailed := count(news)
			t.Logf("noeviction, memory freed: resends: %d of %d processed again; new deliveries retried: %d processed (the %d that had failed)", resent, n, retried, freshFailed)
			if resent != 0 || failed != 0 || retried != freshFailed || retryFailed != 0 {
				t.Errorf("after freeing memory: %d resends processed again (%d failed), %d retries processed (%d failed); want 0 (0), %d (0)", resent, failed, retried, retryFailed, freshFailed)
			}
		})
	}
}

// fill writes up to size bytes of other data, in 64 KiB values and then
// 1 KiB ones, each until the first OOM: memory ends at the limit.
func fill(t *testing.T, rdb *redis.Client, size int) {
	t.Helper()
	for _, v := range []string{strings.Repeat("x", 64<<10), strings.Repeat("y", 1<<10)} {
		for i := 0; i*len(v) < size; i++ {
			err := rdb.Set(t.Context(), fmt.Sprint("fill:", len(v), ":", i), v, 0).Err()
			if err != nil && strings.HasPrefix(err.Error(), "OOM") {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}

// infoField returns a field of an INFO section.
func infoField(t *testing.T, rdb *redis.Client, section, field string) string {
	t.Helper()
	info, err := rdb.Info(t.Context(), section).Result()
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(info) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && k == field {
			return v
		}
	}
	t.Fatalf("INFO %s has no %s", section, field)
	return ""
}
