package codathook

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"
)

// readBodyPrealloc is the read path before issue 13: a buffer of the
// announced Content-Length, allocated before the first byte arrives, else
// io.ReadAll. It stays here as the benchmarks' baseline.
func readBodyPrealloc(w http.ResponseWriter, req *http.Request, limit int64) ([]byte, error) {
	if req.Body == nil {
		return nil, nil
	}
	if req.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	if n := req.ContentLength; n > 0 {
		buf := make([]byte, n)
		if _, err := io.ReadFull(req.Body, buf); err != nil {
			return nil, fmt.Errorf("codathook: reading body: %w", err)
		}
		return buf, nil
	}
	rd := http.MaxBytesReader(w, req.Body, limit)
	defer rd.Close()
	b, err := io.ReadAll(rd)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, fmt.Errorf("codathook: reading body: %w", err)
	}
	return b, nil
}

// bodyReader returns a receiver configured only as far as readBody needs.
func bodyReader(limit int64) *Receiver {
	return &Receiver{cfg: config{maxBody: limit, bodyTimeout: defaultBodyReadTimeout, logger: slog.New(slog.DiscardHandler)}}
}

// nopWriter is a ResponseWriter that discards everything and supports no
// optional interface (so no read deadline either).
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header {
	if w.h == nil {
		w.h = http.Header{}
	}
	return w.h
}
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopWriter) WriteHeader(int)             {}

// deadlineWriter is a nopWriter that can set read deadlines, as net/http's
// writers can; it ignores them.
type deadlineWriter struct{ nopWriter }

func (*deadlineWriter) SetReadDeadline(time.Time) error { return nil }

// trickle yields at most step bytes per Read, and hides its length.
type trickle struct {
	b    []byte
	step int
}

func (t *trickle) Read(p []byte) (int, error) {
	if len(t.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), t.step)], t.b)
	t.b = t.b[n:]
	return n, nil
}

func patterned(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

func TestReadBody(t *testing.T) {
	t.Parallel()
	const limit = 1 << 20
	for _, size := range []int{0, 1, 100, bodyChunk - 1, bodyChunk, bodyChunk + 1, 3*bodyChunk + 5, 100_000, limit} {
		for _, step := range []int{1 << 30, 1000, 1} {
			if step == 1 && size > 10_000 {
				continue
			}
			for _, known := range []bool{true, false} {
				name := fmt.Sprintf("%d bytes, %d per read, length known %v", size, min(step, size), known)
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					want := patterned(size, 3)
					req := &http.Request{Body: io.NopCloser(&trickle{b: want, step: step}), ContentLength: -1}
					if known {
						req.ContentLength = int64(size)
					}
					got, err := bodyReader(limit).readBody(&nopWriter{}, req, time.Time{})
					if err != nil {
						t.Fatalf("readBody: %v", err)
					}
					if !bytes.Equal(got, want) {
						t.Fatalf("readBody returned %d bytes that differ from the %d sent", len(got), len(want))
					}
					if got == nil {
						t.Error("readBody returned nil for a non-nil body")
					}
					if known && cap(got) != len(got) {
						t.Errorf("cap %d for a %d-byte body of known length, want an exact slice", cap(got), len(got))
					}
				})
			}
		}
	}
}

