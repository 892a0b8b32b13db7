package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// checkTimeout bounds New's check when its context has no deadline.
const checkTimeout = 3 * time.Second

// EvictionPolicyError is New's error when a Redis server's
// maxmemory-policy can evict dedupe keys before their TTL. Every policy but
// noeviction can: the allkeys-* policies evict any key, and the volatile-*
// policies evict keys that have a TTL, which every dedupe key has. A
// resend of a delivery whose key was evicted is processed again.
// [WithEvictionAllowed] accepts such a server.
type EvictionPolicyError struct {
	Addr      string // the server, as the client addresses it
	Policy    string // its maxmemory-policy, such as "allkeys-lru"
	MaxMemory string // its maxmemory in bytes ("" when unknown)
}

func (e *EvictionPolicyError) Error() string {
	why := "it can evict any key"
	if strings.HasPrefix(e.Policy, "volatile-") {
		why = "it evicts keys that have a TTL, and every dedupe key has one"
	}
	limit := ""
	if e.MaxMemory != "" {
		limit = " (maxmemory " + e.MaxMemory + ")"
	}
	return fmt.Sprintf("redisstore: Redis at %s has maxmemory-policy %s%s: %s, so under memory pressure "+
		"committed deliveries are forgotten before their TTL and their resends are processed again; "+
		"set maxmemory-policy noeviction (at the limit writes fail and deliveries are answered 503: "+
		"nothing is lost or processed twice) or accept the duplicates with redisstore.WithEvictionAllowed()",
		e.Addr, e.Policy, limit, why)
}

// checkPrefix refuses, on a client that spreads keys by hash slot (a
// cluster or a ring), a prefix whose first '{' is followed by '}': Redis
// Cluster (and go-redis's ring) then hashes each key whole, ignoring the
// arrival keys' tag ("{#" + key + "}", or the key's group), so the three
// interval keys of one arrival would land on different slots. A prefix
// with a tag of its own ("{app}:") is accepted: every key of the store
// shares that slot.
func checkPrefix(client redis.UniversalClient, prefix string) error {
	switch client.(type) {
	case *redis.ClusterClient, *redis.Ring:
	default:
		return nil
	}
	if i := strings.IndexByte(prefix, '{'); i < 0 || i+1 >= len(prefix) || prefix[i+1] != '}' {
		return nil
	}
	return fmt.Errorf("redisstore: prefix %q starts with an empty hash tag (\"{}\"), so each key would be hashed whole "+
		"and the arrival keys of one occurrence, which share a tag (\"{#\" + key + \"}\" or the key's group), would land on different slots "+
		"(CROSSSLOT on a cluster, pairing split over a ring's shards); use a prefix without \"{}\"", prefix)
}

// node is what one server told the check: CONFIG GET values by name and
// INFO fields by name, each absent when the server refused the command.
type node struct {
	addr      string
	config    map[string]string
	info      map[string]string
	configErr error // a server error replying to CONFIG GET (forbidden, renamed)
	infoErr   error // a server error replying to INFO
}

var configParams = []string{"maxmemory-policy", "maxmemory", "appendonly", "appendfsync", "save"}

// read sends the check's commands to one server in one pipeline. A
// command the server refuses is recorded in n; the error is the
// round trip's (the server could not be reached).
func read(ctx context.Context, c redis.UniversalClient, addr string) (node, error) {
	n := node{addr: addr, config: map[string]string{}, info: map[string]string{}}
	pipe := c.Pipeline()
	cfg := make([]*redis.MapStringStringCmd, len(configParams))
	for i, p := range configParams {
		cfg[i] = pipe.ConfigGet(ctx, p)
	}
	infos := []*redis.StringCmd{pipe.Info(ctx, "persistence"), pipe.Info(ctx, "memory")}
	_, _ = pipe.Exec(ctx) // errors are per command, read below
	var rerr redis.Error
	for i, cmd := range cfg {
		m, err := cmd.Result()
		if err != nil {
			if !errors.As(err, &rerr) {
				return n, err
			}
			n.configErr = err
			continue
		}
		if v, ok := m[configParams[i]]; ok {
			n.config[configParams[i]] = v
		}
	}
	for _, cmd := range infos {
		s, err := cmd.Result()
		if err != nil {
			if !errors.As(err, &rerr) {
				return n, err
			}
			n.infoErr = err
			continue
		}
		for line := range strings.Lines(s) {
			if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
				n.info[k] = v
			}
		}
	}
	return n, nil
}

// readAll reads every server keys may live on: each master of a cluster,
// each shard of a ring, else the client's one server.
func readAll(ctx context.Context, client redis.UniversalClient) ([]node, error) {
	var (
		mu    sync.Mutex
		nodes []node
	)
	each := func(ctx context.Context, c *redis.Client) error {
		n, err := read(ctx, c, c.Options().Addr)
		if err != nil {
			return fmt.Errorf("%s: %w", c.Options().Addr, err)
		}
		mu.Lock()
		nodes = append(nodes, n)
		mu.Unlock()
		return nil
	}
	var err error
	switch c := client.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, each)
	case *redis.Ring:
		err = c.ForEachShard(ctx, each)
	case *redis.Client:
		err = each(ctx, c)
	default:
		var n node
		n, err = read(ctx, client, fmt.Sprintf("%T", client))
		nodes = append(nodes, n)
	}
	slices.SortFunc(nodes, func(a, b node) int { return strings.Compare(a.addr, b.addr) })
	return nodes, err
}

