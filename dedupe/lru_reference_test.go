package dedupe_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/codathook/codathook/dedupe"
)

// refStore is a trivially correct Store model: maps plus expiry times, no
// capacity bound, on the same clock as the LRU it is compared with.
type refStore struct {
	now     func() time.Time
	claims  map[string]refClaim
	records map[string]*refRecord
	epochs  int
}

type refClaim struct {
	state   dedupe.State
	expires time.Time
}

type refRecord struct {
	epoch   string
	counts  map[string]int64
	members map[[2]string]int64
	expires time.Time
}

func newRef(now func() time.Time) *refStore {
	return &refStore{now: now, claims: map[string]refClaim{}, records: map[string]*refRecord{}}
}

func (r *refStore) live(key string) (refClaim, bool) {
	c, ok := r.claims[key]
	if !ok || !r.now().Before(c.expires) {
		return refClaim{}, false
	}
	return c, true
}

func (r *refStore) Claim(key string, ttl time.Duration) dedupe.State {
	if c, ok := r.live(key); ok {
		return c.state
	}
	r.claims[key] = refClaim{dedupe.Pending, r.now().Add(ttl)}
	return dedupe.Claimed
}

func (r *refStore) Commit(key string, ttl time.Duration) {
	r.claims[key] = refClaim{dedupe.Done, r.now().Add(ttl)}
}

func (r *refStore) Release(key string) {
	if c, ok := r.live(key); ok && c.state == dedupe.Pending {
		delete(r.claims, key)
	}
}

func (r *refStore) Arrive(key, side, member string, ttl time.Duration) (int64, string) {
	rec, ok := r.records[key]
	if !ok || !r.now().Before(rec.expires) {
		r.epochs++
		rec = &refRecord{epoch: fmt.Sprint(r.epochs), counts: map[string]int64{}, members: map[[2]string]int64{}}
		r.records[key] = rec
	}
	m := [2]string{side, member}
	o, ok := rec.members[m]
	if !ok {
		rec.counts[side]++
		o = rec.counts[side]
		rec.members[m] = o
	}
	rec.expires = r.now().Add(ttl)
	return o, rec.epoch
}

// TestLRUMatchesReference runs random operation sequences against the LRU
// and the reference model and requires identical results. Epoch values
// differ between the two, so epochs are compared by identity: a fresh
// reference epoch must be a fresh LRU epoch, and a repeated one the same.
func TestLRUMatchesReference(t *testing.T) {
	t.Parallel()
	const (
		sequences = 300
		ops       = 400
	)
	keys := []string{"a", "b", "c", "", "é"}
	sides := []string{"legacy", "new"}
	members := []string{"m1", "m2", "m3", "m4"}
	ttls := []time.Duration{time.Second, 5 * time.Second, time.Minute}
	for seed := range uint64(sequences) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, 0x5eed))
			clk := newClock()
			lru := dedupe.NewLRU(1<<16, dedupe.WithLRUClock(clk.Now))
			t.Cleanup(func() { _ = lru.Close(context.Background()) })
			ref := newRef(clk.Now)
			epochMap := map[string]string{} // reference epoch -> LRU epoch
			seenLRU := map[string]bool{}
			ctx := t.Context()
			var trace []string
			fail := func(format string, args ...any) {
				t.Helper()
				t.Fatalf("after %d ops (last: %v): "+format, append([]any{len(trace), trace[max(0, len(trace)-8):]}, args...)...)
			}
			for range ops {
				k := keys[rng.IntN(len(keys))]
				ttl := ttls[rng.IntN(len(ttls))]
				switch op := rng.IntN(6); op {
				case 0, 1:
					trace = append(trace, fmt.Sprintf("Claim(%q,%v)", k, ttl))
					got, err := lru.Claim(ctx, k, ttl)
					if err != nil {
						fail("Claim error: %v", err)
					}
					if want := ref.Claim(k, ttl); got != want {
						fail("Claim(%q) = %v, reference says %v", k, got, want)
					}
				case 2:
					trace = append(trace, fmt.Sprintf("Commit(%q,%v)", k, ttl))
					if err := lru.Commit(ctx, k, ttl); err != nil {
						fail("Commit error: %v", err)
					}
					ref.Commit(k, ttl)
				case 3:
					trace = append(trace, fmt.Sprintf("Release(%q)", k))
					if err := lru.Release(ctx, k); err != nil {
						fail("Release error: %v", err)
					}
					ref.Release(k)
				case 4:
					side, m := sides[rng.IntN(len(sides))], members[rng.IntN(len(members))]
					trace = append(trace, fmt.Sprintf("Arrive(%q,%s,%s,%v)", k, side, m, ttl))
					got, gotEpoch, err := lru.Arrive(ctx, k, side, m, ttl)
					if err != nil {
						fail("Arrive error: %v", err)
					}
					want, wantEpoch := ref.Arrive(k, side, m, ttl)
					if got != want {
						fail("Arrive(%q,%s,%s) ordinal = %d, reference says %d", k, side, m, got, want)
					}
					if mapped, ok := epochMap[wantEpoch]; ok {
						if gotEpoch != mapped {
							fail("Arrive(%q) epoch = %q, want the record's epoch %q", k, gotEpoch, mapped)
						}
					} else {
						if seenLRU[gotEpoch] {
							fail("Arrive(%q) epoch = %q, reused although the reference started a new record", k, gotEpoch)
						}
						epochMap[wantEpoch] = gotEpoch
						seenLRU[gotEpoch] = true
					}
				case 5:
					// Coarse steps land exactly on expiry boundaries often.
					steps := []time.Duration{0, 500 * time.Millisecond, time.Second, 2 * time.Second, 5 * time.Second, time.Minute}
					d := steps[rng.IntN(len(steps))]
					trace = append(trace, fmt.Sprintf("Advance(%v)", d))
					clk.Advance(d)
				}
			}
		})
	}
}
