package deduper_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codathook/codathook/dedupe"
	"github.com/codathook/codathook/internal/deduper"
)

// wholeStore is a networked-looking BatchStore: it forwards each batch
// whole to an LRU (which honours Gate and SlotPrefix itself), as
// redisstore's script runs it, and records every batch's keys.
type wholeStore struct {
	*dedupe.LRU
	mu      sync.Mutex
	batches [][]string
}

func (w *wholeStore) Do(ctx context.Context, ops []dedupe.Op) error {
	keys := make([]string, len(ops))
	for i := range ops {
		keys[i] = ops[i].Key
		if ops[i].SlotPrefix != "" {
			keys[i] += " " + ops[i].SlotPrefix
		}
	}
	w.record(keys...)
	return w.LRU.Do(ctx, ops)
}

// A single op goes to its Store method: one round trip too.

func (w *wholeStore) Claim(ctx context.Context, k string, ttl time.Duration) (dedupe.State, error) {
	w.record(k)
	return w.LRU.Claim(ctx, k, ttl)
}

func (w *wholeStore) Commit(ctx context.Context, k string, ttl time.Duration) error {
	w.record(k)
	return w.LRU.Commit(ctx, k, ttl)
}

func (w *wholeStore) Release(ctx context.Context, k string) error {
	w.record(k)
	return w.LRU.Release(ctx, k)
}

func (w *wholeStore) Arrive(ctx context.Context, k string, a dedupe.Arrival) (dedupe.Pairing, error) {
	w.record(k)
	return w.LRU.Arrive(ctx, k, a)
}

func (w *wholeStore) record(keys ...string) {
	w.mu.Lock()
	w.batches = append(w.batches, keys)
	w.mu.Unlock()
}

// since returns the batches from the n-th on.
func (w *wholeStore) since(n int) [][]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.batches[n:]
}

func (w *wholeStore) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.batches)
}

// TestBeginIsOneBatch counts the batches a networked BatchStore receives:
// Begin sends one (the delivery key its gate, every arrival claiming its
// slot), the settlement one, and every key of both, and of the twin's,
// starts with the company's group.
func TestBeginIsOneBatch(t *testing.T) {
	t.Parallel()
	clk := newClock()
	ws := &wholeStore{LRU: dedupe.NewLRU(dedupe.LRUConfig{Capacity: 10_000, Now: clk.Now})}
	d, err := deduper.New(ws, &dedupe.Config{Now: clk.Now, MaxArrivals: 1})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, clk: clk, store: ws, d: d}
	old := generatedAt(newConn("e9", "connection.connected", "Linked"), clk.Now().Add(-deduper.DefaultRetention-time.Hour))
	other := bytes.ReplaceAll(newConn("e8", "connection.connected", "Linked"), []byte(company), []byte("Other-Company"))
	tests := []struct {
		name    string
		key     string
		body    []byte
		want    deduper.Outcome
		batches int
		why     string
	}{
		{"a new paired delivery", "msg_1", newConn("e1", "connection.connected", "Linked"), P, 2, "Begin; commit"},
		{"its retry", "msg_1", newConn("e1", "connection.connected", "Linked"), D, 1, "Begin (the gate is Done)"},
		{"its legacy twin", "a1", legacyConnStatus("a1", "PendingAuth", "Linked"), D, 2, "Begin (slot Done); commit d:, release i:"},
		{"a read.completed with three elements", "msg_2", newRead("r1", "invoices", "bills", "items"), P, 2, "Begin; commit"},
		{"a push with an exact id", "msg_3", newWrite("w1", "successful", "Success", "pk1"), P, 2, "Begin; commit"},
		{"its legacy twin, by the push key", "p1", legacyPush("p1", "Success", "pk1"), D, 2, "Begin (x: Done, its claimed keys released); settle"},
		{"a delivery too old to pair", "msg_4", old, P, 2, "Begin (its own slot in the batch); commit"},
		{"a second occurrence over MaxArrivals", "msg_5", newConn("e5", "connection.connected", "Linked"), P, 3, "Begin; the slot of its own; commit"},
		{"another company", "msg_6", other, P, 2, "Begin; commit"},
	}
	groups := map[string]string{}
	for _, tt := range tests {
		n := ws.count()
		if got := e.process(tt.key, tt.body); got != tt.want {
			t.Errorf("%s: outcome %v, want %v", tt.name, got, tt.want)
		}
		got := ws.since(n)
		if len(got) != tt.batches {
			t.Errorf("%s: %d batches, want %d (%s): %q", tt.name, len(got), tt.batches, tt.why, got)
		}
		for _, b := range got {
			for _, k := range b {
				g, _, ok := strings.Cut(k, "}")
				if !ok || !strings.HasPrefix(g, "{") || len(g) != 7 {
					t.Errorf("%s: key %q has no group", tt.name, k)
					continue
				}
				c := company
				if bytes.Equal(tt.body, other) {
					c = "Other-Company"
				}
				if prev, seen := groups[c]; seen && prev != g {
					t.Errorf("%s: key %q in group %s, want the company's %s", tt.name, k, g, prev)
				}
				groups[c] = g
			}
		}
	}
	if groups[company] == groups["Other-Company"] {
		t.Errorf("two companies share group %s (possible, but not for these two)", groups[company])
	}
}

