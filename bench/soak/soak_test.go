package soak

import (
	"flag"
	"testing"
)

var (
	occurrencesFlag = flag.Int("soak.occurrences", 600, "occurrences the migration soak generates")
	workersFlag     = flag.Int("soak.workers", 8, "concurrent occurrences in flight")
	failRateFlag    = flag.Float64("soak.failrate", 0.1, "probability that a callback call fails")
	slowRateFlag    = flag.Float64("soak.slowrate", 0.01, "probability that a callback call outlives the 100 ms callback deadline (ignoring its context) and then succeeds")
)

// TestReplicas: three receivers share one redis-server; at least 10,000
// deliveries (retries, concurrent copies, resends and cross-format twins, each
// to a random replica) reach the callbacks exactly once per occurrence.
func TestReplicas(t *testing.T) {
	t.Parallel()
	s := newSim(t, simConfig{replicas: 3, failRate: 0.05, flags: flags(true, true), seed: 1})
	var occs []*occurrence
	for n := 3000; ; n += 500 {
		occs = generate(t, n, 1)
		break
	}
	s.run(occs, *workersFlag, nil)
	for s.attempts.Load() < 10_000 { // top up until 10,000 deliveries were sent
		more := generate(t, 500, uint64(2+s.attempts.Load()))
		s.run(more, *workersFlag, nil)
		occs = append(occs, more...)
	}
	r := s.check(occs)
	t.Logf("replicas=3 deliveries=%d concurrent-copies=%d resends=%d injected-failures=%d %v",
		s.attempts.Load(), s.copies.Load(), s.resends.Load(), s.injected.Load(), r)
	if r.processed == 0 {
		t.Fatal("nothing was processed")
	}
}

// TestSoak is the migration soak: occurrences of every event type, in both
// formats, to the legacy and new endpoints of three replicas, while the
// operator walks the flags through Codat's expand/contract stages mid-stream
// (legacy only, both, new only), with callbacks failing at random and
// some outliving the callback deadline (answered 503 at the deadline, then
// committed by their late success).
//
//	go test -run Soak -soak.occurrences 20000 -v .
func TestSoak(t *testing.T) {
	t.Parallel()
	s := newSim(t, simConfig{replicas: 3, failRate: *failRateFlag, slowRate: *slowRateFlag, flags: flags(true, false), seed: 99})
	occs := generate(t, *occurrencesFlag, 99)
	n := len(occs)
	s.run(occs, *workersFlag, func(done int) {
		switch done {
		case n / 3:
			s.provider.UpdateFlags(flags(true, true)) // step 4: both consumers on
		case 2 * n / 3:
			s.provider.UpdateFlags(flags(false, true)) // step 5: legacy off
		}
	})
	r := s.check(occs)
	t.Logf("replicas=3 occurrences=%d deliveries=%d concurrent-copies=%d resends=%d injected-failures=%d slow-callbacks=%d %v",
		n, s.attempts.Load(), s.copies.Load(), s.resends.Load(), s.injected.Load(), s.slow.Load(), r)
	if r.processed < n/2 {
		t.Errorf("only %d of %d occurrences processed", r.processed, n)
	}
}
