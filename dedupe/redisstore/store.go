package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/codathook/codathook/dedupe"
	"github.com/redis/go-redis/v9"
)

// DefaultPrefix starts every key the store writes unless [WithPrefix] says
// otherwise.
const DefaultPrefix = "codathook:dedupe:"

// Values of a claim key.
const (
	valPending = "P"
	valDone    = "D"
)

// Option configures [New].
type Option func(*Store)

// WithPrefix sets the prefix of every Redis key the store writes (default
// DefaultPrefix). Receivers that must see each other's deliveries use the
// same prefix; unrelated receivers sharing a Redis use different ones.
func WithPrefix(prefix string) Option { return func(s *Store) { s.prefix = prefix } }

// WithFailOpen makes the store fail open: a Redis error is logged and
// counted, and the operation reports the answer that lets processing go on
// (Claim: Claimed; Arrive: a fresh slot; Commit, Release: success). This
// keeps webhooks flowing while Redis is down at the price of duplicates.
// The default is to fail closed (return the error; the receiver answers 503).
func WithFailOpen() Option { return func(s *Store) { s.failOpen = true } }

// WithLogger sets the logger for fail-open errors (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(s *Store) {
		if l != nil {
			s.logger = l
		}
	}
}

// Store is a [dedupe.Store] on Redis. It is safe for concurrent use by any
// number of goroutines and processes sharing the Redis keyspace.
type Store struct {
	client   redis.UniversalClient
	prefix   string
	failOpen bool
	logger   *slog.Logger

	luaClaim   atomic.Bool // the server rejected SET NX GET (Redis < 7.0)
	closed     atomic.Bool
	failErrors atomic.Uint64
}

var _ dedupe.Store = (*Store)(nil)

// New returns a store on client (a *redis.Client, *redis.ClusterClient,
// *redis.Ring or failover client). It fails on a nil client.
func New(client redis.UniversalClient, opts ...Option) (*Store, error) {
	if client == nil {
		return nil, errors.New("redisstore: nil client")
	}
	s := &Store{client: client, prefix: DefaultPrefix, logger: slog.Default()}
	for _, o := range opts {
		if o != nil {
			o(s)
		}
	}
	return s, nil
}

// FailOpenErrors reports how many Redis errors a fail-open store has
// swallowed. Each one may have let a duplicate through.
func (s *Store) FailOpenErrors() uint64 { return s.failErrors.Load() }

func (s *Store) claimKey(key string) string   { return s.prefix + "c:" + key }
func (s *Store) arrivalKey(key string) string { return s.prefix + "a:" + key }

// ms converts a TTL to whole milliseconds, rounding up, at least 1.
func ms(ttl time.Duration) int64 {
	if ttl <= 0 {
		return 1
	}
	return int64((ttl + time.Millisecond - 1) / time.Millisecond)
}

// failed handles a Redis error: it returns the wrapped error when failing
// closed (or when ctx is done), and nil after logging when failing open.
func (s *Store) failed(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return fmt.Errorf("redisstore: %s: %w", op, err)
	}
	if !s.failOpen {
		return fmt.Errorf("redisstore: %s: %w", op, err)
	}
	s.failErrors.Add(1)
	s.logger.Warn("redisstore: Redis error ignored (fail-open); a duplicate may be processed",
		slog.String("op", op), slog.Any("error", err))
	return nil
}

var claimScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false`)

// Claim implements [dedupe.Store.Claim] with SET key P NX GET PX ttl.
func (s *Store) Claim(ctx context.Context, key string, ttl time.Duration) (dedupe.State, error) {
	if s.closed.Load() {
		return 0, dedupe.ErrClosed
	}
	k := s.claimKey(key)
	var (
		old string
		err error
	)
	if !s.luaClaim.Load() {
		old, err = s.client.SetArgs(ctx, k, valPending, redis.SetArgs{Mode: "NX", Get: true, TTL: time.Duration(ms(ttl)) * time.Millisecond}).Result()
		if err != nil && isSyntaxError(err) {
			s.luaClaim.Store(true)
		}
	}
	if s.luaClaim.Load() {
		old, err = claimScript.Run(ctx, s.client, []string{k}, valPending, ms(ttl)).Text()
	}
	switch {
	case errors.Is(err, redis.Nil):
		return dedupe.Claimed, nil
	case err != nil:
		if ferr := s.failed(ctx, "claim", err); ferr != nil {
			return 0, ferr
		}
		return dedupe.Claimed, nil
	case old == valDone:
		return dedupe.Done, nil
	default:
		return dedupe.Pending, nil
	}
}

// isSyntaxError reports a server that does not accept SET with both NX and GET.
func isSyntaxError(err error) bool {
	return strings.HasPrefix(err.Error(), "ERR syntax error")
}

// Commit implements [dedupe.Store.Commit] with SET key D PX ttl.
func (s *Store) Commit(ctx context.Context, key string, ttl time.Duration) error {
	if s.closed.Load() {
		return dedupe.ErrClosed
	}
	if err := s.client.Set(ctx, s.claimKey(key), valDone, time.Duration(ms(ttl))*time.Millisecond).Err(); err != nil {
		return s.failed(ctx, "commit", err)
	}
	return nil
}

var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

// Release implements [dedupe.Store.Release]: it deletes the key only while
// it is Pending, in one Lua call.
func (s *Store) Release(ctx context.Context, key string) error {
	if s.closed.Load() {
		return dedupe.ErrClosed
	}
	if err := releaseScript.Run(ctx, s.client, []string{s.claimKey(key)}, valPending).Err(); err != nil {
		return s.failed(ctx, "release", err)
	}
	return nil
}

// arriveScript keeps one hash per arrival key: "e" is the epoch (set from
// ARGV[4] when the hash is created), "n<len>:<side>" a side's counter and
// "m<len>:<side><member>" a member's ordinal. The whole hash expires ARGV[3]
// ms after the last arrival.
var arriveScript = redis.NewScript(`
local k = KEYS[1]
local side, member = ARGV[1], ARGV[2]
if redis.call('EXISTS', k) == 0 then redis.call('HSET', k, 'e', ARGV[4]) end
local mf = 'm' .. #side .. ':' .. side .. member
local o = redis.call('HGET', k, mf)
if not o then
  o = redis.call('HINCRBY', k, 'n' .. #side .. ':' .. side, 1)
  redis.call('HSET', k, mf, o)
end
redis.call('PEXPIRE', k, ARGV[3])
return {tonumber(o), redis.call('HGET', k, 'e')}`)

// newEpoch returns a random epoch candidate: 64 random bits.
func newEpoch() string { return strconv.FormatUint(rand.Uint64(), 36) }

// Arrive implements [dedupe.Store.Arrive] in one Lua call.
func (s *Store) Arrive(ctx context.Context, key, side, member string, ttl time.Duration) (int64, string, error) {
	if s.closed.Load() {
		return 0, "", dedupe.ErrClosed
	}
	res, err := arriveScript.Run(ctx, s.client, []string{s.arrivalKey(key)}, side, member, ms(ttl), newEpoch()).Slice()
	if err == nil {
		if len(res) == 2 {
			ord, ok1 := res[0].(int64)
			epoch, ok2 := res[1].(string)
			if ok1 && ok2 {
				return ord, epoch, nil
			}
		}
		err = fmt.Errorf("unexpected reply %v", res)
	}
	if ferr := s.failed(ctx, "arrive", err); ferr != nil {
		return 0, "", ferr
	}
	// A slot of its own: it can be claimed by nobody else.
	return 1, "failopen-" + newEpoch(), nil
}

// Close marks the store closed; it does not close the client. It is
// idempotent; afterwards every method returns [dedupe.ErrClosed].
func (s *Store) Close(_ context.Context) error {
	s.closed.Store(true)
	return nil
}
