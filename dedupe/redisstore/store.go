package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
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
type Option func(*options)

type options struct {
	cfg             config
	evictionAllowed bool
}

// config is what the store keeps of its options.
type config struct {
	Prefix   string
	FailOpen bool
	Logger   *slog.Logger // nil: slog.Default()
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
// implements [dedupe.BatchStore]: a batch is one Lua script call, or on a
// cluster or ring when its keys do not share a hash tag, pipelines (see
// [Store.Do]).
type Store struct {
	client    redis.UniversalClient
	cfg       config
	spread    bool   // the client spreads keys by hash tag: a cluster or a ring
	claimStem string // prefix + "c:": every claim key's start

	luaClaim   atomic.Bool // the server rejected SET NX GET (Redis < 7.0)
	closed     atomic.Bool
	failErrors atomic.Uint64
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
// On a cluster or ring client, New also refuses a prefix whose first
// brace pair is empty ("{}"): it would turn hash tags off (see the
// package documentation, Key layout).
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
	o := options{cfg: config{Prefix: DefaultPrefix}}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if err := checkPrefix(client, o.cfg.Prefix); err != nil {
		return nil, err
	}
	if err := check(ctx, client, &o); err != nil {
		return nil, err
	}
	s := &Store{client: client, cfg: o.cfg, claimStem: o.cfg.Prefix + "c:"}
	switch client.(type) {
	case *redis.ClusterClient, *redis.Ring:
		s.spread = true
	}
	if s.cfg.Logger == nil {
		s.cfg.Logger = slog.Default()
	}
	return s, nil
}

// Ping reports whether the server answers (PING), for the receiver's
// readiness check (codathook's Receiver.Ready).
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return dedupe.ErrClosed
	}
	return s.client.Ping(ctx).Err()
}

// FailOpenErrors reports how many Redis errors a fail-open store has
// swallowed. Each one may have let a duplicate through.
func (s *Store) FailOpenErrors() uint64 { return s.failErrors.Load() }

// Claim implements [dedupe.Store.Claim] with SET key P NX GET PX ttl.
func (s *Store) Claim(ctx context.Context, key string, ttl time.Duration) (dedupe.State, error) {
	op := s.one(ctx, dedupe.Op{Kind: dedupe.OpClaim, Key: key, TTL: ttl})
	return op.State, op.Err
}

// Commit implements [dedupe.Store.Commit] with SET key D PX ttl.
func (s *Store) Commit(ctx context.Context, key string, ttl time.Duration) error {
	return s.one(ctx, dedupe.Op{Kind: dedupe.OpCommit, Key: key, TTL: ttl}).Err
}

// Release implements [dedupe.Store.Release]: it deletes the key only while
// it is Pending, in one Lua call (GET, DEL).
func (s *Store) Release(ctx context.Context, key string) error {
	return s.one(ctx, dedupe.Op{Kind: dedupe.OpRelease, Key: key}).Err
}

// Arrive implements [dedupe.Store.Arrive] in one Lua call.
func (s *Store) Arrive(ctx context.Context, key string, a dedupe.Arrival) (dedupe.Pairing, error) {
	op := s.one(ctx, dedupe.Op{Kind: dedupe.OpArrive, Key: key, Arrival: a})
	return op.Pairing, op.Err
}

// Close marks the store closed; it does not close the client. It is
// idempotent; afterwards every method returns [dedupe.ErrClosed].
func (s *Store) Close(_ context.Context) error {
	s.closed.Store(true)
	return nil
}

// one runs a single op.
func (s *Store) one(ctx context.Context, op dedupe.Op) dedupe.Op {
	ops := [1]dedupe.Op{op}
	_ = s.Do(ctx, ops[:])
	return ops[0]
}

// ms is a TTL in whole milliseconds, rounded up, at least 1.
func ms(ttl time.Duration) int64 {
	if ttl <= 0 {
		return 1
	}
	return int64((ttl + time.Millisecond - 1) / time.Millisecond)
}

// newEpoch returns a random epoch candidate: 64 random bits.
func newEpoch() string { return strconv.FormatUint(rand.Uint64(), 36) }

