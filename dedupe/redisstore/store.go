package redisstore

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/codathook/codathook/dedupe"
	"github.com/codathook/codathook/internal/redisscript"
	"github.com/redis/go-redis/v9"
)

// DefaultPrefix starts every key the store writes unless [WithPrefix] says
// otherwise.
const DefaultPrefix = redisscript.DefaultPrefix

// Option configures [New].
type Option func(*options)

type options struct {
	cfg             redisscript.Config
	evictionAllowed bool
}

// WithPrefix sets the prefix of every Redis key the store writes (default
// DefaultPrefix). Receivers that must see each other's deliveries use the
// same prefix; unrelated receivers sharing a Redis use different ones.
func WithPrefix(prefix string) Option {
	return func(o *options) { o.cfg.Prefix = prefix }
}

// WithFailOpen makes the store fail open: a Redis error is logged and
// counted, and the operation reports the answer that lets processing go on
// (Claim: Claimed; Arrive: a fresh slot; Commit, Release: success). This
// keeps webhooks flowing while Redis is down at the price of duplicates.
// The default is to fail closed (return the error; the receiver answers 503).
func WithFailOpen() Option { return func(o *options) { o.cfg.FailOpen = true } }

// WithEvictionAllowed makes [New] accept a server whose maxmemory-policy
// can evict dedupe keys before their TTL (any policy but noeviction; see
// [EvictionPolicyError]), logging it at Info instead. Under memory
// pressure such a server forgets committed deliveries, and their resends
// are processed again. The default is to refuse such a server.
func WithEvictionAllowed() Option { return func(o *options) { o.evictionAllowed = true } }

// WithLogger sets the logger for fail-open errors and for what [New]'s
// check finds (default slog.Default(); nil keeps the default).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.cfg.Logger = l
		}
	}
}

// Store is a [dedupe.Store] on Redis. It is safe for concurrent use by any
// number of goroutines and processes sharing the Redis keyspace. It also
// implements [dedupe.BatchStore]: a batch is one pipeline.
type Store struct {
	core *redisscript.Store
}

var _ dedupe.BatchStore = (*Store)(nil)

// New returns a store on client (a *redis.Client, *redis.ClusterClient,
// *redis.Ring or failover client), after checking, in one round trip per
// server (each master of a cluster, each shard of a ring), the server's
// eviction policy and persistence (CONFIG GET, INFO persistence and
// memory); the package documentation, Durability, says what each setup
// guarantees.
//
//   - A maxmemory-policy other than noeviction, with a memory limit, is
//     refused with an [*EvictionPolicyError] unless [WithEvictionAllowed].
//   - Persistence off, RDB snapshots only, and an AOF without
//     appendfsync everysec or always are logged at Warn.
//   - What a server refuses to tell (CONFIG or INFO forbidden, as on
//     managed Redis) is logged at Warn, and New goes on.
//   - A server New cannot reach is an error, or, with [WithFailOpen], a
//     Warn and New goes on.
//
// ctx bounds the check; without a deadline New gives it 3 s. New fails
// on a nil ctx or client.
func New(ctx context.Context, client redis.UniversalClient, opts ...Option) (*Store, error) {
	if ctx == nil {
		return nil, errors.New("redisstore: nil context")
	}
	if client == nil {
		return nil, errors.New("redisstore: nil client")
	}
	o := options{cfg: redisscript.Config{Prefix: DefaultPrefix}}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if err := check(ctx, client, &o); err != nil {
		return nil, err
	}
	return &Store{core: redisscript.New(transport{client}, o.cfg)}, nil
}

// FailOpenErrors reports how many Redis errors a fail-open store has
// swallowed. Each one may have let a duplicate through.
func (s *Store) FailOpenErrors() uint64 { return s.core.FailOpenErrors() }

// Claim implements [dedupe.Store.Claim] with SET key P NX GET PX ttl.
func (s *Store) Claim(ctx context.Context, key string, ttl time.Duration) (dedupe.State, error) {
	return s.core.Claim(ctx, key, ttl)
}

// Commit implements [dedupe.Store.Commit] with SET key D PX ttl.
func (s *Store) Commit(ctx context.Context, key string, ttl time.Duration) error {
	return s.core.Commit(ctx, key, ttl)
}

// Release implements [dedupe.Store.Release]: it deletes the key only while
// it is Pending, in one Lua call.
func (s *Store) Release(ctx context.Context, key string) error {
	return s.core.Release(ctx, key)
}

// Arrive implements [dedupe.Store.Arrive] in one Lua call.
func (s *Store) Arrive(ctx context.Context, key string, a dedupe.Arrival) (dedupe.Pairing, error) {
	return s.core.Arrive(ctx, key, a)
}

// Do implements [dedupe.BatchStore.Do]: the ops go out as one pipeline
// (one round trip per node on a cluster).
func (s *Store) Do(ctx context.Context, ops []dedupe.Op) error {
	return s.core.Do(ctx, ops)
}

// Close marks the store closed; it does not close the client. It is
// idempotent; afterwards every method returns [dedupe.ErrClosed].
func (s *Store) Close(ctx context.Context) error { return s.core.Close(ctx) }

// transport is the go-redis [redisscript.Transport]: one command with Do,
// several with a pipeline.
type transport struct{ c redis.UniversalClient }

func (t transport) Do(ctx context.Context, cmds [][]string) ([]any, error) {
	if len(cmds) == 1 {
		r, err := reply(t.c.Do(ctx, args(cmds[0])...))
		if err != nil {
			return nil, err
		}
		return []any{r}, nil
	}
	pipe := t.c.Pipeline()
	rcmds := make([]*redis.Cmd, len(cmds))
	for i, c := range cmds {
		rcmds[i] = pipe.Do(ctx, args(c)...)
	}
	_, _ = pipe.Exec(ctx) // errors are per command, read below
	out := make([]any, len(cmds))
	for i, c := range rcmds {
		r, err := reply(c)
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}

func args(c []string) []any {
	a := make([]any, len(c))
	for i, s := range c {
		a[i] = s
	}
	return a
}

// reply converts a go-redis result to a redisscript reply: a server error
// becomes a redisscript.Error, anything else that failed is a transport
// error.
func reply(c *redis.Cmd) (any, error) {
	v, err := c.Result()
	switch {
	case err == nil:
		return v, nil
	case errors.Is(err, redis.Nil):
		return nil, nil
	}
	var rerr redis.Error
	if errors.As(err, &rerr) {
		return redisscript.Error(rerr.Error()), nil
	}
	return nil, err
}
