package bench

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
	"github.com/codathook/codathook/dedupe/redisstore"
)

// parallelismFlag is BenchmarkRedisReceiver's b.SetParallelism. The default
// is 8 because each delivery waits on Redis: with RunParallel's default of
// one goroutine per CPU, the CPUs sit idle through the round trips and the
// benchmark measures latency (on the 2-CPU VM of docs/BENCHMARKS.md, 4 was
// enough to saturate them). 8 per CPU stays within go-redis's default pool
// of 10 connections per CPU, so that no goroutine waits for a connection.
var parallelismFlag = flag.Int("redis.parallelism", 8, "BenchmarkRedisReceiver's goroutines per GOMAXPROCS (b.SetParallelism): deliveries in flight")

// BenchmarkRedisReceiver compares codathook on a Redis store with
// [HandwrittenRedis] on the same redis-server (REDIS_ADDR), with the same
// client options, each delivery a fresh new-format read.completed (new
// webhook-id, event id and company). Deliveries are signed before the
// timer starts (signing takes about 4 µs of CPU, near a tenth of what a
// delivery through the hand-written receiver costs the machine) and served
// with ServeHTTP from b.RunParallel, with no HTTP server: the comparison is
// the Redis path. Answers go to a [DiscardWriter], as in BenchmarkReceive,
// rather than an httptest.ResponseRecorder: it can set read deadlines, so
// codathook sets its body deadline as it does under net/http, and it
// allocates nothing per delivery. roundtrips/op counts the client's round
// trips (a pipeline is one). In the -duplicate rows each goroutine sends
// one delivery again and again after its first copy.
//
//	REDIS_ADDR=127.0.0.1:6379 go test -run '^$' -bench RedisReceiver -benchmem
//
// -redis.parallelism sets the deliveries in flight per GOMAXPROCS (default
// 8; 1 measures latency rather than throughput). docs/BENCHMARKS.md has
// the numbers and how they were taken.
func BenchmarkRedisReceiver(b *testing.B) {
	addr := redisAddr(b)
	for _, tc := range []struct {
		name string
		dup  bool
		new  func(b *testing.B, client *redis.Client, prefix string) (http.Handler, func() int64)
		ok   func(w *DiscardWriter, dup bool) bool
	}{
		{"handwritten", false, newHandwritten, handwrittenOK},
		{"handwritten-lease", false, newHandwrittenLease, handwrittenOK},
		{"codathook", false, newCodathook, codathookOK},
		{"handwritten-duplicate", true, newHandwritten, handwrittenOK},
		{"codathook-duplicate", true, newCodathook, codathookOK},
	} {
		b.Run(tc.name, func(b *testing.B) {
			client, trips := newBenchClient(b, addr)
			h, calls := tc.new(b, client, newPrefix(b, client))
			signer := codathooktest.MustSigner(Secret)
			// The first copies: one per goroutine for a duplicate row, so
			// that each goroutine resends its own delivery (concurrent
			// copies of one delivery would wait on each other in codathook
			// instead of asking Redis), one for a new row. They also warm
			// the store up (its scripts load on first use).
			goroutines := *parallelismFlag * runtime.GOMAXPROCS(0)
			firsts := make([]delivery, 1)
			if tc.dup {
				firsts = make([]delivery, goroutines)
			}
			w := NewDiscardWriter()
			for i := range firsts {
				firsts[i] = signed(signer, int(seqs.Add(1)))
				w.Reset()
				h.ServeHTTP(w, newReusableRequest().load(firsts[i]))
				if !tc.ok(w, false) {
					b.Fatalf("first copy: status %d, result %q", w.Code, w.H.Get(codathook.HeaderResult))
				}
			}
			var ds []delivery
			if !tc.dup {
				ds = make([]delivery, b.N)
				base := int(seqs.Add(int64(b.N))) - b.N
				for i := range ds {
					ds[i] = signed(signer, base+i+1)
				}
			}
			var gid, next, bad atomic.Int64
			callsBefore, tripsBefore := calls(), trips.n.Load()
			b.SetParallelism(*parallelismFlag)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				w := NewDiscardWriter()
				q := newReusableRequest()
				mine := firsts[int(gid.Add(1)-1)%len(firsts)]
				for pb.Next() {
					d := mine
					if !tc.dup {
						d = ds[next.Add(1)-1]
					}
					w.Reset()
					h.ServeHTTP(w, q.load(d))
					if !tc.ok(w, tc.dup) {
						bad.Add(1)
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(trips.n.Load()-tripsBefore)/float64(b.N), "roundtrips/op")
			if n := bad.Load(); n != 0 {
				b.Fatalf("%d of %d deliveries got the wrong answer", n, b.N)
			}
			want := int64(b.N)
			if tc.dup {
				want = 0
			}
			if got := calls() - callsBefore; got != want {
				b.Fatalf("%d callbacks for %d deliveries, want %d", got, b.N, want)
			}
		})
	}
}

// newHandwritten returns a [HandwrittenRedis] whose callback checks the
// event type, as a team's would, and its callback count.
func newHandwritten(b *testing.B, client *redis.Client, prefix string) (http.Handler, func() int64) {
	var calls atomic.Int64
	h, err := NewHandwrittenRedis(client, prefix, func(_ context.Context, ev map[string]any) error {
		if ev["eventType"] != "read.completed" {
			return errors.New("bench: not a read.completed")
		}
		calls.Add(1)
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return h, calls.Load
}

// newHandwrittenLease is newHandwritten with codathook's lease (2
// minutes): a claim, then the commit, two round trips.
func newHandwrittenLease(b *testing.B, client *redis.Client, prefix string) (http.Handler, func() int64) {
	h, calls := newHandwritten(b, client, prefix)
	h.(*HandwrittenRedis).Lease = 2 * time.Minute
	return h, calls
}

// newCodathook returns the pipeline of BenchmarkReceive (default flags, one
// typed read.completed callback) on a Redis store under prefix.
func newCodathook(b *testing.B, client *redis.Client, prefix string) (http.Handler, func() int64) {
	store, err := redisstore.New(b.Context(), client, redisstore.WithPrefix(prefix), redisstore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	p, err := NewPipeline(FlagsDefault, store)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(p.Close)
	return p.Handler(), p.Calls.Load
}

func handwrittenOK(w *DiscardWriter, dup bool) bool {
	if dup {
		return w.Code == http.StatusOK
	}
	return w.Code == http.StatusNoContent
}

func codathookOK(w *DiscardWriter, dup bool) bool {
	want := codathook.ResultProcessed
	if dup {
		want = codathook.ResultDuplicate
	}
	return w.Code == http.StatusNoContent && codathook.Result(w.H.Get(codathook.HeaderResult)) == want
}

// delivery is a signed new-format delivery kept as plain values rather than
// an *http.Request, so that b.N of them held before the timer starts give
// the garbage collector little to scan.
type delivery struct {
	body          []byte
	id, ts, signh string
}

// signed returns the seq-th New600 delivery, signed now.
func signed(signer *codathooktest.Signer, seq int) delivery {
	id, h, body := Sign(signer, New600, seq)
	return delivery{body: body, id: id, ts: h.Get("webhook-timestamp"), signh: h.Get("webhook-signature")}
}

// reusableRequest is one goroutine's request, refilled with each delivery
// so that serving one allocates nothing on the benchmark's side.
type reusableRequest struct {
	r  *http.Request
	rd *bytes.Reader
	// body wraps rd once: io.NopCloser allocates.
	body io.ReadCloser
}

func newReusableRequest() *reusableRequest {
	rd := bytes.NewReader(nil)
	return &reusableRequest{rd: rd, body: io.NopCloser(rd), r: &http.Request{Method: http.MethodPost, URL: Target, Header: http.Header{
		"Webhook-Id": {""}, "Webhook-Timestamp": {""}, "Webhook-Signature": {""},
	}}}
}

// load returns the request carrying d. The receiver may have replaced its
// body (a MaxBytesReader), so the body is set again each time.
func (q *reusableRequest) load(d delivery) *http.Request {
	q.r.Header["Webhook-Id"][0] = d.id
	q.r.Header["Webhook-Timestamp"][0] = d.ts
	q.r.Header["Webhook-Signature"][0] = d.signh
	q.rd.Reset(d.body)
	q.r.Body = q.body
	q.r.ContentLength = int64(len(d.body))
	return q.r
}

// redisAddr returns REDIS_ADDR. Without it the test is skipped, except on CI
// (CI=true), where a missing redis-server is a failure.
func redisAddr(tb testing.TB) string {
	tb.Helper()
	addr := os.Getenv("REDIS_ADDR")
	if addr == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal("REDIS_ADDR is unset on CI; start redis-server and export REDIS_ADDR")
		}
		tb.Skip("REDIS_ADDR is unset; start redis-server and export REDIS_ADDR=host:port to run")
	}
	return addr
}

// newBenchClient returns a client for addr with go-redis's default options
// (both receivers get the same), closed with tb, and its round-trip counter.
func newBenchClient(tb testing.TB, addr string) (*redis.Client, *counter) {
	tb.Helper()
	client := redis.NewClient(&redis.Options{Addr: addr})
	tb.Cleanup(func() { _ = client.Close() })
	if err := client.Ping(tb.Context()).Err(); err != nil {
		tb.Fatalf("redis-server at %s: %v", addr, err)
	}
	c := &counter{}
	client.AddHook(c)
	return client, c
}

// newPrefix returns a key prefix of its own for one run, so that runs
// sharing a server never see each other's keys, and deletes the run's keys
// when tb ends (one DEL per SCAN page: a run writes up to millions).
func newPrefix(tb testing.TB, client *redis.Client) string {
	prefix := fmt.Sprintf("codathook-bench:%x:", rand.Uint64())
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var cursor uint64
		for {
			keys, next, err := client.Scan(ctx, cursor, prefix+"*", 1000).Result()
			if err != nil {
				tb.Errorf("deleting the run's keys: %v", err)
				return
			}
			if len(keys) > 0 {
				if err := client.Del(ctx, keys...).Err(); err != nil {
					tb.Errorf("deleting the run's keys: %v", err)
					return
				}
			}
			if cursor = next; cursor == 0 {
				return
			}
		}
	})
	return prefix
}

// counter is a go-redis hook counting round trips (a pipeline is one),
// except a new connection's handshake (HELLO, then CLIENT SETINFO in a
// pipeline), which is the pool's, not a delivery's.
type counter struct{ n atomic.Int64 }

func (c *counter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *counter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() != "hello" {
			c.n.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (c *counter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if len(cmds) > 0 && cmds[0].Name() != "client" {
			c.n.Add(1)
		}
		return next(ctx, cmds)
	}
}
