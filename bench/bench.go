package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-feature/go-sdk/openfeature/isolated"
	"github.com/open-feature/go-sdk/openfeature/memprovider"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
	"github.com/codathook/codathook/dedupe"
	"github.com/codathook/codathook/toggle"
)

// Kind is one of the deliveries every row is measured with.
type Kind int

// The deliveries. Every kind is signed (Svix webhook-* headers) and posted to
// the new endpoint, so that every row does the same authentication work:
// Codat's new service sends legacy-shaped bodies there too.
const (
	New600    Kind = iota // the §1.9 read.completed body, 1 dataTypes element: 409 B (~600 B with its signature headers)
	New1500               // read.completed with 9 dataTypes elements: 1,484 B
	Legacy                // legacy "Data sync completed" body: 445 B
	Duplicate             // one New600 delivery, sent again and again (same webhook-id)
)

// Kinds lists every Kind in report order.
var Kinds = []Kind{New600, New1500, Legacy, Duplicate}

// String returns the kind's row suffix.
func (k Kind) String() string {
	switch k {
	case New600:
		return "new-600B"
	case New1500:
		return "new-1.5KB"
	case Legacy:
		return "legacy"
	case Duplicate:
		return "duplicate"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Body returns the body of the seq-th delivery of kind k: ids and company
// are unique per seq.
func (k Kind) Body(seq int) []byte {
	switch k {
	case New1500:
		return NewBody(EventID(seq), CompanyID(seq), 9)
	case Legacy:
		return NewLegacyBody(EventID(seq), CompanyID(seq))
	}
	return NewBody(EventID(seq), CompanyID(seq), 1)
}

// Target is the URL every benchmark request is addressed to.
var Target, _ = url.Parse("http://127.0.0.1/webhooks/codat")

// ChunkSize is how many deliveries a [Source] signs at a time.
const ChunkSize = 4096

var seqs atomic.Int64

// Source hands out signed deliveries of one kind, each with its own message
// id, event id and company (except [Duplicate], which hands out the same
// delivery every time). It signs them in chunks of [ChunkSize] with the
// benchmark timer stopped. A Source is not safe for concurrent use.
type Source struct {
	kind   Kind
	signer *codathooktest.Signer
	buf    []*http.Request
	next   int
	dup    *http.Request
	dupRd  *bytes.Reader
	dupB   []byte
}

// NewSource returns a source of kind k.
func NewSource(k Kind) *Source {
	s := &Source{kind: k, signer: codathooktest.MustSigner(Secret)}
	if k == Duplicate {
		seq := int(seqs.Add(1))
		s.dupB = New600.Body(seq)
		h := s.signer.Headers(MsgID(seq), time.Now(), s.dupB)
		s.dupRd = bytes.NewReader(s.dupB)
		s.dup = &http.Request{Method: http.MethodPost, URL: Target, Header: h,
			Body: io.NopCloser(s.dupRd), ContentLength: int64(len(s.dupB))}
	}
	return s
}

// Sign returns one signed delivery of kind k with the given sequence number:
// its message id, signature timestamp (now) and signature header, and body.
func Sign(signer *codathooktest.Signer, k Kind, seq int) (msgID string, h http.Header, body []byte) {
	body = k.Body(seq)
	msgID = MsgID(seq)
	return msgID, signer.Headers(msgID, time.Now(), body), body
}

func (s *Source) fill(n int) {
	s.buf = s.buf[:0]
	base := int(seqs.Add(int64(n))) - n
	for i := range n {
		_, h, body := Sign(s.signer, s.kind, base+i+1)
		s.buf = append(s.buf, &http.Request{Method: http.MethodPost, URL: Target, Header: h,
			Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body))})
	}
	s.next = 0
}

// Next returns the next delivery. When the current chunk is used up it signs
// the next one: [ChunkSize] deliveries with b's timer stopped, or 16 when b
// is nil (tests).
func (s *Source) Next(b *testing.B) *http.Request {
	if s.dup != nil {
		s.dupRd.Reset(s.dupB)
		return s.dup
	}
	if s.next == len(s.buf) {
		if b == nil {
			s.fill(16)
		} else {
			b.StopTimer()
			s.fill(ChunkSize)
			b.StartTimer()
		}
	}
	r := s.buf[s.next]
	s.buf[s.next] = nil
	s.next++
	return r
}

