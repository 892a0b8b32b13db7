package pgstore

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/codathook/codathook/dedupe"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// querier is what every statement of the store runs on: a *pgxpool.Pool,
// and later a caller's pgx.Tx, so that the commit of a lease's keys can run
// in the transaction of a callback's own writes.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

var (
	_ querier = (*pgxpool.Pool)(nil)
	_ querier = pgx.Tx(nil)
	_ querier = (*pgx.Conn)(nil)
)

// Store is a [dedupe.Store] on PostgreSQL. It is safe for concurrent use
// by any number of goroutines and processes sharing its tables. It also
// implements [dedupe.BatchStore]: a batch is one pgx.Batch, one round trip
// and one transaction.
type Store struct {
	pool    *pgxpool.Pool
	names   names
	sql     statements
	now     func() time.Time // nil: the server's clock
	timeout time.Duration
	tx      bool   // WithTransactions
	every   uint64 // 0: no sweeps
	logger  *slog.Logger
	salt    uint64 // mixed into advisory lock ids: one per arrivals table

	closed atomic.Bool
	ops    atomic.Uint64 // operations run, for the sweeps

	mu       sync.Mutex // guards starting a sweep against Close
	sweeping atomic.Bool
	sweeps   sync.WaitGroup
	stop     context.CancelFunc // cancels sweepCtx
	sweepCtx context.Context
}

var _ dedupe.BatchStore = (*Store)(nil)

// New returns a store on pool's database, after checking, in one round
// trip, that the server can hold the store's rows as it promises:
//
//   - the tables exist (create them first with [CreateSchema], or with a
//     migration of [SchemaSQL]);
//   - the server is not a read-only standby (pg_is_in_recovery());
//   - the session's transaction isolation is read committed, PostgreSQL's
//     default: the statements rely on each seeing the rows committed
//     before it (under repeatable read an Arrive could miss its twin);
//   - fsync off and synchronous_commit off are logged at Warn: a crash of
//     the server can then forget commits (see the package documentation,
//     Durability).
//
// ctx bounds the check; without a deadline New gives it 3 s. The store
// does not own pool: Close leaves it open.
func New(ctx context.Context, pool *pgxpool.Pool, opts ...Option) (*Store, error) {
	if ctx == nil {
		return nil, errors.New("pgstore: nil context")
	}
	if pool == nil {
		return nil, errors.New("pgstore: nil pool")
	}
	o := newOptions(opts)
	n, err := check(ctx, pool, &o)
	if err != nil {
		return nil, err
	}
	s := &Store{pool: pool, names: n, sql: newStatements(n), now: o.now, timeout: o.timeout, logger: o.logger, tx: o.tx}
	if o.expireEvery > 0 {
		s.every = uint64(o.expireEvery)
	}
	h := sha256.Sum256([]byte(n.arrivals))
	s.salt = binary.BigEndian.Uint64(h[:8])
	s.sweepCtx, s.stop = context.WithCancel(context.WithoutCancel(ctx))
	return s, nil
}

// Ping reports whether the server answers, for the receiver's readiness
// check (codathook's Receiver.Ready).
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return dedupe.ErrClosed
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("pgstore: ping: %w", err)
	}
	return nil
}

// Claim implements [dedupe.Store.Claim]: an INSERT ... ON CONFLICT DO
// UPDATE that takes an absent or expired key, then a read of the key's
// state, in one round trip.
func (s *Store) Claim(ctx context.Context, key string, ttl time.Duration) (dedupe.State, error) {
	op := s.one(ctx, dedupe.Op{Kind: dedupe.OpClaim, Key: key, TTL: ttl})
	return op.State, op.Err
}

// Commit implements [dedupe.Store.Commit] with an INSERT ... ON CONFLICT
// DO UPDATE.
func (s *Store) Commit(ctx context.Context, key string, ttl time.Duration) error {
	return s.one(ctx, dedupe.Op{Kind: dedupe.OpCommit, Key: key, TTL: ttl}).Err
}

// Release implements [dedupe.Store.Release]: it deletes the key's row
// while it is Pending.
func (s *Store) Release(ctx context.Context, key string) error {
	return s.one(ctx, dedupe.Op{Kind: dedupe.OpRelease, Key: key}).Err
}

