// Command compare measures codathook's receive pipeline beside svix-go's
// Verify plus encoding/json (baseline A) and a hand-written receiver
// (baseline B) in one process, for the same deliveries, and prints ns/op,
// B/op and allocs/op per row, the ratios and the targets of issue 18.
//
//	go -C bench run ./cmd/compare [-rounds 5] [-benchtime 1s] [-headline default]
//
// Each round runs every row once with testing.Benchmark, in an order rotated
// by one row per round, so that machine noise spreads over all rows; the
// table reports per-row medians over the rounds. For each delivery shape it
// prints "<shape>: pipeline/svix+json R", the pipeline's median ns/op
// divided by baseline A's; the last line, "pipeline/svix+json: R", is the
// largest of those ratios over the three shapes the target covers
// (new-600B, the §1.9 read.completed delivery: a 409-byte body, about 600
// bytes with its signature headers; new-1.5KB, 9 dataTypes elements;
// legacy).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/codathook/codathook/bench"
)

// Targets of issue 18.
const (
	targetRatio      = 0.6  // pipeline ns/op <= 0.6x baseline A, on every shape
	targetAllocs     = 20   // allocs of a single-element delivery
	targetPerElement = 2    // allocs per dataTypes element after the first
	targetDuplicate  = 0.15 // duplicate ns/op <= 0.15x a full delivery
)

// targetShapes are the delivery shapes the ratio target covers.
var targetShapes = []bench.Kind{bench.New600, bench.New1500, bench.Legacy}

