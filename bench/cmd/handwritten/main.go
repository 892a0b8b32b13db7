// Command handwritten is the hand-written reference receiver of
// scripts/bench-http.sh: baseline B of cmd/compare (io.ReadAll, svix-go's
// Verify, encoding/json into a map[string]any, a sync.Map of webhook-ids as
// its dedupe, a no-op callback), what a team writes without codathook, on a
// loopback port. It prints nothing while serving.
//
//	handwritten [-addr 127.0.0.1:18083]
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/codathook/codathook/bench"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18083", "loopback address to listen on")
	flag.Parse()
	if err := run(*addr); err != nil {
		fmt.Fprintln(os.Stderr, "handwritten:", err)
		os.Exit(1)
	}
}

func run(addr string) error {
	h, err := bench.NewBaselineB()
	if err != nil {
		return err
	}
	return bench.ServeLoopback(addr, h)
}
