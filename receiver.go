package codathook

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/codathook/codathook/dedupe"
	"github.com/codathook/codathook/normalize"
	"github.com/codathook/codathook/toggle"
)

// Endpoint names one of the two Codat consumers a receiver serves.
type Endpoint string

const (
	// EndpointNew receives from Codat's new (Svix) webhook service:
	// signed deliveries, usually new-format bodies, sometimes legacy-shaped.
	EndpointNew Endpoint = "new"
	// EndpointLegacy receives from Codat's legacy rules service: legacy bodies
	// with a static Authorization header and no signature. A new-format body
	// there is refused (401, [ErrUnsignedNewFormat]) unless it carries a
	// webhook signature that verifies with the secrets of [WithSecrets].
	EndpointLegacy Endpoint = "legacy"
)

func (e Endpoint) index() (int, bool) {
	switch e {
	case EndpointNew:
		return 0, true
	case EndpointLegacy:
		return 1, true
	}
	return 0, false
}

// HeaderResult is the response header that tells the sender (and you, when
// debugging with curl) what the receiver did with a delivery: one of the
// [Result] values.
const HeaderResult = "Codathook-Result"

// RetryAfter is the Retry-After value, in seconds, sent with every 503.
// Codat's legacy service honours it and retries at most three times within
// about two minutes.
const RetryAfter = 5

// Result is what happened to one delivery.
type Result string

// Results, as reported to the observer and in the [HeaderResult] header.
const (
	ResultProcessed        Result = "processed"          // a callback (or the wrapped handler) succeeded: 204
	ResultDuplicate        Result = "duplicate"          // already processed (retry, resend or the other format's twin): 204
	ResultSkipped          Result = "skipped"            // the endpoint's flag is off: 204, nothing claimed
	ResultDeferred         Result = "deferred"           // the endpoint's flag is off and set to defer: 503
	ResultInFlight         Result = "in_flight"          // a copy is being processed elsewhere: 503
	ResultFailed           Result = "failed"             // the callback failed, panicked or timed out: 503, released
	ResultUnavailable      Result = "unavailable"        // the dedupe store failed: 503
	ResultUnauthorized     Result = "unauthorized"       // 401
	ResultMalformed        Result = "malformed"          // body is not a JSON object, or ended early: 400
	ResultTooLarge         Result = "too_large"          // 413
	ResultBodyTimeout      Result = "body_timeout"       // the body did not arrive in time (WithBodyReadTimeout): 408, nothing recorded
	ResultOverloaded       Result = "overloaded"         // WithMaxConcurrentCallbacks callbacks were running: 503, nothing claimed
	ResultMethodNotAllowed Result = "method_not_allowed" // 405
)

// ErrOverloaded: [WithMaxConcurrentCallbacks] callbacks (or wrapped
// handlers) were already running, so the delivery was shed before it was
// claimed: nothing is recorded, and the sender's retry is processed as if
// it were the first arrival (503 with Retry-After).
var ErrOverloaded = errors.New("codathook: too many callbacks running")

// Outcome describes one delivery, for metrics. See [WithObserver].
//
// A retry of a message that was already processed is recognised by its
// verified webhook-id before its body is parsed: its Outcome is a duplicate
// with an empty Format and EventType. A delivery answered 503 at the
// callback deadline is reported when its callback returns (Result failed,
// Err [ErrCallbackTimeout], Status as answered).
type Outcome struct {
	Endpoint   Endpoint
	Format     normalize.Format // "" when the body was never classified
	EventType  string
	DeliveryID string
	Result     Result
	Status     int
	Duration   time.Duration
	Err        error
}

// Receiver receives Codat webhooks on two endpoints, authenticates them,
// normalizes legacy bodies to the new event types, gates each endpoint by a
// feature flag, deduplicates, and dispatches to typed callbacks registered
// with [On]. A Receiver is safe for concurrent use.
type Receiver struct {
	cfg      config
	verifier *verifier
	deduper  *dedupe.Deduper
	gate     *toggle.Gate
	ownStore bool

	regMu sync.Mutex
	reg   atomic.Pointer[registry]

	flight    flightGroup
	callbacks *semaphore.Weighted // WithMaxConcurrentCallbacks; nil when unbounded
	// noDeadlineWarned: the receiver has warned of a ResponseWriter that
	// cannot set read deadlines (once per receiver).
	noDeadlineWarned atomic.Bool
	handlers         [2]*endpointHandler
	counters         [2]endpointCounters
	commitFailures   atomic.Uint64
}

