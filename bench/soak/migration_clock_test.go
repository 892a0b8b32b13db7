package soak

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// The migration simulation's clock, its schedule of attempts, and the
// sender's reading of Retry-After.

// pending is one scheduled attempt.
type pending struct {
	at  time.Time
	seq int
	d   *delivery
	n   int
}

type schedule []pending

func (s schedule) Len() int { return len(s) }
func (s schedule) Less(i, j int) bool {
	if !s[i].at.Equal(s[j].at) {
		return s[i].at.Before(s[j].at)
	}
	return s[i].seq < s[j].seq
}
func (s schedule) Swap(i, j int) { s[i], s[j] = s[j], s[i] }
func (s *schedule) Push(x any)   { *s = append(*s, x.(pending)) }
func (s *schedule) Pop() any {
	old := *s
	p := old[len(old)-1]
	*s = old[:len(old)-1]
	return p
}

// simClock is the simulated time: it stands still between the instants the
// simulation sets. It is safe for concurrent use.
type simClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *simClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// retryAfter parses a Retry-After header: seconds or an HTTP date.
func (m *migration) retryAfter(a reply) (time.Duration, bool) {
	if a.retryAfter == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(a.retryAfter); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(a.retryAfter); err == nil {
		return max(0, t.Sub(a.at)), true
	}
	return 0, false
}
