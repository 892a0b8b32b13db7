package soak

import (
	"bytes"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"
	"github.com/open-feature/go-sdk/openfeature/memprovider"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
	"github.com/codathook/codathook/toggle"
)

// The migration simulation plays Codat's two webhook services, as a customer
// lives the migration runbook (docs/MIGRATION.md), against three receivers
// that share one redis-server. Time is simulated: a simClock drives every
// receiver (signature timestamps, legacy occurrence times, dedupe deadlines)
// and the sender, and jumps from one scheduled instant to the next, so weeks
// run in seconds. Every attempt due at one instant is sent concurrently, each
// to a random replica; the next instant starts when all were answered.

const (
	formatLegacy = "legacy"
	formatNew    = "new"
)

// svixSchedule is the delay before each attempt of the new service, counted
// from the previous failure (Codat's troubleshooting page, Svix's retry
// schedule): 8 attempts over about 28 hours. Each delay but the first gets
// ±20% jitter, as Svix's worker applies.
var svixSchedule = [...]time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}

// legacyRetries is the legacy service's interval before each retry when the
// answer carries no Retry-After: at most three retries, the interval growing
// to at most 60 s, all within about two minutes.
var legacyRetries = [...]time.Duration{10 * time.Second, 30 * time.Second, 60 * time.Second}

// legacyRetryable are the statuses the legacy service retries; every other
// non-2xx status is final ("Unrecoverable, no retry is attempted").
var legacyRetryable = map[int]bool{408: true, 420: true, 429: true, 460: true, 502: true, 503: true, 504: true, 522: true, 524: true}

var errInjected = errors.New("injected transient callback failure")

// migConfig is one simulation's knobs.
type migConfig struct {
	seed     uint64
	replicas int
	steps    [6]time.Duration // durations of the runbook's six stages
	dropRate float64          // probability that a delivery is never sent
	lateRate float64          // probability that a new delivery's first attempts never reach us
	failRate float64          // probability that a body's first callback run fails
}

// step is one stage of the runbook: what Codat sends and what the flags say.
type step struct {
	name        string
	start, end  time.Time
	legacyRules bool   // legacy rules exist: Codat sends legacy deliveries
	newConsumer bool   // the new consumer exists: Codat sends new deliveries
	legacyOn    bool   // codat-legacy-endpoint
	newOn       bool   // codat-new-endpoint, every company
	newPilot    string // codat-new-endpoint is on for this company (step 3)
}

// runbook returns the migration runbook (docs/MIGRATION.md) as a customer
// lives it, starting at start, with the given durations, and company as step
// 3's test company.
func runbook(start time.Time, durs [6]time.Duration, pilot string) []step {
	steps := []step{
		{name: "1 legacy alone", legacyRules: true, legacyOn: true},
		{name: "2 new consumer, new off", legacyRules: true, newConsumer: true, legacyOn: true},
		{name: "3 test company", legacyRules: true, newConsumer: true, legacyOn: true, newPilot: pilot},
		{name: "4 both on", legacyRules: true, newConsumer: true, legacyOn: true, newOn: true},
		{name: "5 legacy off", legacyRules: true, newConsumer: true, newOn: true},
		{name: "6 rules deleted", newConsumer: true, newOn: true},
	}
	t := start
	for i := range steps {
		steps[i].start, t = t, t.Add(durs[i])
		steps[i].end = t
	}
	return steps
}

// enabled reports whether format's endpoint processes company's deliveries
// in this step.
func (s step) enabled(format, company string) bool {
	if format == formatLegacy {
		return s.legacyOn
	}
	return s.newOn || s.newPilot != "" && company == s.newPilot
}

// flags returns the memprovider flags that say what enabled says.
func (s step) flags() map[string]memprovider.InMemoryFlag {
	nf := boolFlag(s.newOn)
	if !s.newOn && s.newPilot != "" {
		pilot := s.newPilot
		ce := func(_ memprovider.InMemoryFlag, fc openfeature.FlattenedContext) (any, openfeature.ProviderResolutionDetail) {
			return fc[openfeature.TargetingKey] == pilot, openfeature.ProviderResolutionDetail{Reason: openfeature.TargetingMatchReason}
		}
		nf.ContextEvaluator = &ce
	}
	return map[string]memprovider.InMemoryFlag{toggle.DefaultLegacyFlag: boolFlag(s.legacyOn), toggle.DefaultNewFlag: nf}
}

// occ is one real-world occurrence as the matcher sees it: one occurrence
// key K at one time. A new read.completed with several data types carries
// several; each legacy Data sync completed carries one.
type occ struct {
	id      int
	k       string // occurrence key: type|company|connection|dataType|status, or "exact|"+push operation key
	exact   bool   // matched by an identifier both formats carry
	typ     string
	company string
	at      time.Time // occurrence time (the new body's generatedDate)
	step    int
	legacy  []*delivery // Data sync completed and Dataset data changed of one dataset are both its legacy deliveries
	newD    *delivery
	calls   []call // successful callback runs that carried this occurrence's body
}

