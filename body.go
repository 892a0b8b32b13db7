package codathook

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"
)

// errBodyTimeout: the request body did not arrive within the body read
// deadline ([WithBodyReadTimeout]) or the server's ReadTimeout (408, which
// both of Codat's services retry). Nothing was authenticated, recorded or
// claimed.
var errBodyTimeout = errors.New("codathook: request body not received in time")

// bodyChunk is the most a request holds for its body before the body's
// first bytes arrive: a body announced with at most bodyChunk bytes gets a
// buffer of its own length at once, any other body starts in a pooled
// bodyChunk. Codat's deliveries are mostly under 2 KiB.
const bodyChunk = 4 << 10

// bodyGrowth is the factor by which a body's buffer grows when it is full.
// A request that sends n bytes and stalls holds at most about bodyGrowth*n
// (plus bodyChunk); reading a body of known length n allocates about
// n*bodyGrowth/(bodyGrowth-1) in all (4/3 n) and copies n/3.
const bodyGrowth = 4

// bodyChunks pools the scratch buffers (*[bodyChunk]byte) that bodies
// longer than bodyChunk, or of unknown length, are first read into.
//
// Only these fixed-size scratch buffers are pooled, and a read never hands
// one out: the body it returns is a slice of its own, copied out of the
// scratch buffer once the body is complete, or the buffer it grew into,
// which is never pooled. The returned body cannot be pooled because
// nothing bounds its lifetime: it is normalize's Event.Body (not copied)
// and Delivery.Body, a wrapped handler reads it through r.Body and
// r.GetBody, a callback may keep the event or the delivery after it
// returns, and a callback that outlives its deadline over HTTP/2 runs on
// after the request has been answered. A scratch buffer, by contrast, is
// used by one read only and is back in the pool before the read returns,
// so reusing it is safe whatever becomes of the body.
//
// Pooling one size only keeps the cost of a stalled request at bodyChunk
// whatever the pool holds: a pooled buffer grown to the size of an earlier
// large body would be pinned by every stalled request that drew it.
var bodyChunks sync.Pool

// readBody reads req's whole body, at most the configured limit, into
// memory that grows with the bytes received: a request that announces a
// large Content-Length and sends nothing holds one bodyChunk, not what it
// announced. The read has a deadline ([WithBodyReadTimeout]) where the
// ResponseWriter can set one. A body over the limit (announced or received)
// is an [*http.MaxBytesError]; one that does not arrive in time matches
// errBodyTimeout; one that ends before its Content-Length matches
// [io.ErrUnexpectedEOF], or [io.EOF] when not a byte came (as with a body
// another middleware already read). The result is nil only for a nil body.
// now is the real time the read starts (the zero time: read the clock).
func (r *Receiver) readBody(w http.ResponseWriter, req *http.Request, now time.Time) ([]byte, error) {
	limit := r.cfg.maxBody
	if req.Body == nil {
		return nil, nil
	}
	if req.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	if req.Body == http.NoBody {
		return []byte{}, nil
	}
	deadline := r.setBodyDeadline(w, req, now)
	var b []byte
	var err error
	if n := req.ContentLength; n > 0 {
		// net/http's server limits the body to its Content-Length, which is
		// within the limit here; read no more than that from other bodies.
		b, err = readKnown(req.Body, n)
	} else {
		rd := http.MaxBytesReader(w, req.Body, limit)
		defer rd.Close()
		b, err = readToEOF(rd, limit)
	}
	if err == nil {
		if deadline {
			// Lift the deadline, which is the body's only. (net/http
			// lifts it itself over HTTP/1.x once the body is at its end;
			// over HTTP/2 the stream's timer would fire for nothing.)
			_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
		}
		return b, nil
	}
	var mbe *http.MaxBytesError // declared here: &mbe escapes, so it costs an allocation
	switch {
	case errors.As(err, &mbe):
		return nil, err
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil, fmt.Errorf("%w: %w", errBodyTimeout, err)
	}
	return nil, fmt.Errorf("codathook: reading body: %w", err)
}