// check reads the eviction policy and persistence of every server client
// sends keys to, refuses an evicting policy unless o allows it, and logs
// what weakens durability and what it could not check. An unreachable
// server is an error when failing closed and a warning when failing open;
// ctx ending is always an error.
func check(ctx context.Context, client redis.UniversalClient, o *options) error {
	parent := ctx
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, checkTimeout)
		defer cancel()
	}
	log := o.cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	// go-redis bounds a round trip by ctx only with ContextTimeoutEnabled;
	// else by its ReadTimeout. New returns at ctx's end either way, and
	// the round trip, abandoned, ends at the client's timeout or Close.
	type result struct {
		nodes []node
		err   error
	}
	done := make(chan result, 1)
	go func() {
		nodes, err := readAll(ctx, client)
		done <- result{nodes, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		r.err = ctx.Err()
	}
	nodes, err := r.nodes, r.err
	if err != nil {
		if parent.Err() != nil || !o.cfg.FailOpen {
			return fmt.Errorf("redisstore: checking the server's eviction policy and persistence: %w", err)
		}
		log.Warn("redisstore: could not reach Redis to check its eviction policy and persistence (fail-open: going on unchecked)",
			slog.Any("error", err))
	}
	if len(nodes) == 0 && err == nil {
		log.Warn("redisstore: no Redis server to check (no cluster master or live ring shard); eviction and persistence are assumed, not checked")
	}
	var errs []error
	for i := range nodes {
		errs = append(errs, nodes[i].judge(log, o.evictionAllowed))
	}
	return errors.Join(errs...)
}

// judge applies the rules to what n told: the error refuses the server,
// the rest is logged.
func (n *node) judge(log *slog.Logger, evictionAllowed bool) error {
	addr := slog.String("addr", n.addr)
	var unchecked []string
	var err error

	policy, ok := n.config["maxmemory-policy"]
	if !ok {
		policy, ok = n.info["maxmemory_policy"]
	}
	maxmem, mok := n.config["maxmemory"]
	if !mok {
		maxmem, mok = n.info["maxmemory"]
	}
	switch {
	case !ok:
		unchecked = append(unchecked, "maxmemory-policy")
	case policy == "noeviction":
	case mok && maxmem == "0":
		log.Warn("redisstore: Redis has no memory limit now, but its maxmemory-policy evicts dedupe keys once maxmemory is set; use noeviction",
			addr, slog.String("maxmemory-policy", policy))
	case evictionAllowed:
		log.Info("redisstore: eviction allowed (WithEvictionAllowed): under memory pressure Redis forgets committed deliveries and their resends are processed again",
			addr, slog.String("maxmemory-policy", policy), slog.String("maxmemory", maxmem))
	default:
		err = &EvictionPolicyError{Addr: n.addr, Policy: policy, MaxMemory: maxmem}
	}

	aof := ""
	switch n.info["aof_enabled"] {
	case "1":
		aof = "yes"
	case "0":
		aof = "no"
	default:
		aof = n.config["appendonly"]
	}
	save, sok := n.config["save"]
	fsync, fok := n.config["appendfsync"]
	switch {
	case aof == "yes" && !fok:
		unchecked = append(unchecked, "appendfsync")
	case aof == "yes" && fsync != "always" && fsync != "everysec":
		log.Warn("redisstore: Redis appends to its AOF without fsync (appendfsync "+fsync+"): a crash of the host forgets the deliveries committed in the last seconds and their resends are processed again; use appendfsync everysec or always",
			addr, slog.String("appendfsync", fsync))
	case aof == "yes":
	case aof == "":
		unchecked = append(unchecked, "persistence")
	case !sok:
		unchecked = append(unchecked, "save")
	case strings.TrimSpace(save) == "":
		log.Warn("redisstore: Redis persistence is off (no AOF, no RDB save points): a restart forgets every committed delivery and their resends are processed again; use appendonly yes with appendfsync everysec or always",
			addr)
	default:
		log.Warn("redisstore: Redis persists RDB snapshots only: a crash forgets the deliveries committed since the last snapshot and their resends are processed again; use appendonly yes with appendfsync everysec or always",
			addr, slog.String("save", save))
	}
	if n.info["aof_last_write_status"] == "err" || n.info["rdb_last_bgsave_status"] == "err" {
		log.Warn("redisstore: Redis's last persistence write failed: committed deliveries may not survive a restart",
			addr, slog.String("aof_last_write_status", n.info["aof_last_write_status"]),
			slog.String("rdb_last_bgsave_status", n.info["rdb_last_bgsave_status"]))
	}

	if len(unchecked) > 0 {
		attrs := []any{addr, slog.String("unchecked", strings.Join(unchecked, ", "))}
		if n.configErr != nil {
			attrs = append(attrs, slog.String("config_error", n.configErr.Error()))
		}
		if n.infoErr != nil {
			attrs = append(attrs, slog.String("info_error", n.infoErr.Error()))
		}
		log.Warn("redisstore: could not check Redis's eviction policy or persistence (CONFIG or INFO refused); they are assumed, not checked: see the redisstore docs, Durability", attrs...)
	}
	return err
}
