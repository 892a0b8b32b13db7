package codathook

import (
	"sync"
	"time"

	"github.com/codathook/codathook/internal/deduper"
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
var inFlight = outcome{result: ResultInFlight, err: errInFlight, match: deduper.MatchMessage}

// join makes the caller the leader of key, returning its call, unless a
// call for key is already running: then it waits up to wait for that call's
// outcome and returns it with a nil call. A leader must leave.
func (g *flightGroup) join(key string, wait time.Duration) (*flightCall, outcome) {
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
			return nil, c.res
		case <-t.C:
			return nil, inFlight
		}
	}
	if g.m == nil {
		g.m = make(map[string]*flightCall)
	}
	c := &flightCall{res: inFlight}
	g.m[key] = c
	g.mu.Unlock()
	return c, outcome{}
}

// leave ends the leader's call c for key, handing res to its waiters.
func (g *flightGroup) leave(key string, c *flightCall, res outcome) {
	c.res = res
	g.mu.Lock()
	delete(g.m, key)
	done := c.done
	g.mu.Unlock()
	if done != nil {
		close(done)
	}
}