// setBodyDeadline sets the read deadline of req's body to the body read
// timeout from now (the zero time: from the clock's reading). It reports
// false when it set none: the server's own ReadTimeout is as short or
// shorter (it counts from the request's first byte), or w cannot set
// deadlines.
func (r *Receiver) setBodyDeadline(w http.ResponseWriter, req *http.Request, now time.Time) bool {
	d := r.cfg.bodyTimeout
	if srv, _ := req.Context().Value(http.ServerContextKey).(*http.Server); srv != nil && srv.ReadTimeout > 0 && srv.ReadTimeout <= d {
		return false
	}
	if now.IsZero() {
		now = time.Now()
	}
	err := http.NewResponseController(w).SetReadDeadline(now.Add(d))
	if err == nil {
		return true
	}
	if errors.Is(err, http.ErrNotSupported) && r.noDeadlineWarned.CompareAndSwap(false, true) {
		r.cfg.logger.WarnContext(req.Context(), "codathook: the ResponseWriter cannot set read deadlines (it has no SetReadDeadline or Unwrap method); "+
			"request bodies are read without WithBodyReadTimeout: set http.Server.ReadTimeout",
			slog.String("writer", fmt.Sprintf("%T", w)))
	}
	return false
}

func getChunk() *[bodyChunk]byte {
	if c, ok := bodyChunks.Get().(*[bodyChunk]byte); ok {
		return c
	}
	return new([bodyChunk]byte)
}

// grow returns a buffer holding buf's bytes with room for at least need
// bytes in all: bodyGrowth times buf's capacity, at least need, at most
// most.
func grow(buf []byte, need, most int64) []byte {
	c := min(max(need, bodyGrowth*int64(cap(buf))), most)
	grown := make([]byte, len(buf), c)
	copy(grown, buf)
	return grown
}

// readKnown reads exactly n bytes of src: fewer is io.ErrUnexpectedEOF, or
// io.EOF when none came. A body of at most bodyChunk bytes is read into a
// buffer of its own length, allocated before its bytes arrive (a stalled
// request holds no more than it would with a pooled chunk). A longer one
// starts in a pooled bodyChunk, and the buffer grows by bodyGrowth as bytes
// arrive, never beyond n: it ends as a buffer of exactly n bytes.
func readKnown(src io.Reader, n int64) ([]byte, error) {
	if n <= bodyChunk {
		buf := make([]byte, n)
		if _, err := io.ReadFull(src, buf); err != nil {
			return nil, err
		}
		return buf, nil
	}
	chunk := getChunk()
	pooled := true
	defer func() {
		if pooled {
			bodyChunks.Put(chunk)
		}
	}()
	buf := chunk[:0]
	for int64(len(buf)) < n {
		if len(buf) == cap(buf) {
			buf = grow(buf, int64(len(buf))+1, n)
			if pooled {
				bodyChunks.Put(chunk)
				pooled = false
			}
		}
		k, err := src.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+k]
		switch {
		case err == nil:
		case err != io.EOF:
			return nil, err
		case int64(len(buf)) == n:
		case len(buf) == 0:
			return nil, io.EOF
		default:
			return nil, io.ErrUnexpectedEOF
		}
	}
	return buf, nil
}

// readToEOF reads src, whose length is unknown, to its end; src enforces
// the limit (an http.MaxBytesReader). Bytes arrive in a pooled bodyChunk
// and move to a buffer that grows by bodyGrowth, only when there are bytes
// to move: a body that ends on the buffer's capacity does not grow it to
// find its end. The result is copied to a slice of its exact length unless
// the buffer already is one.
func readToEOF(src io.Reader, limit int64) ([]byte, error) {
	chunk := getChunk()
	defer bodyChunks.Put(chunk)
	var buf []byte
	for {
		k, err := io.ReadFull(src, chunk[:])
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			return nil, err
		}
		if buf == nil && err != nil {
			return exact(chunk[:k]), nil // the whole body fits the chunk
		}
		if k > 0 {
			if len(buf)+k > cap(buf) {
				buf = grow(buf, int64(len(buf)+k), max(limit, int64(len(buf)+k)))
			}
			buf = append(buf, chunk[:k]...)
		}
		if err != nil {
			break
		}
	}
	if len(buf) != cap(buf) {
		buf = exact(buf)
	}
	return buf, nil
}

// exact returns a copy of b in a new slice of capacity len(b).
func exact(b []byte) []byte {
	c := make([]byte, len(b))
	copy(c, b)
	return c
}
