package codathook

import (
	"context"
	"errors"
	"fmt"
)

// pinger is a store that can say whether it is reachable, as redisstore's
// Store does.
type pinger interface {
	Ping(ctx context.Context) error
}

// Ready reports whether the receiver can process deliveries now: nil, or an
// error saying what is not ready. It checks that the receiver is not
// closed, that the dedupe store answers (a store with a Ping(ctx) error
// method, such as redisstore's, is pinged within ctx; the in-memory LRU is
// always reachable), and that the flag provider of [WithFlags] is ready
// (with an *openfeature.Client: READY, or STALE, whose flags are still
// served). Serve it as a readiness probe, so that an orchestrator sends
// deliveries only to replicas that would not answer them 503:
//
//	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
//		if err := rcv.Ready(r.Context()); err != nil {
//			http.Error(w, err.Error(), http.StatusServiceUnavailable)
//		}
//	})
func (r *Receiver) Ready(ctx context.Context) error {
	if r.closed.Load() {
		return errors.New("codathook: receiver closed")
	}
	var errs []error
	if p, ok := r.cfg.store.(pinger); ok {
		if err := p.Ping(ctx); err != nil {
			errs = append(errs, fmt.Errorf("codathook: dedupe store: %w", err))
		}
	}
	if r.gate != nil {
		if err := r.gate.Ready(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
