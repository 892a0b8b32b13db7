package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
	"github.com/codathook/codathook/internal/resp"
)

// redisAddr returns REDIS_ADDR. Without it the test is skipped, except on
// CI (CI=true), where a missing Redis is a failure.
func redisAddr(t *testing.T) string {
	t.Helper()
	addr := os.Getenv("REDIS_ADDR")
	if addr == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("REDIS_ADDR is unset on CI; start redis-server and export REDIS_ADDR")
		}
		t.Skip("REDIS_ADDR is unset; start redis-server and export REDIS_ADDR=host:port to run")
	}
	return addr
}

// isolatedPrefix gives the test a key prefix of its own and deletes its
// keys afterwards.
func isolatedPrefix(t *testing.T, addr string) {
	t.Helper()
	prefix := fmt.Sprintf("codathook-quickstart-test:%x:", rand.Uint64())
	t.Setenv(redisPrefixEnv, prefix)
	t.Cleanup(func() {
		ctx := context.Background()
		c, err := resp.Dial(ctx, addr, nil)
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		defer c.Close()
		r, err := c.Do(ctx, [][]string{{"EVAL", `local ks = redis.call('KEYS', ARGV[1]) for _, k in ipairs(ks) do redis.call('DEL', k) end return #ks`, "0", prefix + "*"}})
		if err != nil {
			t.Errorf("cleanup: %v", err)
		} else if n, _ := r[0].(int64); n == 0 {
			t.Errorf("cleanup: no keys under %q: the quickstart did not use the prefix", prefix)
		}
	})
}

func result(t *testing.T, r *http.Request) string {
	t.Helper()
	resp := post(t, r)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: status %d", r.Method, r.URL, resp.StatusCode)
	}
	return resp.Header.Get(codathook.HeaderResult)
}

// TestQuickstartRedisSharesDuplicatesAcrossInstances runs two quickstarts
// with -redis on one redis-server: a delivery processed by one is a
// duplicate at the other, whether it is a resend of the same message or
// the other format's twin.
func TestQuickstartRedisSharesDuplicatesAcrossInstances(t *testing.T) {
	addr := redisAddr(t)
	t.Setenv("CODAT_WEBHOOK_SECRET", "")
	t.Setenv("CODAT_LEGACY_AUTH", "")
	isolatedPrefix(t, addr)
	baseA, stdoutA, stderrA := start(t, "-redis", addr)
	baseB, stdoutB, _ := start(t, "-redis", addr)
	if !strings.Contains(stderrA.String(), "Redis store") {
		t.Errorf("stderr does not say the Redis store is in use:\n%s", stderrA)
	}

	signer := codathooktest.MustSigner(codathooktest.DevSecret)
	signer.MsgID = codathooktest.NewMessageID()
	id := fmt.Sprintf("evt-%x", rand.Uint64())
	company, conn := fmt.Sprintf("co-%x", rand.Uint64()), fmt.Sprintf("k-%x", rand.Uint64())
	created := []byte(`{"id":"` + id + `","eventType":"company.created","generatedDate":"2025-01-10T00:00:00Z","payload":{"id":"` + company + `","name":"n"}}`)
	if got, want := result(t, signer.NewRequest(http.MethodPost, baseA+"/webhooks/codat", created)), "processed"; got != want {
		t.Fatalf("first delivery at A: result %q, want %q", got, want)
	}
	if got, want := result(t, signer.NewRequest(http.MethodPost, baseB+"/webhooks/codat", created)), "duplicate"; got != want {
		t.Errorf("the same message at B: result %q, want %q", got, want)
	}

	signer.MsgID = codathooktest.NewMessageID()
	// Generated now: its legacy twin pairs with it by occurrence time.
	now := time.Now().UTC().Format(time.RFC3339Nano)
	connected := []byte(`{"id":"` + id + `-c","eventType":"connection.connected","generatedDate":"` + now + `","payload":{"referenceCompany":{"id":"` + company + `"},"connection":{"id":"` + conn + `","status":"Linked"}}}`)
	if got, want := result(t, signer.NewRequest(http.MethodPost, baseB+"/webhooks/codat", connected)), "processed"; got != want {
		t.Fatalf("new connection.connected at B: result %q, want %q", got, want)
	}
	legacy := []byte(`{"AlertId":"` + id + `-l","RuleType":"DataConnectionStatusChanged","CompanyId":"` + company + `","DataConnectionId":"` + conn + `","Data":{"dataConnectionId":"` + conn + `","newStatus":"Linked","oldStatus":"PendingAuth"}}`)
	if got, want := result(t, codathooktest.NewLegacyRequest(baseA+"/webhooks/codat/legacy", codathooktest.DevAuthorization, legacy)), "duplicate"; got != want {
		t.Errorf("its legacy twin at A: result %q, want %q", got, want)
	}

	a, b := lines(t, stdoutA.String()), lines(t, stdoutB.String())
	if len(a) != 1 || a[0].EventType != "company.created" || len(b) != 1 || b[0].EventType != "connection.connected" {
		t.Errorf("callback lines: A %+v, B %+v; want company.created at A and connection.connected at B, once each", a, b)
	}
}

func TestQuickstartRedisUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	var stdout, stderr syncBuffer
	err = run(t.Context(), []string{"-addr", "127.0.0.1:0", "-redis", addr}, &stdout, &stderr, nil)
	if err == nil || !strings.Contains(err.Error(), "-redis") {
		t.Errorf("run with an unreachable -redis: error = %v, want a -redis error", err)
	}
}
