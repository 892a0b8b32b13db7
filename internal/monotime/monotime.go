// Package monotime reads the time for the expiry checks of codathook's
// in-memory caches from the monotonic clock.
package monotime

import "time"

// Clock returns a clock reporting Unix nanoseconds: the wall time when
// Clock was called plus the monotonic time elapsed since. Its readings are
// immune to steps of the wall clock, and each costs one read of the
// monotonic clock, about half the cost of time.Now (which reads the wall
// clock too).
func Clock() func() int64 {
	base := time.Now()
	baseUnix := base.UnixNano()
	return func() int64 { return baseUnix + int64(time.Since(base)) }
}

// Of returns a clock reporting now's readings in Unix nanoseconds, or
// [Clock] when now is nil.
func Of(now func() time.Time) func() int64 {
	if now == nil {
		return Clock()
	}
	return func() int64 { return now().UnixNano() }
}
