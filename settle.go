package codathook

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/codathook/codathook/dedupe"
)

// settle gives back what c holds: it commits the lease when err is nil and
// releases it otherwise, frees the slot, and hands res to the concurrent
// copies waiting on the lead. It is the one place a lease is settled: after
// run, when the pipeline unwinds, and for a late detached callback.
func (r *Receiver) settle(ctx context.Context, c *claim, res outcome, err error) outcome {
	if tx := c.tx; tx != nil {
		c.tx = nil
		var committed bool
		if res, committed = r.settleTx(ctx, c, tx, res, err); !committed && err == nil {
			err = errTxNotCommitted // release below, as for a failure
		}
	}
	if lease := c.lease; lease != nil {
		c.lease = nil
		if err == nil {
			if err := lease.Commit(ctx); err != nil {
				// The event was processed: answering 503 would process it again.
				r.commitFailures.Add(1)
				r.cfg.logger.ErrorContext(ctx, "codathook: commit failed after processing; a retry or the other format's twin may be processed again", slog.Any("error", err))
			}
		} else if err := lease.Release(ctx); err != nil {
			r.cfg.logger.ErrorContext(ctx, "codathook: release failed; retries wait for the claim lease to expire", slog.Any("error", err))
		}
	}
	p := c.slot
	c.slot = permit{}
	p.release()
	if call := c.flight; call != nil {
		c.flight = nil
		r.flight.leave(c.key, call, res)
	}
	return res
}

// settleTx settles a delivery whose keys commit in its transaction tx (a
// dedupe.TxStore): on success the keys and tx commit together and the
// lease is settled (committed is true); otherwise tx is rolled back and the
// lease left for settle to release. A failed commit turns a processed
// outcome into unavailable (503), since the callback's writes may not have
// committed either.
func (r *Receiver) settleTx(ctx context.Context, c *claim, tx dedupe.Tx, res outcome, err error) (_ outcome, committed bool) {
	if err == nil && c.lease != nil {
		cerr := c.lease.CommitTx(ctx, tx)
		if cerr == nil {
			c.lease = nil
			return res, true
		}
		r.cfg.logger.ErrorContext(ctx, "codathook: the transaction did not commit; the delivery is released, and its retry is processed again unless the commit did happen",
			slog.Any("error", cerr))
		if res.result == ResultProcessed && !res.written {
			res = outcome{result: ResultUnavailable, err: &StoreError{Op: "commit", Err: cerr}}
		}
	}
	if rerr := tx.Rollback(ctx); rerr != nil {
		r.cfg.logger.WarnContext(ctx, "codathook: rolling the transaction back failed", slog.Any("error", rerr))
	}
	return res, false
}

// errTxNotCommitted marks a delivery whose transaction did not commit, for
// settle to release its claims.
var errTxNotCommitted = errors.New("codathook: the delivery's transaction did not commit")

// unwind settles what the claim still holds when process does not return:
// something panicked (the outcome becomes failed) or the callback or
// wrapped handler ended its goroutine (runtime.Goexit; the copies waiting on
// the lead then see in_flight).
func (r *Receiver) unwind(f *flow, res *outcome) {
	p := recover()
	if p == nil && !f.claim.held() {
		return // process returned: settle gave everything back
	}
	out := inFlight
	if p != nil {
		out = outcome{result: ResultFailed, err: &CallbackError{EventType: f.ev.Type, Panic: p, Stack: debug.Stack()}}
	}
	// The wrapped handler answered 2xx, then ended its goroutine
	// (runtime.Goexit), which nothing can recover. The sender may already
	// hold the 2xx (the handler flushed it): commit, so that the twin or a
	// retry is a duplicate instead of running the handler again, then flush
	// the 2xx so that the sender has it. Otherwise run did not return before
	// answering 2xx: release the claims now, so that the sender's retry
	// processes the delivery instead of finding it in flight until the
	// lease expires. The sender gets no answer (the connection or stream is
	// reset), or the non-2xx the handler wrote. (With no lease, nothing ran
	// or settle itself panicked, having dropped the lease.)
	interrupted := !f.returned && f.claim.lease != nil
	answered := interrupted && f.sw != nil && f.sw.answered2xx()
	var err error
	if interrupted && !answered {
		err = errCallbackExited
		r.cfg.logger.WarnContext(f.ctx, "codathook: the callback did not return; delivery released",
			slog.String("event_type", f.ev.Type), slog.String("delivery_id", f.del.ID))
	}
	*res = r.settle(f.ctx, &f.claim, out, err)
	if answered {
		_ = http.NewResponseController(f.w).Flush()
		r.cfg.logger.ErrorContext(f.ctx, "codathook: the wrapped handler ended its goroutine after answering 2xx; delivery committed",
			slog.Int("status", f.sw.status), slog.String("event_type", f.ev.Type), slog.String("delivery_id", f.del.ID))
	}
}