// call is one successful callback run that carried an occurrence's body.
type call struct {
	d  *delivery
	at time.Time
}

// delivery is one message of one service: a body, delivered in attempts.
type delivery struct {
	name    string // "L17", "N4": for messages
	format  string
	company string
	bodyID  string // the body id (new) or AlertId (legacy)
	msgID   string // webhook-id (new)
	body    []byte
	occs    []*occ
	byType  map[string]*occ // read bodies: data type -> occurrence

	// Drawn when the delivery is generated, so the schedule depends only
	// on the seed.
	dropped  bool      // never sent (Codat lost it)
	lost     int       // new: the first lost attempts never reached us
	first    time.Time // the first attempt (legacy: seconds after the occurrence)
	jitter   [len(svixSchedule)]float64
	replica  [len(svixSchedule)]int
	failOnce bool // the first callback run for this body fails

	failed atomic.Bool // failOnce has been spent

	// Written by the event loop only.
	answers []reply
	final   *reply // the reply that ended the delivery: a 2xx or the last failure
}

// reply is one attempt and what the receiver answered.
type reply struct {
	n          int // attempt number, 1-based
	at         time.Time
	replica    int
	status     int
	result     codathook.Result
	retryAfter string
	flagOn     bool // what the simulation's flags said for this attempt
	err        error
}

func (a *reply) ok() bool { return a != nil && a.err == nil && a.status >= 200 && a.status < 300 }

// delay returns the scheduled delay before attempt n+1 (n >= 1) with its
// jitter, in whole seconds.
func (d *delivery) delay(n int) time.Duration {
	return seconds(time.Duration(float64(svixSchedule[n]) * d.jitter[n]))
}

func seconds(d time.Duration) time.Duration {
	return max(time.Second, d.Round(time.Second))
}

// migration is one simulation.
type migration struct {
	t        *testing.T
	cfg      migConfig
	start    time.Time
	clock    *simClock
	steps    []step
	provider *memprovider.InMemoryProvider
	servers  []*httptest.Server
	rcvs     []*codathook.Receiver
	signer   *codathooktest.Signer

	occs       []*occ
	deliveries []*delivery
	bodies     map[string]*delivery // body id / AlertId -> delivery; read-only once running

	queue schedule
	seq   int
	cur   int // the step whose flags the provider serves
	// instants is the number of distinct simulated instants at which
	// attempts were sent.
	instants int
	// reads are the replicas' readiness reports, when a window comes due and
	// at each stage's end (migration_readiness_test.go).
	reads []read
	due   []time.Time // when the windows the settled deliveries opened close

	mu       sync.Mutex
	unknown  []string // callback runs for bodies the simulation never sent
	calls    int      // successful callback runs
	injected atomic.Int64
}

// newMigration starts the replicas and the flag provider for a runbook with
// cfg's durations starting at start; the caller generates the traffic, then
// calls run.
func newMigration(t *testing.T, cfg migConfig, pilot string) *migration {
	t.Helper()
	addr := redisAddr(t)
	// Simulated time starts now (whole seconds), so that any absolute expiry
	// a store derives from the simulated clock lies in the real future.
	start := time.Now().UTC().Truncate(time.Second)
	m := &migration{
		t: t, cfg: cfg, start: start,
		clock:  &simClock{t: start},
		steps:  runbook(start, cfg.steps, pilot),
		bodies: map[string]*delivery{},
		signer: codathooktest.MustSigner(secret),
	}
	api := isolated.NewAPI()
	t.Cleanup(func() { api.Shutdown(context.Background()) })
	m.provider = memprovider.NewInMemoryProvider(m.steps[0].flags())
	if err := api.SetProviderAndWait(t.Context(), m.provider); err != nil {
		t.Fatal(err)
	}
	prefix := fmt.Sprintf("migration:%d:%x:", cfg.seed, rand.Uint64())
	logger := slog.New(slog.DiscardHandler)
	for range cfg.replicas {
		store := replicaStore(t, addr, prefix)
		rcv, err := codathook.New(
			codathook.WithSecrets(secret),
			codathook.WithLegacyAuthorization(legacyAuth),
			codathook.WithDedupe(store, nil),
			// Timeout -1 and no cache: a flag flip applies to the very next
			// delivery, so each attempt's flag is the one its instant's
			// step set.
			codathook.WithFlags(api.NewClient(), &toggle.Config{Timeout: -1}),
			codathook.WithLogger(logger),
			codathook.WithClock(m.clock.Now),
		)
		if err != nil {
			t.Fatal(err)
		}
		if err := codathook.On(rcv, "*", m.callback); err != nil {
			t.Fatal(err)
		}
		srv := serve(t, rcv)
		m.servers = append(m.servers, srv)
		m.rcvs = append(m.rcvs, rcv)
	}
	return m
}

