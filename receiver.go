package codathook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/codathook/codathook/dedupe"
	"github.com/codathook/codathook/internal/deduper"
	"github.com/codathook/codathook/internal/gate"
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
	// there is refused (401, errUnsignedNewFormat) unless it carries a
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

// Outcome describes one delivery, for metrics. See [WithObserver].
//
// A retry of a message that was already processed is recognised by its
// verified webhook-id before its body is parsed: its Outcome is a duplicate
// with an empty Format and EventType. A delivery answered 503 at the
// callback deadline is reported when its callback returns (Result failed,
// Err errCallbackTimeout, Status as answered).
type Outcome struct {
	Endpoint   Endpoint
	Format     normalize.Format // "" when the body was never classified
	EventType  string
	DeliveryID string
	Result     Result
	Status     int
	Duration   time.Duration
	Err        error
	// Match is, for a duplicate or in_flight, the kind of key that matched
	// (also sent as the Codathook-Match header): "message", the same
	// message again (a Svix retry, resend or replay, a legacy retry, or a
	// concurrent copy); "event", the same event id in either format;
	// "occurrence", an identifier both formats carry (push operation key,
	// expenses syncId, report id) or the legacy datasetId of one sync;
	// "twin", the same occurrence in the other format, paired by its
	// occurrence key and time. "" otherwise.
	Match string
	// FlagStart and FlagDuration time the flag evaluation; ClaimStart and
	// ClaimDuration the dedupe claim; SettleStart and SettleDuration the
	// commit or release. Each is a call to the flag provider or the store
	// (a round trip for a networked one). They are zero when the step did
	// not run, and for a settle that finished after the answer (a callback
	// past its deadline).
	FlagStart, ClaimStart, SettleStart          time.Time
	FlagDuration, ClaimDuration, SettleDuration time.Duration
}

// Receiver receives Codat webhooks on two endpoints, authenticates them,
// normalizes legacy bodies to the new event types, gates each endpoint by a
// feature flag, deduplicates, and dispatches to typed callbacks registered
// with [On]. A Receiver is safe for concurrent use.
type Receiver struct {
	cfg      config
	verifier *verifier
	deduper  *deduper.Deduper
	txStore  dedupe.TxStore // the store, when it commits in a transaction of the callback's
	gate     *gate.Gate
	ownStore bool

	regMu sync.Mutex
	reg   atomic.Pointer[registry]

	flight    flightGroup
	callbacks *semaphore.Weighted // WithMaxConcurrentCallbacks; nil when unbounded
	// noDeadlineWarned: the receiver has warned of a ResponseWriter that
	// cannot set read deadlines (once per receiver).
	noDeadlineWarned atomic.Bool
	closed           atomic.Bool // Close was called: not Ready
	handlers         [2]*endpointHandler
	counters         [2]endpointCounters
	commitFailures   atomic.Uint64
}

// New returns a receiver configured by opts. It returns an error when an
// option is invalid.
func New(opts ...Option) (*Receiver, error) {
	c := config{
		tolerance:       defaultTolerance,
		now:             time.Now,
		maxBody:         defaultMaxBodyBytes,
		logger:          slog.Default(),
		errorHandler:    DefaultErrorHandler,
		callbackTimeout: defaultCallbackTimeout,
		bodyTimeout:     defaultBodyReadTimeout,
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
		lcfg := dedupe.LRUConfig{Logger: c.logger}
		if c.clockSet {
			lcfg.Now = c.now
		}
		r.cfg.store = dedupe.NewLRU(lcfg)
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
	d, err := deduper.New(r.cfg.store, &dcfg)
	if err != nil {
		return nil, fmt.Errorf("codathook: dedupe: %w", err)
	}
	r.deduper = d
	r.txStore, _ = r.cfg.store.(dedupe.TxStore)
	if c.flags != nil {
		gcfg := toggle.Config{}
		if c.gateCfg != nil {
			gcfg = *c.gateCfg
		} else if _, ok := c.flags.(gate.EventSource); ok {
			gcfg.CacheSize = defaultFlagCacheSize
		}
		if gcfg.Logger == nil {
			gcfg.Logger = c.logger
		}
		g, err := gate.New(c.flags, &gcfg)
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
// A negative lease is left to deduper.New, which refuses it.
func checkCallbackTimeout(c *config) error {
	lease := deduper.DefaultLease
	if c.dedupeCfg != nil && c.dedupeCfg.Lease != 0 {
		lease = c.dedupeCfg.Lease
	}
	if lease < 0 || c.callbackTimeout < lease {
		return nil
	}
	return fmt.Errorf("codathook: callback timeout %v must be shorter than the dedupe claim lease %v, or a callback that outlives its claim runs again alongside a copy: "+
		"shorten WithCallbackTimeout (default %v) or raise the Lease of WithDedupe's dedupe.Config (default deduper.DefaultLease, %v)",
		c.callbackTimeout, lease, defaultCallbackTimeout, deduper.DefaultLease)
}

// Close releases what New created: the default in-memory store and the flag
// gate's event subscriptions. A store passed with [WithDedupe] is not closed.
// With the default store, deliveries after Close are answered 503.
func (r *Receiver) Close(ctx context.Context) error {
	r.closed.Store(true)
	r.deduper.Wait() // a migration ledger sweep re-checking the store (at most 5 s)
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

type endpointHandler struct {
	r    *Receiver
	ep   Endpoint
	next http.Handler
}

func (h *endpointHandler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	h.r.serve(w, req, h.ep, h.next)
}

func (r *Receiver) defaultFallback(ctx context.Context, ev *normalize.Event) error {
	r.cfg.logger.InfoContext(ctx, "codathook: no callback registered; event acknowledged",
		slog.String("event_type", ev.Type), slog.String("format", string(ev.Format)), slog.String("event_id", ev.ID))
	return nil
}