// Drop forgets the signed deliveries not handed out yet, so that a heap
// measurement does not count them.
func (s *Source) Drop() {
	clear(s.buf)
	s.buf = s.buf[:0]
	s.next = 0
}

// DiscardWriter is a ResponseWriter that keeps only the status, so that a
// benchmark measures the handler and not a recorder.
type DiscardWriter struct {
	H    http.Header
	Code int
}

// NewDiscardWriter returns an empty DiscardWriter.
func NewDiscardWriter() *DiscardWriter { return &DiscardWriter{H: http.Header{}} }

// Header returns the header map.
func (w *DiscardWriter) Header() http.Header { return w.H }

// Write discards p.
func (w *DiscardWriter) Write(p []byte) (int, error) { return len(p), nil }

// WriteHeader records code.
func (w *DiscardWriter) WriteHeader(code int) { w.Code = code }

// SetReadDeadline accepts any deadline, as net/http's own ResponseWriter
// does (http.ResponseController finds it): the receiver sets a body read
// deadline on every delivery, and a writer without it would measure the
// error path of a writer that cannot, not a server's.
func (w *DiscardWriter) SetReadDeadline(time.Time) error { return nil }

// Reset clears the header map and the status.
func (w *DiscardWriter) Reset() {
	clear(w.H)
	w.Code = 0
}

// Pipeline is a codathook receiver set up as in production: both endpoints
// authenticated, flags through the in-memory OpenFeature provider (unless
// [FlagsNone]), the default dedupe store unless one is given, one typed
// read.completed callback, and a logger that discards.
type Pipeline struct {
	Receiver *codathook.Receiver
	// Calls counts the callback's runs.
	Calls atomic.Int64
	close func()
}

