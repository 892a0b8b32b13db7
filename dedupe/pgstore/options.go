package pgstore

import (
	"log/slog"
	"time"
)

// Option configures [New], [CreateSchema] and [SchemaSQL].
type Option func(*options)

type options struct {
	schema      string
	prefix      string
	now         func() time.Time // nil: the server's clock
	timeout     time.Duration
	expireEvery int
	logger      *slog.Logger
	tx          bool
}

// Defaults of the options.
const (
	defaultTimeout     = 3 * time.Second
	defaultExpireEvery = 1000
)

func newOptions(opts []Option) options {
	o := options{prefix: DefaultPrefix, timeout: defaultTimeout, expireEvery: defaultExpireEvery}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	return o
}

// WithSchema puts the store's tables in schema (created by [CreateSchema]
// if absent). The default is the current schema of the connection that
// [New] checks (the first schema of its search_path that exists, usually
// public); New then pins the names to it.
func WithSchema(schema string) Option { return func(o *options) { o.schema = schema } }

// WithPrefix sets the prefix of the store's table, index and sequence
// names (default DefaultPrefix; at most 43 bytes). Receivers that must see
// each other's deliveries use the same schema and prefix; unrelated
// receivers sharing a database use different ones.
func WithPrefix(prefix string) Option { return func(o *options) { o.prefix = prefix } }

// WithClock makes the store read expiry times from now instead of the
// server's clock (statement_timestamp()), for tests that move time without
// sleeping. Every store sharing the tables must read the same clock: with
// the default, the server's, replicas whose clocks drift still agree.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithTimeout bounds each call's round trip (default 3 s), whatever its
// context says, as go-redis's ReadTimeout does for the redisstore: the
// receiver's store calls outlive the request (they must record its
// outcome), so without a bound a hung server would hold every delivery.
// A call that times out returns an error matching
// context.DeadlineExceeded. d <= 0 leaves calls bounded only by their
// contexts.
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithExpireEvery sets how often the store deletes expired rows: after
// every n operations (Claim, Commit, Release, Arrive, or an op of a batch)
// it starts one sweep in the background, unless one is still running, that
// calls [Store.Expire] until less than a full bound of rows was expired
// (default 1000 operations). n <= 0 turns the sweeps off: run
// [Store.Expire] yourself, or the tables grow without bound.
func WithExpireEvery(n int) Option { return func(o *options) { o.expireEvery = n } }

// WithLogger sets the logger for what [New]'s check finds and for sweeps
// that fail (default slog.Default(); nil keeps the default).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// WithTransactions makes the store commit each delivery's keys in a
// transaction the callback writes in: the receiver begins it before the
// callback, the callback finds it with [TxFromContext], and the receiver
// commits the callback's writes and the dedupe keys together, so the
// occurrence counts as processed if and only if the writes commit. Each
// delivery being processed then holds a connection of the pool until it
// settles, and costs two more round trips (BEGIN, and COMMIT after the
// keys' batch).
func WithTransactions() Option { return func(o *options) { o.tx = true } }