// TestGroupFoldsCase: a company id that differs only in ASCII case is the
// same group, so a push's legacy twin that spells its company in capitals
// still meets it at its exact key.
func TestGroupFoldsCase(t *testing.T) {
	t.Parallel()
	clk := newClock()
	ws := &wholeStore{LRU: dedupe.NewLRU(dedupe.LRUConfig{Capacity: 1000, Now: clk.Now})}
	e := newEnvWith(t, clk, ws)
	upper := bytes.ReplaceAll(legacyPush("p1", "Success", "pk1"), []byte(company), []byte(strings.ToUpper(company)))
	e.run([]step{
		{"msg_1", newWrite("w1", "successful", "Success", "pk1"), P},
		{"p1", upper, D},
	})
	b := ws.since(0)
	if g1, g2 := b[0][0][:8], b[len(b)-1][0][:8]; g1 != g2 {
		t.Errorf("groups %s and %s for one company in two cases", g1, g2)
	}
}

// TestWholeBatchSameOutcomes runs the random sequences of
// TestDeduperBatchStoreSameOutcomes through a store that runs the whole
// Begin as one batch, against the LRU's separate steps.
func TestWholeBatchSameOutcomes(t *testing.T) {
	t.Parallel()
	bodies := [][]byte{
		legacyConnStatus("a1", "PendingAuth", "Linked"),
		newConn("a1", "connection.connected", "Linked"),
		newConn("e2", "connection.connected", "Linked"),
		newRead("r1", "invoices", "bills"),
		legacyDataset("d1", "Data sync completed", "invoices", "ds1"),
		legacyDataset("d2", "Dataset data changed", "bills", "ds2"),
		legacyPush("p1", "Success", "pk1"),
		newWrite("w1", "successful", "Success", "pk1"),
	}
	// Every body names one company: the keys here stand for webhook-ids,
	// and a webhook-id names one message, so one company (on a shared
	// store the delivery key is in the company's group).
	keys := []string{"", "k1", "msg_1", "a1"}
	for seed := range uint64(30) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			plain := newEnvWith(t, clk, dedupe.NewLRU(dedupe.LRUConfig{Capacity: 10_000, Now: clk.Now}))
			whole := newEnvWith(t, clk, &wholeStore{LRU: dedupe.NewLRU(dedupe.LRUConfig{Capacity: 10_000, Now: clk.Now})})
			var held [][2]*deduper.Lease
			for step := range 80 {
				i := (int(seed)*31 + step*17 + step*step) % (len(bodies) * len(keys))
				body, key := bodies[i%len(bodies)], keys[i/len(bodies)]
				if step%7 == 3 && len(held) > 0 {
					for _, l := range held[0] {
						if step%2 == 0 {
							_ = l.Commit(t.Context())
						} else {
							_ = l.Release(t.Context())
						}
					}
					held = held[1:]
					continue
				}
				lp, lw := plain.begin(key, body), whole.begin(key, body)
				if lp.Outcome() != lw.Outcome() || fmt.Sprint(lp.Elements()) != fmt.Sprint(lw.Elements()) {
					t.Fatalf("step %d (%q %s): plain %v %v, whole %v %v", step, key, body, lp.Outcome(), lp.Elements(), lw.Outcome(), lw.Elements())
				}
				if lp.Outcome() == deduper.Process {
					held = append(held, [2]*deduper.Lease{lp, lw})
				}
			}
		})
	}
}