// Arrive implements [dedupe.Store.Arrive]: under a transaction-level
// advisory lock of the occurrence key, one statement applies the rules of
// [dedupe.Arrival] to the key's arrivals, in one round trip.
func (s *Store) Arrive(ctx context.Context, key string, a dedupe.Arrival) (dedupe.Pairing, error) {
	op := s.one(ctx, dedupe.Op{Kind: dedupe.OpArrive, Key: key, Arrival: a})
	return op.Pairing, op.Err
}

// Close marks the store closed and stops a sweep in progress, waiting for
// it within ctx; it does not close the pool. It is idempotent; afterwards
// every method returns [dedupe.ErrClosed].
func (s *Store) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed.Store(true)
	s.stop()
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.sweeps.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("pgstore: close: waiting for the sweep: %w", ctx.Err())
	}
}

// one runs a single op.
func (s *Store) one(ctx context.Context, op dedupe.Op) dedupe.Op {
	ops := [1]dedupe.Op{op}
	_ = s.Do(ctx, ops[:])
	return ops[0]
}

// bound applies the store's timeout to ctx.
func (s *Store) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.timeout)
}

// Do implements [dedupe.BatchStore.Do]: the ops go out as one pgx.Batch,
// one round trip, which PostgreSQL runs as one transaction. The ops run
// ordered by key (arrivals first), so that batches sharing keys take their
// locks in one order and never deadlock. Should a statement fail, the
// transaction rolls back and every op gets the error. A batch with a gate
// or slot claims ([dedupe.Op.Gate], [dedupe.Op.SlotPrefix]) runs in steps
// ([dedupe.DoInSteps]), one pgx.Batch each: a new delivery's Begin takes
// three, a duplicate one.
func (s *Store) Do(ctx context.Context, ops []dedupe.Op) error {
	if s.closed.Load() {
		for i := range ops {
			ops[i].Err = dedupe.ErrClosed
		}
		return dedupe.ErrClosed
	}
	for i := range ops {
		if k := ops[i].Kind; k < dedupe.OpClaim || k > dedupe.OpArrive {
			err := fmt.Errorf("pgstore: unknown op kind %d", k)
			for j := range ops {
				ops[j].Err = err
			}
			return err
		}
	}
	if len(ops) == 0 {
		return nil
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	// A gate or a slot claim depends on an earlier result: the batch runs
	// in steps, each one round trip (see dedupe.DoInSteps).
	err := dedupe.DoInSteps(ctx, ops, func(ctx context.Context, ops []dedupe.Op) error {
		return s.run(ctx, s.pool, ops)
	})
	s.count(len(ops))
	return err
}

// prepared is an op with what its statements need: its key's digest, and
// for an arrival its advisory lock.
type prepared struct {
	op     *dedupe.Op
	digest [digestLen]byte
	lock   int64
}

// digestLen is how much of a key's SHA-256 the tables keep: 128 bits, so
// two keys collide with probability 2^-128 per pair.
const digestLen = 16

func digest(key string) [digestLen]byte {
	h := sha256.Sum256([]byte(key))
	return [digestLen]byte(h[:digestLen])
}

// run runs ops on q as one batch: the store's only way to the database.
func (s *Store) run(ctx context.Context, q querier, ops []dedupe.Op) error {
	ps := make([]prepared, len(ops))
	for i := range ops {
		ops[i].Err = nil
		p := &ps[i]
		p.op, p.digest = &ops[i], digest(ops[i].Key)
		if ops[i].Kind == dedupe.OpArrive {
			p.lock = int64(binary.BigEndian.Uint64(p.digest[:8]) ^ s.salt)
		}
	}
	// One lock order for every batch: arrivals by lock id, then claim keys
	// by digest.
	slices.SortFunc(ps, func(a, b prepared) int {
		aa, ba := a.op.Kind == dedupe.OpArrive, b.op.Kind == dedupe.OpArrive
		switch {
		case aa && ba:
			return cmp.Compare(a.lock, b.lock)
		case aa:
			return -1
		case ba:
			return 1
		}
		return bytes.Compare(a.digest[:], b.digest[:])
	})
	var now any // nil: the statements read the server's clock
	if s.now != nil {
		now = s.now()
	}
	b := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, 2*len(ps))}
	for i := range ps {
		s.queue(b, &ps[i], now)
	}
	br := q.SendBatch(ctx, b)
	var err error
	for i := range ps {
		if err = s.read(br, ps[i].op); err != nil {
			break
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		var first error
		for i := range ops {
			ops[i].Err = fmt.Errorf("pgstore: %s: %w", opName[ops[i].Kind], err)
			if first == nil {
				first = ops[i].Err
			}
		}
		return first
	}
	return nil
}

