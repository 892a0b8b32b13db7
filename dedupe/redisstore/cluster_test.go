package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/dedupe"
	"github.com/codathook/codathook/dedupe/dedupetest"
	"github.com/codathook/codathook/dedupe/redisstore"
	"github.com/redis/go-redis/v9"
)

// cluster is a Redis Cluster of three masters and no replicas, on
// loopback: each master a redis-server without persistence, in a
// directory of its own under dir.
type cluster struct {
	dir   string
	nodes []clusterNode

	formed   sync.Once
	notReady error // why the cluster did not form, once formed ran
}

// clusterSlots is the number of hash slots of a Redis Cluster.
const clusterSlots = 16384

// shared is the test binary's one cluster: the first test that asks for
// it starts it, and TestMain stops it once every test has run. Tests on it
// keep to key prefixes of their own (redisstore.WithPrefix).
var shared struct {
	once sync.Once
	c    *cluster
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.c != nil {
		shared.c.stop()
	}
	os.Exit(code)
}

// sharedCluster returns the test binary's cluster, starting it the first
// time: three masters from REDIS_SERVER or redis-server on PATH (as
// redisServerBin finds it: without one the test is skipped, or fails under
// CI=true), each given a third of the slots and introduced to the others.
// Call it before t.Parallel(): a master turns cluster_state:ok no sooner
// than 2 s after it started (Redis's rejoin delay), so the cluster forms
// while the other tests run; c.client waits until it has.
func sharedCluster(t *testing.T) *cluster {
	t.Helper()
	bin := redisServerBin(t)
	shared.once.Do(func() { shared.c, shared.err = startCluster(bin) })
	if shared.err != nil {
		t.Fatalf("starting a Redis Cluster: %v", shared.err)
	}
	return shared.c
}