// New returns a receiver configured by opts. It returns an error when an
// option is invalid.
func New(opts ...Option) (*Receiver, error) {
	c := config{
		tolerance:       DefaultTolerance,
		now:             time.Now,
		maxBody:         DefaultMaxBodyBytes,
		logger:          slog.Default(),
		errorHandler:    DefaultErrorHandler,
		callbackTimeout: DefaultCallbackTimeout,
		bodyTimeout:     DefaultBodyReadTimeout,
	}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("codathook: nil option")
		}
		if err := o.apply(&c); err != nil {
			return nil, fmt.Errorf("codathook: invalid option: %w", err)
		}
	}
	if err := checkCallbackTimeout(&c); err != nil {
		return nil, err
	}
	r := &Receiver{cfg: c}
	if c.maxCallbacks > 0 {
		r.callbacks = semaphore.NewWeighted(int64(c.maxCallbacks))
	}
	if r.cfg.fallback == nil {
		r.cfg.fallback = r.defaultFallback
	}
	r.verifier = &verifier{secrets: c.secrets, tolerance: c.tolerance, now: c.now}
	if r.cfg.store == nil {
		lopts := []dedupe.LRUOption{dedupe.WithLRULogger(c.logger)}
		if c.clockSet {
			lopts = append(lopts, dedupe.WithLRUClock(c.now))
		}
		r.cfg.store = dedupe.NewLRU(dedupe.DefaultCapacity, lopts...)
		r.ownStore = true
	}
	dcfg := dedupe.Config{}
	if c.dedupeCfg != nil {
		dcfg = *c.dedupeCfg
	}
	if dcfg.Logger == nil {
		dcfg.Logger = c.logger
	}
	if dcfg.Now == nil {
		dcfg.Now = c.now
	}
	d, err := dedupe.New(r.cfg.store, &dcfg)
	if err != nil {
		return nil, fmt.Errorf("codathook: dedupe: %w", err)
	}
	r.deduper = d
	if c.flags != nil {
		gcfg := toggle.Config{}
		if c.gateCfg != nil {
			gcfg = *c.gateCfg
		} else if _, ok := c.flags.(toggle.EventSource); ok {
			gcfg.CacheSize = DefaultFlagCacheSize
		}
		if gcfg.Logger == nil {
			gcfg.Logger = c.logger
		}
		g, err := toggle.NewGate(c.flags, &gcfg)
		if err != nil {
			return nil, fmt.Errorf("codathook: flags: %w", err)
		}
		r.gate = g
	}
	r.reg.Store(&registry{exact: map[string]*callback{}})
	r.handlers[0] = &endpointHandler{r: r, ep: EndpointNew}
	r.handlers[1] = &endpointHandler{r: r, ep: EndpointLegacy}
	return r, nil
}

// checkCallbackTimeout refuses a callback timeout that is not strictly
// shorter than the effective claim lease: a callback still running when its
// claim expires lets a copy of the delivery claim it and run concurrently.
// A negative lease is left to dedupe.New, which refuses it.
func checkCallbackTimeout(c *config) error {
	lease := dedupe.DefaultLease
	if c.dedupeCfg != nil && c.dedupeCfg.Lease != 0 {
		lease = c.dedupeCfg.Lease
	}
	if lease < 0 || c.callbackTimeout < lease {
		return nil
	}
	return fmt.Errorf("codathook: callback timeout %v must be shorter than the dedupe claim lease %v, or a callback that outlives its claim runs again alongside a copy: "+
		"shorten WithCallbackTimeout (default %v) or raise the Lease of WithDedupe's dedupe.Config (default dedupe.DefaultLease, %v)",
		c.callbackTimeout, lease, DefaultCallbackTimeout, dedupe.DefaultLease)
}

// Close releases what New created: the default in-memory store and the flag
// gate's event subscriptions. A store passed with [WithStore] is not closed.
// With the default store, deliveries after Close are answered 503.
func (r *Receiver) Close(ctx context.Context) error {
	var errs []error
	if r.gate != nil {
		errs = append(errs, r.gate.Close())
	}
	if r.ownStore {
		errs = append(errs, r.cfg.store.Close(ctx))
	}
	return errors.Join(errs...)
}

// Handler returns the terminal handler of ep: it answers each delivery after
// running the registered callback. Mount it for POST and PUT (other methods
// get 405). An unknown ep gets a handler that answers 404.
func (r *Receiver) Handler(ep Endpoint) http.Handler {
	i, ok := ep.index()
	if !ok {
		return http.NotFoundHandler()
	}
	return r.handlers[i]
}

// Middleware returns the wrapper form of ep: it authenticates, classifies,
// normalizes, gates and deduplicates each delivery, then calls next with the
// event in the request context ([EventFromContext], [DeliveryFromContext])
// and r.Body restored to the exact bytes received. Registered callbacks are
// not called. The status next sends decides, so that the sender and the
// store always agree: a 2xx (written, or the implicit 200 of a Write or a
// Flush) commits the delivery, also when next panics or ends its goroutine
// afterwards (the panic is recovered and logged at Error with its stack;
// the 2xx is sent). Any other status, or a panic before anything was sent,
// releases it so that a retry reaches next again; with nothing sent the
// sender gets 503 with Retry-After. next cannot hijack the connection (the
// receiver must know what it answered). Duplicates and gated-off
// deliveries are answered without calling next.
//
// The result fits gorilla/mux's Router.Use, chi's Use and alice.
func (r *Receiver) Middleware(ep Endpoint) func(http.Handler) http.Handler {
	if _, ok := ep.index(); !ok {
		return func(http.Handler) http.Handler { return http.NotFoundHandler() }
	}
	return func(next http.Handler) http.Handler {
		if next == nil {
			next = http.NotFoundHandler()
		}
		return &endpointHandler{r: r, ep: ep, next: next}
	}
}

