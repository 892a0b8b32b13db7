// Command multireplica runs three codathook receivers in one process, each
// with its own HTTP server on loopback and its own Redis client, sharing one
// redis-server through the redisstore dedupe store, as three replicas of one
// app behind a load balancer would. It then plays Codat: every occurrence is
// delivered several times to random replicas at once (Svix retries and
// resends of one message, plus the legacy twin of the same occurrence), 503
// answers are retried, and it prints what each replica did. Every occurrence
// must reach a callback exactly once across the three replicas.
//
// It is in the examples/integrations module (go-redis and chi stay out of
// the core module), so it runs from its directory, against a redis-server
// with AOF on, as dedupe/redisstore recommends (its data in a directory of
// its own):
//
//	redis-server --port 6391 --appendonly yes --dir "$(mktemp -d)" --daemonize yes
//	cd examples/integrations/multireplica
//	REDIS_ADDR=127.0.0.1:6391 go run .
//	redis-cli -p 6391 shutdown nosave
//
// go test in the same directory runs it too (skipped without REDIS_ADDR);
// scripts/test.sh starts a redis-server and does.
//
// Flags:
//
//	-redis ADDR      redis-server address (default $REDIS_ADDR, else 127.0.0.1:6379)
//	-occurrences N   distinct occurrences to deliver (default 60)
//	-copies N        new-format copies of each occurrence, plus one legacy twin (default 3)
//	-work D          time each callback takes (default 5ms)
//	-types T,T       event types delivered in turn (default: four types with twins)
//	-keep            keep the run's Redis keys (by default they are deleted at the end)
//
// The run exits 1 when any occurrence was processed zero or several times.
package main

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
	"github.com/codathook/codathook/dedupe/redisstore"
)

func main() {
	cfg := config{Stdout: os.Stdout}
	flag.StringVar(&cfg.RedisAddr, "redis", envOr("REDIS_ADDR", "127.0.0.1:6379"), "redis-server address")
	flag.IntVar(&cfg.Occurrences, "occurrences", 60, "distinct occurrences to deliver")
	flag.IntVar(&cfg.Copies, "copies", 3, "new-format copies of each occurrence (plus one legacy twin)")
	flag.DurationVar(&cfg.Work, "work", 5*time.Millisecond, "time each callback takes")
	flag.BoolVar(&cfg.Keep, "keep", false, "keep the run's Redis keys")
	types := flag.String("types", defaultTypes, "comma-separated event types to deliver in turn")
	flag.Parse()
	cfg.Types = strings.Split(*types, ",")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sum, err := run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "multireplica:", err)
		os.Exit(1)
	}
	if !sum.ExactlyOnce() {
		os.Exit(1)
	}
}

// Replicas is the number of receivers the example runs.
const Replicas = 3

// defaultTypes are delivered in turn; each has a legacy twin
// (codathooktest.Twin) and a distinct occurrence key per occurrence
// (company, connection, push operation or sync id).
//
// client.rateLimit.reached is left out: rate-limit events are matched on
// their quota expiry, and every sample carries the same expiry, so the
// samples are one occurrence, not several.
var defaultTypes = "connection.connected,invoices.write.successful,expenses.sync.successful,connection.deleted"

type config struct {
	RedisAddr   string
	Occurrences int
	Copies      int
	Work        time.Duration
	Keep        bool
	Types       []string // event types delivered in turn; nil means the defaults
	Stdout      io.Writer
}

// replicaStats counts what one replica answered and processed.
type replicaStats struct {
	Processed, Duplicate, InFlight, Other atomic.Int64
	Callbacks                             atomic.Int64
}

// summary is the outcome of a run.
type summary struct {
	Occurrences int
	Requests    int64
	Retries     int64 // 503 answers retried
	Replicas    [Replicas]*replicaStats
	Callbacks   int64
	Missing     int      // occurrences no callback saw
	Twice       int      // occurrences more than one callback saw
	Faults      []string // "event type id: n callbacks" for each occurrence not seen once
}

