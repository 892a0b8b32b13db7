package redisstore_test

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReceiverReadyPingsRedis checks that a receiver on the Redis store is
// ready while its server answers, and not ready once the server is gone.
func TestReceiverReadyPingsRedis(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "--save", "", "--appendonly", "no")
	rdb := srv.client(t)
	r := newReplica(t, newStore(t, rdb), nil)
	if err := r.rcv.Ready(t.Context()); err != nil {
		t.Fatalf("Ready with the server up: %v", err)
	}
	srv.stop(syscall.SIGKILL)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	err := r.rcv.Ready(ctx)
	if err == nil || !strings.Contains(err.Error(), "dedupe store") {
		t.Fatalf("Ready with the server gone = %v, want an error naming the store", err)
	}
}
