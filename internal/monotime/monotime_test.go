package monotime_test

import (
	"testing"
	"time"

	"github.com/codathook/codathook/internal/monotime"
)

func TestClockFollowsTime(t *testing.T) {
	t.Parallel()
	c := monotime.Clock()
	before := time.Now().UnixNano()
	a := c()
	time.Sleep(5 * time.Millisecond)
	b := c()
	after := time.Now().UnixNano()
	if b-a < int64(5*time.Millisecond) {
		t.Errorf("readings %d ns apart across a 5ms sleep", b-a)
	}
	// The clock starts at the wall time and runs at the monotonic clock's
	// rate; allow for a small step of the wall clock during the test.
	if slack := int64(time.Second); a < before-slack || b > after+slack {
		t.Errorf("readings %d..%d outside the wall time %d..%d", a, b, before, after)
	}
}

func TestOf(t *testing.T) {
	t.Parallel()
	at := time.Unix(1700000000, 42)
	if got := monotime.Of(func() time.Time { return at })(); got != at.UnixNano() {
		t.Errorf("Of(fixed)() = %d, want %d", got, at.UnixNano())
	}
	if got, now := monotime.Of(nil)(), time.Now().UnixNano(); got < now-int64(time.Second) || got > now+int64(time.Second) {
		t.Errorf("Of(nil)() = %d, want about %d", got, now)
	}
}