// startCluster starts three masters of bin, each redis-server
// --cluster-enabled yes --cluster-config-file nodes.conf --port P --bind
// 127.0.0.1 --save ” --appendonly no --dir D on free loopback ports (its
// bus on one more, see startClusterNode) and a directory of its own, and
// forms the cluster: CLUSTER ADDSLOTS on each, CLUSTER MEET from the first
// to the others. It does so through go-redis rather than with redis-cli
// --cluster create, which needs a redis-cli (REDIS_SERVER may name a
// binary with none beside it), waits in one-second steps, and wants each
// bus at its port + 10000.
func startCluster(bin string) (c *cluster, err error) {
	dir, err := os.MkdirTemp("", "redisstore-cluster-")
	if err != nil {
		return nil, err
	}
	c = &cluster{dir: dir}
	defer func() {
		if err != nil {
			c.stop()
		}
	}()
	for i := range 3 {
		n, err := startDetachedNode(bin, filepath.Join(dir, fmt.Sprint("node", i)))
		if err != nil {
			return nil, err
		}
		c.nodes = append(c.nodes, n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	first := redis.NewClient(&redis.Options{Addr: c.nodes[0].Addr()})
	defer first.Close()
	for i, n := range c.nodes {
		rdb := redis.NewClient(&redis.Options{Addr: n.Addr()})
		lo, hi := i*clusterSlots/len(c.nodes), (i+1)*clusterSlots/len(c.nodes)-1
		err := rdb.ClusterAddSlotsRange(ctx, lo, hi).Err()
		_ = rdb.Close()
		if err != nil {
			return nil, fmt.Errorf("CLUSTER ADDSLOTS %d-%d on %s: %w", lo, hi, n.Addr(), err)
		}
		if i > 0 {
			if err := first.Do(ctx, "CLUSTER", "MEET", "127.0.0.1", n.port, n.busPort).Err(); err != nil {
				return nil, fmt.Errorf("CLUSTER MEET %s: %w", n.Addr(), err)
			}
		}
	}
	return c, nil
}

// startDetachedNode starts a cluster node in dir that no test's cleanup
// stops: cluster.stop does.
func startDetachedNode(bin, dir string) (clusterNode, error) {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return clusterNode{}, err
	}
	for attempt := 1; ; attempt++ {
		port, err := listenPort()
		if err != nil {
			return clusterNode{}, err
		}
		bus, err := listenPort()
		if err != nil {
			return clusterNode{}, err
		}
		s := &server{bin: bin, dir: dir, port: port, args: []string{"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-port", strconv.Itoa(bus), "--save", "", "--appendonly", "no"}}
		err = s.start()
		if err == nil {
			return clusterNode{s, bus}, nil
		}
		if !errors.Is(err, errPortTaken) || attempt == 5 {
			return clusterNode{}, err
		}
	}
}

// stop kills the masters, waits for them, and removes their directories.
func (c *cluster) stop() {
	for _, n := range c.nodes {
		n.stop(syscall.SIGKILL)
	}
	_ = os.RemoveAll(c.dir)
}

// ready waits, the first time, until every master reports cluster_state:ok
// with every slot assigned and served and the three masters known, and
// fails t if the cluster did not get there in 20 s.
func (c *cluster) ready(t *testing.T) {
	t.Helper()
	c.formed.Do(func() { c.notReady = c.waitFormed() })
	if c.notReady != nil {
		t.Fatal(c.notReady)
	}
}

func (c *cluster) waitFormed() error {
	want := map[string]string{
		"cluster_state":          "ok",
		"cluster_slots_assigned": fmt.Sprint(clusterSlots),
		"cluster_slots_ok":       fmt.Sprint(clusterSlots),
		"cluster_known_nodes":    fmt.Sprint(len(c.nodes)),
		"cluster_size":           fmt.Sprint(len(c.nodes)),
	}
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for i, n := range c.nodes {
		rdb := redis.NewClient(&redis.Options{Addr: n.Addr()})
		defer rdb.Close()
		for {
			info, err := rdb.ClusterInfo(ctx).Result()
			got := map[string]string{}
			for line := range strings.Lines(info) {
				if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
					got[k] = v
				}
			}
			ok := err == nil
			for k, v := range want {
				ok = ok && got[k] == v
			}
			if ok {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("node %d (%s): the cluster did not form in 20 s: CLUSTER INFO error %v\n%s", i, n.Addr(), err, info)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nil
}

// addrs returns the masters' addresses.
func (c *cluster) addrs() []string {
	addrs := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		addrs[i] = n.Addr()
	}
	return addrs
}

// client returns a new cluster client seeded with every master, closed
// with t, once the cluster has formed. onNode, when not nil, is given each
// node's client as go-redis creates it (before the client's first
// command), to add hooks that see each node's traffic.
func (c *cluster) client(t *testing.T, onNode func(*redis.Client)) *redis.ClusterClient {
	t.Helper()
	c.ready(t)
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.addrs()})
	if onNode != nil {
		cc.OnNewNode(onNode)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// clusterStore returns a store on cc with a random prefix of its own (or
// opts' WithPrefix), New's check logged nowhere: the masters have no
// persistence, and New warns so.
func clusterStore(t *testing.T, cc *redis.ClusterClient, opts ...redisstore.Option) *redisstore.Store {
	t.Helper()
	opts = append([]redisstore.Option{redisstore.WithPrefix(fmt.Sprintf("codathook-test:%x:", rand.Uint64())),
		redisstore.WithLogger(slog.New(slog.DiscardHandler))}, opts...)
	s, err := redisstore.New(t.Context(), cc, opts...)
	if err != nil {
		t.Fatalf("New on the cluster: %v", err)
	}
	return s
}

// TestClusterConformance runs the dedupe.Store conformance suite, with
// TestConformance's Config, against a store on a cluster client: every
// rule, batches included, holds when the keys are spread over three
// masters.
func TestClusterConformance(t *testing.T) {
	c := sharedCluster(t)
	t.Parallel()
	cc := c.client(t, nil)
	dedupetest.Run(t, func(t *testing.T) dedupe.Store { return clusterStore(t, cc) }, &dedupetest.Config{RealTTL: time.Second})
}

// scriptKeys returns the keys of cmd when it is a command the store sends
// (SET, EVALSHA, EVAL), else nil.
func scriptKeys(cmd redis.Cmder) []string {
	args := cmd.Args()
	switch cmd.Name() {
	case "set":
		if len(args) > 1 {
			return []string{fmt.Sprint(args[1])}
		}
	case "evalsha", "eval":
		if len(args) < 3 {
			return nil
		}
		n, err := strconv.Atoi(fmt.Sprint(args[2]))
		if err != nil || len(args) < 3+n {
			return nil
		}
		keys := make([]string, n)
		for i := range keys {
			keys[i] = fmt.Sprint(args[3+i])
		}
		return keys
	}
	return nil
}

// recorder is a go-redis hook for a cluster client that records the keys
// of each command the store sends, grouped as they went out: a single
// command is a batch of one, a pipeline one batch.
type recorder struct {
	mu      sync.Mutex
	batches [][][]string // batch, command, keys
}

func (r *recorder) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *recorder) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.record([]redis.Cmder{cmd})
		return next(ctx, cmd)
	}
}

