package gate

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
	"golang.org/x/sync/singleflight"
)

// An evaluation with a timeout runs on a goroutine of its own, so that a
// provider that ignores its context cannot stall a delivery. Two things keep
// those goroutines bounded when the provider hangs:
//
//   - sharing: concurrent deliveries with the same evaluation input (the
//     decision cache's key) and the same epoch (see Gate.epoch) wait for one
//     evaluation, through a singleflight.Group;
//   - a slot: an evaluation runs only while it holds one of MaxInFlight
//     slots (a semaphore.Weighted). An evaluation that finds none returns
//     at once with errOverloaded, so a hung provider holds at most
//     MaxInFlight goroutines; each delivery still waits at most Timeout.
//
// The slot is held until the provider returns, not until the delivery gives
// up: it bounds goroutines, not waiting time.

// evaluation is one flag evaluation run on its own goroutine, with what it
// needs and, once it has run, its outcome: one allocation for both.
type evaluation struct {
	g       *Gate
	ep      *endpointGate
	ctx     context.Context
	evalCtx openfeature.EvaluationContext
	key     cacheKey
	share   bool // other deliveries may wait for it too
	store   bool // cache a successful outcome under key
	o       outcome
}

// run evaluates the flag, holding a slot, and releases the slot.
func (e *evaluation) run() {
	g := e.g
	defer g.release()
	presizeStack()
	var gen uint64
	if e.store {
		gen = g.cache.generation()
	}
	base := e.ctx
	if e.share {
		// A shared evaluation must not fail every delivery waiting for it
		// because the one that started it went away.
		base = context.WithoutCancel(base)
	}
	tctx, cancel := context.WithTimeout(base, g.timeout)
	defer cancel()
	e.o = g.safeCall(tctx, e.ep.flag, !e.ep.failClosed, e.evalCtx)
	// A provider that gave up because of our deadline reports a timeout.
	if e.o.err != nil && errors.Is(tctx.Err(), context.DeadlineExceeded) && base.Err() == nil {
		e.o.err = fmt.Errorf("%w after %v: %w", ErrTimeout, g.timeout, e.o.err)
	}
	if e.store && e.o.err == nil {
		g.cache.put(e.ep, e.key, &e.o, gen)
	}
}

// shared is the singleflight function: it runs the evaluation if a slot is
// free and returns the outcome (a *outcome).
func (e *evaluation) shared() (any, error) {
	if !e.g.acquire() {
		return e.ep.refused, nil
	}
	e.run()
	return &e.o, nil
}

// bounded evaluates ep's flag on a goroutine that holds a slot, waiting at
// most g.timeout. With share, a concurrent delivery whose evaluation has the
// same key shares it; with store, a successful outcome is cached under key
// (the evaluation stores it, even when every delivery waiting for it has
// given up).
func (g *Gate) bounded(ctx context.Context, ep *endpointGate, evalCtx openfeature.EvaluationContext, share bool, key cacheKey, store bool) outcome {
	e := &evaluation{g: g, ep: ep, ctx: ctx, evalCtx: evalCtx, key: key, share: share, store: store}
	var (
		ch   <-chan singleflight.Result
		fkey string
	)
	if share {
		fkey = flightKey(key, g.epoch.Load())
		ch = g.flight.DoChan(fkey, e.shared)
	} else {
		if !g.acquire() {
			return *ep.refused
		}
		c := make(chan singleflight.Result, 1)
		go func() {
			e.run()
			c <- singleflight.Result{Val: &e.o}
		}()
		ch = c
	}
	if g.testHookWaiting != nil {
		g.testHookWaiting()
	}

	timer := time.NewTimer(g.timeout)
	defer timer.Stop()
	select {
	case r := <-ch:
		return *r.Val.(*outcome)
	case <-timer.C:
	case <-ctx.Done():
	}
	select {
	case r := <-ch: // finished at the same instant: use it
		return *r.Val.(*outcome)
	default:
	}
	o := outcome{value: !ep.failClosed, reason: string(openfeature.ErrorReason)}
	if err := ctx.Err(); err != nil {
		o.err = fmt.Errorf("evaluation abandoned: %w", err)
		return o
	}
	if share {
		// Deliveries from now on start a new evaluation (if a slot is free)
		// rather than wait for this one, which may never end. At worst this
		// forgets a newer evaluation of the same key, which then runs
		// unshared.
		g.flight.Forget(fkey)
	}
	o.err = fmt.Errorf("%w after %v", ErrTimeout, g.timeout)
	return o
}

// acquire takes an evaluation slot if one is free.
func (g *Gate) acquire() bool {
	if !g.sem.TryAcquire(1) {
		return false
	}
	g.inFlight.Add(1)
	return true
}

func (g *Gate) release() {
	g.inFlight.Add(-1)
	g.sem.Release(1)
}

// flightKey is the singleflight key of an evaluation input's hash in an
// epoch: after an invalidation, deliveries no longer join evaluations that
// started before it.
func flightKey(k cacheKey, epoch uint64) string {
	var b [24]byte
	binary.LittleEndian.PutUint64(b[0:], k[0])
	binary.LittleEndian.PutUint64(b[8:], k[1])
	binary.LittleEndian.PutUint64(b[16:], epoch)
	return string(b[:])
}

// presizeStack grows a new goroutine's stack while it is still shallow. An
// evaluation through the OpenFeature SDK needs between 4 and 8 KiB of stack,
// and a goroutine starts with 2 KiB: left alone, the stack is grown twice
// from deep inside the SDK, each time copying and adjusting every frame,
// which cost an evaluation goroutine about a third of its time
// (gate/uncached-timeout, go1.26 amd64). Touching a 4 KiB frame first makes
// the one growth to 8 KiB, which the evaluation would reach anyway, cheap.
//
//go:noinline
func presizeStack() byte {
	var b [4 << 10]byte
	return lastByte(b[:])
}

//go:noinline
func lastByte(b []byte) byte { return b[len(b)-1] }
