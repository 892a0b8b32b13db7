package codathook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/codathook/codathook/dedupe"
	"github.com/codathook/codathook/internal/deduper"
	"github.com/codathook/codathook/internal/gate"
	"github.com/codathook/codathook/normalize"
)

// The data path, as the README's diagram draws it:
//
//	serve ─► admit (method 405, body 413/408, authenticate 401, classify 400)
//	      ─► flagGate ─► claim ─► run (callback / wrapped handler)
//	      ─► settle (commit or release) ─► answer
//
// Each step is one function below, called in that order from deliver, process and
// serve. A step that ends the delivery returns ok false with its outcome.

// outcome is what processing decided; shared with concurrent copies.
type outcome struct {
	result  Result
	err     error
	written bool // the response was written already (by the wrapped handler or at the callback deadline)
	status  int  // the status written, when written
	// abort: the answer carries Webhook-Delivery: abort-message (a
	// rejected or malformed delivery that Svix signed), see serve.
	abort bool
	// match and matchKey: for a duplicate or in_flight, the kind of key
	// that decided it, and the key when it is not the delivery key.
	match    deduper.Match
	matchKey string
}

// flow is one delivery on its way through the steps: what each step found,
// for the steps after it and for the report. It lives on serve's stack.
type flow struct {
	w     http.ResponseWriter
	req   *http.Request
	ep    Endpoint
	next  http.Handler // the wrapped handler; nil for registered callbacks
	start time.Time
	o     Outcome // the report, filled in as the steps learn it

	del   *Delivery        // set by admit
	dkey  string           // set by admit for a signed message: del.ID's deduper.DeliveryClaim
	ev    *normalize.Event // set by admit; reduced to the claimed elements by claim
	ctx   context.Context  // the request's context without its cancellation, from claim on
	claim claim            // what claim took and settle gives back
	sw    *statusWriter    // the wrapped handler's writer, when run made one

	returned bool // run returned (rather than panicking or ending its goroutine)
	signed   bool // a webhook signature verified: Codat's new (Svix) service sent it
}

// serve handles one delivery: the steps up to settle, then the answer and
// the report.
func (r *Receiver) serve(w http.ResponseWriter, req *http.Request, ep Endpoint, next http.Handler) {
	f := flow{w: w, req: req, ep: ep, next: next, start: r.cfg.now(), o: Outcome{Endpoint: ep}}
	res := r.deliver(&f)
	// A delivery Svix signed that no retry can fix (a permanent callback
	// error, a body that will never parse) tells Svix to stop retrying it:
	// it stays failed and replayable in Codat's Portal.
	res.abort = f.signed && (res.result == ResultRejected || res.result == ResultMalformed)
	if res.written {
		f.o.Status = res.status
	} else {
		f.o.Status = r.answer(w, req, res, false)
	}
	r.report(&f, res)
}

// deliver runs admit, flagGate, claim, run and settle in order.
func (r *Receiver) deliver(f *flow) outcome {
	res, ok := r.admit(f)
	if ok {
		res, ok = r.flagGate(f)
	}
	if !ok {
		return res
	}
	return r.process(f)
}

// process runs claim, run and settle, the steps that hold a claim. It never
// panics: see unwind. It is apart from deliver so that a delivery turned
// away before the claim (a retried duplicate above all) pays for no defer.
func (r *Receiver) process(f *flow) (res outcome) {
	defer r.unwind(f, &res)
	var err error
	ok := false
	if res, ok = r.claim(f); ok {
		res, err = r.run(f)
		f.returned = true
	}
	if r.cfg.observer == nil || f.claim.lease == nil {
		return r.settle(f.ctx, &f.claim, res, err)
	}
	f.o.SettleStart = time.Now()
	res = r.settle(f.ctx, &f.claim, res, err)
	f.o.SettleDuration = time.Since(f.o.SettleStart)
	return res
}

