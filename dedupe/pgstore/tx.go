package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/codathook/codathook/dedupe"
)

// The store is a dedupe.TxStore: the receiver commits a delivery's keys in
// the transaction its callback writes in.
var _ dedupe.TxStore = (*Store)(nil)

type txKey struct{}

// TxFromContext returns the transaction of the delivery being processed,
// from the context the receiver gives a callback (or a wrapped handler,
// through the request's context) when its store is a pgstore Store. Run
// the callback's writes in it: the receiver commits them together with
// the delivery's dedupe keys, so that the occurrence counts as processed
// if and only if the writes commit. Do not commit or roll it back
// yourself; return an error to roll it back.
func TxFromContext(ctx context.Context) (pgx.Tx, bool) {
	t, ok := ctx.Value(txKey{}).(*tx)
	if !ok {
		return nil, false
	}
	return t.tx, true
}

// BeginTx begins one delivery's transaction on a connection of the pool
// (held until the receiver commits or rolls it back) and returns ctx
// carrying it, for [TxFromContext]. It implements [dedupe.TxStore]. Without
// [WithTransactions] it begins nothing and returns a nil Tx: the receiver
// then commits the keys on their own.
func (s *Store) BeginTx(ctx context.Context) (context.Context, dedupe.Tx, error) {
	if !s.tx {
		return ctx, nil, nil
	}
	if s.closed.Load() {
		return ctx, nil, dedupe.ErrClosed
	}
	bctx, cancel := s.bound(ctx)
	defer cancel()
	t, err := s.pool.Begin(bctx)
	if err != nil {
		return ctx, nil, fmt.Errorf("pgstore: begin: %w", err)
	}
	x := &tx{s: s, tx: t}
	return context.WithValue(ctx, txKey{}, x), x, nil
}

// tx is one delivery's transaction.
type tx struct {
	s  *Store
	tx pgx.Tx
}

// Commit runs ops (the delivery's key commits) in the transaction, after
// the callback's writes, and commits it: all or nothing.
func (t *tx) Commit(ctx context.Context, ops []dedupe.Op) error {
	if t.s.closed.Load() {
		return dedupe.ErrClosed
	}
	ctx, cancel := t.s.bound(ctx)
	defer cancel()
	if err := t.s.run(ctx, t.tx, ops); err != nil {
		return err
	}
	t.s.count(len(ops))
	if err := t.tx.Commit(ctx); err != nil {
		return fmt.Errorf("pgstore: commit: %w", err)
	}
	return nil
}

// Rollback abandons the transaction; after Commit it does nothing.
func (t *tx) Rollback(ctx context.Context) error {
	ctx, cancel := t.s.bound(ctx)
	defer cancel()
	if err := t.tx.Rollback(ctx); err != nil && !errors.Is(err, pgx.ErrTxClosed) {
		return fmt.Errorf("pgstore: rollback: %w", err)
	}
	return nil
}
