// Command receiver serves codathook's two endpoints on a loopback port for
// scripts/bench-http.sh: the production pipeline of cmd/compare (signature
// check, classify, normalize, flags through OpenFeature's in-memory provider,
// the default in-memory dedupe store) with a no-op read.completed callback
// and a no-op fallback. It prints nothing while serving.
//
//	receiver [-addr 127.0.0.1:18081] [-flags default] [-store lru] [-cpuprofile file]
//
// -store noop swaps the dedupe store for deduper.Noop (nothing deduplicated)
// and -flags none drops the flag gate: with both, the receiver shows what
// verification, parsing and dispatch alone cost under load.
//
// Routes: POST /webhooks/codat (new endpoint), POST /webhooks/codat/legacy
// (legacy endpoint, Authorization codathooktest.DevAuthorization), and
// GET /stats, the receiver's non-zero per-result counters and the number of
// callback runs as JSON, which the script
// reads after the load to show how many deliveries were processed,
// duplicates or refused.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"runtime/pprof"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/bench"
	"github.com/codathook/codathook/dedupe"
	"github.com/codathook/codathook/internal/deduper"
	"github.com/codathook/codathook/normalize"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18081", "loopback address to listen on")
	flagsName := flag.String("flags", "default", "flag variant: default, inline, inline+cache, timeout or none")
	storeName := flag.String("store", "lru", "dedupe store: lru (the default in-memory store) or noop (no deduplication; for reference)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to `file`")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "receiver:", err)
			os.Exit(1)
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	if err := run(*addr, *flagsName, *storeName); err != nil {
		fmt.Fprintln(os.Stderr, "receiver:", err)
		os.Exit(1)
	}
}

func run(addr, flagsName, storeName string) error {
	variant, err := bench.ParseFlags(flagsName)
	if err != nil {
		return err
	}
	var store dedupe.Store // nil: the default LRU
	switch storeName {
	case "lru":
	case "noop":
		store = &deduper.Noop{}
	default:
		return fmt.Errorf("unknown store %q (lru, noop)", storeName)
	}
	p, err := bench.NewPipeline(variant, store, codathook.WithFallback(func(context.Context, *normalize.Event) error { return nil }))
	if err != nil {
		return err
	}
	defer p.Close()
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/codat", p.Receiver.Handler(codathook.EndpointNew))
	mux.Handle("POST /webhooks/codat/legacy", p.Receiver.Handler(codathook.EndpointLegacy))
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		st := p.Receiver.Stats()
		nonZero := func(es codathook.EndpointStats) map[codathook.Result]uint64 {
			m := map[codathook.Result]uint64{}
			for r, n := range es.Results {
				if n > 0 {
					m[r] = n
				}
			}
			return m
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"new": nonZero(st.New), "legacy": nonZero(st.Legacy), "callbacks": p.Calls.Load()})
	})
	return bench.ServeLoopback(addr, mux)
}
