package codathook

import "time"

// do runs fn as the leader of key, as the pipeline's claim and settle do
// with join and leave, unless a call for key is already running: then it
// waits up to wait for that call's outcome. leader reports whether fn ran.
// A leader whose fn ends its goroutine hands its waiters in_flight.
func (g *flightGroup) do(key string, wait time.Duration, fn func() outcome) (res outcome, leader bool) {
	c, res := g.join(key, wait)
	if c == nil {
		return res, false
	}
	res = inFlight
	defer func() { g.leave(key, c, res) }()
	res = fn()
	return res, true
}
