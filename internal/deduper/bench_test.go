package deduper_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/codathook/codathook/dedupe"
	"github.com/codathook/codathook/internal/deduper"
	"github.com/codathook/codathook/normalize"
)

// benchPool is the number of distinct deliveries parsed before a benchmark
// starts; the loop cycles through them on a fresh store each round, so the
// measured allocations are Begin's and Commit's only.
const benchPool = 1 << 14

// newBenchDeduper returns a Deduper on a fresh LRU large enough for the pool.
func newBenchDeduper(b *testing.B) *deduper.Deduper {
	s := dedupe.NewLRU(dedupe.LRUConfig{Capacity: 8 * benchPool})
	b.Cleanup(func() { _ = s.Close(context.Background()) })
	d, err := deduper.New(s, nil)
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// pool parses benchPool distinct deliveries built by body(i).
func pool(b *testing.B, body func(i string) []byte) []deduper.Delivery {
	dels := make([]deduper.Delivery, benchPool)
	for i := range dels {
		n := strconv.Itoa(i)
		// Generated now: an occurrence older than Window plus Retention
		// would skip pairing and measure less than a real delivery costs.
		ev, err := normalize.Parse(generatedAt(body(n), time.Now()))
		if err != nil {
			b.Fatal(err)
		}
		dels[i] = deduper.Delivery{Key: "msg_2sZ3mX0bC" + n, Event: ev}
	}
	return dels
}

// BenchmarkDeduper measures Begin+Commit on the LRU of a new delivery, for
// a connection event and for a read.completed with one element (each:
// delivery key, id key, one pairing arrival, one slot claim; three
// commits), and Begin of a retried duplicate (one claim). Every new
// delivery is distinct (ids and companies differ).
func BenchmarkDeduper(b *testing.B) {
	newRounds := func(b *testing.B, dels []deduper.Delivery) {
		d := newBenchDeduper(b)
		ctx := b.Context()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if i == len(dels) {
				b.StopTimer()
				d, i = newBenchDeduper(b), 0
				b.StartTimer()
			}
			l, err := d.Begin(ctx, dels[i])
			i++
			if err != nil || l.Outcome() != deduper.Process {
				b.Fatalf("Begin = %v, %v; want process", l, err)
			}
			if err := l.Commit(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("New", func(b *testing.B) {
		newRounds(b, pool(b, func(n string) []byte {
			return newBody("e"+n, "connection.connected",
				`{"referenceCompany":{"id":"c`+n+`"},"connection":{"id":"`+conn+`","status":"Linked"}}`)
		}))
	})
	b.Run("NewReadCompleted", func(b *testing.B) {
		newRounds(b, pool(b, func(n string) []byte {
			return newBody("e"+n, "read.completed", `{"referenceCompany":{"id":"c`+n+`"},"dataTypes":[`+
				`{"connectionId":"`+conn+`","dataType":"invoices","recordsModified":true,"status":"Complete"}]}`)
		}))
	})
	b.Run("Duplicate", func(b *testing.B) {
		ev, err := normalize.Parse(newConn("e1", "connection.connected", "Linked"))
		if err != nil {
			b.Fatal(err)
		}
		d := newBenchDeduper(b)
		ctx := b.Context()
		del := deduper.Delivery{Key: "msg_1", Event: ev}
		l, err := d.Begin(ctx, del)
		if err != nil {
			b.Fatal(err)
		}
		if err := l.Commit(ctx); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			l, err := d.Begin(ctx, del)
			if err != nil || l.Outcome() != deduper.Duplicate {
				b.Fatalf("Begin = %v, %v; want duplicate", l, err)
			}
			_ = l.Commit(ctx) // settled: no-op
		}
	})
}