func (r *recorder) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		r.record(cmds)
		return next(ctx, cmds)
	}
}

func (r *recorder) record(cmds []redis.Cmder) {
	var batch [][]string
	for _, cmd := range cmds {
		if keys := scriptKeys(cmd); keys != nil {
			batch = append(batch, keys)
		}
	}
	if batch != nil {
		r.mu.Lock()
		r.batches = append(r.batches, batch)
		r.mu.Unlock()
	}
}

// take returns the batches recorded since the last take.
func (r *recorder) take() [][][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.batches
	r.batches = nil
	return b
}

// slotOf returns the hash slot of key, as the cluster computes it (CLUSTER
// KEYSLOT), remembering the answers in cache.
func slotOf(t *testing.T, cc *redis.ClusterClient, cache map[string]int64, key string) int64 {
	t.Helper()
	if s, ok := cache[key]; ok {
		return s
	}
	s, err := cc.ClusterKeySlot(t.Context(), key).Result()
	if err != nil {
		t.Fatalf("CLUSTER KEYSLOT %q: %v", key, err)
	}
	cache[key] = s
	return s
}

// nodeCounter is a go-redis hook for a cluster's node clients: it counts
// the round trips to one node (a pipeline, or the part of a cluster
// pipeline that goes to the node, is one), leaving out the cluster
// client's own CLUSTER and COMMAND queries (its slot map, command table).
type nodeCounter struct{ counter }

func (c *nodeCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if n := cmd.Name(); n != "cluster" && n != "command" {
			c.n.Add(1)
		}
		return next(ctx, cmd)
	}
}