// ExactlyOnce reports whether every occurrence reached one callback once.
func (s *summary) ExactlyOnce() bool {
	return s.Missing == 0 && s.Twice == 0 && s.Callbacks == int64(s.Occurrences)
}

func run(ctx context.Context, cfg config) (*summary, error) {
	if cfg.Occurrences <= 0 || cfg.Copies <= 0 {
		return nil, errors.New("occurrences and copies must be positive")
	}
	if len(cfg.Types) == 0 {
		cfg.Types = strings.Split(defaultTypes, ",")
	}
	prefix := "codathook:multireplica:" + randomHex(6) + ":"
	sum := &summary{Occurrences: cfg.Occurrences}
	var seenMu sync.Mutex
	seen := map[string]int{} // event id -> callbacks

	// Three replicas: each its own Redis client, store, receiver and server.
	urls := make([]string, Replicas)
	for i := range Replicas {
		st := &replicaStats{}
		sum.Replicas[i] = st
		rdb := redis.NewClient(&redis.Options{Addr: cfg.RedisAddr})
		defer rdb.Close()
		if err := rdb.Ping(ctx).Err(); err != nil {
			return nil, fmt.Errorf("redis at %s: %w", cfg.RedisAddr, err)
		}
		store, err := redisstore.New(ctx, rdb, redisstore.WithPrefix(prefix))
		if err != nil {
			return nil, err
		}
		rcv, err := codathook.New(
			codathook.WithSecrets(codathooktest.DevSecret),
			codathook.WithLegacyAuthorization(codathooktest.DevAuthorization),
			codathook.WithDedupe(store, nil),
			codathook.WithLogger(slog.New(slog.DiscardHandler)),
			codathook.WithObserver(func(_ context.Context, o codathook.Outcome) {
				switch o.Result {
				case codathook.ResultProcessed:
					st.Processed.Add(1)
				case codathook.ResultDuplicate:
					st.Duplicate.Add(1)
				case codathook.ResultInFlight:
					st.InFlight.Add(1)
				default:
					st.Other.Add(1)
				}
			}),
		)
		if err != nil {
			return nil, err
		}
		defer rcv.Close(context.Background())
		err = codathook.On(rcv, "*", func(ctx context.Context, ev *codathook.Event) error {
			time.Sleep(cfg.Work) // the app's work, long enough for copies to overlap
			st.Callbacks.Add(1)
			seenMu.Lock()
			seen[ev.ID]++
			seenMu.Unlock()
			return nil
		})
		if err != nil {
			return nil, err
		}
		mux := http.NewServeMux()
		mux.Handle("POST /webhooks/codat", rcv.Handler(codathook.EndpointNew))
		mux.Handle("POST /webhooks/codat/legacy", rcv.Handler(codathook.EndpointLegacy))
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		srv := &http.Server{
			Handler: mux,
			// As in the quickstart: WriteTimeout outlasts the body
			// deadline (5 s) plus the callback deadline (10 s).
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       10 * time.Second,
			WriteTimeout:      20 * time.Second,
			IdleTimeout:       60 * time.Second,
			HTTP2:             &http.HTTP2Config{MaxConcurrentStreams: 100},
		}
		go srv.Serve(ln)
		defer srv.Close()
		urls[i] = "http://" + ln.Addr().String()
	}
	if !cfg.Keep {
		defer deleteKeys(cfg.RedisAddr, prefix)
	}

	// Codat's side: every occurrence is sent as cfg.Copies copies of one
	// new-format message (same webhook-id) and one legacy twin, all at once,
	// each to a random replica.
	ids := make([]string, cfg.Occurrences)
	types := make([]string, cfg.Occurrences)
	client := &http.Client{Timeout: 30 * time.Second}
	var requests, retries atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for n := range cfg.Occurrences {
		id := codathooktest.NewID()
		ids[n] = id
		eventType := cfg.Types[n%len(cfg.Types)]
		types[n] = eventType
		newBody, legacyBody, err := codathooktest.Twin(eventType, codathooktest.SampleOptions{
			ID: id, CompanyID: codathooktest.NewID(), ConnectionID: codathooktest.NewID(), OperationID: codathooktest.NewID(),
		})
		if err != nil {
			return nil, fmt.Errorf("twin of %s: %w", eventType, err)
		}
		signer := codathooktest.MustSigner(codathooktest.DevSecret)
		signer.MsgID = "msg_" + codathooktest.NewID() // Svix retries and resends keep the message id
		g.Go(func() error {
			var copies errgroup.Group
			for c := range cfg.Copies + 1 {
				copies.Go(func() error {
					replica := urls[rand.IntN(Replicas)]
					build := func() *http.Request {
						if c == cfg.Copies {
							return codathooktest.NewLegacyRequest("/webhooks/codat/legacy", codathooktest.DevAuthorization, legacyBody)
						}
						return signer.NewRequest(http.MethodPost, "/webhooks/codat", newBody)
					}
					return deliver(gctx, client, replica, build, &requests, &retries)
				})
			}
			return copies.Wait()
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}

	sum.Requests, sum.Retries = requests.Load(), retries.Load()
	for i, id := range ids {
		switch n := seen[id]; {
		case n == 0:
			sum.Missing++
		case n > 1:
			sum.Twice++
		}
		if n := seen[id]; n != 1 {
			sum.Faults = append(sum.Faults, fmt.Sprintf("%s %s: %d callbacks", types[i], id, n))
		}
		sum.Callbacks += int64(seen[id])
	}
	sum.print(cfg, prefix)
	return sum, nil
}

// deliver sends one copy until the receiver stops answering 503, as Codat
// does (it waits Retry-After; this demo waits a few milliseconds).
func deliver(ctx context.Context, client *http.Client, base string, build func() *http.Request, requests, retries *atomic.Int64) error {
	for attempt := 0; ; attempt++ {
		r := build()
		resp, err := codathooktest.Send(ctx, client, base+r.URL.Path, r)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		requests.Add(1)
		switch {
		case resp.StatusCode == http.StatusServiceUnavailable && attempt < 50:
			retries.Add(1)
			time.Sleep(time.Duration(5+rand.IntN(20)) * time.Millisecond)
		case resp.StatusCode/100 == 2:
			return nil
		default:
			return fmt.Errorf("%s answered %d (%s)", base+r.URL.Path, resp.StatusCode, resp.Header.Get(codathook.HeaderResult))
		}
	}
}

func (s *summary) print(cfg config, prefix string) {
	w := cfg.Stdout
	fmt.Fprintf(w, "%d replicas sharing redis-server %s (key prefix %s)\n", Replicas, cfg.RedisAddr, prefix)
	fmt.Fprintf(w, "%d occurrences x (%d new-format copies + 1 legacy twin), to random replicas: %d requests, %d retried after 503\n",
		s.Occurrences, cfg.Copies, s.Requests, s.Retries)
	for i, r := range s.Replicas {
		fmt.Fprintf(w, "replica %d: %3d processed  %3d duplicate  %3d in flight (503)  %d other  -> %d callbacks\n",
			i+1, r.Processed.Load(), r.Duplicate.Load(), r.InFlight.Load(), r.Other.Load(), r.Callbacks.Load())
	}
	verdict := "every occurrence processed exactly once"
	if !s.ExactlyOnce() {
		verdict = fmt.Sprintf("NOT exactly once: %d missing, %d processed more than once", s.Missing, s.Twice)
	}
	fmt.Fprintf(w, "callbacks: %d for %d occurrences: %s\n", s.Callbacks, s.Occurrences, verdict)
	for _, f := range s.Faults {
		fmt.Fprintln(w, "  ", f)
	}
}

// deleteKeys removes the run's keys (they would otherwise expire after the
// dedupe retention, 34 hours).
func deleteKeys(addr, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	iter := rdb.Scan(ctx, 0, prefix+"*", 500).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	for len(keys) > 0 {
		n := min(len(keys), 500)
		rdb.Unlink(ctx, keys[:n]...)
		keys = keys[n:]
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = cryptorand.Read(b) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b)
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
