package deduper_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/codathook/codathook/dedupe"
	"github.com/codathook/codathook/internal/deduper"
)

// batchStore turns a Store into a BatchStore whose Do runs the ops one by
// one, in reverse order (a batch promises no order but a gate's), through
// dedupe.DoInSteps, counting the steps.
type batchStore struct {
	dedupe.Store
	batches atomic.Int64
}

func (b *batchStore) Do(ctx context.Context, ops []dedupe.Op) error {
	return dedupe.DoInSteps(ctx, ops, b.plain)
}

// plain runs ops, ignoring Gate and SlotPrefix, in reverse order.
func (b *batchStore) plain(ctx context.Context, ops []dedupe.Op) error {
	b.batches.Add(1)
	for i := len(ops) - 1; i >= 0; i-- {
		o := &ops[i]
		switch o.Kind {
		case dedupe.OpClaim:
			o.State, o.Err = b.Claim(ctx, o.Key, o.TTL)
		case dedupe.OpCommit:
			o.Err = b.Commit(ctx, o.Key, o.TTL)
		case dedupe.OpRelease:
			o.Err = b.Release(ctx, o.Key)
		case dedupe.OpArrive:
			o.Pairing, o.Err = b.Arrive(ctx, o.Key, o.Arrival)
		default:
			return fmt.Errorf("unknown op kind %d", o.Kind)
		}
	}
	return nil
}

// TestDeduperBatchStoreSameOutcomes runs random delivery sequences through
// a Deduper on an LRU and one on a batching LRU, and requires the same
// outcome and elements at every step.
func TestDeduperBatchStoreSameOutcomes(t *testing.T) {
	t.Parallel()
	bodies := [][]byte{
		legacyConnStatus("a1", "PendingAuth", "Linked"),
		legacyConnStatus("a2", "PendingAuth", "Linked"),
		newConn("a1", "connection.connected", "Linked"),
		newConn("e2", "connection.connected", "Linked"),
		newRead("r1", "invoices", "bills"),
		newRead("r2", "bills"),
		legacyDataset("d1", "Data sync completed", "invoices", "ds1"),
		legacyDataset("d2", "Dataset data changed", "invoices", "ds1"),
		legacyDataset("d3", "Data sync completed", "bills", "ds2"),
		legacyPush("p1", "Success", "pk1"),
		newWrite("w1", "successful", "Success", "pk1"),
		legacySync("s1", "sync1"),
		newSync("s2", "sync1"),
	}
	keys := []string{"", "k1", "k2", "msg_1", "msg_2", "a1"}
	for seed := range uint64(40) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, 7))
			clk := newClock()
			plain := newEnvWith(t, clk, dedupe.NewLRU(dedupe.LRUConfig{Capacity: 10_000, Now: clk.Now}))
			bs := &batchStore{Store: dedupe.NewLRU(dedupe.LRUConfig{Capacity: 10_000, Now: clk.Now})}
			batched := newEnvWith(t, clk, bs)
			var held [][2]*deduper.Lease
			for step := range 60 {
				body := bodies[rng.IntN(len(bodies))]
				key := keys[rng.IntN(len(keys))]
				switch a := rng.IntN(10); {
				case a == 0 && len(held) > 0:
					i := rng.IntN(len(held))
					for _, l := range held[i] {
						if err := l.Release(t.Context()); err != nil {
							t.Fatal(err)
						}
					}
					held = slices.Delete(held, i, i+1)
				case a == 1 && len(held) > 0:
					i := rng.IntN(len(held))
					for _, l := range held[i] {
						if err := l.Commit(t.Context()); err != nil {
							t.Fatal(err)
						}
					}
					held = slices.Delete(held, i, i+1)
				case a == 2:
					plain.skip(key, body)
					batched.skip(key, body)
				default:
					lp, lb := plain.begin(key, body), batched.begin(key, body)
					if lp.Outcome() != lb.Outcome() || !slices.Equal(lp.Elements(), lb.Elements()) {
						t.Fatalf("step %d (%q %s): plain %v %v, batched %v %v", step, key, body,
							lp.Outcome(), lp.Elements(), lb.Outcome(), lb.Elements())
					}
					if lp.Outcome() == deduper.Process {
						held = append(held, [2]*deduper.Lease{lp, lb})
					}
				}
			}
			if bs.batches.Load() == 0 {
				t.Error("the batching store never received a batch")
			}
		})
	}
}

