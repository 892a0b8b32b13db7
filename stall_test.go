package codathook_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codathook/codathook"
)

// The stalled-connection measurement: a real server over loopback, and a
// client in a child process (this test binary, re-executed) that opens
// stallConns requests each announcing Content-Length stallDeclared and
// sending only its headers. The client lives in another process so that
// its own buffers (the HTTP/2 transport keeps a write buffer per stream)
// are not counted: the figure is the server's heap alone.
const (
	stallConns    = 1000
	stallDeclared = 1 << 20
	// stallBound is the most heap one stalled request may hold.
	stallBound = 64 << 10

	envStallClient = "CODATHOOK_STALL_CLIENT" // "h1" or "h2": run as the client
	envStallURL    = "CODATHOOK_STALL_URL"
	envStallN      = "CODATHOOK_STALL_N"
)

// TestStalledBodiesHeap: stalled requests cost heap by the bytes they sent,
// not by the Content-Length they announced: at most stallBound each, over
// HTTP/1.1 (one connection each) and HTTP/2 (streams multiplexed on few
// connections). It measures the whole process's HeapAlloc, so it does not
// run in parallel; parallel tests wait until it has finished.
func TestStalledBodiesHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 1000 loopback connections")
	}
	for _, proto := range []string{"h1", "h2"} {
		t.Run(proto, func(t *testing.T) {
			perConn := measureStalled(t, proto, stallConns)
			t.Logf("%s: %d stalled requests announcing %d bytes each: %.1f KiB of heap each (bound %d KiB)",
				proto, stallConns, stallDeclared, float64(perConn)/1024, stallBound>>10)
			if perConn > stallBound {
				t.Errorf("%s: a stalled request holds %d bytes of heap, want at most %d", proto, perConn, stallBound)
			}
		})
	}
}

// measureStalled serves a receiver, has a child process open n stalled
// requests over proto, waits until every handler is blocked reading its
// body, and returns the heap growth per request.
func measureStalled(t *testing.T, proto string, n int) (perRequest int64) {
	t.Helper()
	rcv, err := codathook.New(
		codathook.WithSecrets(testSecret),
		codathook.WithLegacyAuthorization(legacyAuth),
		codathook.WithLogger(slog.New(slog.DiscardHandler)),
		// Stalled for the whole measurement (its deadline set, as always).
		codathook.WithBodyReadTimeout(time.Minute),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer rcv.Close(context.Background())
	var reading atomic.Int64 // handlers that have asked for body bytes
	var done sync.WaitGroup  // handlers that have returned
	inner := rcv.Handler(codathook.EndpointNew)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		done.Add(1)
		defer done.Done()
		r.Body = &firstRead{ReadCloser: r.Body, n: &reading}
		inner.ServeHTTP(w, r)
	})
	srv := httptest.NewUnstartedServer(handler)
	var conns atomic.Int64
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	if proto == "h2" {
		srv.Config.Protocols = new(http.Protocols)
		srv.Config.Protocols.SetHTTP1(true)
		srv.Config.Protocols.SetUnencryptedHTTP2(true)
		// Every stream on one connection, as one client can do it.
		srv.Config.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: n}
	}
	srv.Start()
	defer srv.Close()

	// Warm up: one complete delivery, so that lazily built state (pools,
	// the store, the flight map) is not counted.
	warm, err := http.Post(srv.URL+"/", "application/json", strings.NewReader("{}"))
	if err == nil {
		warm.Body.Close()
	}
	if proto == "h2" {
		http.DefaultClient.CloseIdleConnections()
	}
	reading.Store(0)
	conns.Store(0)

	before := heapAlloc()
	child := exec.Command(os.Args[0], "-test.run=^TestStallClientProcess$", "-test.v")
	child.Env = append(os.Environ(), envStallClient+"="+proto, envStallURL+"="+srv.URL, envStallN+"="+strconv.Itoa(n))
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	child.Stdout, child.Stderr = &out, &out
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close() // the child exits when its stdin closes, closing its connections
		if err := child.Wait(); err != nil && !t.Failed() {
			t.Logf("client process: %v\n%s", err, out.String())
		}
	}()
	deadline := time.Now().Add(60 * time.Second)
	for reading.Load() < int64(n) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d requests reached the body read in 60 s; client output:\n%s", reading.Load(), n, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // let the last handlers allocate what they will
	after := heapAlloc()
	t.Logf("%s: %d requests on %d connections", proto, n, conns.Load())
	return (int64(after) - int64(before)) / int64(n)
}

func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// firstRead counts the first Read on a request body: the receiver has set
// up its read (and allocated what it allocates before any byte) by then.
type firstRead struct {
	io.ReadCloser
	n    *atomic.Int64
	once sync.Once
}

func (f *firstRead) Read(p []byte) (int, error) {
	f.once.Do(func() { f.n.Add(1) })
	return f.ReadCloser.Read(p)
}

// TestStallClientProcess is the client of TestStalledBodiesHeap when run as
// its child process; otherwise it does nothing.
func TestStallClientProcess(t *testing.T) {
	proto := os.Getenv(envStallClient)
	if proto == "" {
		t.Skip("run by TestStalledBodiesHeap")
	}
	url := os.Getenv(envStallURL)
	n, _ := strconv.Atoi(os.Getenv(envStallN))
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	switch proto {
	case "h1":
		addr := strings.TrimPrefix(url, "http://")
		conns := make([]net.Conn, 0, n)
		for range n {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				fmt.Println("dial:", err)
				os.Exit(1)
			}
			conns = append(conns, c)
			bw := bufio.NewWriter(c)
			fmt.Fprintf(bw, "POST /webhooks/codat HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"+
				"Webhook-Id: msg_stalled\r\nWebhook-Timestamp: 1700000000\r\nWebhook-Signature: v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n",
				addr, stallDeclared)
			if err := bw.Flush(); err != nil {
				fmt.Println("write:", err)
				os.Exit(1)
			}
		}
		_ = conns
	case "h2":
		p := new(http.Protocols)
		p.SetUnencryptedHTTP2(true)
		client := &http.Client{Transport: &http.Transport{Protocols: p}}
		// One request first, so that the others find its connection (and
		// the server's stream limit) and share it.
		if resp, err := client.Get(url + "/"); err == nil {
			resp.Body.Close()
		}
		never := make(chan struct{})
		for range n {
			go func() {
				req, _ := http.NewRequest(http.MethodPost, url+"/webhooks/codat", stalledBody(never))
				req.ContentLength = stallDeclared
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err == nil {
					resp.Body.Close()
				}
			}()
		}
	}
	select {}
}

// stalledBody is a request body that never yields a byte.
type stalledBody chan struct{}

func (s stalledBody) Read([]byte) (int, error) { <-s; return 0, io.EOF }
