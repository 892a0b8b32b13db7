package pgstore_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/codathook/codathook/dedupe"
)

// TestArriveMatchesLRU runs random arrival sequences (keys, sides, members,
// occurrence times around interval boundaries, a small limit) against the
// PostgreSQL store and the in-memory LRU, which is checked against a literal
// model of the rules in the dedupe package, and requires the same pairing
// at every step: slots compared by identity, Paired and the limit exactly.
func TestArriveMatchesLRU(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	keys := []string{"a", "b", "{c}"}
	sides := []string{"legacy", "new"}
	members := []string{"m1", "m2", "m3", "m4", "m5"}
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ats := []time.Duration{0, time.Millisecond, 2 * time.Second, 4999 * time.Millisecond, 5 * time.Second, 7 * time.Second, 10 * time.Second, 16 * time.Second, -3 * time.Second}
	for seed := range uint64(40) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, 0xa11e))
			r := newStore(t, pool)
			l := dedupe.NewLRU(dedupe.LRUConfig{Capacity: 1 << 12})
			ctx := t.Context()
			slots := map[[2]any][2]any{} // LRU slot -> PostgreSQL slot
			seen := map[[2]any]bool{}
			var trace []string
			for range 150 {
				a := dedupe.Arrival{Side: sides[rng.IntN(2)], Member: members[rng.IntN(len(members))],
					At: base.Add(ats[rng.IntN(len(ats))]), Window: 5 * time.Second, TTL: time.Hour, Limit: 3}
				k := keys[rng.IntN(len(keys))]
				trace = append(trace, fmt.Sprintf("%s %s %s %v", k, a.Side, a.Member, a.At.Sub(base)))
				want, err := l.Arrive(ctx, k, a)
				if err != nil {
					t.Fatal(err)
				}
				got, err := r.Arrive(ctx, k, a)
				if err != nil {
					t.Fatalf("PostgreSQL Arrive: %v", err)
				}
				fail := func(format string, args ...any) {
					t.Helper()
					t.Fatalf("after %v: "+format, append([]any{trace}, args...)...)
				}
				if (want.Epoch == "") != (got.Epoch == "") || want.Paired != got.Paired {
					fail("PostgreSQL %+v, LRU %+v", got, want)
				}
				if want.Epoch == "" {
					continue
				}
				ws, gs := [2]any{want.Epoch, want.Slot}, [2]any{got.Epoch, got.Slot}
				if m, ok := slots[ws]; ok {
					if m != gs {
						fail("PostgreSQL slot %v, want %v (the LRU's %v)", gs, m, ws)
					}
				} else {
					if seen[gs] {
						fail("PostgreSQL reused slot %v where the LRU made a new one", gs)
					}
					slots[ws], seen[gs] = gs, true
				}
			}
		})
	}
}
