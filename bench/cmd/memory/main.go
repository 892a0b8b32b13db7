// Command memory pushes unique deliveries (1,000,000 by default) through the
// full receiver with the default in-memory dedupe store and reports the heap
// in use after a GC, every -every deliveries, against the store's documented
// bound.
//
//	go -C bench run ./cmd/memory [-n 1000000] [-every 100000] [-flags inline] [-memprofile heap.out]
//
// The deliveries are cmd/compare's new-600B kind (the §1.9 read.completed
// body, each with its own webhook-id, event id and company), signed in chunks
// of bench.ChunkSize that are dropped once served, so the heap measured is
// the receiver's and its store's (the unsent rest of a chunk is dropped
// before each measurement). Growth is the larger of the HeapAlloc and
// HeapInuse increases over the empty receiver. The store is
// dedupe.NewLRU(dedupe.LRUConfig{}) passed with codathook.WithDedupe, which
// is what codathook.New builds when no store is given, so that its Len and
// LiveEvictions can be read.
//
// The documented bound (dedupe/lru.go, measured by TestLRUMemoryPerEntry as
// HeapAlloc growth): the store holds at most the default capacity entries; a claim
// entry costs about 69 bytes (keys are held as hashes, not kept), an
// occurrence record with one arrival about 153 bytes (its side and member
// are hashes too, so it keeps no key string alive). A new-format
// read.completed delivery with one element writes four entries: the
// delivery claim ("d:msg:" + webhook-id), the event id claim ("i:" + id),
// the occurrence record of its interval and the slot claim of that arrival.
// A full store therefore holds the default capacity/4 deliveries at
// 3 x 69 + 153 = 360 B each: the
// documented estimate printed, 34.3 MiB. The check compares it with the HeapAlloc growth
// (live bytes, as the documented figures are); HeapInuse, which also counts
// free space in partly used spans, is printed beside it.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/codathook/codathook/bench"
	"github.com/codathook/codathook/dedupe"
)

const mib = 1 << 20

// The default store's capacity (entries) and heap bound, as
// dedupe.LRUConfig documents them.
const (
	capacity       = 400_000
	capacityMemory = 64 << 20
)

func main() {
	n := flag.Int("n", 1_000_000, "unique deliveries")
	every := flag.Int("every", 100_000, "report the heap every this many deliveries")
	flagsName := flag.String("flags", "inline", "flag variant: default, inline, inline+cache, timeout or none")
	memprofile := flag.String("memprofile", "", "write a heap profile (live objects) to this file at the end")
	flag.Parse()
	if err := run(*n, *every, *flagsName, *memprofile); err != nil {
		fmt.Fprintln(os.Stderr, "memory:", err)
		os.Exit(1)
	}
}

func heap() runtime.MemStats {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}

func run(n, every int, flagsName, memprofile string) error {
	variant, err := bench.ParseFlags(flagsName)
	if err != nil {
		return err
	}
	store := dedupe.NewLRU(dedupe.LRUConfig{Logger: slog.New(slog.DiscardHandler)})
	p, err := bench.NewPipeline(variant, store)
	if err != nil {
		return err
	}
	defer p.Close()
	h := p.Handler()
	src := bench.NewSource(bench.New600)
	w := bench.NewDiscardWriter()

	// Per-entry costs documented in dedupe/lru.go and this run's key sizes
	// (see the command's documentation).
	const (
		claimCost   = 69
		arrivalCost = 153
		perDelivery = 3*claimCost + arrivalCost
	)
	estimate := float64(capacity/4) * perDelivery
	claimOnly := float64(capacity) * claimCost

	base := heap()
	fmt.Printf("machine: %s/%s, %d CPUs, %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	fmt.Printf("deliveries: %d unique new-600B through the full receiver (flags=%s), default store: dedupe.NewLRU(dedupe.LRUConfig{Capacity: %d})\n", n, variant, capacity)
	fmt.Printf("heap in use before: %.1f MiB (HeapAlloc %.1f MiB)\n\n", float64(base.HeapInuse)/mib, float64(base.HeapAlloc)/mib)
	fmt.Printf("%10s %10s %14s %14s %14s %12s %9s\n", "delivered", "store len", "live evictions", "HeapAlloc MiB", "HeapInuse MiB", "live growth", "elapsed")
	start := time.Now()
	var peakGrowth float64
	for i := 1; i <= n; i++ {
		w.Reset()
		h.ServeHTTP(w, src.Next(nil))
		if w.Code != http.StatusNoContent {
			return fmt.Errorf("delivery %d: status %d", i, w.Code)
		}
		if i%every == 0 || i == n {
			src.Drop()
			m := heap()
			growth := float64(int64(m.HeapAlloc)-int64(base.HeapAlloc)) / mib
			peakGrowth = max(peakGrowth, growth)
			fmt.Printf("%10d %10d %14d %14.1f %14.1f %12.1f %9s\n", i, store.Len(), store.LiveEvictions(),
				float64(m.HeapAlloc)/mib, float64(m.HeapInuse)/mib, growth, time.Since(start).Round(time.Second))
		}
	}
	if got := p.Calls.Load(); got != int64(n) {
		return fmt.Errorf("%d callbacks for %d unique deliveries", got, n)
	}
	src.Drop()
	end := heap()
	if memprofile != "" {
		f, err := os.Create(memprofile)
		if err != nil {
			return err
		}
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	fmt.Println()
	fmt.Printf("callbacks: %d (one per delivery)\n", p.Calls.Load())
	fmt.Printf("store entries: %d <= the default capacity %d: %v\n", store.Len(), capacity, store.Len() <= capacity)
	fmt.Printf("documented estimate for a full store: %d deliveries x %d B (3 claims x %d B + occurrence record %d B) = %.1f MiB; the default capacity claim entries alone: %.1f MiB\n",
		capacity/4, perDelivery, claimCost, arrivalCost, estimate/mib, claimOnly/mib)
	fmt.Printf("heap after %d deliveries: HeapAlloc %.1f MiB, HeapInuse %.1f MiB; live growth over the empty receiver %.1f MiB (peak %.1f MiB), HeapInuse growth %.1f MiB\n",
		n, float64(end.HeapAlloc)/mib, float64(end.HeapInuse)/mib, float64(int64(end.HeapAlloc)-int64(base.HeapAlloc))/mib, peakGrowth,
		float64(int64(end.HeapInuse)-int64(base.HeapInuse))/mib)
	verdict := "within"
	if peakGrowth*mib > float64(capacityMemory) {
		verdict = fmt.Sprintf("OVER (by %.0f%%)", 100*(peakGrowth*mib/float64(capacityMemory)-1))
	}
	fmt.Printf("memory bound: entries %d <= %d; peak live growth %.1f MiB %s capacityMemory %.1f MiB (fresh-store estimate %.1f MiB)\n",
		store.Len(), capacity, peakGrowth, verdict, float64(capacityMemory)/mib, estimate/mib)
	return nil
}
