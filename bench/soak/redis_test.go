package soak

import (
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/dedupe/redisstore"
)

// What every simulation of this package shares: the redis-server, a
// replica's store, a replica's server.

// redisAddr returns REDIS_ADDR; without it the test skips, except under
// CI=true, where a missing server is a failure.
func redisAddr(t *testing.T) string {
	t.Helper()
	addr := os.Getenv("REDIS_ADDR")
	if addr == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("REDIS_ADDR is not set; CI must run this test against a real redis-server (scripts/test.sh starts one)")
		}
		t.Skip("REDIS_ADDR not set; run scripts/test.sh, or set REDIS_ADDR to a redis-server")
	}
	return addr
}

// replicaStore returns one replica's store: its own Redis client on the
// shared server, under the run's key prefix.
func replicaStore(t *testing.T, addr, prefix string) *redisstore.Store {
	t.Helper()
	client := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { client.Close() })
	if err := client.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("redis-server at %s: %v", addr, err)
	}
	store, err := redisstore.New(t.Context(), client, redisstore.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	return store
}

// serve mounts rcv's two endpoints on a mux, as an application would, behind
// a real HTTP server closed at the end of the test.
func serve(t *testing.T, rcv *codathook.Receiver) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/webhooks/codat", rcv.Handler(codathook.EndpointNew))
	mux.Handle("/webhooks/codat/legacy", rcv.Handler(codathook.EndpointLegacy))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}