// evalFunc runs or queues a script on a client or pipeline: one of
// (*redis.Script).EvalSha and (*redis.Script).Eval.
type evalFunc = func(*redis.Script, context.Context, redis.Scripter, []string, ...any) *redis.Cmd

// queue adds op's command to c, a pipeline (sent by its Exec) or the
// client (sent at once), ignoring Gate and SlotPrefix (dedupe.DoInSteps
// does them). A claim is SET NX GET, a commit SET; a release, an arrival,
// and a claim on a server without SET NX GET are programs of one op,
// which go through eval: EVALSHA first, EVAL to resend one the server
// answered NOSCRIPT. go-redis sends a TTL of whole seconds as EX, the same
// expiry as PX.
func (s *Store) queue(ctx context.Context, c redis.Cmdable, eval evalFunc, one []dedupe.Op) redis.Cmder {
	op := &one[0]
	switch {
	case op.Kind == dedupe.OpClaim && !s.luaClaim.Load():
		return c.SetArgs(ctx, s.claimKey(op.Key), valPending, redis.SetArgs{Mode: "NX", Get: true, TTL: time.Duration(ms(op.TTL)) * time.Millisecond})
	case op.Kind == dedupe.OpCommit:
		return c.Set(ctx, s.claimKey(op.Key), valDone, time.Duration(ms(op.TTL))*time.Millisecond)
	}
	keys, args := s.program(one, false)
	return eval(programScript, ctx, c, keys, args...)
}

// send sends ops, or those at idx when idx is not nil, in one round trip:
// a single command on the client, several in one pipeline. It returns
// their commands, answered.
func (s *Store) send(ctx context.Context, eval evalFunc, ops []dedupe.Op, idx []int) []redis.Cmder {
	n := len(ops)
	if idx != nil {
		n = len(idx)
	}
	cmds := make([]redis.Cmder, n)
	var c redis.Cmdable = s.client
	var pipe redis.Pipeliner
	if n > 1 {
		pipe = s.client.Pipeline()
		c = pipe
	}
	for j := range cmds {
		i := j
		if idx != nil {
			i = idx[j]
		}
		cmds[j] = s.queue(ctx, c, eval, ops[i:i+1])
	}
	if pipe != nil {
		_, _ = pipe.Exec(ctx) // errors are per command, read from cmds
	}
	return cmds
}

// Do implements [dedupe.BatchStore.Do]. A batch of more than one op, or
// with an arrival that claims its slot (SlotPrefix), is one call of the
// store's Lua script, which runs the ops in order, gate included: one
// round trip, on a cluster or ring too when every key it touches has the
// same hash tag (the package documentation, Redis Cluster). A single op
// is one command; other batches on a cluster or ring go out as pipelines
// (one round trip per node), in the steps [dedupe.DoInSteps] takes for a
// gate and slot claims. Each takes one round trip more the first time a
// server meets the script (NOSCRIPT) or rejects SET NX GET.
func (s *Store) Do(ctx context.Context, ops []dedupe.Op) error {
	if s.closed.Load() {
		for i := range ops {
			ops[i].Err = dedupe.ErrClosed
		}
		return dedupe.ErrClosed
	}
	for i := range ops {
		if k := ops[i].Kind; k < dedupe.OpClaim || k > dedupe.OpArrive {
			err := fmt.Errorf("redisstore: unknown op kind %d", k)
			for j := range ops {
				ops[j].Err = err
			}
			return err
		}
	}
	for i := range ops {
		ops[i].Err, ops[i].State, ops[i].Pairing = nil, 0, dedupe.Pairing{}
	}
	if len(ops) == 0 {
		return nil
	}
	if len(ops) > 1 || ops[0].SlotPrefix != "" {
		keys, args := s.program(ops, true)
		if !s.spread || s.oneTag(ops, keys) {
			return s.doWhole(ctx, ops, keys, args)
		}
	}
	return dedupe.DoInSteps(ctx, ops, s.pipeline)
}

