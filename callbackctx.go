package codathook

import (
	"context"
	"sync"
	"time"
)

// callbackCtx is the context a callback runs with on the request's
// goroutine: the request's values plus the delivery, the callback deadline,
// and cancellation when the deadline passes (Err: context.DeadlineExceeded)
// or when the callback returns (context.Canceled), as with
// context.WithTimeout. It exists so that one timer, the watchdog's, serves
// both the deadline and the early answer: context.WithTimeout would arm a
// second one for every delivery. Measured against context.WithTimeout with
// the watchdog on context.AfterFunc (issue 14): that costs 9 allocations
// and about 15% of a new-format delivery's time.
//
// It implements the AfterFunc method the context package looks for, so
// contexts derived from it (context.WithCancel, WithTimeout, AfterFunc) are
// cancelled with it without a goroutine each.
type callbackCtx struct {
	parent   context.Context
	deadline time.Time
	del      *Delivery

	mu     sync.Mutex
	done   chan struct{} // made on first use
	err    error
	afters map[*afterCall]struct{}
}

// afterCall is one function registered with AfterFunc.
type afterCall struct{ f func() }

var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

func newCallbackCtx(parent context.Context, deadline time.Time, del *Delivery) *callbackCtx {
	return &callbackCtx{parent: parent, deadline: deadline, del: del}
}

// Deadline returns the callback deadline.
func (c *callbackCtx) Deadline() (time.Time, bool) { return c.deadline, true }

// Done returns a channel closed when the context is cancelled.
func (c *callbackCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil { // cancel sets done, so the context is not cancelled yet
		c.done = make(chan struct{})
	}
	return c.done
}

// Err returns nil until the context is cancelled, then
// context.DeadlineExceeded or context.Canceled.
func (c *callbackCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Value returns the delivery for the delivery key and otherwise the
// request context's value.
func (c *callbackCtx) Value(key any) any {
	if key == deliveryCtxKey {
		return c.del
	}
	return c.parent.Value(key)
}

// AfterFunc arranges for f to run in its own goroutine once the context is
// cancelled (at once if it already is). stop unregisters f and reports
// whether it did so before f was started.
func (c *callbackCtx) AfterFunc(f func()) (stop func() bool) {
	a := &afterCall{f: f}
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	if c.afters == nil {
		c.afters = make(map[*afterCall]struct{})
	}
	c.afters[a] = struct{}{}
	c.mu.Unlock()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if _, ok := c.afters[a]; !ok {
			return false
		}
		delete(c.afters, a)
		return true
	}
}

// cancel cancels the context with err (the first cancel wins) and starts
// the functions registered with AfterFunc.
func (c *callbackCtx) cancel(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	if c.done == nil {
		c.done = closedChan
	} else {
		close(c.done)
	}
	afters := c.afters
	c.afters = nil
	c.mu.Unlock()
	for a := range afters {
		go a.f()
	}
}

// String names the context, as the context package's own types do.
func (c *callbackCtx) String() string { return "codathook.callbackCtx" }
