package redisstore_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codathook/codathook/dedupe/redisstore"
	"github.com/redis/go-redis/v9"
)

// logs is a slog.Handler recording every record, for tests to read.
type logs struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *logs) Enabled(context.Context, slog.Level) bool { return true }
func (l *logs) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logs) WithGroup(string) slog.Handler            { return l }

func (l *logs) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r)
	return nil
}

// at returns the records at level, each as its message followed by its
// attributes ("msg key=value ...").
func (l *logs) at(level slog.Level) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.recs {
		if r.Level != level {
			continue
		}
		s := r.Message
		r.Attrs(func(a slog.Attr) bool {
			s += " " + a.String()
			return true
		})
		out = append(out, s)
	}
	return out
}

// newChecked runs New on rdb with a recording logger and returns the
// logs and New's error.
func newChecked(t *testing.T, rdb redis.UniversalClient, opts ...redisstore.Option) (*logs, error) {
	t.Helper()
	l := &logs{}
	_, err := redisstore.New(t.Context(), rdb, append([]redisstore.Option{redisstore.WithLogger(slog.New(l))}, opts...)...)
	return l, err
}

// silent returns the address of a listener that accepts connections and
// never answers.
func silent(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}

func configSet(t *testing.T, rdb *redis.Client, kv ...string) {
	t.Helper()
	for i := 0; i < len(kv); i += 2 {
		if err := rdb.ConfigSet(t.Context(), kv[i], kv[i+1]).Err(); err != nil {
			t.Fatalf("CONFIG SET %s %q: %v", kv[i], kv[i+1], err)
		}
	}
}

// durable are the arguments of a server New accepts without a word:
// AOF with fsync every second, no eviction.
var durable = []string{"--save", "", "--appendonly", "yes", "--appendfsync", "everysec", "--maxmemory", "64mb", "--maxmemory-policy", "noeviction"}

