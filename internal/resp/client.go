package resp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/codathook/codathook/internal/redisscript"
)

// Defaults for [Options].
const (
	// DefaultDialTimeout bounds connecting.
	DefaultDialTimeout = 2 * time.Second
	// DefaultTimeout bounds one round trip.
	DefaultTimeout = 3 * time.Second
	// DefaultMaxIdle is how many idle connections are kept.
	DefaultMaxIdle = 4
)

// Options configures [Dial]. Zero fields select the defaults.
type Options struct {
	// DialTimeout bounds connecting (default DefaultDialTimeout).
	DialTimeout time.Duration
	// Timeout bounds one round trip when the context has no earlier
	// deadline (default DefaultTimeout).
	Timeout time.Duration
	// MaxIdle is how many idle connections are kept for reuse (default
	// DefaultMaxIdle). More may be open at once under load.
	MaxIdle int
}

// ErrClosed is returned by a Client's Do after Close.
var ErrClosed = errors.New("resp: client closed")

// Client is a Redis client for one server address. It is safe for
// concurrent use: each round trip takes a connection of its own.
type Client struct {
	addr string
	opts Options

	mu     sync.Mutex
	idle   []*conn
	closed bool
}

var _ redisscript.Transport = (*Client)(nil)

type conn struct {
	nc net.Conn
	r  *bufio.Reader
	w  *bufio.Writer
}

// Dial returns a client for the Redis server at addr (host:port) after
// checking it answers PING.
func Dial(ctx context.Context, addr string, opts *Options) (*Client, error) {
	c := &Client{addr: addr}
	if opts != nil {
		c.opts = *opts
	}
	if c.opts.DialTimeout <= 0 {
		c.opts.DialTimeout = DefaultDialTimeout
	}
	if c.opts.Timeout <= 0 {
		c.opts.Timeout = DefaultTimeout
	}
	if c.opts.MaxIdle <= 0 {
		c.opts.MaxIdle = DefaultMaxIdle
	}
	r, err := c.Do(ctx, [][]string{{"PING"}})
	if err != nil {
		return nil, err
	}
	if r[0] != "PONG" {
		return nil, fmt.Errorf("resp: %s: PING answered %v", addr, r[0])
	}
	return c, nil
}

// Close closes the idle connections; connections in use are closed when
// their round trip ends. Later calls to Do return ErrClosed.
func (c *Client) Close() error {
	c.mu.Lock()
	idle := c.idle
	c.idle, c.closed = nil, true
	c.mu.Unlock()
	var err error
	for _, cn := range idle {
		err = errors.Join(err, cn.nc.Close())
	}
	return err
}

func (c *Client) get(ctx context.Context) (*conn, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	if n := len(c.idle); n > 0 {
		cn := c.idle[n-1]
		c.idle = c.idle[:n-1]
		c.mu.Unlock()
		return cn, nil
	}
	c.mu.Unlock()
	d := net.Dialer{Timeout: c.opts.DialTimeout}
	nc, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return nil, fmt.Errorf("resp: %w", err)
	}
	return &conn{nc: nc, r: bufio.NewReader(nc), w: bufio.NewWriter(nc)}, nil
}

func (c *Client) put(cn *conn) {
	c.mu.Lock()
	if !c.closed && len(c.idle) < c.opts.MaxIdle {
		c.idle = append(c.idle, cn)
		cn = nil
	}
	c.mu.Unlock()
	if cn != nil {
		_ = cn.nc.Close()
	}
}

