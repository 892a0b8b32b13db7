package codathook

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/codathook/codathook/normalize"
)

// runCallback runs the registered callback on the request's goroutine
// under the callback deadline (HTTP/1.x). It returns the outcome to report and the
// callback's own error, which settles the lease.
//
// When the deadline passes before the callback returns, a watchdog answers
// the delivery at once from the timer's goroutine (503 through the error
// handler, with Content-Length and Connection: close, flushed), so the sender
// gets its retryable answer in time even from a callback that ignores its
// context. The callback's eventual result then settles the lease: a late
// success commits (a retry is then a duplicate), a failure releases.
func (r *Receiver) runCallback(ctx context.Context, w http.ResponseWriter, req *http.Request, del *Delivery, ev *normalize.Event) (outcome, error) {
	cctx := newCallbackCtx(ctx, time.Now().Add(r.cfg.callbackTimeout), del)
	wd := startWatchdog(r, w, req, cctx)
	returned := false
	defer func() {
		if !returned { // the callback called runtime.Goexit
			wd.finish()
		}
	}()
	err := r.safeDispatch(cctx, ev)
	returned = true
	if status := wd.finish(); status != 0 {
		return outcome{result: ResultFailed, err: errCallbackTimeout, written: true, status: status}, err
	}
	if err != nil {
		return failedOutcome(err), err
	}
	return outcome{result: ResultProcessed}, nil
}

// failedOutcome is the outcome of a callback that returned err: rejected
// when err is [Permanent], failed otherwise.
func failedOutcome(err error) outcome {
	if isPermanent(err) {
		return outcome{result: ResultRejected, err: err}
	}
	return outcome{result: ResultFailed, err: err}
}

// watchdog answers a delivery whose callback outlives the callback deadline.
// It writes the response from the timer's goroutine while the callback runs
// on the request's: the request's goroutine does not touch the
// ResponseWriter until finish has returned, and mu orders the two.
// Watchdogs whose timer never fired are reused, timer included.
type watchdog struct {
	r   *Receiver
	w   http.ResponseWriter
	req *http.Request
	ctx *callbackCtx
	t   *time.Timer

	mu       sync.Mutex
	finished bool // the callback returned: the request's goroutine answers
	status   int  // the status fire answered with; 0 if it did not
}

var watchdogs sync.Pool // of *watchdog with a stopped timer

// startWatchdog arms a watchdog for one callback run.
func startWatchdog(r *Receiver, w http.ResponseWriter, req *http.Request, ctx *callbackCtx) *watchdog {
	wd, _ := watchdogs.Get().(*watchdog)
	if wd == nil {
		wd = &watchdog{}
		wd.t = time.AfterFunc(time.Hour, wd.fire)
		wd.t.Stop()
	}
	wd.mu.Lock() // orders these writes before fire's reads
	wd.r, wd.w, wd.req, wd.ctx = r, w, req, ctx
	wd.finished, wd.status = false, 0
	wd.t.Reset(r.cfg.callbackTimeout)
	wd.mu.Unlock()
	return wd
}

// fire runs at the deadline: unless the callback has returned, it cancels
// the callback's context and answers 503 (through the error handler) as a
// complete response, flushed.
func (wd *watchdog) fire() {
	wd.mu.Lock()
	defer wd.mu.Unlock()
	if wd.finished {
		return
	}
	wd.ctx.cancel(context.DeadlineExceeded)
	// fire runs on the timer's goroutine, where nothing recovers a panic of
	// the error handler: recover it, and leave the answer to the request's
	// goroutine (status 0), as if the watchdog had not fired.
	defer func() {
		if p := recover(); p != nil {
			wd.status = 0
			wd.r.cfg.logger.Error("codathook: the error handler panicked answering at the callback deadline; the delivery is answered when the callback returns",
				slog.Any("panic", p))
		}
	}()
	wd.status = wd.r.answer(wd.w, wd.req, outcome{result: ResultFailed, err: errCallbackTimeout}, true)
}

// finish stops the watchdog, waiting for a fire in progress, cancels the
// callback's context (as the cancel of context.WithTimeout would) and
// returns the status fire answered with (0 if it did not). Call it once: a
// watchdog whose timer had not fired goes back to the pool.
func (wd *watchdog) finish() int {
	if wd.t.Stop() {
		wd.mu.Lock()
		ctx := wd.ctx
		wd.r, wd.w, wd.req, wd.ctx = nil, nil, nil, nil
		wd.mu.Unlock()
		watchdogs.Put(wd)
		ctx.cancel(context.Canceled)
		return 0
	}
	wd.mu.Lock()
	defer wd.mu.Unlock()
	wd.finished = true
	wd.ctx.cancel(context.Canceled) // no-op when fire cancelled it
	return wd.status
}

// runCallbackDetached runs the registered callback on a goroutine of its own
// under the callback deadline, for HTTP/2 and later, where a handler cannot
// end its stream before it returns. When the deadline passes first, the
// delivery is answered 503 at once and the lease and the slot of c pass to
// the late callback, whose eventual result settles them: a late success
// commits, a failure releases, and the bound counts the callback for as long
// as it runs.
func (r *Receiver) runCallbackDetached(ctx context.Context, ev *normalize.Event, c *claim) (outcome, error) {
	cctx, cancel := context.WithTimeout(ctx, r.cfg.callbackTimeout)
	done := make(chan error, 1)
	go func() {
		sent := false
		defer func() {
			if !sent { // the callback called runtime.Goexit
				done <- &CallbackError{EventType: ev.Type, Err: errCallbackExited}
			}
		}()
		done <- r.safeDispatch(cctx, ev)
		sent = true
	}()
	select {
	case err := <-done:
		cancel()
		if err != nil {
			return failedOutcome(err), err
		}
		return outcome{result: ResultProcessed}, nil
	case <-cctx.Done():
		late := claim{slot: c.slot, lease: c.lease, tx: c.tx}
		c.slot, c.lease, c.tx = permit{}, nil, nil
		go func() {
			err := <-done
			cancel()
			res := outcome{result: ResultProcessed}
			if err != nil {
				res = failedOutcome(err)
			}
			r.settle(context.WithoutCancel(ctx), &late, res, err)
		}()
		return outcome{result: ResultFailed, err: errCallbackTimeout}, errCallbackTimeout
	}
}

// errCallbackExited is the failure of a callback that ended its goroutine
// with runtime.Goexit instead of returning.
var errCallbackExited = errors.New("codathook: the callback ended its goroutine (runtime.Goexit) without returning")

func (r *Receiver) safeDispatch(ctx context.Context, ev *normalize.Event) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &CallbackError{EventType: ev.Type, Panic: p, Stack: debug.Stack()}
		}
	}()
	if err := r.dispatch(ctx, ev); err != nil {
		return &CallbackError{EventType: ev.Type, Err: err}
	}
	return nil
}
