package pgstore

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/codathook/codathook/dedupe"
	"github.com/jackc/pgx/v5"
)

// expireBound is the most rows Expire deletes from each table.
const expireBound = 1000

// maxPasses bounds one sweep: at most this many Expire calls, so that a
// backlog (after sweeps were off, say) is worked off over several sweeps
// rather than in one that runs on.
const maxPasses = 100

// Expire deletes up to 1000 expired rows from each of the store's tables,
// in one round trip, and reports how many it deleted. Rows that another
// transaction has locked are skipped (FOR UPDATE SKIP LOCKED), so Expire
// never waits for a delivery. The store calls it by itself (see
// [WithExpireEvery]); call it yourself, until it returns less than 2000,
// when the sweeps are off. Expired rows are ignored whether or not they
// were deleted: expiring only keeps the tables bounded.
func (s *Store) Expire(ctx context.Context) (int64, error) {
	if s.closed.Load() {
		return 0, dedupe.ErrClosed
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	n, _, err := s.expire(ctx, s.pool)
	return n, err
}

// expire runs one Expire pass on q; full reports whether a table had at
// least a full bound of expired rows.
func (s *Store) expire(ctx context.Context, q querier) (n int64, full bool, err error) {
	var now any
	if s.now != nil {
		now = s.now()
	}
	b := &pgx.Batch{}
	b.Queue(s.sql.expireClaims, now, expireBound)
	b.Queue(s.sql.expireArrivals, now, expireBound)
	br := q.SendBatch(ctx, b)
	for range 2 {
		tag, err := br.Exec()
		if err != nil {
			_ = br.Close()
			return 0, false, fmt.Errorf("pgstore: expire: %w", err)
		}
		n += tag.RowsAffected()
		full = full || tag.RowsAffected() == expireBound
	}
	if err := br.Close(); err != nil {
		return 0, false, fmt.Errorf("pgstore: expire: %w", err)
	}
	return n, full, nil
}

// count adds n operations and starts a sweep each time the count passes a
// multiple of the store's period.
func (s *Store) count(n int) {
	if s.every == 0 {
		return
	}
	after := s.ops.Add(uint64(n))
	if after/s.every == (after-uint64(n))/s.every {
		return
	}
	if !s.sweeping.CompareAndSwap(false, true) {
		return // one sweep at a time; it goes on while rows are left
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		s.sweeping.Store(false)
		return
	}
	s.sweeps.Add(1)
	go s.sweep()
}

// sweep calls expire until a pass finds less than a full bound of expired
// rows in each table, at most maxPasses times, or until Close. A failure
// is logged; the next sweep tries again.
func (s *Store) sweep() {
	defer s.sweeps.Done()
	defer s.sweeping.Store(false)
	for range maxPasses {
		ctx, cancel := s.bound(s.sweepCtx)
		_, full, err := s.expire(ctx, s.pool)
		cancel()
		if err != nil {
			if s.sweepCtx.Err() == nil { // not stopped by Close
				s.logger.Warn("pgstore: deleting expired rows failed; the next sweep tries again", slog.Any("error", err))
			}
			return
		}
		if !full || s.sweepCtx.Err() != nil {
			return
		}
	}
}