// TestClusterRoundTripsPerDelivery is TestRoundTripsPerDelivery on the
// cluster. Every key of a delivery is in its company's group, so each of
// the Deduper's batches (Begin; the settlement) is one script call on the
// master of that group's slot: a new delivery, a read.completed of three
// data types and a legacy twin each cost 2 round trips to the nodes, a
// retried duplicate 1, as on one server. (Before the groups, each batch
// was a pipeline over the masters its keys hashed to, in 4 sequential
// steps: 5.8 round trips to the nodes on average for a new paired
// delivery, 4 to 7.) The test also checks each count against the masters
// of each batch's keys.
func TestClusterRoundTripsPerDelivery(t *testing.T) {
	c := sharedCluster(t)
	t.Parallel()
	var wire nodeCounter // round trips to the nodes
	cc := c.client(t, func(n *redis.Client) { n.AddHook(&wire) })
	var steps counter // round trips as the store sees them: a cluster pipeline is one
	var rec recorder
	cc.AddHook(&steps)
	cc.AddHook(&rec)
	prefix := fmt.Sprintf("codathook-test:%x:", rand.Uint64())
	s := clusterStore(t, cc, redisstore.WithPrefix(prefix))
	r := newReplica(t, s, nil)
	ctx := t.Context()

	// master maps a slot to the address of the master serving it.
	slots, err := cc.ClusterSlots(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	master := func(slot int64) string {
		for _, r := range slots {
			if int64(r.Start) <= slot && slot <= int64(r.End) {
				return r.Nodes[0].Addr
			}
		}
		t.Fatalf("no master serves slot %d", slot)
		return ""
	}
	cache := map[string]int64{}
	// A master loads a script the first time it runs it (EVALSHA,
	// NOSCRIPT, EVAL: one round trip more): run both on every master first.
	released, arrived := map[string]bool{}, map[string]bool{}
	for i := 0; len(released) < len(c.nodes) || len(arrived) < len(c.nodes); i++ {
		if i == 1000 {
			t.Fatalf("1000 keys did not reach every master: release on %v, arrive on %v", released, arrived)
		}
		k := fmt.Sprint("warm-", i)
		if m := master(slotOf(t, cc, cache, prefix+"c:"+k)); !released[m] {
			if err := s.Release(ctx, k); err != nil {
				t.Fatal(err)
			}
			released[m] = true
		}
		if m := master(slotOf(t, cc, cache, "#"+k)); !arrived[m] {
			if _, err := s.Arrive(ctx, k, dedupe.Arrival{Side: "new", Member: "m", At: time.Now(), Window: time.Minute, TTL: time.Minute, Limit: 8}); err != nil {
				t.Fatal(err)
			}
			arrived[m] = true
		}
	}
	if o := r.deliverNew("msg_warm", connBody("warm")); o.Result != codathook.ResultProcessed {
		t.Fatalf("warm-up delivery: %q (%v), want processed", o.Result, o.Err)
	}
	rec.take()

	tests := []struct {
		name      string
		deliver   func() codathook.Outcome
		want      codathook.Result
		wantSteps int64
		maxWire   int64
	}{
		{"a new paired delivery", func() codathook.Outcome { return r.deliverNew("msg_1", connBody("1")) }, codathook.ResultProcessed, 2, 2},
		{"its retry", func() codathook.Outcome { return r.deliverNew("msg_1", connBody("1")) }, codathook.ResultDuplicate, 1, 1},
		{"a read.completed with three elements", func() codathook.Outcome { return r.deliverNew("msg_2", readBody("2")) }, codathook.ResultProcessed, 2, 2},
		{"a legacy twin of the first delivery", func() codathook.Outcome { return r.deliverLegacy(legacyTwinBody("a1", "1")) }, codathook.ResultDuplicate, 2, 2},
	}
	for _, tt := range tests {
		steps0, wire0 := steps.n.Load(), wire.n.Load()
		got := tt.deliver()
		gotSteps, gotWire := steps.n.Load()-steps0, wire.n.Load()-wire0
		if got.Result != tt.want {
			t.Errorf("%s: result = %q (%v), want %q", tt.name, got.Result, got.Err, tt.want)
		}
		// The round trips the keys call for: one per master per batch.
		var wantWire int64
		var perBatch []string
		for _, batch := range rec.take() {
			masters := map[string]bool{}
			for _, keys := range batch {
				masters[master(slotOf(t, cc, cache, keys[0]))] = true
			}
			wantWire += int64(len(masters))
			perBatch = append(perBatch, fmt.Sprintf("%d key(s) on %d master(s)", len(batch), len(masters)))
		}
		if gotSteps != tt.wantSteps {
			t.Errorf("%s: %d sequential round trips, want %d, as on one server", tt.name, gotSteps, tt.wantSteps)
		}
		if gotWire != wantWire || gotWire < tt.wantSteps || gotWire > tt.maxWire {
			t.Errorf("%s: %d round trips to the nodes, want %d (one per master of each batch: %s), between %d and %d",
				tt.name, gotWire, wantWire, strings.Join(perBatch, "; "), tt.wantSteps, tt.maxWire)
		}
		t.Logf("%s: %d sequential round trips, %d to the nodes (%s)", tt.name, gotSteps, gotWire, strings.Join(perBatch, "; "))
	}
	if n := r.commitFailures(); n != 0 {
		t.Errorf("%d commits failed, want none", n)
	}
}
