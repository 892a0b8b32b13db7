package redisstore_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/codathook/codathook/dedupe"
	"github.com/codathook/codathook/dedupe/redisstore"
	"github.com/redis/go-redis/v9"
)

// redisCPU returns the CPU time the server has used (INFO cpu:
// used_cpu_sys + used_cpu_user).
func redisCPU(b *testing.B, rdb *redis.Client) time.Duration {
	b.Helper()
	info, err := rdb.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var sec float64
	for line := range strings.Lines(info) {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		if k == "used_cpu_sys" || k == "used_cpu_user" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				b.Fatal(err)
			}
			sec += f
		}
	}
	return time.Duration(sec * float64(time.Second))
}

// BenchmarkDo compares, on one server, a delivery's begin batch
// (beginBatch: a gate, an exact claim, an arrival claiming its slot, an
// audit arrival, keys of one group) and its retry's (the gate Done) run
// whole in the script ("script", what Do does) with the same batch in
// dedupe.DoInSteps's steps over pipelines ("steps", what Do did before:
// 3 round trips for a new delivery, 1 for a retry). Besides the time per
// batch (the client's CPU and the loopback round trips) it reports the
// server's CPU per batch (redis-ns/op, from INFO cpu: meaningful only
// when nothing else uses the server) and round trips per batch.
func BenchmarkDo(b *testing.B) {
	rdb := newClient(b)
	var c counter
	rdb.AddHook(&c)
	s := newStore(b, rdb)
	ways := []struct {
		name string
		do   func(*redisstore.Store, context.Context, []dedupe.Op) error
	}{
		{"steps", (*redisstore.Store).DoInSteps},
		{"script", (*redisstore.Store).Do},
	}
	// Load the script (and SET NX GET's path) before timing.
	if err := s.Do(b.Context(), []dedupe.Op{{Kind: dedupe.OpRelease, Key: "w1"}, {Kind: dedupe.OpRelease, Key: "w2"}}); err != nil {
		b.Fatal(err)
	}
	if err := s.DoInSteps(b.Context(), beginBatch(group, "warm", time.Now())); err != nil {
		b.Fatal(err)
	}
	measure := func(b *testing.B, run func(i int)) {
		b.ReportAllocs()
		cpu := redisCPU(b, rdb)
		trips := c.n.Load()
		i := 0
		for b.Loop() {
			run(i)
			i++
		}
		b.StopTimer()
		trips = c.n.Load() - trips
		b.ReportMetric(float64(redisCPU(b, rdb)-cpu)/float64(i), "redis-ns/op")
		b.ReportMetric(float64(trips)/float64(i), "roundtrips/op")
	}
	for _, w := range ways {
		b.Run("Begin/"+w.name, func(b *testing.B) {
			id := w.name + strconv.FormatInt(time.Now().UnixNano(), 36) + "-"
			at := time.Now()
			measure(b, func(i int) {
				ops := beginBatch(group, id+strconv.Itoa(i), at)
				if err := w.do(s, b.Context(), ops); err != nil || ops[0].State != dedupe.Claimed || ops[2].State != dedupe.Claimed {
					b.Fatalf("begin %d: %v, %v, %v", i, err, ops[0].State, ops[2].State)
				}
			})
		})
		b.Run("Duplicate/"+w.name, func(b *testing.B) {
			if err := s.Commit(b.Context(), group+"d:msg_dup", time.Hour); err != nil {
				b.Fatal(err)
			}
			at := time.Now()
			measure(b, func(i int) {
				ops := beginBatch(group, "dup", at)
				if err := w.do(s, b.Context(), ops); err != nil || ops[0].State != dedupe.Done {
					b.Fatalf("duplicate %d: %v, %v", i, err, ops[0].State)
				}
			})
		})
	}
}
