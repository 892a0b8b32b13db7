// Command bare is the reference server of scripts/bench-http.sh: a net/http
// handler that reads the whole body and answers 204, on a loopback port. It
// prints nothing while serving.
//
//	bare [-addr 127.0.0.1:18082]
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/codathook/codathook/bench"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18082", "loopback address to listen on")
	flag.Parse()
	if err := run(*addr); err != nil {
		fmt.Fprintln(os.Stderr, "bare:", err)
		os.Exit(1)
	}
}

func run(addr string) error {
	return bench.ServeLoopback(addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
}
