package dedupetest

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codathook/codathook/dedupe"
)

// RunBenchmarks measures a store's hot paths on stores from newStore (one
// per sub-benchmark, closed afterwards):
//
//   - ClaimCommit: claim then commit a new key, serially;
//   - ClaimCommitParallel: the same from GOMAXPROCS goroutines (b.RunParallel);
//   - ClaimDuplicate: claim a committed key (the duplicate path);
//   - Arrive: new members arriving on an occurrence key, half of them twins.
func RunBenchmarks(b *testing.B, newStore func(b *testing.B) dedupe.Store) {
	b.Helper()
	open := func(b *testing.B) dedupe.Store {
		b.Helper()
		s := newStore(b)
		b.Cleanup(func() { _ = s.Close(context.Background()) })
		return s
	}
	b.Run("ClaimCommit", func(b *testing.B) {
		s := open(b)
		ctx := b.Context()
		b.ReportAllocs()
		var i int
		for b.Loop() {
			k := "bench:" + strconv.Itoa(i)
			i++
			if st, err := s.Claim(ctx, k, time.Minute); err != nil || st != dedupe.Claimed {
				b.Fatalf("Claim = %v, %v; want claimed", st, err)
			}
			if err := s.Commit(ctx, k, time.Hour); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ClaimCommitParallel", func(b *testing.B) {
		s := open(b)
		ctx := b.Context()
		var worker atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			prefix := "bench:" + strconv.FormatInt(worker.Add(1), 10) + ":"
			var i int
			for pb.Next() {
				k := prefix + strconv.Itoa(i)
				i++
				if st, err := s.Claim(ctx, k, time.Minute); err != nil || st != dedupe.Claimed {
					b.Errorf("Claim = %v, %v; want claimed", st, err)
					return
				}
				if err := s.Commit(ctx, k, time.Hour); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("ClaimDuplicate", func(b *testing.B) {
		s := open(b)
		ctx := b.Context()
		if err := s.Commit(ctx, "dup", time.Hour); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if st, err := s.Claim(ctx, "dup", time.Minute); err != nil || st != dedupe.Done {
				b.Fatalf("Claim = %v, %v; want done", st, err)
			}
		}
	})
	b.Run("Arrive", func(b *testing.B) {
		s := open(b)
		ctx := b.Context()
		b.ReportAllocs()
		var i int
		for b.Loop() {
			// A fresh occurrence key every 16 arrivals keeps records small;
			// alternate sides so that half of them pair.
			k := "pair:" + strconv.Itoa(i/16)
			side := "new"
			if i%2 == 1 {
				side = "legacy"
			}
			a := dedupe.Arrival{Side: side, Member: "m" + strconv.Itoa(i), At: time.Unix(1_700_000_000, 0), Window: 10 * time.Minute, TTL: time.Hour, Limit: 64}
			i++
			if _, err := s.Arrive(ctx, k, a); err != nil {
				b.Fatal(err)
			}
		}
	})
}
