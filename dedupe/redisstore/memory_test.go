package redisstore_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/codathook/codathook"
)

// usedMemory is INFO memory's used_memory.
func usedMemory(t *testing.T, info string) int64 {
	t.Helper()
	for _, l := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(l, "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("INFO memory has no used_memory")
	return 0
}

// What an occurrence costs in Redis while its keys live (34 hours): new
// connection events, every other one with its legacy twin, through a
// receiver. docs/DEDUPLICATION.md's store table quotes it (about 1 KB with
// Redis 7); the test fails above 2 KB. It runs alone: other tests' keys
// would count.
func TestMemoryPerOccurrence(t *testing.T) {
	rdb := newClient(t)
	s := newStore(t, rdb)
	r := newReplica(t, s, nil)
	before := usedMemory(t, rdb.Info(t.Context(), "memory").Val())
	const n = 5000
	for i := range n {
		gen := time.Now().UTC().Format(time.RFC3339Nano)
		o := r.deliverNew(fmt.Sprint("msg_mem", i), fmt.Appendf(nil, `{"id":"mem-e%d","eventType":"connection.connected","generatedDate":%q,"payload":{"referenceCompany":{"id":"mem-co%d"},"connection":{"id":"k","status":"Linked"}}}`, i, gen, i))
		if o.Result != codathook.ResultProcessed {
			t.Fatalf("delivery %d: %s (%v)", i, o.Result, o.Err)
		}
		if i%2 == 0 {
			r.deliverLegacy(fmt.Appendf(nil, `{"AlertId":"mem-a%d","RuleType":"DataConnectionStatusChanged","CompanyId":"mem-co%d","DataConnectionId":"k","Data":{"newStatus":"Linked","oldStatus":"PendingAuth"}}`, i, i))
		}
	}
	per := float64(usedMemory(t, rdb.Info(t.Context(), "memory").Val())-before) / n
	t.Logf("%d occurrences, half with a legacy twin: %.0f bytes of Redis memory each", n, per)
	if per > 2048 {
		t.Errorf("%.0f bytes per occurrence, want at most 2048", per)
	}
}
