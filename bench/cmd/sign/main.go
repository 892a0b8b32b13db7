// Command sign writes pre-signed deliveries for scripts/bench-http.sh, since
// wrk cannot compute an HMAC per request. It writes one file per wrk thread,
// dir/deliveries.<i> (i from 0), each line one delivery:
//
//	webhook-id TAB webhook-timestamp TAB webhook-signature TAB body
//
// Every delivery has its own message id, event id and company (the new-600B
// delivery of cmd/compare), signed now with bench.Secret, so a receiver with
// the default five-minute tolerance accepts them for five minutes.
//
//	sign -n 400000 -threads 2 -out DIR
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/codathook/codathook/bench"
	"github.com/codathook/codathook/codathooktest"
)

func main() {
	n := flag.Int("n", 400_000, "deliveries in all")
	threads := flag.Int("threads", 2, "files (one per wrk thread); deliveries are split evenly")
	out := flag.String("out", ".", "directory")
	flag.Parse()
	if err := run(*n, *threads, *out); err != nil {
		fmt.Fprintln(os.Stderr, "sign:", err)
		os.Exit(1)
	}
}

func run(n, threads int, dir string) error {
	if n <= 0 || threads <= 0 {
		return fmt.Errorf("-n and -threads must be positive")
	}
	signer := codathooktest.MustSigner(bench.Secret)
	per := n / threads
	for t := range threads {
		f, err := os.Create(filepath.Join(dir, "deliveries."+strconv.Itoa(t)))
		if err != nil {
			return err
		}
		w := bufio.NewWriterSize(f, 1<<20)
		for i := range per {
			msgID, h, body := bench.Sign(signer, bench.New600, t*per+i+1)
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", msgID, h.Get("webhook-timestamp"), h.Get("webhook-signature"), body)
		}
		if err := w.Flush(); err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}