// pipeline runs ops, ignoring Gate and SlotPrefix, in one pipeline (one
// round trip per node of a cluster; a single op is one command), plus one
// more for the commands the server could not run as sent (resendable).
func (s *Store) pipeline(ctx context.Context, ops []dedupe.Op) error {
	cmds := s.send(ctx, (*redis.Script).EvalSha, ops, nil)
	err := roundTripErr(cmds)
	if again := s.resendable(ops, cmds); err == nil && again != nil {
		resent := s.send(ctx, (*redis.Script).Eval, ops, again)
		for j, c := range resent {
			cmds[again[j]] = c
		}
		err = roundTripErr(resent)
	}
	if err != nil {
		return s.failAll(ctx, ops, err)
	}
	for i := range ops {
		s.result(ctx, ops[i:i+1], cmds[i])
	}
	return nil
}

// resendable returns the ops the server could not run as sent: a script it
// does not have yet (NOSCRIPT; resent as EVAL, which loads it) and SET NX
// GET on a server older than 7.0 (a syntax error; resent as the claim
// script, which every later claim then uses). Neither ran, so resending is
// safe.
func (s *Store) resendable(ops []dedupe.Op, cmds []redis.Cmder) []int {
	var idx []int
	for i, c := range cmds {
		err := c.Err()
		switch {
		case err == nil:
		case noScript(err):
			idx = append(idx, i)
		case ops[i].Kind == dedupe.OpClaim && c.Name() == "set" && redis.HasErrorPrefix(err, "syntax error"):
			s.luaClaim.Store(true)
			idx = append(idx, i)
		}
	}
	return idx
}

// roundTripErr returns the first error that is not a reply (redis.Nil or
// a server's error): the round trip failed, and no reply is known.
func roundTripErr(cmds []redis.Cmder) error {
	for _, c := range cmds {
		err := c.Err()
		var rerr redis.Error
		if err != nil && !errors.Is(err, redis.Nil) && !errors.As(err, &rerr) {
			return err
		}
	}
	return nil
}

// result fills one[0], an op of a pipeline, from its answered command.
func (s *Store) result(ctx context.Context, one []dedupe.Op, c redis.Cmder) {
	op := &one[0]
	var err error
	switch c := c.(type) {
	case *redis.Cmd: // a program of one op
		var reply []any
		if reply, err = c.Slice(); err == nil {
			if err = decode(one, false, reply); err == nil {
				return
			}
		}
	case *redis.StatusCmd:
		if op.Kind == dedupe.OpCommit { // SET
			if err = c.Err(); err == nil {
				return
			}
			break
		}
		var v string // SET NX GET
		v, err = c.Result()
		switch {
		case errors.Is(err, redis.Nil):
			op.State = dedupe.Claimed
			return
		case err == nil && v == valDone:
			op.State = dedupe.Done
			return
		case err == nil:
			op.State = dedupe.Pending
			return
		}
	}
	op.Err, op.State, op.Pairing = nil, 0, dedupe.Pairing{}
	s.fail(ctx, op, err)
}

// fail sets op's error, or when failing open, the answer that lets
// processing go on.
func (s *Store) fail(ctx context.Context, op *dedupe.Op, err error) {
	op.Err = s.failed(ctx, opName[op.Kind], err)
	if op.Err != nil {
		return
	}
	switch op.Kind {
	case dedupe.OpClaim:
		op.State = dedupe.Claimed
	case dedupe.OpArrive:
		// A slot of its own: it can be claimed by nobody else, so its
		// slot claim (SlotPrefix) is Claimed too.
		op.Pairing = dedupe.Pairing{Epoch: "failopen-" + newEpoch(), Slot: 1}
		if op.SlotPrefix != "" {
			op.State = dedupe.Claimed
		}
	}
}

var opName = [...]string{dedupe.OpClaim: "claim", dedupe.OpCommit: "commit", dedupe.OpRelease: "release", dedupe.OpArrive: "arrive"}

// failed handles a Redis error: it returns the wrapped error when failing
// closed (or when ctx is done), and nil after logging when failing open.
func (s *Store) failed(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return fmt.Errorf("redisstore: %s: %w", op, err)
	}
	if !s.cfg.FailOpen {
		return fmt.Errorf("redisstore: %s: %w", op, err)
	}
	s.failErrors.Add(1)
	s.cfg.Logger.Warn("redisstore: Redis error ignored (fail-open); a duplicate may be processed",
		slog.String("op", op), slog.Any("error", err))
	return nil
}