type stat struct {
	ns, bytes, allocs []float64
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func main() {
	testing.Init()
	rounds := flag.Int("rounds", 5, "rounds; each runs every row once")
	benchtime := flag.Duration("benchtime", time.Second, "target duration of each row in each round")
	headlineName := flag.String("headline", "default", "flag variant of the headline pipeline rows: default, inline, inline+cache, timeout or none")
	variants := flag.Bool("variants", true, "also measure the other flag variants on the new-600B delivery")
	flag.Parse()
	headline, err := bench.ParseFlags(*headlineName)
	if err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(2)
	}
	if err := flag.Set("test.benchtime", benchtime.String()); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(2)
	}

	rows := bench.Rows(headline, *variants)
	stats := make([]stat, len(rows))
	printMachine()
	fmt.Printf("deliveries: new-600B %d B, new-1.5KB %d B, legacy %d B, duplicate = new-600B sent again\n",
		len(bench.New600.Body(1000000)), len(bench.New1500.Body(1000000)), len(bench.Legacy.Body(1000000)))
	fmt.Printf("%d rounds x %d rows, benchtime %v per row; headline pipeline flags: %s\n\n", *rounds, len(rows), *benchtime, headline)
	for round := range *rounds {
		start := time.Now()
		for i := range rows {
			j := (i + round) % len(rows)
			r := rows[j]
			res := testing.Benchmark(r.Bench())
			if res.N == 0 {
				fmt.Fprintf(os.Stderr, "compare: %s failed (run go test ./... in bench)\n", r.Name(headline))
				os.Exit(1)
			}
			stats[j].ns = append(stats[j].ns, float64(res.T.Nanoseconds())/float64(res.N))
			stats[j].bytes = append(stats[j].bytes, float64(res.AllocedBytesPerOp()))
			stats[j].allocs = append(stats[j].allocs, float64(res.AllocsPerOp()))
		}
		fmt.Fprintf(os.Stderr, "round %d/%d done in %v\n", round+1, *rounds, time.Since(start).Round(time.Second))
	}

	med := map[string][3]float64{}
	fmt.Printf("%-40s %10s %10s %10s %10s  %s\n", "row", "ns/op", "B/op", "allocs/op", "spread", "ns/op per round")
	for i, r := range rows {
		s := stats[i]
		m := [3]float64{median(s.ns), median(s.bytes), median(s.allocs)}
		med[r.Name(headline)] = m
		lo, hi := slices.Min(s.ns), slices.Max(s.ns)
		var per []string
		for _, v := range s.ns {
			per = append(per, fmt.Sprintf("%.0f", v))
		}
		fmt.Printf("%-40s %10.0f %10.0f %10.0f %9.0f%%  %s\n", r.Name(headline), m[0], m[1], m[2], 100*(hi-lo)/m[0], strings.Join(per, " "))
	}

	ns := func(name string) float64 { return med[name][0] }
	fmt.Println()
	fmt.Println("ratios (ns/op, medians):")
	for _, k := range bench.Kinds {
		p := ns("pipeline/" + k.String())
		fmt.Printf("%s: pipeline/svix+json %.2f, pipeline/handwritten %.2f\n", k, p/ns("svix+json/"+k.String()), p/ns("handwritten/"+k.String()))
	}
	for _, f := range bench.AllFlags {
		name := bench.Row{Impl: bench.ImplPipeline, Flags: f, Kind: bench.New600}.Name(headline)
		if _, ok := med[name]; ok {
			fmt.Printf("  flags=%-13s new-600B: %.0f ns/op, %.0f allocs/op, pipeline/svix+json %.2f\n", f.String(), ns(name), med[name][2], ns(name)/ns("svix+json/new-600B"))
		}
	}

	// Paired ratios: each round's pipeline row over the same round's
	// baseline A row, which ran right beside it; their median is less
	// sensitive to load that drifts between rounds.
	index := map[string]int{}
	for i, r := range rows {
		index[r.Name(headline)] = i
	}
	paired := func(num, den string) float64 {
		a, b := stats[index[num]].ns, stats[index[den]].ns
		var rs []float64
		for i := range a {
			rs = append(rs, a[i]/b[i])
		}
		return median(rs)
	}
	fmt.Printf("  paired (median of per-round ratios): new-600B pipeline/svix+json %.2f, duplicate/full %.2f\n",
		paired("pipeline/new-600B", "svix+json/new-600B"), paired("pipeline/duplicate", "pipeline/new-600B"))

	allocs600, allocs1500, allocsLegacy := med["pipeline/new-600B"][2], med["pipeline/new-1.5KB"][2], med["pipeline/legacy"][2]
	perElement := (allocs1500 - allocs600) / 8 // New1500 has 9 elements, New600 one
	dup := ns("pipeline/duplicate") / ns("pipeline/new-600B")
	met := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT met"
	}
	fmt.Println()
	fmt.Println("targets (headline pipeline, flags=" + headline.String() + "):")
	ratio := 0.0 // the worst shape's
	for _, k := range targetShapes {
		r := ns("pipeline/"+k.String()) / ns("svix+json/"+k.String())
		ratio = max(ratio, r)
		fmt.Printf("  pipeline/svix+json (%s) %.2f <= %.2f: %s\n", k, r, targetRatio, met(r <= targetRatio))
	}
	fmt.Printf("  allocs, single-element delivery: new-600B %.0f, legacy %.0f <= %d: %s\n", allocs600, allocsLegacy, targetAllocs, met(max(allocs600, allocsLegacy) <= targetAllocs))
	fmt.Printf("  allocs per extra element (new-1.5KB %.0f - new-600B %.0f) / 8 = %.1f <= %d: %s\n", allocs1500, allocs600, perElement, targetPerElement, met(perElement <= targetPerElement))
	fmt.Printf("  duplicate/full %.2f <= %.2f: %s\n", dup, targetDuplicate, met(dup <= targetDuplicate))
	fmt.Printf("pipeline/svix+json: %.2f\n", ratio)
}

func printMachine() {
	model := ""
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	load := ""
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	fmt.Printf("machine: %s/%s, %d CPUs (%s), GOMAXPROCS %d, %s, load average %s\n",
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), model, runtime.GOMAXPROCS(0), runtime.Version(), load)
}