type endpointHandler struct {
	r    *Receiver
	ep   Endpoint
	next http.Handler
}

func (h *endpointHandler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	h.r.serve(w, req, h.ep, h.next)
}

// outcome is what processing decided; shared with concurrent copies.
type outcome struct {
	result  Result
	err     error
	written bool // the response was written already (by the wrapped handler or at the callback deadline)
	status  int  // the status written, when written
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request, ep Endpoint, next http.Handler) {
	start := r.cfg.now()
	o := Outcome{Endpoint: ep}
	res := r.handle(w, req, ep, next, start, &o)
	o.Result, o.Err = res.result, res.err
	if res.written {
		o.Status = res.status
	} else {
		o.Status = r.answer(w, req, res)
	}
	if i, ok := ep.index(); ok {
		r.counters[i].add(res.result)
	}
	if res.err != nil {
		r.cfg.logger.LogAttrs(req.Context(), levelFor(res.result), "codathook: delivery not processed",
			slog.String("endpoint", string(ep)), slog.String("result", string(res.result)),
			slog.String("event_type", o.EventType), slog.String("delivery_id", o.DeliveryID), slog.Any("error", res.err))
	}
	if r.cfg.observer != nil {
		o.Duration = r.cfg.now().Sub(start)
		r.cfg.observer(o)
	}
}

// answer writes res as the response and returns its status (as
// [StatusCode] reports it for errors).
func (r *Receiver) answer(w http.ResponseWriter, req *http.Request, res outcome) int {
	w.Header()[HeaderResult] = resultHeader(res.result)
	if res.err == nil {
		w.WriteHeader(http.StatusNoContent)
		return http.StatusNoContent
	}
	switch {
	case res.result == ResultMethodNotAllowed:
		w.Header().Set("Allow", "POST, PUT")
	case res.result == ResultBodyTimeout && req.ProtoMajor == 1:
		// The rest of the body may still come: do not read it as the
		// next request.
		w.Header().Set("Connection", "close")
	}
	r.cfg.errorHandler(w, req, res.err)
	return StatusCode(res.err)
}

func levelFor(res Result) slog.Level {
	switch res {
	case ResultFailed, ResultUnavailable:
		return slog.LevelError
	case ResultDeferred, ResultInFlight:
		return slog.LevelInfo
	}
	return slog.LevelWarn
}

func (r *Receiver) handle(w http.ResponseWriter, req *http.Request, ep Endpoint, next http.Handler, start time.Time, o *Outcome) outcome {
	if req.Method != http.MethodPost && req.Method != http.MethodPut {
		return outcome{result: ResultMethodNotAllowed, err: ErrMethodNotAllowed}
	}
	body, err := r.readBody(w, req)
	if err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return outcome{result: ResultTooLarge, err: err}
		case errors.Is(err, ErrBodyTimeout):
			return outcome{result: ResultBodyTimeout, err: err}
		case errors.Is(err, io.ErrUnexpectedEOF):
			return outcome{result: ResultMalformed, err: err}
		}
		return outcome{result: ResultUnavailable, err: fmt.Errorf("%w: %w", ErrBodyUnreadable, err)}
	}
	verifiedID, err := r.authenticate(ep, req.Header, body, start)
	if err != nil {
		return outcome{result: ResultUnauthorized, err: err}
	}
	msgKey := ""
	if verifiedID != "" {
		// A retry of a processed message is a duplicate whatever its body
		// and the flags say now: answer it before parsing.
		msgKey = "msg:" + verifiedID
		if r.deduper.Processed(req.Context(), msgKey) {
			o.DeliveryID = msgKey
			return outcome{result: ResultDuplicate}
		}
	}
	ev, err := normalize.Parse(body)
	if err != nil {
		return outcome{result: ResultMalformed, err: err}
	}
	o.Format, o.EventType = ev.Format, ev.Type
	if ep == EndpointLegacy && ev.Format == normalize.FormatNew {
		// The legacy endpoint's static Authorization (or none) does not
		// authenticate the new format: only a signature does. Refuse before
		// the flag gate and the store, so that a forged body records and
		// claims nothing.
		id, err := r.verifyNewOnLegacy(req.Header, body, start)
		if err != nil {
			return outcome{result: ResultUnauthorized, err: err}
		}
		msgKey = "msg:" + id
		if r.deduper.Processed(req.Context(), msgKey) {
			o.DeliveryID = msgKey
			return outcome{result: ResultDuplicate}
		}
	}
	del := &Delivery{
		ID:         deliveryKey(msgKey, ev, body),
		EventID:    ev.ID,
		Format:     ev.Format,
		Endpoint:   ep,
		ReceivedAt: start,
		Body:       body,
		Request:    req,
	}
	o.DeliveryID = del.ID
	ctx := req.Context()
	dd := dedupe.Delivery{Key: del.ID, Event: ev}
	if r.gate != nil {
		dec := r.gate.Evaluate(ctx, r.gateRequest(ep, req, ev))
		if !dec.Enabled {
			if err := r.deduper.Skip(ctx, dd); err != nil {
				r.cfg.logger.WarnContext(ctx, "codathook: recording a skipped arrival failed", slog.Any("error", err))
			}
			if dec.Action == toggle.ActionDefer {
				return outcome{result: ResultDeferred, err: &deferredError{after: dec.RetryAfter}}
			}
			return outcome{result: ResultSkipped}
		}
	}
	res, leader := r.flight.do(del.ID, r.cfg.callbackTimeout, func() outcome {
		return r.process(w, req, del, ev, dd, next)
	})
	if !leader {
		// A concurrent copy of this delivery: report the leader's outcome
		// without writing what the leader's wrapped handler wrote.
		res.written, res.status = false, 0
		if res.result == ResultProcessed {
			res.result = ResultDuplicate
		}
	}
	return res
}