func TestNewRefusesEvictingPolicies(t *testing.T) {
	t.Parallel()
	srv := startServer(t, durable...)
	rdb := srv.client(t)
	// Subtests run in turn: each sets the policy of the one server.
	for _, policy := range []string{"allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"} {
		t.Run(policy+" is refused, and accepted with WithEvictionAllowed", func(t *testing.T) {
			configSet(t, rdb, "maxmemory-policy", policy)
			_, err := newChecked(t, rdb)
			var pe *redisstore.EvictionPolicyError
			if !errors.As(err, &pe) {
				t.Fatalf("New error = %v, want an *EvictionPolicyError", err)
			}
			if pe.Policy != policy || pe.Addr != srv.Addr() || pe.MaxMemory != "67108864" {
				t.Errorf("EvictionPolicyError = %+v, want policy %s, addr %s, maxmemory 67108864", pe, policy, srv.Addr())
			}
			for _, want := range []string{policy, "processed again", "noeviction", "WithEvictionAllowed()"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if strings.HasPrefix(policy, "volatile-") && !strings.Contains(err.Error(), "every dedupe key has one") {
				t.Errorf("error %q does not say why a volatile policy evicts dedupe keys", err)
			}
			l, err := newChecked(t, rdb, redisstore.WithEvictionAllowed())
			if err != nil {
				t.Fatalf("New with WithEvictionAllowed: %v", err)
			}
			if info := l.at(slog.LevelInfo); len(info) != 1 || !strings.Contains(info[0], policy) {
				t.Errorf("Info logs %q, want one naming %s", info, policy)
			}
		})
	}
	t.Run("noeviction is accepted without a word", func(t *testing.T) {
		configSet(t, rdb, "maxmemory-policy", "noeviction")
		l, err := newChecked(t, rdb)
		if err != nil {
			t.Fatal(err)
		}
		if w := append(l.at(slog.LevelWarn), l.at(slog.LevelInfo)...); len(w) != 0 {
			t.Errorf("logs %q, want none", w)
		}
	})
	t.Run("allkeys-lru without a memory limit is accepted with a warning", func(t *testing.T) {
		configSet(t, rdb, "maxmemory-policy", "allkeys-lru", "maxmemory", "0")
		l, err := newChecked(t, rdb)
		if err != nil {
			t.Fatal(err)
		}
		if w := l.at(slog.LevelWarn); len(w) != 1 || !strings.Contains(w[0], "once maxmemory is set") {
			t.Errorf("Warn logs %q, want one saying the policy evicts once maxmemory is set", w)
		}
	})
}

func TestNewWarnsOnWeakPersistence(t *testing.T) {
	t.Parallel()
	srv := startServer(t, durable...)
	rdb := srv.client(t)
	tests := []struct {
		name     string
		config   []string
		wantWarn string // "" for no warning
	}{
		{"persistence off (--save '' --appendonly no) is a warning", []string{"appendonly", "no", "save", ""}, "persistence is off"},
		{"RDB snapshots only are a warning", []string{"appendonly", "no", "save", "3600 1 300 100"}, "RDB snapshots only"},
		{"AOF with appendfsync no is a warning", []string{"appendonly", "yes", "appendfsync", "no", "save", ""}, "without fsync"},
		{"AOF with appendfsync everysec is not", []string{"appendonly", "yes", "appendfsync", "everysec"}, ""},
		{"AOF with appendfsync always is not", []string{"appendonly", "yes", "appendfsync", "always"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			configSet(t, rdb, tt.config...)
			l, err := newChecked(t, rdb)
			if err != nil {
				t.Fatal(err)
			}
			w := l.at(slog.LevelWarn)
			switch {
			case tt.wantWarn == "" && len(w) != 0:
				t.Errorf("Warn logs %q, want none", w)
			case tt.wantWarn != "" && (len(w) != 1 || !strings.Contains(w[0], tt.wantWarn) || !strings.Contains(w[0], "addr="+srv.Addr())):
				t.Errorf("Warn logs %q, want one saying %q for addr=%s", w, tt.wantWarn, srv.Addr())
			}
		})
	}
}

// On managed Redis CONFIG is often forbidden (renamed away, or denied by
// ACL): New says what it could not check and goes on, and still refuses
// an evicting policy it can read from INFO memory.
func TestNewWithoutConfigAccess(t *testing.T) {
	t.Parallel()
	evicting := []string{"--save", "", "--appendonly", "no", "--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru"}
	acl := startServer(t, evicting...)
	admin := acl.client(t)
	for _, rule := range [][]string{
		{"ACL", "SETUSER", "noconfig", "on", ">pw", "~*", "&*", "+@all", "-config"},
		{"ACL", "SETUSER", "nothing", "on", ">pw", "~*", "&*", "+@all", "-config", "-info"},
	} {
		args := make([]any, len(rule))
		for i, a := range rule {
			args[i] = a
		}
		if err := admin.Do(t.Context(), args...).Err(); err != nil {
			t.Fatal(err)
		}
	}
	renamed := startServer(t, append(evicting, "--rename-command", "CONFIG", "", "--rename-command", "INFO", "")...)
	user := func(t *testing.T, srv *server, name string) *redis.Client {
		rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), Username: name, Password: "pw"})
		if name == "" {
			rdb = redis.NewClient(&redis.Options{Addr: srv.Addr()})
		}
		t.Cleanup(func() { _ = rdb.Close() })
		return rdb
	}
	tests := []struct {
		name          string
		srv           *server
		user          string
		wantRefused   bool
		wantUnchecked string
		wantError     string
	}{
		{"CONFIG denied by ACL: the policy read from INFO is still refused", acl, "noconfig", true, "save", "NOPERM"},
		{"CONFIG and INFO denied by ACL: nothing is checked, New goes on", acl, "nothing", false, "maxmemory-policy, persistence", "NOPERM"},
		{"CONFIG and INFO renamed away: nothing is checked, New goes on", renamed, "", false, "maxmemory-policy, persistence", "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rdb := user(t, tt.srv, tt.user)
			_, err := newChecked(t, rdb)
			var pe *redisstore.EvictionPolicyError
			if got := errors.As(err, &pe); got != tt.wantRefused {
				t.Fatalf("New error = %v, want refused: %v", err, tt.wantRefused)
			}
			l, err := newChecked(t, rdb, redisstore.WithEvictionAllowed())
			if err != nil {
				t.Fatal(err)
			}
			var found bool
			for _, w := range l.at(slog.LevelWarn) {
				if strings.Contains(w, "could not check") {
					found = true
					if !strings.Contains(w, "unchecked="+tt.wantUnchecked) && !strings.Contains(w, `unchecked="`+tt.wantUnchecked+`"`) {
						t.Errorf("warning %q, want unchecked=%q", w, tt.wantUnchecked)
					}
					if !strings.Contains(w, tt.wantError) {
						t.Errorf("warning %q does not quote the server's %q", w, tt.wantError)
					}
				}
			}
			if !found {
				t.Errorf("Warn logs %q, want one saying what could not be checked", l.at(slog.LevelWarn))
			}
		})
	}
}

