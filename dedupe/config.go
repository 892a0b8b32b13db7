package dedupe

import (
	"log/slog"
	"time"
)

// Config tunes the receiver's deduplication (codathook.WithDedupe). The
// zero value and a nil *Config select the defaults. Every replica sharing a
// store must use the same Config.
type Config struct {
	// Retention is how long committed keys are remembered, and how long
	// after its occurrence time plus Window an arrival is kept for its twin
	// to pair with. The default, 34 hours, covers Svix's retry horizon
	// (27 h 35 min, up to 33 h 6 min with its ±20 % jitter) with margin: a
	// retry of a processed delivery is still a duplicate.
	Retention time.Duration
	// Window is the pairing window: a legacy and a new arrival of one
	// occurrence key are twins when their occurrence times are at most
	// Window apart. A new event's time is its generatedDate; a legacy
	// delivery's is its first arrival, which follows the occurrence by
	// Codat's queueing and by up to about 2 minutes of legacy retries. The
	// default, 10 minutes, covers that several times over, while two
	// genuine occurrences of one key rarely fall within it.
	Window time.Duration
	// MaxArrivals bounds the arrivals one occurrence key records per side
	// and window-aligned interval (default 64). An arrival past it is
	// processed without pairing: its twin may be processed too.
	MaxArrivals int
	// Lease is the TTL of a claim (default 2 minutes), so the claim of a
	// crashed process does not block the occurrence forever. A callback
	// that runs longer than Lease may run twice: the receiver's callback
	// timeout must be shorter than Lease.
	Lease time.Duration
	// Logger receives store errors that cannot be returned and commits made
	// after their lease expired (default: the receiver's logger).
	Logger *slog.Logger
	// Now is the clock for lease deadlines (default: the receiver's clock).
	// Stores keep their own clocks for expiry.
	Now func() time.Time
}
