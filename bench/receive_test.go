package bench

import (
	"net/http"
	"testing"

	"github.com/codathook/codathook"
)

// BenchmarkReceive runs every row of cmd/compare as a go test benchmark:
//
//	go test -run '^$' -bench Receive -benchmem -count 5 .
//
// cmd/compare interleaves the same rows in one process and prints medians
// and ratios; prefer it on a noisy machine.
func BenchmarkReceive(b *testing.B) {
	for _, r := range Rows(FlagsDefault, true) {
		b.Run(r.Name(FlagsDefault), r.Bench())
	}
}

// TestRows serves a few deliveries of every kind through every
// implementation and checks the answers and callback counts, so that a
// broken row fails go test rather than a benchmark run.
func TestRows(t *testing.T) {
	t.Parallel()
	for _, r := range Rows(FlagsDefault, true) {
		t.Run(r.Name(FlagsDefault), func(t *testing.T) {
			t.Parallel()
			run, err := r.Start()
			if err != nil {
				t.Fatal(err)
			}
			defer run.Close()
			for i := range 3 {
				if !run.Serve(nil) {
					t.Fatalf("%s: delivery %d: got status %d, want 204", r.Name(FlagsDefault), i, run.w.Code)
				}
			}
			if err := run.Check(); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestPipelineResults checks the pipeline's answers for a first copy and a
// duplicate, and that a bad signature is rejected by all three.
func TestPipelineResults(t *testing.T) {
	t.Parallel()
	p, err := NewPipeline(FlagsInline, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	a, err := NewBaselineA(New600)
	if err != nil {
		t.Fatal(err)
	}
	hb, err := NewBaselineB()
	if err != nil {
		t.Fatal(err)
	}
	src := NewSource(Duplicate)
	w := NewDiscardWriter()
	for i, want := range []codathook.Result{codathook.ResultProcessed, codathook.ResultDuplicate} {
		w.Reset()
		p.Handler().ServeHTTP(w, src.Next(nil))
		if got := codathook.Result(w.H.Get(codathook.HeaderResult)); got != want || w.Code != http.StatusNoContent {
			t.Errorf("copy %d: got %q %d, want %q 204", i, got, w.Code, want)
		}
	}
	for name, h := range map[string]http.Handler{"pipeline": p.Handler(), "svix+json": a, "handwritten": hb} {
		r := NewSource(New600).Next(nil)
		r.Header.Set("webhook-signature", "v1,AAAA")
		w.Reset()
		h.ServeHTTP(w, r)
		if got, want := w.Code, http.StatusUnauthorized; got != want {
			t.Errorf("%s with a bad signature: got %d, want %d", name, got, want)
		}
	}
}
