package pgstore_test

import (
	"context"
	"log/slog"
	"net/http"
	"testing"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
	"github.com/codathook/codathook/dedupe"
)

// replica is a codathook.Receiver on a dedupe store, as one replica of an
// app runs it: both endpoints with the development credentials, one
// callback for every event type, and an observer that keeps each
// delivery's Outcome. The tests drive deduplication only through this
// public API, so that they do not depend on the core module's internals.
// Deliveries to one replica must be sequential.
type replica struct {
	tb     testing.TB
	rcv    *codathook.Receiver
	newEP  http.Handler
	legEP  http.Handler
	signer *codathooktest.Signer // signs new-format deliveries; set its Now with WithClock
	last   codathook.Outcome     // the observer's Outcome of the latest delivery
	calls  int                   // callback runs
}

// newReplica returns a receiver on store with cfg (nil: dedupe.Config's
// defaults) and opts added to the options above (WithClock, say).
func newReplica(tb testing.TB, store dedupe.Store, cfg *dedupe.Config, opts ...codathook.Option) *replica {
	tb.Helper()
	r := &replica{tb: tb, signer: codathooktest.MustSigner(codathooktest.DevSecret)}
	rcv, err := codathook.New(append([]codathook.Option{
		codathook.WithSecrets(codathooktest.DevSecret),
		codathook.WithLegacyAuthorization(codathooktest.DevAuthorization),
		codathook.WithDedupe(store, cfg),
		codathook.WithLogger(slog.New(slog.DiscardHandler)),
		codathook.WithObserver(func(_ context.Context, o codathook.Outcome) { r.last = o }),
	}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = rcv.Close(context.Background()) })
	err = codathook.On(rcv, "*", func(context.Context, *codathook.Event) error {
		r.calls++
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	r.rcv = rcv
	r.newEP, r.legEP = rcv.Handler(codathook.EndpointNew), rcv.Handler(codathook.EndpointLegacy)
	return r
}

// deliverNew sends body to the new endpoint, signed with message id msgID
// (a retry or resend of one message keeps its id), and returns its Outcome.
func (r *replica) deliverNew(msgID string, body []byte) codathook.Outcome {
	r.tb.Helper()
	r.signer.MsgID = msgID
	return r.serve(r.newEP, r.signer.NewRequest(http.MethodPost, "/webhooks/codat", body))
}

// deliverLegacy sends body to the legacy endpoint and returns its Outcome.
func (r *replica) deliverLegacy(body []byte) codathook.Outcome {
	r.tb.Helper()
	return r.serve(r.legEP, codathooktest.NewLegacyRequest("/webhooks/codat/legacy", codathooktest.DevAuthorization, body))
}

// serve serves req with h and returns the observer's Outcome, after
// checking that the Codathook-Result header says the same and that the
// callback ran exactly when the result is processed.
func (r *replica) serve(h http.Handler, req *http.Request) codathook.Outcome {
	r.tb.Helper()
	r.last = codathook.Outcome{}
	calls := r.calls
	resp := codathooktest.Do(h, req)
	o := r.last
	if got := codathook.Result(resp.Header.Get(codathook.HeaderResult)); got != o.Result {
		r.tb.Fatalf("%s header %q, observer result %q (status %d, error %v)", codathook.HeaderResult, got, o.Result, resp.StatusCode, o.Err)
	}
	if ran := r.calls - calls; (o.Result == codathook.ResultProcessed) != (ran == 1) || ran > 1 {
		r.tb.Fatalf("result %q, callback ran %d times", o.Result, ran)
	}
	return o
}

// commitFailures is the receiver's count of deliveries processed whose
// commit to the store then failed (the sender got 204 all the same).
func (r *replica) commitFailures() uint64 { return r.rcv.Stats().Dedupe.CommitFailures }
