package bench

import (
	"net/http"
	"testing"

	"github.com/codathook/codathook/internal/deduper"
)

// BenchmarkReceiveNoopStore runs the headline pipeline with deduper.Noop as
// its store (every delivery processed; the keys are still derived and the
// ledger still records), beside baseline A in the same run: what the
// pipeline costs apart from its store, the floor a faster store approaches
// (docs/BENCHMARKS.md, issue 18).
//
//	go test -run '^$' -bench ReceiveNoopStore -benchmem -count 3 .
func BenchmarkReceiveNoopStore(b *testing.B) {
	for _, k := range []Kind{New600, New1500, Legacy} {
		b.Run("pipeline[store=noop]/"+k.String(), func(b *testing.B) {
			p, err := NewPipeline(FlagsDefault, &deduper.Noop{})
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			serve(b, p.Handler(), k)
			if got := p.Calls.Load(); got < int64(b.N) {
				b.Fatalf("%d callbacks for %d deliveries", got, b.N)
			}
		})
		b.Run(string(ImplA)+"/"+k.String(), func(b *testing.B) {
			a, err := NewBaselineA(k)
			if err != nil {
				b.Fatal(err)
			}
			serve(b, a, k)
		})
	}
}

// serve sends b.N fresh deliveries of kind k to h, failing on any answer
// but 204.
func serve(b *testing.B, h http.Handler, k Kind) {
	src, w := NewSource(k), NewDiscardWriter()
	b.ReportAllocs()
	for b.Loop() {
		w.Reset()
		h.ServeHTTP(w, src.Next(b))
		if w.Code != http.StatusNoContent {
			b.Fatalf("status %d, want 204", w.Code)
		}
	}
}