// admit checks the method, reads the body, authenticates it (a new-format
// body on the legacy endpoint needs its signature), answers a retry of a
// processed message as a duplicate before parsing, and parses the body.
func (r *Receiver) admit(f *flow) (outcome, bool) {
	req := f.req
	if req.Method != http.MethodPost && req.Method != http.MethodPut {
		return outcome{result: ResultMethodNotAllowed, err: errMethodNotAllowed}, false
	}
	// The body deadline is real time: the delivery's start unless a
	// clock was set (WithClock).
	var now time.Time
	if !r.cfg.clockSet {
		now = f.start
	}
	body, err := r.readBody(f.w, req, now)
	if err != nil {
		return bodyFailure(err), false
	}
	verifiedID, err := r.authenticate(f.ep, req.Header, body, f.start)
	if err != nil {
		return outcome{result: ResultUnauthorized, err: err}, false
	}
	msgKey, claim := "", ""
	f.signed = verifiedID != ""
	if verifiedID != "" {
		// A retry of a processed message is a duplicate whatever its body
		// and the flags say now: answer it before parsing. Its delivery
		// key and that key's claim are built once, as one string.
		msgKey, claim = deduper.MessageKeys(verifiedID)
		if r.processed(f, msgKey, claim) {
			return outcome{result: ResultDuplicate, match: deduper.MatchMessage}, false
		}
	}
	ev, err := normalize.Parse(body)
	if err != nil {
		return outcome{result: ResultMalformed, err: err}, false
	}
	f.o.Format, f.o.EventType = ev.Format, ev.Type
	if f.ep == EndpointLegacy && ev.Format == normalize.FormatNew {
		// The legacy endpoint's static Authorization (or none) does not
		// authenticate the new format: only a signature does. Refuse before
		// the flag gate and the store, so that a forged body records and
		// claims nothing.
		id, err := r.verifyNewOnLegacy(req.Header, body, f.start)
		if err != nil {
			return outcome{result: ResultUnauthorized, err: err}, false
		}
		f.signed = true
		msgKey, claim = deduper.MessageKeys(id)
		if r.processed(f, msgKey, claim) {
			return outcome{result: ResultDuplicate, match: deduper.MatchMessage}, false
		}
	}
	f.ev, f.dkey = ev, claim
	f.del = &Delivery{
		ID:         deliveryKey(msgKey, ev, body),
		EventID:    ev.ID,
		Format:     ev.Format,
		Endpoint:   f.ep,
		ReceivedAt: f.start,
		Body:       body,
		Request:    req,
	}
	f.o.DeliveryID = f.del.ID
	return outcome{}, true
}

// bodyFailure is the outcome of a body that could not be read.
func bodyFailure(err error) outcome {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return outcome{result: ResultTooLarge, err: err}
	case errors.Is(err, errBodyTimeout):
		return outcome{result: ResultBodyTimeout, err: err}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return outcome{result: ResultMalformed, err: err}
	}
	return outcome{result: ResultUnavailable, err: fmt.Errorf("%w: %w", errBodyUnreadable, err)}
}

// processed reports whether the verified message msgKey was processed
// already, naming it in the report if so.
func (r *Receiver) processed(f *flow, msgKey, claim string) bool {
	if !r.deduper.Processed(f.req.Context(), claim) {
		return false
	}
	f.o.DeliveryID = msgKey
	return true
}

// flagGate asks the endpoint's flag whether to process the delivery. One it
// turns away is recorded as skipped (so that the formats stay paired), never
// claimed, and answered skipped or deferred.
func (r *Receiver) flagGate(f *flow) (outcome, bool) {
	if r.gate == nil {
		return outcome{}, true
	}
	ctx := f.req.Context()
	timed := r.cfg.observer != nil
	if timed {
		f.o.FlagStart = time.Now()
	}
	dec := r.gate.Evaluate(ctx, r.gateRequest(f.ep, f.req, f.ev))
	if timed {
		f.o.FlagDuration = time.Since(f.o.FlagStart)
	}
	if dec.Enabled {
		return outcome{}, true
	}
	if err := r.deduper.Skip(ctx, deduper.Delivery{Key: f.del.ID, Event: f.ev, Claim: f.dkey}); err != nil {
		r.cfg.logger.WarnContext(ctx, "codathook: recording a skipped arrival failed", slog.Any("error", err))
	}
	if dec.Action == gate.ActionDefer {
		return outcome{result: ResultDeferred, err: &deferredError{after: dec.RetryAfter}}, false
	}
	return outcome{result: ResultSkipped}, false
}

