package deduper_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/codathook/codathook/dedupe"
	"github.com/codathook/codathook/internal/deduper"
	"github.com/codathook/codathook/normalize"
)

// FuzzBegin checks, for any body, that Begin never panics, that a processed
// delivery's retry is a duplicate, that a released delivery is processed
// again, and that Elements only lists existing dataTypes indexes.
func FuzzBegin(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add("msg_1", b)
	}
	f.Add("", []byte(`{}`))
	f.Fuzz(func(t *testing.T, key string, body []byte) {
		ev, err := normalize.Parse(body)
		if err != nil {
			return
		}
		s := dedupe.NewLRU(dedupe.LRUConfig{Capacity: 1000})
		defer s.Close(context.Background())
		d, err := deduper.New(s, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		del := deduper.Delivery{Key: key, Event: ev}
		l, err := d.Begin(ctx, del)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := l.Outcome(), deduper.Process; got != want {
			t.Fatalf("first Begin on an empty store: outcome = %v, want %v", got, want)
		}
		n := len(ev.Occurrences())
		for _, i := range l.Elements() {
			if i < 0 || i >= n {
				t.Fatalf("Elements() = %v, index %d outside the %d occurrences", l.Elements(), i, n)
			}
		}
		if err := l.Release(ctx); err != nil {
			t.Fatal(err)
		}
		l, err = d.Begin(ctx, del)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := l.Outcome(), deduper.Process; got != want {
			t.Fatalf("Begin after Release: outcome = %v, want %v", got, want)
		}
		if err := l.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		l, err = d.Begin(ctx, del)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := l.Outcome(), deduper.Duplicate; got != want {
			t.Fatalf("retry after Commit: outcome = %v, want %v", got, want)
		}
	})
}

// FuzzUTCTime holds utcTime to time.Parse(time.RFC3339Nano): whatever it
// accepts, time.Parse accepts as the same instant, in UTC.
func FuzzUTCTime(f *testing.F) {
	for _, s := range []string{"2022-10-23T00:00:00.000Z", "2026-12-02T18:58:05Z", "2026-02-28T23:59:59.123456789Z",
		"2026-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T00:00:60Z",
		"2026-01-01T00:00:00.Z", "2026-01-01T00:00:00.1234567890Z", "2026-01-01T00:00:00+00:00", "+026-01-01T00:00:00Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := deduper.UTCTime(s)
		if !ok {
			return
		}
		want, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatalf("utcTime(%q) = %v, but time.Parse fails: %v", s, got, err)
		}
		if !got.Equal(want) || got.Location() != time.UTC {
			t.Fatalf("utcTime(%q) = %v, time.Parse = %v", s, got, want)
		}
	})
}