func TestReadBodyErrors(t *testing.T) {
	t.Parallel()
	const limit = 10_000
	body := patterned(5000, 1)
	tests := []struct {
		name    string
		body    io.Reader
		length  int64
		want    []byte
		wantErr func(error) bool
	}{
		{name: "a nil body is nil", body: nil, length: 0},
		{name: "http.NoBody is empty", body: http.NoBody, want: []byte{}},
		{name: "an announced length over the limit is refused before reading", body: bytes.NewReader(body), length: limit + 1,
			wantErr: func(err error) bool { var m *http.MaxBytesError; return errors.As(err, &m) && m.Limit == limit }},
		{name: "an unannounced body over the limit is refused", body: &trickle{b: patterned(limit+1, 0), step: 999}, length: -1,
			wantErr: func(err error) bool { var m *http.MaxBytesError; return errors.As(err, &m) && m.Limit == limit }},
		{name: "an unannounced body of the limit is read", body: &trickle{b: patterned(limit, 0), step: 999}, length: -1,
			want: patterned(limit, 0)},
		{name: "a body that ends before its length is unexpected EOF", body: bytes.NewReader(body[:4999]), length: 5000,
			wantErr: func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }},
		{name: "a body already drained is EOF", body: bytes.NewReader(nil), length: 5000,
			wantErr: func(err error) bool { return errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) }},
		{name: "bytes past the announced length are not read", body: bytes.NewReader(body), length: 4096, want: body[:4096]},
		{name: "a read error is returned", body: io.MultiReader(bytes.NewReader(body[:10]), iotestErrReader{}), length: 5000,
			wantErr: func(err error) bool { return errors.Is(err, errTestRead) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := &http.Request{ContentLength: tc.length}
			if tc.body != nil {
				rc, ok := tc.body.(io.ReadCloser)
				if !ok {
					rc = io.NopCloser(tc.body)
				}
				req.Body = rc
			}
			got, err := bodyReader(limit).readBody(&nopWriter{}, req, time.Time{})
			if tc.wantErr != nil {
				if err == nil || !tc.wantErr(err) {
					t.Fatalf("err = %v, want the documented error", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if !bytes.Equal(got, tc.want) || (got == nil) != (tc.want == nil) {
				t.Errorf("got %d bytes (nil %v), want %d (nil %v)", len(got), got == nil, len(tc.want), tc.want == nil)
			}
		})
	}
}

var errTestRead = errors.New("test read error")

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errTestRead }

// TestReadBodyNeverHandsOutPooledMemory: bodies read one after another (the
// pool recycling its scratch buffers between them) keep their bytes: a
// body is never the pooled buffer or a slice of it.
func TestReadBodyNeverHandsOutPooledMemory(t *testing.T) {
	t.Parallel()
	rcv := bodyReader(1 << 20)
	var kept [][]byte
	var sent [][]byte
	for i := range 200 {
		size := []int{10, 1000, bodyChunk, bodyChunk + 1, 20_000}[i%5]
		want := patterned(size, byte(i))
		got, err := rcv.readBody(&nopWriter{}, &http.Request{Body: io.NopCloser(bytes.NewReader(want)), ContentLength: int64(size)}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		kept, sent = append(kept, got), append(sent, want)
	}
	for i := range kept {
		if !bytes.Equal(kept[i], sent[i]) {
			t.Fatalf("body %d changed after later reads: it shares memory with a pooled buffer", i)
		}
	}
}

// rewind is a request body that can be read again, for benchmarks.
type rewind struct{ bytes.Reader }

func (*rewind) Close() error { return nil }

// BenchmarkReadBody compares the read path with its predecessor
// (readBodyPrealloc) in the same run, over sizes from a typical Codat
// delivery to the default limit, with the length announced (as Codat
// sends) or not (chunked).
func BenchmarkReadBody(b *testing.B) {
	rcv := bodyReader(defaultMaxBodyBytes)
	impls := []struct {
		name string
		read func(http.ResponseWriter, *http.Request) ([]byte, error)
	}{
		{"prealloc", func(w http.ResponseWriter, r *http.Request) ([]byte, error) {
			return readBodyPrealloc(w, r, defaultMaxBodyBytes)
		}},
		{"growing", func(w http.ResponseWriter, r *http.Request) ([]byte, error) {
			return rcv.readBody(w, r, time.Time{})
		}},
	}
	for _, size := range []int{1 << 10, 16 << 10, 256 << 10, 1 << 20} {
		for _, known := range []bool{true, false} {
			for _, impl := range impls {
				name := fmt.Sprintf("size=%dKiB/length=%s/%s", size>>10, map[bool]string{true: "known", false: "chunked"}[known], impl.name)
				b.Run(name, func(b *testing.B) {
					data := patterned(size, 9)
					body := &rewind{}
					req := &http.Request{Body: body, ContentLength: -1}
					if known {
						req.ContentLength = int64(size)
					}
					w := &deadlineWriter{}
					b.SetBytes(int64(size))
					b.ReportAllocs()
					for b.Loop() {
						body.Reset(data)
						if _, err := impl.read(w, req); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}