// process claims the delivery, runs the callback or next, and commits or
// releases. It never panics.
func (r *Receiver) process(w http.ResponseWriter, req *http.Request, del *Delivery, ev *normalize.Event, dd dedupe.Delivery, next http.Handler) (res outcome) {
	defer func() {
		if p := recover(); p != nil {
			res = outcome{result: ResultFailed, err: &CallbackError{EventType: ev.Type, Panic: p}}
		}
	}()
	ctx := context.WithoutCancel(req.Context())
	// Shed before the store: a delivery over the bound claims and records
	// nothing, so its retry is processed like a first arrival.
	p, ok := r.acquire()
	if !ok {
		return outcome{result: ResultOverloaded, err: ErrOverloaded}
	}
	detached := false // a late detached callback holds p and releases it
	defer func() {
		if !detached {
			p.release()
		}
	}()
	lease, err := r.deduper.Begin(ctx, dd)
	if err != nil {
		return outcome{result: ResultUnavailable, err: &StoreError{Op: "claim", Err: err}}
	}
	switch lease.Outcome() {
	case dedupe.Duplicate:
		return outcome{result: ResultDuplicate}
	case dedupe.InFlight:
		return outcome{result: ResultInFlight, err: ErrInFlight}
	}
	ev = withElements(ev, lease.Elements())
	del.event = ev
	returned := false
	var sw *statusWriter // the wrapped handler's writer, when there is one
	defer func() {
		if returned {
			return
		}
		if sw != nil && sw.answered2xx() {
			// The wrapped handler answered 2xx, then ended its goroutine
			// (runtime.Goexit), which nothing can recover. The sender may
			// already hold the 2xx (the handler flushed it): commit, so
			// that the twin or a retry is a duplicate instead of running
			// the handler again, then flush the 2xx so that the sender
			// has it.
			r.settle(ctx, lease, outcome{}, nil)
			_ = http.NewResponseController(w).Flush()
			r.cfg.logger.ErrorContext(ctx, "codathook: the wrapped handler ended its goroutine after answering 2xx; delivery committed",
				slog.Int("status", sw.status), slog.String("event_type", ev.Type), slog.String("delivery_id", del.ID))
			return
		}
		// The callback or wrapped handler ended the goroutine
		// (runtime.Goexit) before answering 2xx, or something here
		// panicked: release the claims now, so that the sender's retry
		// processes the delivery instead of finding it in flight until the
		// lease expires. The sender gets no answer (the connection or
		// stream is reset), or the non-2xx the handler wrote.
		r.cfg.logger.WarnContext(ctx, "codathook: the callback did not return; delivery released",
			slog.String("event_type", ev.Type), slog.String("delivery_id", del.ID))
		r.settle(ctx, lease, outcome{}, errCallbackExited)
	}()
	var cbErr error
	switch {
	case next != nil:
		sw = &statusWriter{ResponseWriter: w}
		res, cbErr = r.runNext(context.WithValue(ctx, deliveryCtxKey, del), sw, req, del, ev, next)
	case req.ProtoMajor < 2:
		res, cbErr = r.runCallback(ctx, w, req, del, ev)
	default:
		res, cbErr = r.runCallbackDetached(context.WithValue(ctx, deliveryCtxKey, del), ev, lease, p)
	}
	returned = true
	if next == nil && req.ProtoMajor >= 2 && errors.Is(cbErr, ErrCallbackTimeout) {
		detached = true
		return res // the late callback commits or releases the lease, and releases p, itself
	}
	return r.settle(ctx, lease, res, cbErr)
}

