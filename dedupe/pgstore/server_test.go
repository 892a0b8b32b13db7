package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// pgBin returns the directory of PostgreSQL's initdb and postgres:
// PGSTORE_PGBIN, else that of initdb on PATH (links resolved), else the
// newest /usr/lib/postgresql/*/bin (Debian's). Without one the test is
// skipped, except on CI (CI=true), where it is a failure.
func pgBin(tb testing.TB) string {
	tb.Helper()
	if d := os.Getenv("PGSTORE_PGBIN"); d != "" {
		return d
	}
	var dirs []string
	if p, err := exec.LookPath("initdb"); err == nil {
		if p, err = filepath.EvalSymlinks(p); err == nil {
			dirs = append(dirs, filepath.Dir(p))
		}
	}
	debian, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(debian, func(i, j int) bool { return version(debian[i]) > version(debian[j]) })
	for _, d := range append(dirs, debian...) {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) {
			return d
		}
	}
	if os.Getenv("CI") == "true" {
		tb.Fatal("no PostgreSQL initdb and postgres on CI; install postgresql or set PGSTORE_PGBIN")
	}
	tb.Skip("no PostgreSQL initdb and postgres (set PGSTORE_PGBIN to their directory to run)")
	return ""
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode()&0o111 != 0
}

// version is the major version in a /usr/lib/postgresql/N/bin path.
func version(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// server is a PostgreSQL cluster the test owns, in its own directory
// under t.TempDir(), on a free loopback port, killed at cleanup. As root
// it runs as the postgres user (PostgreSQL refuses root).
type server struct {
	t    *testing.T
	bin  string
	dir  string // the data directory
	port int
	args []string
	cred *syscall.Credential // nil: as ourselves
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// startServer initdbs a cluster and starts it with args (-c settings: a
// test states the ones it relies on).
func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	s := &server{t: t, bin: pgBin(t), dir: filepath.Join(t.TempDir(), "data"), args: args}
	if err := os.Mkdir(s.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skipf("running as root with no postgres user to run PostgreSQL as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(s.dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		// The directories above it must let it through: add the
		// search bit for others where it is missing (t.TempDir's are 0700).
		for d := filepath.Dir(s.dir); d != "/"; d = filepath.Dir(d) {
			if fi, err := os.Stat(d); err == nil && fi.Mode().Perm()&0o001 == 0 {
				_ = os.Chmod(d, fi.Mode().Perm()|0o011)
			}
		}
	}
	initdb := s.command("initdb", "-D", s.dir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// command returns the PostgreSQL program name run as the server's user,
// killed if the test process dies first.
func (s *server) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	cmd.Dir = s.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Pdeathsig: syscall.SIGKILL}
	return cmd
}

// DSN returns the server's connection string.
func (s *server) DSN() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.port)
}

// start runs the postmaster (not daemonized: a child of the test, which
// it dies with) and waits until it accepts connections.
func (s *server) start() error {
	args := append([]string{"-D", s.dir, "-p", strconv.Itoa(s.port), "-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=", "-c", "logging_collector=off"}, s.args...)
	s.cmd = s.command("postgres", args...)
	logf, err := os.Create(filepath.Join(filepath.Dir(s.dir), "postgres.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	s.done = done
	go func() { _ = s.cmd.Wait(); close(done) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-done:
			log, _ := os.ReadFile(logf.Name())
			if strings.Contains(string(log), "could not bind") || strings.Contains(string(log), "Address already in use") {
				return errPortTaken
			}
			return fmt.Errorf("postgres %v exited: %s\n%s", args, s.cmd.ProcessState, log)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgxpool.New(ctx, s.DSN())
		if err == nil {
			err = conn.Ping(ctx)
			conn.Close()
		}
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			s.stop(syscall.SIGKILL)
			return fmt.Errorf("postgres on %d did not answer: %v", s.port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends the postmaster with sig, if it runs, and waits for it:
// SIGQUIT is PostgreSQL's immediate shutdown (no checkpoint, recovery from
// the WAL at the next start: a crash of the server, not of its host),
// SIGINT its fast shutdown.
func (s *server) stop(sig syscall.Signal) {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// restart stops the server with sig and starts it again on the same port
// and data directory.
func (s *server) restart(sig syscall.Signal) {
	s.t.Helper()
	s.stop(sig)
	if err := s.start(); err != nil {
		s.t.Fatal(err)
	}
}