// plainStore hides every optional interface of its Store: one call per op.
type plainStore struct{ dedupe.Store }

// TestDeduperManyElements runs read.completed deliveries with more
// elements than fit the Deduper's stack batches (a pooled buffer serves
// them) through the LRU called directly, a batching store and a plain
// store: the elements left to process, release and retry, commit, the
// twins of every element, and a skipped delivery's arrivals all come out
// as with small deliveries, and buffers reused from one delivery to the
// next carry nothing over.
func TestDeduperManyElements(t *testing.T) {
	t.Parallel()
	types := []string{"invoices", "bills", "customers", "suppliers", "payments", "journals", "accounts", "items", "taxRates"}
	stores := map[string]func(*clock) dedupe.Store{
		"lru": func(c *clock) dedupe.Store { return dedupe.NewLRU(dedupe.LRUConfig{Capacity: 10_000, Now: c.Now}) },
		"batch": func(c *clock) dedupe.Store {
			return &batchStore{Store: dedupe.NewLRU(dedupe.LRUConfig{Capacity: 10_000, Now: c.Now})}
		},
		"plain": func(c *clock) dedupe.Store {
			return plainStore{dedupe.NewLRU(dedupe.LRUConfig{Capacity: 10_000, Now: c.Now})}
		},
	}
	for name, newStore := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			e := newEnvWith(t, clk, newStore(clk))
			twin := func(i int) []byte {
				return legacyDataset(fmt.Sprint("a", i), "Data sync completed", types[i], fmt.Sprint("ds-", i))
			}
			// The legacy twins of elements 2 and 7 were processed first.
			e.run([]step{{"a2", twin(2), P}, {"a7", twin(7), P}})

			want := []int{0, 1, 3, 4, 5, 6, 8}
			l := e.begin("msg_1", newRead("e1", types...))
			if l.Outcome() != P || !slices.Equal(l.Elements(), want) {
				t.Fatalf("first copy: %v %v, want process %v", l.Outcome(), l.Elements(), want)
			}
			if got := e.process("a5", twin(5)); got != F {
				t.Errorf("legacy twin of a held element: %v, want in-flight", got)
			}
			if err := l.Release(t.Context()); err != nil {
				t.Fatal(err)
			}
			l = e.begin("msg_1", newRead("e1", types...))
			if l.Outcome() != P || !slices.Equal(l.Elements(), want) {
				t.Fatalf("retry after release: %v %v, want process %v", l.Outcome(), l.Elements(), want)
			}
			if err := l.Commit(t.Context()); err != nil {
				t.Fatal(err)
			}
			e.run([]step{{"msg_1", newRead("e1", types...), D}})
			for i := range types {
				if got := e.process(fmt.Sprint("a", i), twin(i)); got != D {
					t.Errorf("legacy twin of element %d after the commit: %v, want duplicate", i, got)
				}
			}

			// A skipped delivery takes its ordinals: the legacy twins of
			// its elements are processed (nothing claimed them), and a
			// replay of it is then a duplicate of them.
			e.skip("msg_2", newRead("e2", types...))
			for i := range types {
				b := legacyDataset(fmt.Sprint("b", i), "Data sync completed", types[i], fmt.Sprint("ds-b", i))
				if got := e.process(fmt.Sprint("b", i), b); got != P {
					t.Errorf("legacy twin %d of the skipped delivery: %v, want process", i, got)
				}
			}
			e.run([]step{{"msg_2", newRead("e2", types...), D}})
		})
	}
}
