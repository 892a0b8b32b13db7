package redisstore_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
	"github.com/codathook/codathook/dedupe/redisstore"
)

// TestClusterReplicas runs three replicas, each a receiver on a cluster
// client of its own, on one cluster and one store prefix. Each occurrence
// goes to all three at once: its legacy delivery to one, its new twin to
// another, and a retry of one of the two messages to the third. Each
// replica takes its deliveries in turn, answering an in_flight (a copy
// being processed on another replica) by retrying, as Codat does; the
// three run concurrently. Every occurrence must be processed exactly once
// across the replicas. Then, once the pairing windows closed on a fake
// clock, the replicas' migration reports, added up, count every
// occurrence twinned in both formats: a replica that saw one format alone
// finds the twin in the store, through the cluster.
func TestClusterReplicas(t *testing.T) {
	c := sharedCluster(t)
	t.Parallel()
	prefix := fmt.Sprintf("codathook-test:%x:", rand.Uint64())
	start := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	var now atomic.Int64 // the replicas' clock, read from their goroutines
	now.Store(start.UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()).UTC() }
	replicas := make([]*replica, 3)
	for i := range replicas {
		r := newReplica(t, clusterStore(t, c.client(t, nil), redisstore.WithPrefix(prefix)), nil, codathook.WithClock(clock))
		r.signer.Now = clock
		replicas[i] = r
	}

	type delivery struct {
		occ    int
		legacy bool
		msgID  string // new format
		body   []byte
	}
	types := []string{"connection.connected", "invoices.write.successful"}
	const perType = 30
	queues := make([][]delivery, len(replicas))
	occ := 0
	for i := range perType {
		for _, et := range types {
			o := codathooktest.SampleOptions{
				ID: fmt.Sprintf("%s-%d", et, i), CompanyID: fmt.Sprint("co-", i), ConnectionID: fmt.Sprint("conn-", i),
				OperationID: fmt.Sprint("op-", i), GeneratedDate: start.Format(time.RFC3339Nano),
			}
			newB, legB, err := codathooktest.Twin(et, o)
			if err != nil {
				t.Fatal(err)
			}
			// Another AlertId: the twins meet by pairing or their exact key,
			// not by their event id.
			legB = bytes.Replace(legB, []byte(`"AlertId":"`+o.ID+`"`), []byte(`"AlertId":"legacy-`+o.ID+`"`), 1)
			leg := delivery{occ: occ, legacy: true, body: legB}
			nw := delivery{occ: occ, msgID: fmt.Sprintf("msg_%s_%d", et, i), body: newB}
			retry := nw
			if occ%2 == 1 {
				retry = leg
			}
			for j, d := range []delivery{leg, nw, retry} {
				r := (occ + j) % len(replicas)
				queues[r] = append(queues[r], d)
			}
			occ++
		}
	}

	processed := make([][]int, len(replicas)) // per replica, per occurrence
	var inFlight atomic.Int64
	var wg sync.WaitGroup
	for ri, r := range replicas {
		processed[ri] = make([]int, occ)
		wg.Go(func() {
			for _, d := range queues[ri] {
				for attempt := 1; ; attempt++ {
					var o codathook.Outcome
					if d.legacy {
						o = r.deliverLegacy(d.body)
					} else {
						o = r.deliverNew(d.msgID, d.body)
					}
					if o.Result == codathook.ResultProcessed {
						processed[ri][d.occ]++
					}
					if o.Result != codathook.ResultInFlight {
						if o.Result != codathook.ResultProcessed && o.Result != codathook.ResultDuplicate {
							t.Errorf("replica %d, occurrence %d (legacy %v): %q (%v)", ri, d.occ, d.legacy, o.Result, o.Err)
						}
						break
					}
					if attempt == 1000 {
						t.Errorf("replica %d, occurrence %d (legacy %v): still in flight after %d attempts", ri, d.occ, d.legacy, attempt)
						return
					}
					inFlight.Add(1)
					time.Sleep(time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	for i := range occ {
		n := 0
		for ri := range replicas {
			n += processed[ri][i]
		}
		if n != 1 {
			t.Errorf("occurrence %d processed %d times over the replicas, want once", i, n)
		}
	}

	now.Store(start.Add(16 * time.Minute).UnixNano()) // every window and its grace have closed
	var legacy, newC [2]codathook.OccurrenceCounts
	for ri, r := range replicas {
		m := r.rcv.Migration(t.Context())
		for ti, et := range types {
			i := slices.IndexFunc(m.Types, func(ty codathook.TypeMigration) bool { return ty.EventType == et })
			if i < 0 {
				t.Fatalf("replica %d: no %s line", ri, et)
			}
			ty := m.Types[i]
			for _, p := range []struct {
				sum *codathook.OccurrenceCounts
				c   codathook.OccurrenceCounts
			}{{&legacy[ti], ty.Legacy}, {&newC[ti], ty.New}} {
				p.sum.Seen += p.c.Seen
				p.sum.Twinned += p.c.Twinned
				p.sum.Unmatched += p.c.Unmatched
				p.sum.Open += p.c.Open
			}
		}
	}
	for ti, et := range types {
		want := codathook.OccurrenceCounts{Seen: perType, Twinned: perType}
		if legacy[ti] != want || newC[ti] != want {
			t.Errorf("%s over the replicas: legacy %+v, new %+v; want each %d seen and twinned, none unmatched or open",
				et, legacy[ti], newC[ti], perType)
		}
	}
	t.Logf("%d occurrences, %d deliveries (%d answered in_flight and retried): each processed once, and twinned in both formats", occ, 3*occ, inFlight.Load())
}