// permit is one slot of [WithMaxConcurrentCallbacks], held from the claim
// until the callback (or wrapped handler) has returned and its lease is
// settled. The zero permit, of an unbounded receiver, releases nothing.
type permit struct{ sem *semaphore.Weighted }

func (p permit) release() {
	if p.sem != nil {
		p.sem.Release(1)
	}
}

// acquire takes a slot without waiting; ok is false when every slot is
// taken.
func (r *Receiver) acquire() (p permit, ok bool) {
	if r.callbacks == nil {
		return permit{}, true
	}
	if !r.callbacks.TryAcquire(1) {
		return permit{}, false
	}
	return permit{r.callbacks}, true
}

// settle commits a successful lease and releases a failed one.
func (r *Receiver) settle(ctx context.Context, lease *dedupe.Lease, res outcome, cbErr error) outcome {
	if cbErr == nil {
		if err := lease.Commit(ctx); err != nil {
			// The event was processed: answering 503 would process it again.
			r.commitFailures.Add(1)
			r.cfg.logger.ErrorContext(ctx, "codathook: commit failed after processing; a retry or the other format's twin may be processed again", slog.Any("error", err))
		}
		return res
	}
	if err := lease.Release(ctx); err != nil {
		r.cfg.logger.ErrorContext(ctx, "codathook: release failed; retries wait for the claim lease to expire", slog.Any("error", err))
	}
	return res
}

// runCallback runs the registered callback on the request's goroutine
// under the callback deadline (HTTP/1.x). It returns the outcome to report and the
// callback's own error, which settles the lease.
//
// When the deadline passes before the callback returns, a watchdog answers
// the delivery at once from the timer's goroutine (503 through the error
// handler, with Content-Length and Connection: close, flushed), so the sender
// gets its retryable answer in time even from a callback that ignores its
// context. The callback's eventual result then settles the lease: a late
// success commits (a retry is then a duplicate), a failure releases.
func (r *Receiver) runCallback(ctx context.Context, w http.ResponseWriter, req *http.Request, del *Delivery, ev *normalize.Event) (outcome, error) {
	cctx := newCallbackCtx(ctx, time.Now().Add(r.cfg.callbackTimeout), del)
	wd := startWatchdog(r, w, req, cctx)
	returned := false
	defer func() {
		if !returned { // the callback called runtime.Goexit
			wd.finish()
		}
	}()
	err := r.safeDispatch(cctx, ev)
	returned = true
	if status := wd.finish(); status != 0 {
		return outcome{result: ResultFailed, err: ErrCallbackTimeout, written: true, status: status}, err
	}
	if err != nil {
		return outcome{result: ResultFailed, err: err}, err
	}
	return outcome{result: ResultProcessed}, nil
}

// watchdog answers a delivery whose callback outlives the callback deadline.
// It writes the response from the timer's goroutine while the callback runs
// on the request's: the request's goroutine does not touch the
// ResponseWriter until finish has returned, and mu orders the two.
// Watchdogs whose timer never fired are reused, timer included.
type watchdog struct {
	r   *Receiver
	w   http.ResponseWriter
	req *http.Request
	ctx *callbackCtx
	t   *time.Timer

	mu       sync.Mutex
	finished bool // the callback returned: the request's goroutine answers
	status   int  // the status fire answered with; 0 if it did not
}

var watchdogs sync.Pool // of *watchdog with a stopped timer

// startWatchdog arms a watchdog for one callback run.
func startWatchdog(r *Receiver, w http.ResponseWriter, req *http.Request, ctx *callbackCtx) *watchdog {
	wd, _ := watchdogs.Get().(*watchdog)
	if wd == nil {
		wd = &watchdog{}
		wd.t = time.AfterFunc(time.Hour, wd.fire)
		wd.t.Stop()
	}
	wd.mu.Lock() // orders these writes before fire's reads
	wd.r, wd.w, wd.req, wd.ctx = r, w, req, ctx
	wd.finished, wd.status = false, 0
	wd.t.Reset(r.cfg.callbackTimeout)
	wd.mu.Unlock()
	return wd
}

// fire runs at the deadline: unless the callback has returned, it cancels
// the callback's context and answers 503 (through the error handler) as a
// complete response, flushed.
func (wd *watchdog) fire() {
	wd.mu.Lock()
	defer wd.mu.Unlock()
	if wd.finished {
		return
	}
	wd.ctx.cancel(context.DeadlineExceeded)
	// fire runs on the timer's goroutine, where nothing recovers a panic of
	// the error handler: recover it, and leave the answer to the request's
	// goroutine (status 0), as if the watchdog had not fired.
	defer func() {
		if p := recover(); p != nil {
			wd.status = 0
			wd.r.cfg.logger.Error("codathook: the error handler panicked answering at the callback deadline; the delivery is answered when the callback returns",
				slog.Any("panic", p))
		}
	}()
	wd.status = wd.r.answerComplete(wd.w, wd.req, outcome{result: ResultFailed, err: ErrCallbackTimeout})
}