// NewPipeline returns a pipeline with flag variant f. A nil store selects
// the receiver's default (dedupe.NewLRU(dedupe.LRUConfig{})). extra
// options are applied last.
func NewPipeline(f Flags, store dedupe.Store, extra ...codathook.Option) (*Pipeline, error) {
	p := &Pipeline{}
	opts := []codathook.Option{
		codathook.WithSecrets(Secret),
		codathook.WithLegacyAuthorization(codathooktest.DevAuthorization),
		codathook.WithLogger(slog.New(slog.DiscardHandler)),
	}
	if store != nil {
		opts = append(opts, codathook.WithDedupe(store, nil))
	}
	shutdown := func() {}
	if f != FlagsNone {
		api := isolated.NewAPI()
		prov := memprovider.NewInMemoryProvider(map[string]memprovider.InMemoryFlag{
			toggle.DefaultLegacyFlag: boolFlag(true),
			toggle.DefaultNewFlag:    boolFlag(true),
		})
		if err := api.SetProviderAndWait(context.Background(), prov); err != nil {
			return nil, err
		}
		shutdown = func() { _ = api.Shutdown(context.Background()) }
		opts = append(opts, codathook.WithFlags(api.NewClient(), f.Config()))
	}
	rcv, err := codathook.New(append(opts, extra...)...)
	if err != nil {
		shutdown()
		return nil, err
	}
	p.Receiver = rcv
	p.close = func() {
		_ = rcv.Close(context.Background())
		shutdown()
	}
	err = codathook.On(rcv, "read.completed", func(_ context.Context, ev *codathook.ReadCompletedEvent) error {
		if len(ev.Payload.DataTypes) == 0 {
			return errors.New("bench: read.completed without dataTypes")
		}
		p.Calls.Add(1)
		return nil
	})
	if err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

// Handler returns the new endpoint's handler.
func (p *Pipeline) Handler() http.Handler { return p.Receiver.Handler(codathook.EndpointNew) }

// Close closes the receiver and the flag API.
func (p *Pipeline) Close() { p.close() }

// Impl names one of the compared implementations.
type Impl string

// The implementations.
const (
	ImplPipeline Impl = "pipeline"
	ImplA        Impl = "svix+json"
	ImplB        Impl = "handwritten"
)

// Row is one measured combination: an implementation (with a flag variant
// for the pipeline) and a delivery kind.
type Row struct {
	Impl  Impl
	Flags Flags // pipeline only
	Kind  Kind
}

// Name is the row's name as printed, e.g. "pipeline/new-600B" or
// "pipeline[flags=inline]/new-600B" for a non-headline flag variant.
func (r Row) Name(headline Flags) string {
	if r.Impl == ImplPipeline && r.Flags != headline {
		return fmt.Sprintf("%s[flags=%s]/%s", r.Impl, r.Flags, r.Kind)
	}
	return string(r.Impl) + "/" + r.Kind.String()
}

// Run is a row set up for measuring: a fresh handler and a fresh source.
type Run struct {
	row    Row
	h      http.Handler
	calls  func() int64
	close  func()
	src    *Source
	w      *DiscardWriter
	before int64
	served int64
}

// Start sets the row up. For [Duplicate] the first copy is served here, so
// that every delivery [Run.Serve] sends is a duplicate.
func (r Row) Start() (*Run, error) {
	run := &Run{row: r, close: func() {}, src: NewSource(r.Kind), w: NewDiscardWriter()}
	switch r.Impl {
	case ImplPipeline:
		p, err := NewPipeline(r.Flags, nil)
		if err != nil {
			return nil, err
		}
		run.h, run.calls, run.close = p.Handler(), p.Calls.Load, p.Close
	case ImplA:
		a, err := NewBaselineA(r.Kind)
		if err != nil {
			return nil, err
		}
		run.h, run.calls = a, a.Calls.Load
	case ImplB:
		hb, err := NewBaselineB()
		if err != nil {
			return nil, err
		}
		run.h, run.calls = hb, hb.Calls.Load
	default:
		return nil, fmt.Errorf("unknown implementation %q", r.Impl)
	}
	if r.Kind == Duplicate {
		run.h.ServeHTTP(run.w, run.src.Next(nil))
		if run.w.Code != http.StatusNoContent {
			run.close()
			return nil, fmt.Errorf("%s: first copy: status %d", r.Name(-1), run.w.Code)
		}
	}
	run.before = run.calls()
	return run, nil
}

// Serve sends one delivery (signing the next chunk with b's timer stopped
// when needed; b may be nil) and reports whether it was answered 204.
func (run *Run) Serve(b *testing.B) bool {
	run.w.Reset()
	run.h.ServeHTTP(run.w, run.src.Next(b))
	run.served++
	return run.w.Code == http.StatusNoContent
}

// Check verifies the callback count (one per delivery, none for duplicates
// except in baseline A, which does not deduplicate) and, for the pipeline,
// the last delivery's result header.
func (run *Run) Check() error {
	r := run.row
	got, want := run.calls()-run.before, run.served
	if r.Kind == Duplicate && r.Impl != ImplA {
		want = 0
	}
	if got != want {
		return fmt.Errorf("%s: %d callbacks for %d deliveries, want %d", r.Name(-1), got, run.served, want)
	}
	if run.w.Code != http.StatusNoContent {
		return fmt.Errorf("%s: status %d, want 204", r.Name(-1), run.w.Code)
	}
	if r.Impl == ImplPipeline {
		res := codathook.Result(run.w.H.Get(codathook.HeaderResult))
		wantRes := codathook.ResultProcessed
		if r.Kind == Duplicate {
			wantRes = codathook.ResultDuplicate
		}
		if res != wantRes {
			return fmt.Errorf("%s: result %q, want %q", r.Name(-1), res, wantRes)
		}
	}
	return nil
}

// Close releases the row's handler.
func (run *Run) Close() { run.close() }

// Bench returns the benchmark function of the row. It fails the benchmark on
// any answer other than 204 and on a failed [Run.Check].
func (r Row) Bench() func(b *testing.B) {
	return func(b *testing.B) {
		run, err := r.Start()
		if err != nil {
			b.Fatal(err)
		}
		defer run.Close()
		b.ReportAllocs()
		for b.Loop() {
			if !run.Serve(b) {
				b.Fatalf("%s: status %d", r.Name(-1), run.w.Code)
			}
		}
		b.StopTimer()
		if err := run.Check(); err != nil {
			b.Fatal(err)
		}
	}
}

// Rows returns the rows of a comparison: every kind for the pipeline with
// the headline flag variant and for both baselines, interleaved by kind,
// then (when variants is true) the new-600B delivery through every other
// flag variant.
func Rows(headline Flags, variants bool) []Row {
	var rows []Row
	for _, k := range Kinds {
		rows = append(rows, Row{Impl: ImplPipeline, Flags: headline, Kind: k}, Row{Impl: ImplA, Kind: k}, Row{Impl: ImplB, Kind: k})
	}
	if variants {
		for _, f := range AllFlags {
			if f != headline {
				rows = append(rows, Row{Impl: ImplPipeline, Flags: f, Kind: New600})
			}
		}
	}
	return rows
}