// stepAt returns the index of the step in force at t (the last one after
// the runbook ends: retries go on).
func (m *migration) stepAt(t time.Time) int {
	for i := len(m.steps) - 1; i > 0; i-- {
		if !t.Before(m.steps[i].start) {
			return i
		}
	}
	return 0
}

// callback is the application's callback, registered for every event type:
// it records which occurrence each body (each read element) belongs to.
func (m *migration) callback(_ context.Context, ev *codathook.Event) error {
	d := m.bodies[ev.ID]
	if d == nil {
		m.mu.Lock()
		m.unknown = append(m.unknown, ev.Type+" "+ev.ID)
		m.mu.Unlock()
		return nil
	}
	if d.failOnce && d.failed.CompareAndSwap(false, true) {
		m.injected.Add(1)
		return errInjected
	}
	occs := d.occs
	if rc, ok := ev.Typed.(*codathook.ReadCompletedEvent); ok && d.byType != nil {
		occs = nil
		for _, e := range rc.Payload.DataTypes {
			o := d.byType[e.DataType]
			if o == nil {
				m.mu.Lock()
				m.unknown = append(m.unknown, fmt.Sprintf("%s %s element %s", ev.Type, ev.ID, e.DataType))
				m.mu.Unlock()
				continue
			}
			occs = append(occs, o)
		}
	}
	now := m.clock.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	for _, o := range occs {
		o.calls = append(o.calls, call{d: d, at: now})
	}
	return nil
}

func (m *migration) push(at time.Time, d *delivery, n int) {
	m.seq++
	heap.Push(&m.queue, pending{at: at, seq: m.seq, d: d, n: n})
}

// run delivers every generated delivery until no attempt is left, reading
// the replicas' readiness reports as their metrics would (see scrape).
func (m *migration) run() {
	for _, d := range m.deliveries {
		if d.dropped {
			continue
		}
		at, n := d.first, 1
		for ; n <= d.lost; n++ { // attempts that never reached us
			at = at.Add(d.delay(n))
		}
		m.push(at, d, n)
	}
	var batch []pending
	for m.queue.Len() > 0 {
		at := m.queue[0].at
		if i := m.stepAt(at); i != m.cur {
			m.stagesEnd(i)
			m.provider.UpdateFlags(m.steps[i].flags())
			m.cur = i
		}
		m.clock.Set(at)
		m.scrape()
		m.instants++
		batch = batch[:0]
		for m.queue.Len() > 0 && m.queue[0].at.Equal(at) {
			batch = append(batch, heap.Pop(&m.queue).(pending))
		}
		st := m.steps[m.cur]
		answers := make([]reply, len(batch))
		var wg sync.WaitGroup
		for i, p := range batch {
			wg.Go(func() { answers[i] = m.send(p, st) })
		}
		wg.Wait()
		for i, p := range batch {
			m.settle(p, answers[i])
		}
		m.opened(at, answers)
	}
	m.stagesEnd(len(m.steps))
}

// send makes one attempt, while st's flags are served.
func (m *migration) send(p pending, st step) reply {
	d := p.d
	a := reply{n: p.n, at: p.at, replica: d.replica[p.n-1], flagOn: st.enabled(d.format, d.company)}
	url := m.servers[a.replica].URL + "/webhooks/codat"
	if d.format == formatLegacy {
		url += "/legacy"
	}
	req, err := http.NewRequestWithContext(m.t.Context(), http.MethodPost, url, bytes.NewReader(d.body))
	if err != nil {
		a.err = err
		return a
	}
	if d.format == formatNew {
		// Signed at the attempt's simulated time, as Svix signs each attempt.
		for k, v := range m.signer.Headers(d.msgID, p.at, d.body) {
			req.Header[k] = v
		}
	} else {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", legacyAuth)
	}
	resp, err := client.Do(req)
	if err != nil {
		a.err = err
		return a
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	a.status, a.result = resp.StatusCode, codathook.Result(resp.Header.Get(codathook.HeaderResult))
	a.retryAfter = resp.Header.Get("Retry-After")
	return a
}

// settle records a reply and schedules the sender's next attempt, if any.
func (m *migration) settle(p pending, a reply) {
	d := p.d
	d.answers = append(d.answers, a)
	last := &d.answers[len(d.answers)-1]
	if a.ok() {
		d.final = last
		return
	}
	ra, hasRA := m.retryAfter(a)
	switch d.format {
	case formatNew:
		if a.n == len(svixSchedule) {
			d.final = last // Svix gave up after 8 attempts
			return
		}
		delay := d.delay(a.n)
		if hasRA { // honoured, clamped to 1x..2x the scheduled delay
			delay = max(delay, min(ra, 2*delay))
		}
		m.push(a.at.Add(delay), d, a.n+1)
	default:
		if a.err == nil && !legacyRetryable[a.status] || a.n > len(legacyRetries) {
			d.final = last // a final status, or no retry left
			return
		}
		delay := legacyRetries[a.n-1]
		if hasRA {
			delay = ra
		}
		m.push(a.at.Add(seconds(delay)), d, a.n+1)
	}
}
