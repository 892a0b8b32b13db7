package redisstore_test

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
)

// Three replicas on one redis-server, as an app with several replicas runs
// the migration: each legacy delivery reaches one replica and its new twin
// another. When the pairing windows close, every replica's report counts
// its own deliveries twinned (the replicas that got a legacy delivery ask
// Redis, where the twin's replica paired it), and the one occurrence whose
// new twin never came unmatched, on the replica that received it.
func TestMigrationReadinessAcrossReplicas(t *testing.T) {
	t.Parallel()
	rdb := newClient(t)
	s := newStore(t, rdb) // a random prefix, its keys deleted afterwards
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	var replicas []*replica
	for range 3 {
		r := newReplica(t, s, nil, codathook.WithClock(clock))
		r.signer.Now = clock
		replicas = append(replicas, r)
	}
	types := []string{"connection.connected", "invoices.write.successful"}
	const occurrences = 12
	for i := range occurrences {
		for _, et := range types {
			o := codathooktest.SampleOptions{
				ID: fmt.Sprintf("%s-%d", et, i), CompanyID: fmt.Sprint("co-", i), ConnectionID: fmt.Sprint("conn-", i),
				OperationID: fmt.Sprint("op-", i), GeneratedDate: now.Format(time.RFC3339Nano),
			}
			newB, legB, err := codathooktest.Twin(et, o)
			if err != nil {
				t.Fatal(err)
			}
			legB = bytes.Replace(legB, []byte(`"AlertId":"`+o.ID+`"`), []byte(`"AlertId":"legacy-`+o.ID+`"`), 1)
			lr, nr := replicas[i%3], replicas[(i+1)%3]
			if got := lr.deliverLegacy(legB).Result; got != codathook.ResultProcessed {
				t.Fatalf("legacy %s %d: %s", et, i, got)
			}
			now = now.Add(5 * time.Second)
			if i == 7 && et == "connection.connected" {
				continue // this new twin never arrives
			}
			if got := nr.deliverNew(fmt.Sprintf("msg_%s_%d", et, i), newB).Result; got != codathook.ResultDuplicate {
				t.Fatalf("new %s %d on another replica: %s, want duplicate", et, i, got)
			}
		}
		now = now.Add(time.Minute)
	}
	now = now.Add(16 * time.Minute) // every window and its grace have closed
	var legacy, newC [2]codathook.OccurrenceCounts
	for ri, r := range replicas {
		m := r.rcv.Migration(t.Context())
		for ti, et := range types {
			i := slices.IndexFunc(m.Types, func(ty codathook.TypeMigration) bool { return ty.EventType == et })
			if i < 0 {
				t.Fatalf("replica %d: no %s line", ri, et)
			}
			ty := m.Types[i]
			if ty.Legacy.Open != 0 || ty.New.Open != 0 {
				t.Errorf("replica %d, %s: open windows after they closed: %+v %+v", ri, et, ty.Legacy, ty.New)
			}
			legacy[ti].Seen += ty.Legacy.Seen
			legacy[ti].Twinned += ty.Legacy.Twinned
			legacy[ti].Unmatched += ty.Legacy.Unmatched
			newC[ti].Seen += ty.New.Seen
			newC[ti].Twinned += ty.New.Twinned
			if et == "connection.connected" && ri == 7%3 && ty.Legacy.Unmatched != 1 {
				t.Errorf("replica %d received the occurrence with no new twin: legacy %+v, want 1 unmatched", ri, ty.Legacy)
			}
		}
	}
	for ti, et := range types {
		wantTwinned := uint64(occurrences)
		if et == "connection.connected" {
			wantTwinned--
		}
		if legacy[ti].Seen != occurrences || legacy[ti].Twinned != wantTwinned || legacy[ti].Unmatched != occurrences-wantTwinned {
			t.Errorf("%s, legacy over the replicas: %+v, want %d seen, %d twinned", et, legacy[ti], occurrences, wantTwinned)
		}
		if newC[ti].Seen != wantTwinned || newC[ti].Twinned != wantTwinned {
			t.Errorf("%s, new over the replicas: %+v, want %d seen and twinned", et, newC[ti], wantTwinned)
		}
	}
}