var opName = [...]string{dedupe.OpClaim: "claim", dedupe.OpCommit: "commit", dedupe.OpRelease: "release", dedupe.OpArrive: "arrive"}

// micros is a TTL in whole microseconds (timestamptz's resolution),
// rounded up, at least 1.
func micros(ttl time.Duration) int64 {
	if ttl <= 0 {
		return 1
	}
	return int64((ttl + time.Microsecond - 1) / time.Microsecond)
}

// windowMillis is the pairing window in whole milliseconds, rounded up, at
// least 1.
func windowMillis(w time.Duration) int64 {
	return max(1, int64((w+time.Millisecond-1)/time.Millisecond))
}

// queue adds p's statements to b.
func (s *Store) queue(b *pgx.Batch, p *prepared, now any) {
	op := p.op
	key := p.digest[:]
	switch op.Kind {
	case dedupe.OpClaim:
		b.Queue(s.sql.claim, key, now, micros(op.TTL))
		b.Queue(s.sql.state, key)
	case dedupe.OpCommit:
		b.Queue(s.sql.commit, key, now, micros(op.TTL))
	case dedupe.OpRelease:
		b.Queue(s.sql.release, key)
	case dedupe.OpArrive:
		a := &op.Arrival
		at, w := a.At.UnixMilli(), windowMillis(a.Window)
		lo := at / w * w
		if at%w != 0 && at < 0 {
			lo -= w
		}
		// The arrival is kept TTL, and as much longer as its
		// window-aligned interval reaches past At, as the LRU keeps it.
		keep := micros(a.TTL) + (lo+w-at)*1000
		limit := a.Limit
		if limit <= 0 || limit > math.MaxInt32 {
			limit = math.MaxInt32
		}
		b.Queue(s.sql.lock, p.lock)
		b.Queue(s.sql.arrive, key, []byte(a.Side), []byte(a.Member), at, w, lo, int32(limit), now, keep, int64(rand.Uint64()))
	}
}

// read reads p's results from br into op. An error is the batch's: the
// transaction failed.
func (s *Store) read(br pgx.BatchResults, op *dedupe.Op) error {
	switch op.Kind {
	case dedupe.OpClaim:
		var took bool
		err := br.QueryRow().Scan(&took)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		var done bool
		if serr := br.QueryRow().Scan(&done); serr != nil {
			if errors.Is(serr, pgx.ErrNoRows) { // the claim inserted or locked the row: it must be there
				serr = errors.New("the claimed key's row is missing")
			}
			return serr
		}
		switch {
		case err == nil:
			op.State = dedupe.Claimed
		case done:
			op.State = dedupe.Done
		default:
			op.State = dedupe.Pending
		}
	case dedupe.OpCommit, dedupe.OpRelease:
		if _, err := br.Exec(); err != nil {
			return err
		}
	case dedupe.OpArrive:
		if _, err := br.Exec(); err != nil { // the lock
			return err
		}
		var (
			epoch, slot int64
			paired      bool
		)
		err := br.QueryRow().Scan(&epoch, &slot, &paired)
		switch {
		case errors.Is(err, pgx.ErrNoRows): // the Limit rule
			op.Pairing = dedupe.Pairing{}
		case err != nil:
			return err
		default:
			op.Pairing = dedupe.Pairing{Epoch: strconv.FormatUint(uint64(epoch), 36), Slot: slot, Paired: paired}
		}
	}
	return nil
}
