package resp_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codathook/codathook/dedupe"
	"github.com/codathook/codathook/dedupe/dedupetest"
	"github.com/codathook/codathook/internal/redisscript"
	"github.com/codathook/codathook/internal/resp"
)

// redisAddr returns REDIS_ADDR. Without it the test is skipped, except on
// CI (CI=true), where a missing Redis is a failure.
func redisAddr(tb testing.TB) string {
	tb.Helper()
	addr := os.Getenv("REDIS_ADDR")
	if addr == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal("REDIS_ADDR is unset on CI; start redis-server and export REDIS_ADDR")
		}
		tb.Skip("REDIS_ADDR is unset; start redis-server and export REDIS_ADDR=host:port to run")
	}
	return addr
}

func dial(tb testing.TB) *resp.Client {
	tb.Helper()
	c, err := resp.Dial(context.Background(), redisAddr(tb), nil)
	if err != nil {
		tb.Fatalf("REDIS_ADDR=%s: %v", os.Getenv("REDIS_ADDR"), err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// counting counts round trips through a transport.
type counting struct {
	redisscript.Transport
	n atomic.Int64
}

func (c *counting) Do(ctx context.Context, cmds [][]string) ([]any, error) {
	c.n.Add(1)
	return c.Transport.Do(ctx, cmds)
}

// newStore returns a store on its own random prefix, deleted afterwards.
func newStore(tb testing.TB, t redisscript.Transport, c *resp.Client) *redisscript.Store {
	tb.Helper()
	prefix := fmt.Sprintf("codathook-test:%x:", rand.Uint64())
	tb.Cleanup(func() { deletePrefix(tb, c, prefix) })
	return redisscript.New(t, redisscript.Config{Prefix: prefix})
}

func deletePrefix(tb testing.TB, c *resp.Client, prefix string) {
	ctx := context.Background()
	cursor := "0"
	for {
		r, err := c.Do(ctx, [][]string{{"SCAN", cursor, "MATCH", prefix + "*", "COUNT", "1000"}})
		if err != nil {
			tb.Errorf("cleanup: %v", err)
			return
		}
		page, _ := r[0].([]any)
		if len(page) != 2 {
			tb.Errorf("cleanup: SCAN reply %v", r[0])
			return
		}
		cursor, _ = page[0].(string)
		for _, k := range page[1].([]any) {
			if _, err := c.Do(ctx, [][]string{{"DEL", k.(string)}}); err != nil {
				tb.Errorf("cleanup: %v", err)
			}
		}
		if cursor == "0" {
			return
		}
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	c := dial(t)
	dedupetest.Run(t, func(t *testing.T) dedupe.Store { return newStore(t, c, c) }, dedupetest.WithRealTTL(time.Second))
}

func BenchmarkResp(b *testing.B) {
	c := dial(b)
	dedupetest.RunBenchmarks(b, func(b *testing.B) dedupe.Store { return newStore(b, c, c) })
}

// TestNoScriptFallsBackToEval flushes the server's script cache: the next
// script call answers NOSCRIPT and is sent again as EVAL, one extra round
// trip, after which EVALSHA works again.
func TestNoScriptFallsBackToEval(t *testing.T) {
	t.Parallel()
	c := dial(t)
	ct := &counting{Transport: c}
	s := newStore(t, ct, c)
	ctx := t.Context()
	if _, err := c.Do(ctx, [][]string{{"SCRIPT", "FLUSH"}}); err != nil {
		t.Fatal(err)
	}
	var first dedupe.Pairing
	for i, want := range []int64{2, 1} { // NOSCRIPT + EVAL, then EVALSHA
		before := ct.n.Load()
		side := [...]string{"new", "legacy"}[i]
		p, err := s.Arrive(ctx, "K", dedupe.Arrival{Side: side, Member: fmt.Sprint("m", i), At: time.Now(), Window: time.Minute, TTL: time.Minute, Limit: 8})
		if err != nil {
			t.Fatalf("Arrive %d: %v", i, err)
		}
		if i == 0 {
			first = p
		} else if !p.Paired || p.Epoch != first.Epoch || p.Slot != first.Slot {
			t.Errorf("Arrive %d = %+v, want paired into %+v", i, p, first)
		}
		// Another test may load the script concurrently: at most want.
		if got := ct.n.Load() - before; got > want || got < 1 {
			t.Errorf("Arrive %d: %d round trips, want %d", i, got, want)
		}
	}
}

func TestReplies(t *testing.T) {
	t.Parallel()
	c := dial(t)
	ctx := t.Context()
	key := fmt.Sprintf("codathook-test:%x", rand.Uint64())
	t.Cleanup(func() { _, _ = c.Do(context.Background(), [][]string{{"DEL", key}}) })
	got, err := c.Do(ctx, [][]string{
		{"SET", key, "v\r\nwith\x00binary"},
		{"GET", key},
		{"GET", key + ":absent"},
		{"INCR", key + ":absent-counter-" + key},
		{"DEL", key + ":absent-counter-" + key},
		{"EVAL", "return {1, 'two', {3}, false}", "0"},
		{"NOSUCHCOMMAND"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []any{"OK", "v\r\nwith\x00binary", nil, int64(1), int64(1), []any{int64(1), "two", []any{int64(3)}, nil}}
	if !reflect.DeepEqual(got[:6], want) {
		t.Errorf("replies = %#v, want %#v", got[:6], want)
	}
	if e, ok := got[6].(redisscript.Error); !ok || !strings.HasPrefix(string(e), "ERR") {
		t.Errorf("unknown command reply = %#v, want a redisscript.Error starting with ERR", got[6])
	}
}

// silent is a server that accepts connections, reads, and never answers.
func silent(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				r := bufio.NewReader(nc)
				for {
					if _, err := r.ReadString('\n'); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// scripted is a server that answers every PING with +PONG and every other
// command with reply.
func scripted(t *testing.T, reply string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				r := bufio.NewReader(nc)
				for {
					var n int
					if _, err := fmt.Fscanf(r, "*%d\r\n", &n); err != nil {
						return
					}
					var args []string
					for range n {
						var l int
						if _, err := fmt.Fscanf(r, "$%d\r\n", &l); err != nil {
							return
						}
						b := make([]byte, l+2)
						if _, err := r.Read(b); err != nil {
							return
						}
						args = append(args, string(b[:l]))
					}
					out := reply
					if args[0] == "PING" {
						out = "+PONG\r\n"
					}
					if _, err := nc.Write([]byte(out)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func TestTimeoutsAndCancellation(t *testing.T) {
	t.Parallel()
	t.Run("a dial that fails is an error", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		_ = ln.Close()
		if _, err := resp.Dial(t.Context(), addr, nil); err == nil {
			t.Error("Dial to a closed port: error = nil, want an error")
		}
	})
	t.Run("a silent server times out", func(t *testing.T) {
		t.Parallel()
		start := time.Now()
		_, err := resp.Dial(t.Context(), silent(t), &resp.Options{Timeout: 200 * time.Millisecond})
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("Dial to a silent server: error = %v, want a timeout", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("timeout took %v, want about 200ms", d)
		}
	})
	t.Run("a cancelled context interrupts a round trip", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		_, err := resp.Dial(ctx, silent(t), &resp.Options{Timeout: time.Minute})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Dial with a context that expires: error = %v, want context.DeadlineExceeded", err)
		}
	})
	t.Run("malformed replies are errors", func(t *testing.T) {
		t.Parallel()
		for _, reply := range []string{"?\r\n", "$5\r\nab\r\n", ":x\r\n", "*-2\r\n", "+no-crlf\n", "$999999999999\r\n"} {
			c, err := resp.Dial(t.Context(), scripted(t, reply), &resp.Options{Timeout: 500 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if r, err := c.Do(t.Context(), [][]string{{"GET", "k"}}); err == nil {
				t.Errorf("reply %q: Do = %#v, nil; want an error", reply, r)
			}
			_ = c.Close()
		}
	})
	t.Run("a closed client refuses", func(t *testing.T) {
		t.Parallel()
		c, err := resp.Dial(t.Context(), scripted(t, "+OK\r\n"), nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.Close()
		if _, err := c.Do(t.Context(), [][]string{{"GET", "k"}}); !errors.Is(err, resp.ErrClosed) {
			t.Errorf("Do after Close: error = %v, want ErrClosed", err)
		}
	})
}