// Do implements [redisscript.Transport]: it writes every command in one
// pipelined write and reads one reply per command. An error reply is
// returned as a [redisscript.Error] in its place; an I/O or protocol error
// fails the whole call (the connection is dropped), and an error caused by
// ctx matches ctx.Err().
func (c *Client) Do(ctx context.Context, cmds [][]string) ([]any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cn, err := c.get(ctx)
	if err != nil {
		return nil, ctxErr(ctx, err)
	}
	deadline := time.Now().Add(c.opts.Timeout)
	ctxDeadline := false
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline, ctxDeadline = d, true
	}
	_ = cn.nc.SetDeadline(deadline)
	// Cancelling ctx interrupts the I/O at once.
	stop := context.AfterFunc(ctx, func() { _ = cn.nc.SetDeadline(time.Unix(1, 0)) })
	replies, err := cn.roundTrip(cmds)
	interrupted := !stop()
	if err != nil {
		_ = cn.nc.Close()
		var ne net.Error
		if ctxDeadline && errors.As(err, &ne) && ne.Timeout() {
			// The connection's deadline was ctx's: ctx has expired, even
			// if its own timer has not fired yet.
			return nil, fmt.Errorf("resp: %w", context.DeadlineExceeded)
		}
		return nil, ctxErr(ctx, err)
	}
	if interrupted {
		// The replies arrived, but the connection's deadline was spoiled.
		_ = cn.nc.Close()
	} else {
		c.put(cn)
	}
	return replies, nil
}

// ctxErr prefers ctx's error when ctx is done: the I/O error it caused
// (a deadline in the past) says less.
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("resp: %w", cerr)
	}
	return err
}

func (cn *conn) roundTrip(cmds [][]string) ([]any, error) {
	for _, cmd := range cmds {
		writeCommand(cn.w, cmd)
	}
	if err := cn.w.Flush(); err != nil {
		return nil, fmt.Errorf("resp: write: %w", err)
	}
	replies := make([]any, len(cmds))
	for i := range replies {
		r, err := readReply(cn.r, 0)
		if err != nil {
			return nil, err
		}
		replies[i] = r
	}
	return replies, nil
}

// writeCommand writes cmd as a RESP array of bulk strings.
func writeCommand(w *bufio.Writer, cmd []string) {
	var num [20]byte
	w.WriteByte('*')
	w.Write(strconv.AppendInt(num[:0], int64(len(cmd)), 10))
	w.WriteString("\r\n")
	for _, a := range cmd {
		w.WriteByte('$')
		w.Write(strconv.AppendInt(num[:0], int64(len(a)), 10))
		w.WriteString("\r\n")
		w.WriteString(a)
		w.WriteString("\r\n")
	}
}

// Limits on what a reply may claim, so a broken or hostile server cannot
// make the client allocate without bound.
const (
	maxBulk  = 512 << 20 // Redis's own proto-max-bulk-len default
	maxArray = 1 << 20
	maxDepth = 16
)

// readReply reads one RESP2 reply: a string (simple or bulk), an int64, nil
// (null bulk or array), an []any, or a redisscript.Error.
func readReply(r *bufio.Reader, depth int) (any, error) {
	line, err := readLine(r)
	if err != nil {
		return nil, err
	}
	if len(line) == 0 {
		return nil, errors.New("resp: empty reply line")
	}
	body := string(line[1:])
	switch line[0] {
	case '+':
		return body, nil
	case '-':
		return redisscript.Error(body), nil
	case ':':
		n, err := strconv.ParseInt(body, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("resp: bad integer reply %q", body)
		}
		return n, nil
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil || n < -1 || n > maxBulk {
			return nil, fmt.Errorf("resp: bad bulk length %q", body)
		}
		if n == -1 {
			return nil, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, fmt.Errorf("resp: read: %w", err)
		}
		if buf[n] != '\r' || buf[n+1] != '\n' {
			return nil, errors.New("resp: bulk string not terminated by CRLF")
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil || n < -1 || n > maxArray {
			return nil, fmt.Errorf("resp: bad array length %q", body)
		}
		if n == -1 {
			return nil, nil
		}
		if depth >= maxDepth {
			return nil, errors.New("resp: arrays nested too deep")
		}
		arr := make([]any, n)
		for i := range arr {
			if arr[i], err = readReply(r, depth+1); err != nil {
				return nil, err
			}
		}
		return arr, nil
	}
	return nil, fmt.Errorf("resp: unknown reply type %q", line[0])
}

// readLine reads a CRLF-terminated line without its CRLF.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, errors.New("resp: reply line too long")
		}
		return nil, fmt.Errorf("resp: read: %w", err)
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, errors.New("resp: reply line not terminated by CRLF")
	}
	return line[:len(line)-2], nil
}