// finish stops the watchdog, waiting for a fire in progress, cancels the
// callback's context (as the cancel of context.WithTimeout would) and
// returns the status fire answered with (0 if it did not). Call it once: a
// watchdog whose timer had not fired goes back to the pool.
func (wd *watchdog) finish() int {
	if wd.t.Stop() {
		wd.mu.Lock()
		ctx := wd.ctx
		wd.r, wd.w, wd.req, wd.ctx = nil, nil, nil, nil
		wd.mu.Unlock()
		watchdogs.Put(wd)
		ctx.cancel(context.Canceled)
		return 0
	}
	wd.mu.Lock()
	defer wd.mu.Unlock()
	wd.finished = true
	wd.ctx.cancel(context.Canceled) // no-op when fire cancelled it
	return wd.status
}

// answerComplete writes res as a response the client can read to its end
// before the handler returns: the error handler's output is buffered, then
// written with its Content-Length and Connection: close (the connection
// stays busy until the callback returns), and flushed. A ResponseWriter that
// cannot flush sends it when the handler returns.
func (r *Receiver) answerComplete(w http.ResponseWriter, req *http.Request, res outcome) int {
	bw := &bufferedAnswer{h: w.Header()}
	r.answer(bw, req, res)
	code := bw.code
	if code == 0 {
		code = http.StatusOK // what net/http sends for a handler that writes nothing
	}
	h := w.Header()
	h.Set("Content-Length", strconv.Itoa(len(bw.body)))
	h.Set("Connection", "close")
	w.WriteHeader(code)
	_, _ = w.Write(bw.body)
	_ = http.NewResponseController(w).Flush()
	return code
}

// bufferedAnswer records a status and body; its header is the real one.
type bufferedAnswer struct {
	h    http.Header
	code int
	body []byte
}

func (b *bufferedAnswer) Header() http.Header { return b.h }

func (b *bufferedAnswer) WriteHeader(code int) {
	if b.code == 0 {
		b.code = code
	}
}

func (b *bufferedAnswer) Write(p []byte) (int, error) {
	if b.code == 0 {
		b.code = http.StatusOK
	}
	b.body = append(b.body, p...)
	return len(p), nil
}

// runCallbackDetached runs the registered callback on a goroutine of its own
// under the callback deadline, for HTTP/2 and later, where a handler cannot
// end its stream before it returns. When the deadline passes first, the
// delivery is answered 503 at once and the callback's eventual result settles
// the lease: a late success commits, a failure releases; then p is
// released, so that the bound counts the callback for as long as it runs.
func (r *Receiver) runCallbackDetached(ctx context.Context, ev *normalize.Event, lease *dedupe.Lease, p permit) (outcome, error) {
	cctx, cancel := context.WithTimeout(ctx, r.cfg.callbackTimeout)
	done := make(chan error, 1)
	go func() {
		sent := false
		defer func() {
			if !sent { // the callback called runtime.Goexit
				done <- &CallbackError{EventType: ev.Type, Err: errCallbackExited}
			}
		}()
		done <- r.safeDispatch(cctx, ev)
		sent = true
	}()
	select {
	case err := <-done:
		cancel()
		if err != nil {
			return outcome{result: ResultFailed, err: err}, err
		}
		return outcome{result: ResultProcessed}, nil
	case <-cctx.Done():
		go func() {
			err := <-done
			cancel()
			res := outcome{result: ResultProcessed}
			if err != nil {
				res = outcome{result: ResultFailed, err: err}
			}
			r.settle(context.WithoutCancel(ctx), lease, res, err)
			p.release()
		}()
		return outcome{result: ResultFailed, err: ErrCallbackTimeout}, ErrCallbackTimeout
	}
}

// errCallbackExited is the failure of a callback that ended its goroutine
// with runtime.Goexit instead of returning.
var errCallbackExited = errors.New("codathook: the callback ended its goroutine (runtime.Goexit) without returning")

func (r *Receiver) safeDispatch(ctx context.Context, ev *normalize.Event) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &CallbackError{EventType: ev.Type, Panic: p}
		}
	}()
	if err := r.dispatch(ctx, ev); err != nil {
		return &CallbackError{EventType: ev.Type, Err: err}
	}
	return nil
}