func TestNewUnreachable(t *testing.T) {
	t.Parallel()
	t.Run("failing closed, New returns the error", func(t *testing.T) {
		t.Parallel()
		_, err := newChecked(t, unreachable(t))
		var pe *redisstore.EvictionPolicyError
		if err == nil || errors.As(err, &pe) {
			t.Fatalf("New error = %v, want the dial error", err)
		}
	})
	t.Run("failing open, New warns and goes on", func(t *testing.T) {
		t.Parallel()
		l, err := newChecked(t, unreachable(t), redisstore.WithFailOpen())
		if err != nil {
			t.Fatal(err)
		}
		if w := l.at(slog.LevelWarn); len(w) != 1 || !strings.Contains(w[0], "could not reach") {
			t.Errorf("Warn logs %q, want one saying Redis could not be reached", w)
		}
	})
	t.Run("a context that ended is an error even failing open", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := redisstore.New(ctx, unreachable(t), redisstore.WithFailOpen())
		if !errors.Is(err, context.Canceled) {
			t.Errorf("New error = %v, want context.Canceled", err)
		}
	})
	t.Run("the check is bounded by the context's deadline", func(t *testing.T) {
		t.Parallel()
		// A listener that accepts and never answers: only the deadline ends New.
		srv := silent(t)
		rdb := redis.NewClient(&redis.Options{Addr: srv, MaxRetries: -1, ReadTimeout: time.Minute})
		t.Cleanup(func() { _ = rdb.Close() })
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := redisstore.New(ctx, rdb)
		if err == nil || time.Since(start) > 5*time.Second {
			t.Errorf("New on a silent server = %v after %v, want an error soon after 200 ms", err, time.Since(start))
		}
	})
}

func TestNewChecksEveryClusterMaster(t *testing.T) {
	t.Parallel()
	a, b := startClusterNode(t, durable...), startClusterNode(t, durable...)
	ra, rb := a.client(t), b.client(t)
	ctx := t.Context()
	for _, c := range []struct {
		rdb      *redis.Client
		from, to int
	}{{ra, 0, 8191}, {rb, 8192, 16383}} {
		if err := c.rdb.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", c.from, c.to).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := ra.Do(ctx, "CLUSTER", "MEET", "127.0.0.1", b.port, b.busPort).Err(); err != nil {
		t.Fatal(err)
	}
	for _, rdb := range []*redis.Client{ra, rb} {
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			// Enough for CLUSTER SLOTS to name both masters; the state
			// turns ok only 2 s after start, and New does not need it.
			info, _ := rdb.ClusterInfo(ctx).Result()
			if strings.Contains(info, "cluster_known_nodes:2") && strings.Contains(info, "cluster_slots_assigned:16384") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("cluster not formed after 10 s: %s", info)
			}
		}
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{a.Addr()}})
	t.Cleanup(func() { _ = cc.Close() })
	if l, err := newChecked(t, cc); err != nil || len(l.at(slog.LevelWarn)) != 0 {
		t.Fatalf("New on a durable cluster: error %v, warnings %q; want neither", err, l.at(slog.LevelWarn))
	}
	// Only the master the seed address does not name evicts.
	configSet(t, rb, "maxmemory-policy", "volatile-ttl")
	_, err := newChecked(t, cc)
	var pe *redisstore.EvictionPolicyError
	if !errors.As(err, &pe) || pe.Addr != b.Addr() || pe.Policy != "volatile-ttl" {
		t.Errorf("New error = %v, want an *EvictionPolicyError for %s, volatile-ttl", err, b.Addr())
	}
	configSet(t, rb, "appendonly", "no")
	l, err := newChecked(t, cc, redisstore.WithEvictionAllowed())
	if w := l.at(slog.LevelWarn); err != nil || len(w) != 1 || !strings.Contains(w[0], "persistence is off") || !strings.Contains(w[0], b.Addr()) {
		t.Errorf("New with WithEvictionAllowed: error %v, warnings %q; want one, persistence off on %s", err, w, b.Addr())
	}
}

// clusterNode is a server with cluster mode on; busPort is its cluster bus.
type clusterNode struct {
	*server
	busPort int
}

// startClusterNode starts a server with cluster mode on and args (its
// persistence and memory settings). The bus port is a free port of its own
// (--cluster-port, Redis 7.0): the default, port + 10000, can be taken or,
// from a high ephemeral port, out of range.
func startClusterNode(t *testing.T, args ...string) clusterNode {
	t.Helper()
	bus := freePort(t)
	srv := startServer(t, append([]string{"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
		"--cluster-port", strconv.Itoa(bus)}, args...)...)
	return clusterNode{srv, bus}
}
