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

	"github.com/codathook/codathook/internal/deduper"
	"github.com/codathook/codathook/internal/gate"
	"github.com/codathook/codathook/normalize"
)

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
		o.Status = r.answer(w, req, res, false)
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

func (r *Receiver) handle(w http.ResponseWriter, req *http.Request, ep Endpoint, next http.Handler, start time.Time, o *Outcome) outcome {
	if req.Method != http.MethodPost && req.Method != http.MethodPut {
		return outcome{result: ResultMethodNotAllowed, err: errMethodNotAllowed}
	}
	body, err := r.readBody(w, req)
	if err != nil {
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
	dd := deduper.Delivery{Key: del.ID, Event: ev}
	if r.gate != nil {
		dec := r.gate.Evaluate(ctx, r.gateRequest(ep, req, ev))
		if !dec.Enabled {
			if err := r.deduper.Skip(ctx, dd); err != nil {
				r.cfg.logger.WarnContext(ctx, "codathook: recording a skipped arrival failed", slog.Any("error", err))
			}
			if dec.Action == gate.ActionDefer {
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
func (r *Receiver) process(w http.ResponseWriter, req *http.Request, del *Delivery, ev *normalize.Event, dd deduper.Delivery, next http.Handler) (res outcome) {
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
		return outcome{result: ResultOverloaded, err: errOverloaded}
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
	case deduper.Duplicate:
		return outcome{result: ResultDuplicate}
	case deduper.InFlight:
		return outcome{result: ResultInFlight, err: errInFlight}
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
	if next == nil && req.ProtoMajor >= 2 && errors.Is(cbErr, errCallbackTimeout) {
		detached = true
		return res // the late callback commits or releases the lease, and releases p, itself
	}
	return r.settle(ctx, lease, res, cbErr)
}

// settle commits a successful lease and releases a failed one.
func (r *Receiver) settle(ctx context.Context, lease *deduper.Lease, res outcome, cbErr error) outcome {
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