// runNext calls the wrapped handler synchronously with the event in the
// request context, writing through sw. The rule is that the sender's view
// and the store's agree: the status the handler sent decides, not how the
// handler ended. A 2xx sent (explicitly, implicitly by Write or Flush)
// commits, also when the handler panics afterwards: the panic is recovered
// and logged at Error with its stack, and net/http completes the 2xx it
// already holds. Re-panicking (with http.ErrAbortHandler) would not help: a
// flushed 2xx is already on the wire, and an unflushed one turned into a
// reset makes the sender retry what was committed. A non-2xx sent releases.
// Nothing sent (the handler panicked first, or returned past its deadline)
// is answered by serve: 503 with Retry-After and a release, or 204 and a
// commit when the handler returned in time.
func (r *Receiver) runNext(ctx context.Context, sw *statusWriter, req *http.Request, del *Delivery, ev *normalize.Event, next http.Handler) (res outcome, err error) {
	cctx, cancel := context.WithTimeout(ctx, r.cfg.callbackTimeout)
	defer cancel()
	req2 := req.WithContext(cctx)
	req2.Body = io.NopCloser(bytes.NewReader(del.Body))
	req2.ContentLength = int64(len(del.Body))
	req2.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(del.Body)), nil }
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		if sw.answered2xx() {
			r.cfg.logger.ErrorContext(ctx, "codathook: the wrapped handler panicked after answering 2xx; delivery committed",
				slog.Int("status", sw.status), slog.String("event_type", ev.Type), slog.String("delivery_id", del.ID),
				slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
			res, err = outcome{result: ResultProcessed, written: true, status: sw.status}, nil
			return
		}
		err = &CallbackError{EventType: ev.Type, Panic: p}
		res = outcome{result: ResultFailed, err: err, written: sw.status != 0, status: sw.status}
	}()
	next.ServeHTTP(sw, req2)
	switch {
	case sw.status == 0:
		// next wrote nothing: answer for it.
		if cctx.Err() != nil {
			return outcome{result: ResultFailed, err: ErrCallbackTimeout}, ErrCallbackTimeout
		}
		return outcome{result: ResultProcessed}, nil
	case sw.answered2xx():
		return outcome{result: ResultProcessed, written: true, status: sw.status}, nil
	}
	err = fmt.Errorf("codathook: wrapped handler answered %d", sw.status)
	return outcome{result: ResultFailed, err: err, written: true, status: sw.status}, err
}

// statusWriter records the final status the wrapped handler sends, as
// net/http sends it: the first WriteHeader that net/http accepts, except
// informational 1xx codes (101 Switching Protocols is final); 200 on a Write
// or a Flush before any WriteHeader. It refuses Hijack: after a hijack the
// receiver could not know what the sender was told.
type statusWriter struct {
	http.ResponseWriter
	status int // 0 until a final status is sent
}

func (s *statusWriter) WriteHeader(code int) {
	// net/http panics on an invalid code without sending it: record the
	// code only once the underlying writer has taken it.
	s.ResponseWriter.WriteHeader(code)
	informational := code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols
	if s.status == 0 && !informational {
		s.status = code
	}
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// FlushError flushes the underlying writer, as http.ResponseController's
// Flush does; a flush before any WriteHeader sends 200.
func (s *statusWriter) FlushError() error {
	err := http.NewResponseController(s.ResponseWriter).Flush()
	if s.status == 0 && !errors.Is(err, http.ErrNotSupported) {
		s.status = http.StatusOK
	}
	return err
}

// Flush implements http.Flusher for handlers that assert it.
func (s *statusWriter) Flush() { _ = s.FlushError() }

// Hijack refuses: see [statusWriter].
func (s *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return nil, nil, errHijack
}

var errHijack = fmt.Errorf("codathook: a wrapped handler cannot hijack the connection: the receiver commits or releases the delivery by the status it answers: %w", http.ErrNotSupported)

// answered2xx reports whether the handler sent a 2xx status.
func (s *statusWriter) answered2xx() bool { return s.status >= 200 && s.status < 300 }

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// withElements returns ev with a read.completed payload reduced to the given
// dataTypes[] indexes (nil keeps ev unchanged).
func withElements(ev *normalize.Event, elems []int) *normalize.Event {
	rc, ok := ev.Typed.(*normalize.ReadCompletedEvent)
	if elems == nil || !ok || len(elems) == len(rc.Payload.DataTypes) {
		return ev
	}
	cp := *rc
	cp.Payload.DataTypes = make([]normalize.DataTypeReadSummary, 0, len(elems))
	for _, i := range elems {
		if i >= 0 && i < len(rc.Payload.DataTypes) {
			cp.Payload.DataTypes = append(cp.Payload.DataTypes, rc.Payload.DataTypes[i])
		}
	}
	ev2 := *ev
	ev2.Typed = &cp
	return &ev2
}

// authenticate applies ep's checks and returns the verified message id (new
// endpoint) or "".
func (r *Receiver) authenticate(ep Endpoint, h http.Header, body []byte, now time.Time) (string, error) {
	switch ep {
	case EndpointNew:
		if r.cfg.insecure[0] {
			return "", nil
		}
		if len(r.verifier.secrets) == 0 {
			return "", ErrNotConfigured
		}
		if r.cfg.newAuth != nil && !r.cfg.newAuth.check(h) {
			return "", ErrUnauthorized
		}
		return r.verifier.verifyAt(h, body, now)
	default:
		if r.cfg.insecure[1] {
			return "", nil
		}
		if r.cfg.legacyAuth == nil {
			return "", ErrNotConfigured
		}
		if !r.cfg.legacyAuth.check(h) {
			return "", ErrUnauthorized
		}
		return "", nil
	}
}

// verifyNewOnLegacy verifies the signature of a new-format body that
// arrived on the legacy endpoint with the configured secrets and returns the
// verified message id. Its errors match [ErrUnsignedNewFormat] (and the
// verifier's sentinel, when it ran).
func (r *Receiver) verifyNewOnLegacy(h http.Header, body []byte, now time.Time) (string, error) {
	if len(r.verifier.secrets) == 0 {
		return "", fmt.Errorf("%w (no signing secrets configured: WithSecrets)", ErrUnsignedNewFormat)
	}
	id, err := r.verifier.verifyAt(h, body, now)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrUnsignedNewFormat, err)
	}
	return id, nil
}

