package codathook

import (
	"sync"
	"time"
)

// flightGroup runs one delivery key at a time in this process: a copy that
// arrives while the first is being processed waits for the first's outcome,
// but no longer than its own deadline, and then answers in_flight (503), so
// a callback that ignores its context never holds its copies' senders past
// the deadline. (x/sync's singleflight cannot bound a waiter's wait, and it
// re-panics in every waiter.)
type flightGroup struct {
	mu sync.Mutex
	m  map[string]*flightCall
}

type flightCall struct {
	res  outcome       // set by the leader before done is closed
	done chan struct{} // made by the first waiter, closed by the leader
}

// inFlight is what a waiter reports when it gives up, and what a leader's
// waiters see if the leader never returns (runtime.Goexit in a callback).
var inFlight = outcome{result: ResultInFlight, err: errInFlight}

// do runs fn unless a call for key is already running, in which case it
// waits up to wait for that call's outcome. leader reports whether fn ran.
func (g *flightGroup) do(key string, wait time.Duration, fn func() outcome) (res outcome, leader bool) {
	g.mu.Lock()
	if c, ok := g.m[key]; ok {
		if c.done == nil {
			c.done = make(chan struct{})
		}
		g.mu.Unlock()
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-c.done:
			return c.res, false
		case <-t.C:
			return inFlight, false
		}
	}
	if g.m == nil {
		g.m = make(map[string]*flightCall)
	}
	c := &flightCall{res: inFlight}
	g.m[key] = c
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		delete(g.m, key)
		done := c.done
		g.mu.Unlock()
		if done != nil {
			close(done)
		}
	}()
	c.res = fn()
	return c.res, true
}
