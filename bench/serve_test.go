package bench

import (
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestServeLoopbackRefusesOtherAddresses: the benchmark servers never
// listen beyond the loopback interface, and a taken port is reported.
func TestServeLoopbackRefusesOtherAddresses(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"0.0.0.0:0", ":0", "example.com:80", "no-port"} {
		if err := ServeLoopback(addr, http.NotFoundHandler()); err == nil {
			t.Errorf("ServeLoopback(%q) = nil, want an error", addr)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := ServeLoopback(l.Addr().String(), http.NotFoundHandler()); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("ServeLoopback on a taken port = %v, want address in use", err)
	}
}
