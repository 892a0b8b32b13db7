package codathook_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
)

// Serving the receiver: an http.Server with timeouts, so that senders that
// stall hold a connection only so long. The receiver adds its own deadline
// for the body (WithBodyReadTimeout, 5 s); WriteTimeout, counted from the
// end of the headers, must outlast it plus the callback deadline (10 s).
func Example_server() {
	rcv, err := codathook.New(codathook.WithSecrets(codathooktest.DevSecret), quiet)
	if err != nil {
		panic(err)
	}
	defer rcv.Close(context.Background())
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/codat", rcv.Handler(codathook.EndpointNew))

	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      20 * time.Second, // > body deadline (5 s) + callback deadline (10 s)
		IdleTimeout:       60 * time.Second,
		HTTP2:             &http.HTTP2Config{MaxConcurrentStreams: 100},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0") // srv.ListenAndServe() in a real program
	if err != nil {
		panic(err)
	}
	go srv.Serve(ln)
	defer srv.Close()

	body, _ := codathooktest.Sample("connection.connected")
	req := codathooktest.MustSigner(codathooktest.DevSecret).NewRequest(http.MethodPost, "/webhooks/codat", body)
	resp, err := codathooktest.Send(context.Background(), &http.Client{}, "http://"+ln.Addr().String()+"/webhooks/codat", req)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get(codathook.HeaderResult))
	// Output:
	// 204 processed
}
