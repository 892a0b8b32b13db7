package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisServerBin returns the redis-server binary: REDIS_SERVER, else
// redis-server on PATH. Without one the test is skipped, except on CI
// (CI=true), where it is a failure.
func redisServerBin(tb testing.TB) string {
	tb.Helper()
	if bin := os.Getenv("REDIS_SERVER"); bin != "" {
		return bin
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatal("redis-server is not on PATH on CI; install it or set REDIS_SERVER")
		}
		tb.Skip("redis-server is not on PATH (set REDIS_SERVER to its path to run)")
	}
	return bin
}

// server is a redis-server process the test owns, on a free loopback port
// with its own directory under t.TempDir(), stopped at cleanup.
type server struct {
	t    *testing.T
	bin  string
	dir  string
	port int
	args []string
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// startServer starts redis-server with args (persistence and memory
// settings: a test states the ones it relies on) and waits until it
// answers.
func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	s := &server{t: t, bin: redisServerBin(t), dir: t.TempDir(), args: args}
	t.Cleanup(func() { s.stop(syscall.SIGKILL) })
	for attempt := 1; ; attempt++ {
		s.port = freePort(t)
		err := s.start()
		if err == nil {
			return s
		}
		if !errors.Is(err, errPortTaken) || attempt == 5 {
			t.Fatal(err)
		}
	}
}

var errPortTaken = errors.New("port taken")

func freePort(t *testing.T) int {
	t.Helper()
	port, err := listenPort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// listenPort returns a loopback port that was free a moment ago.
func listenPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Addr returns the server's address.
func (s *server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// start runs the server on s.port and s.dir and waits until it answers
// PING (after loading its AOF or RDB file, if any).
func (s *server) start() error {
	args := append([]string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--dir", s.dir,
		"--daemonize", "no", "--logfile", "redis.log"}, s.args...)
	s.cmd = exec.Command(s.bin, args...)
	s.cmd.Dir = s.dir
	diesWithParent(s.cmd)
	if err := s.cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	s.done = done
	go func() { _ = s.cmd.Wait(); close(done) }()
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer rdb.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			if strings.Contains(string(log), "Address already in use") {
				return errPortTaken
			}
			return fmt.Errorf("redis-server %v exited: %s\n%s", args, s.cmd.ProcessState, log)
		default:
		}
		err := rdb.Ping(context.Background()).Err()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			s.stop(syscall.SIGKILL)
			return fmt.Errorf("redis-server on %s did not answer: %v", s.Addr(), err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop ends the process with sig (if it still runs) and waits for it.
func (s *server) stop(sig syscall.Signal) {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	_ = signal(s.cmd, sig)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = signal(s.cmd, syscall.SIGKILL)
		<-s.done
	}
}

// restart stops the server (SHUTDOWN, which saves what its persistence
// settings save, when crash is false; SIGKILL when true) and starts it
// again on the same port and directory.
func (s *server) restart(crash bool) {
	s.t.Helper()
	if crash {
		s.stop(syscall.SIGKILL)
	} else {
		rdb := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1})
		err := rdb.Shutdown(context.Background()).Err()
		_ = rdb.Close()
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			s.t.Fatalf("SHUTDOWN (error %v): redis-server on %s still runs after 10 s", err, s.Addr())
		}
	}
	if err := s.start(); err != nil {
		s.t.Fatal(err)
	}
}

// client returns a client for s, closed with the test.
func (s *server) client(t *testing.T) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}
