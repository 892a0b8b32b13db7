package dedupe_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/codathook/codathook/dedupe"
	"github.com/codathook/codathook/normalize"
)

// BenchmarkDeduper compares Begin+Commit of a new delivery (delivery key,
// id key, pairing arrival and slot: 4 claims/arrivals and 3 commits) with
// Begin of a retried duplicate (one claim), both on the LRU.
func BenchmarkDeduper(b *testing.B) {
	ev, err := normalize.Parse(newConn("e1", "connection.connected", "Linked"))
	if err != nil {
		b.Fatal(err)
	}
	newDeduper := func(b *testing.B) *dedupe.Deduper {
		s := dedupe.NewLRU(1 << 22)
		b.Cleanup(func() { _ = s.Close(context.Background()) })
		d, err := dedupe.New(s, nil)
		if err != nil {
			b.Fatal(err)
		}
		return d
	}
	b.Run("New", func(b *testing.B) {
		d := newDeduper(b)
		ctx := b.Context()
		b.ReportAllocs()
		var i int
		for b.Loop() {
			e := *ev
			n := strconv.Itoa(i)
			i++
			e.ID, e.CompanyID = "e"+n, "c"+n // a new occurrence every time
			l, err := d.Begin(ctx, dedupe.Delivery{Key: "msg_" + n, Event: &e})
			if err != nil || l.Outcome() != dedupe.Process {
				b.Fatalf("Begin = %v, %v; want process", l, err)
			}
			if err := l.Commit(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Duplicate", func(b *testing.B) {
		d := newDeduper(b)
		ctx := b.Context()
		del := dedupe.Delivery{Key: "msg_1", Event: ev}
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
			if err != nil || l.Outcome() != dedupe.Duplicate {
				b.Fatalf("Begin = %v, %v; want duplicate", l, err)
			}
			_ = l.Commit(ctx) // settled: no-op
		}
	})
}
