package codathook_test

import (
	"strings"
	"testing"
	"time"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/dedupe"
	"github.com/codathook/codathook/internal/deduper"
)

// A callback that outlives its claim lease lets a copy claim and run
// concurrently, so New refuses a callback timeout that is not strictly
// shorter than the lease, and names both values and the options to change.
func TestNewRefusesCallbackTimeoutNotShorterThanLease(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    []codathook.Option
		wantErr []string // substrings of the error; nil: New succeeds
	}{
		{name: "a timeout over the default lease is refused",
			opts:    []codathook.Option{codathook.WithCallbackTimeout(5 * time.Minute)},
			wantErr: []string{"5m0s", "2m0s", "WithCallbackTimeout", "WithDedupe", "Lease"}},
		{name: "a timeout equal to the default lease is refused",
			opts:    []codathook.Option{codathook.WithCallbackTimeout(deduper.DefaultLease)},
			wantErr: []string{"2m0s", "WithCallbackTimeout"}},
		{name: "a timeout over a configured lease is refused",
			opts: []codathook.Option{codathook.WithCallbackTimeout(600 * time.Millisecond),
				codathook.WithDedupe(nil, &dedupe.Config{Lease: 200 * time.Millisecond})},
			wantErr: []string{"600ms", "200ms", "WithCallbackTimeout", "Lease"}},
		{name: "the default timeout over a configured lease is refused",
			opts:    []codathook.Option{codathook.WithDedupe(nil, &dedupe.Config{Lease: 5 * time.Second})},
			wantErr: []string{"10s", "5s", "WithCallbackTimeout"}},
		{name: "a timeout just under the default lease is accepted",
			opts: []codathook.Option{codathook.WithCallbackTimeout(deduper.DefaultLease - time.Millisecond)}},
		{name: "a timeout under a configured lease is accepted",
			opts: []codathook.Option{codathook.WithCallbackTimeout(100 * time.Millisecond),
				codathook.WithDedupe(nil, &dedupe.Config{Lease: 200 * time.Millisecond})}},
		{name: "the defaults are accepted"},
		{name: "a nil dedupe config means the default lease",
			opts: []codathook.Option{codathook.WithDedupe(nil, nil)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rcv, err := codathook.New(append([]codathook.Option{discardLogs()}, tc.opts...)...)
			if err == nil {
				t.Cleanup(func() { rcv.Close(t.Context()) })
			}
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("New: %v, want no error", err)
			case tc.wantErr != nil && err == nil:
				t.Fatal("New returned no error, want the timeout refused")
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

// A non-positive callback timeout would mean no deadline, which can outlive
// any lease: New refuses it.
func TestNewRefusesNonPositiveCallbackTimeout(t *testing.T) {
	t.Parallel()
	for _, d := range []time.Duration{0, -time.Second} {
		if _, err := codathook.New(discardLogs(), codathook.WithCallbackTimeout(d)); err == nil {
			t.Errorf("WithCallbackTimeout(%v): New returned no error", d)
		}
	}
}