// deliveryKey is msgKey (the verified message id), else the body's id, else
// a hash of the body.
func deliveryKey(msgKey string, ev *normalize.Event, body []byte) string {
	if msgKey != "" {
		return msgKey
	}
	if ev.ID != "" {
		return "id:" + ev.ID
	}
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (r *Receiver) gateRequest(ep Endpoint, req *http.Request, ev *normalize.Event) toggle.Request {
	tr := toggle.Request{
		Endpoint:     string(ep),
		Format:       string(ev.Format),
		EventType:    ev.Type,
		CompanyID:    ev.CompanyID,
		ClientID:     ev.ClientID,
		ClientHeader: req.Header.Get(HeaderCodatClientID),
		ConnectionID: ev.ConnectionID,
	}
	// A read.completed with several elements has as many occurrences and
	// no single data type: skip building them.
	if rc, ok := ev.Typed.(*normalize.ReadCompletedEvent); ok && len(rc.Payload.DataTypes) > 1 {
		return tr
	}
	if occ := ev.Occurrences(); len(occ) == 1 {
		tr.DataType = occ[0].DataType
	}
	return tr
}

func (r *Receiver) defaultFallback(ctx context.Context, ev *normalize.Event) error {
	r.cfg.logger.InfoContext(ctx, "codathook: no callback registered; event acknowledged",
		slog.String("event_type", ev.Type), slog.String("format", string(ev.Format)), slog.String("event_id", ev.ID))
	return nil
}

// StatusCode returns the HTTP status [DefaultErrorHandler] answers err with.
// It never returns 500: Codat's legacy service does not retry it. It
// returns 408 for [ErrBodyTimeout], which both services retry.
func StatusCode(err error) int {
	var mbe *http.MaxBytesError
	var me *normalize.MalformedError
	switch {
	case err == nil:
		return http.StatusNoContent
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrBodyTimeout):
		return http.StatusRequestTimeout
	case errors.Is(err, ErrMethodNotAllowed):
		return http.StatusMethodNotAllowed
	case errors.Is(err, ErrMissingSignature), errors.Is(err, ErrInvalidSignature),
		errors.Is(err, ErrStaleTimestamp), errors.Is(err, ErrUnauthorized), errors.Is(err, ErrNotConfigured),
		errors.Is(err, ErrUnsignedNewFormat):
		return http.StatusUnauthorized
	case errors.As(err, &me), errors.Is(err, io.ErrUnexpectedEOF):
		return http.StatusBadRequest
	}
	return http.StatusServiceUnavailable
}

// DefaultErrorHandler answers a failed delivery with [StatusCode]'s status, the
// status text as body, and Retry-After on 503. It never reveals err's text.
func DefaultErrorHandler(w http.ResponseWriter, _ *http.Request, err error) {
	code := StatusCode(err)
	if code == http.StatusServiceUnavailable {
		after := RetryAfter
		var de *deferredError
		if errors.As(err, &de) && de.after > 0 {
			after = int((de.after + time.Second - 1) / time.Second)
		}
		w.Header().Set("Retry-After", strconv.Itoa(after))
	}
	http.Error(w, http.StatusText(code), code)
}

// deferredError is ErrDeferred with the Retry-After the flag gate asked for.
type deferredError struct{ after time.Duration }

func (e *deferredError) Error() string { return ErrDeferred.Error() }
func (e *deferredError) Unwrap() error { return ErrDeferred }

// resultHeaders holds one immutable header value per Result, so answering
// allocates no header slice.
var resultHeaders = func() map[Result][]string {
	m := make(map[Result][]string, len(results))
	for _, r := range results {
		m[r] = []string{string(r)}
	}
	return m
}()

func resultHeader(r Result) []string {
	if v, ok := resultHeaders[r]; ok {
		return v
	}
	return []string{string(r)}
}