// claim is what a delivery holds from claim until settle: the lead of its
// key in this process, a slot of [WithMaxConcurrentCallbacks] and its dedupe
// lease. settle gives each back and clears it.
type claim struct {
	key    string
	flight *flightCall // set while this copy leads its key
	slot   permit
	lease  *deduper.Lease // set when the store granted the claim
	tx     dedupe.Tx      // the delivery's transaction, with a dedupe.TxStore
}

// held reports whether c holds anything settle has to give back.
func (c *claim) held() bool {
	return c.flight != nil || c.slot.sem != nil || c.lease != nil || c.tx != nil
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

// claim takes the delivery for this copy: it waits for a concurrent copy of
// the same key in this process and reports that copy's outcome instead (a
// processed one as a duplicate, without what its wrapped handler wrote), or
// takes a slot (shedding without one) and claims the delivery in the store.
func (r *Receiver) claim(f *flow) (outcome, bool) {
	c := &f.claim
	c.key = f.del.ID
	call, res := r.flight.join(c.key, r.cfg.callbackTimeout)
	if call == nil {
		// A copy of the same message: whatever the leader's key matched,
		// this one matched the leader's.
		res.written, res.status, res.matchKey = false, 0, ""
		if res.result == ResultProcessed {
			res.result = ResultDuplicate
		}
		if res.result == ResultDuplicate || res.result == ResultInFlight {
			res.match = deduper.MatchMessage
		}
		return res, false
	}
	c.flight = call
	f.ctx = context.WithoutCancel(f.req.Context())
	// Shed before the store: a delivery over the bound claims and records
	// nothing, so its retry is processed like a first arrival.
	p, ok := r.acquire()
	if !ok {
		return outcome{result: ResultOverloaded, err: errOverloaded}, false
	}
	c.slot = p
	timed := r.cfg.observer != nil
	if timed {
		f.o.ClaimStart = time.Now()
	}
	lease, err := r.deduper.Begin(f.ctx, deduper.Delivery{Key: f.del.ID, Event: f.ev, Claim: f.dkey})
	if timed {
		f.o.ClaimDuration = time.Since(f.o.ClaimStart)
	}
	if err != nil {
		return outcome{result: ResultUnavailable, err: &StoreError{Op: "claim", Err: err}}, false
	}
	switch lease.Outcome() {
	case deduper.Duplicate:
		m, key := lease.Match()
		return outcome{result: ResultDuplicate, match: m, matchKey: key}, false
	case deduper.InFlight:
		m, key := lease.Match()
		return outcome{result: ResultInFlight, err: errInFlight, match: m, matchKey: key}, false
	}
	c.lease = lease
	if r.txStore != nil {
		ctx, tx, err := r.txStore.BeginTx(f.ctx)
		if err != nil {
			return outcome{result: ResultUnavailable, err: &StoreError{Op: "begin", Err: err}}, false
		}
		if tx != nil {
			f.ctx, c.tx = ctx, tx
		}
	}
	f.ev = withElements(f.ev, lease.Elements())
	f.del.Event = f.ev
	return outcome{}, true
}

// run calls the wrapped handler, or the registered callback: on the
// request's goroutine over HTTP/1.x, on its own over HTTP/2 and later. It
// returns the outcome to report and the error that decides the settling.
func (r *Receiver) run(f *flow) (outcome, error) {
	switch {
	case f.next != nil:
		f.sw = &statusWriter{ResponseWriter: f.w}
		return r.runNext(context.WithValue(f.ctx, deliveryCtxKey, f.del), f.sw, f.req, f.del, f.ev, f.next)
	case f.req.ProtoMajor < 2:
		return r.runCallback(f.ctx, f.w, f.req, f.del, f.ev)
	}
	return r.runCallbackDetached(context.WithValue(f.ctx, deliveryCtxKey, f.del), f.ev, &f.claim)
}

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

func (r *Receiver) gateRequest(ep Endpoint, req *http.Request, ev *normalize.Event) gate.Request {
	tr := gate.Request{
		Endpoint:     string(ep),
		Format:       string(ev.Format),
		EventType:    ev.Type,
		CompanyID:    ev.CompanyID,
		ClientID:     ev.ClientID,
		ClientHeader: req.Header.Get(headerCodatClientID),
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
