package soak

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-feature/go-sdk/openfeature/isolated"
	"github.com/open-feature/go-sdk/openfeature/memprovider"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
	"github.com/codathook/codathook/toggle"
)

// client has its own transport, unaffected by httptest servers closing.
var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

var (
	datasetID  = regexp.MustCompile(`"datasetId":"[^"]*"`)
	expiryDate = regexp.MustCompile(`"expiryDate":"[^"]*"`)
	expiresUtc = regexp.MustCompile(`"ExpiresUtc":"[^"]*"`)
)

const (
	secret     = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	legacyAuth = "Bearer soak-token"
)

// occurrence is one real-world event, delivered in up to two formats.
type occurrence struct {
	key       string // ledger key: what the callback records
	eventType string
	newBody   []byte
	legacy    []byte // nil when the type has no legacy twin
	msgID     string
}

// answer is one HTTP answer the simulated sender received.
type answer struct {
	format string
	status int
	result codathook.Result
}

// sim is a simulated pair of Codat services and a set of replicas.
type sim struct {
	t        *testing.T
	replicas []*httptest.Server
	rcvs     []*codathook.Receiver
	provider *memprovider.InMemoryProvider
	signer   *codathooktest.Signer

	failRate float64
	slowRate float64       // probability that a callback outlives the deadline
	deadline time.Duration // the receivers' callback timeout when slowRate > 0
	rngMu    sync.Mutex
	rng      *rand.Rand

	ledgerMu sync.Mutex
	ledger   map[string]int // ledger key -> successful callback calls
	late     map[string]int // ledger key -> of those, calls that returned after the deadline

	answersMu sync.Mutex
	answers   map[string][]answer // occurrence key -> answers

	attempts, copies, resends, injected, slow atomic.Int64
	running                                   atomic.Int64 // callbacks running now
}

type simConfig struct {
	replicas int
	failRate float64
	slowRate float64       // probability that a callback sleeps past the deadline, ignoring its context
	deadline time.Duration // callback timeout (default 100 ms when slowRate > 0)
	flags    map[string]memprovider.InMemoryFlag
	seed     uint64
}

func boolFlag(on bool) memprovider.InMemoryFlag {
	v := "off"
	if on {
		v = "on"
	}
	return memprovider.InMemoryFlag{State: memprovider.Enabled, DefaultVariant: v, Variants: map[string]any{"on": true, "off": false}}
}

func flags(legacy, newOn bool) map[string]memprovider.InMemoryFlag {
	return map[string]memprovider.InMemoryFlag{toggle.DefaultLegacyFlag: boolFlag(legacy), toggle.DefaultNewFlag: boolFlag(newOn)}
}

func newSim(t *testing.T, cfg simConfig) *sim {
	t.Helper()
	addr := redisAddr(t)
	s := &sim{t: t, failRate: cfg.failRate, slowRate: cfg.slowRate, deadline: cfg.deadline,
		rng:    rand.New(rand.NewPCG(cfg.seed, 7)),
		ledger: map[string]int{}, late: map[string]int{}, answers: map[string][]answer{}}
	if s.slowRate > 0 && s.deadline <= 0 {
		s.deadline = 100 * time.Millisecond
	}
	api := isolated.NewAPI()
	t.Cleanup(func() { api.Shutdown(context.Background()) })
	s.provider = memprovider.NewInMemoryProvider(cfg.flags)
	if err := api.SetProviderAndWait(context.Background(), s.provider); err != nil {
		t.Fatal(err)
	}
	prefix := fmt.Sprintf("soak:%d:%d:", time.Now().UnixNano(), cfg.seed)
	logger := slog.New(slog.DiscardHandler)
	for range cfg.replicas {
		store := replicaStore(t, addr, prefix)
		opts := []codathook.Option{
			codathook.WithSecrets(secret),
			codathook.WithLegacyAuthorization(legacyAuth),
			codathook.WithDedupe(store, nil),
			codathook.WithFlags(api.NewClient(), &toggle.Config{Timeout: -1}),
			codathook.WithLogger(logger),
		}
		if s.slowRate > 0 {
			opts = append(opts, codathook.WithCallbackTimeout(s.deadline))
		}
		rcv, err := codathook.New(opts...)
		if err != nil {
			t.Fatal(err)
		}
		if err := codathook.On(rcv, "*", s.callback); err != nil {
			t.Fatal(err)
		}
		srv := serve(t, rcv)
		s.replicas = append(s.replicas, srv)
		s.rcvs = append(s.rcvs, rcv)
	}
	s.signer = codathooktest.MustSigner(secret)
	return s
}

func (s *sim) chance(p float64) bool {
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	return s.rng.Float64() < p
}

func (s *sim) intn(n int) int {
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	return s.rng.IntN(n)
}

// ledgerKeys identify an occurrence from what the callback receives: the
// soak gives each occurrence its own company, and each rate limit (which has
// none) its own quota expiry.
func ledgerKeys(ev *codathook.Event) []string {
	base := ev.CompanyID
	if rl, ok := ev.Typed.(*codathook.RateLimitEvent); ok {
		base = "rl:" + rl.Payload.ExpiryDate // rate limits have no company
	}
	if rc, ok := ev.Typed.(*codathook.ReadCompletedEvent); ok && ev.Type == "read.completed" {
		keys := make([]string, 0, len(rc.Payload.DataTypes))
		for _, dt := range rc.Payload.DataTypes {
			keys = append(keys, base+"|"+dt.DataType)
		}
		return keys
	}
	return []string{base}
}

func (s *sim) callback(ctx context.Context, ev *codathook.Event) error {
	s.running.Add(1)
	defer s.running.Add(-1)
	if s.failRate > 0 && s.chance(s.failRate) {
		s.injected.Add(1)
		return errors.New("injected callback failure")
	}
	if s.slowRate > 0 && s.chance(s.slowRate) {
		// Outlive the deadline, ignoring the context, then succeed: the
		// sender got 503 at the deadline and the late success commits.
		s.slow.Add(1)
		time.Sleep(5 * s.deadline / 2)
	}
	late := ctx.Err() != nil
	s.ledgerMu.Lock()
	defer s.ledgerMu.Unlock()
	for _, k := range ledgerKeys(ev) {
		s.ledger[k]++
		if late {
			s.late[k]++
		}
	}
	return nil
}

// generate makes n occurrences cycling over every sample event type. Every
// other round over the types, occurrences with a legacy twin get a legacy
// AlertId different from the new id, so they can only be matched
// semantically (rate limits excepted: they carry nothing else to match on).
func generate(t *testing.T, n int, seed uint64) []*occurrence {
	t.Helper()
	types, _ := codathooktest.SampleNames()
	var out []*occurrence
	for i := range n {
		et := types[i%len(types)]
		id := fmt.Sprintf("s%d-%d", seed, i)
		o := codathooktest.SampleOptions{ID: "new-" + id, CompanyID: "co-" + id, ConnectionID: "k-" + id, OperationID: "op-" + id}
		occ := &occurrence{eventType: et, msgID: "msg_" + id}
		isRateLimit := strings.HasPrefix(et, "client.rateLimit.")
		newB, legB, err := codathooktest.Twin(et, o)
		if err != nil {
			newB, err = codathooktest.Sample(et, o)
			if err != nil {
				t.Fatalf("sample %s: %v", et, err)
			}
			legB = nil
		}
		if legB != nil && (i/len(types))%2 == 0 {
			legB = withAlertID(t, legB, "new-"+id, "legacy-"+id)
		}
		if legB != nil {
			// Each sync has its own dataset; the samples share one.
			legB = datasetID.ReplaceAll(legB, []byte(`"datasetId":"ds-`+id+`"`))
		}
		var expiry string
		if isRateLimit {
			// Each rate-limit event has its own quota expiry (in both formats).
			expiry = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(seed)*time.Hour + time.Duration(i)*time.Minute).Format(time.RFC3339)
			newB = expiryDate.ReplaceAll(newB, []byte(`"expiryDate":"`+expiry+`"`))
			if legB != nil {
				legB = expiresUtc.ReplaceAll(legB, []byte(`"ExpiresUtc":"`+expiry+`"`))
			}
		}
		occ.newBody, occ.legacy = newB, legB
		occ.key = "co-" + id
		if isRateLimit {
			occ.key = "rl:" + expiry
		}
		if et == "read.completed" {
			occ.key += "|" + firstDataType(t, newB)
		}
		out = append(out, occ)
	}
	return out
}

func firstDataType(t *testing.T, body []byte) string {
	i := bytes.Index(body, []byte(`"dataType":"`))
	if i < 0 {
		t.Fatalf("read.completed sample without dataType: %s", body)
	}
	rest := body[i+len(`"dataType":"`):]
	return string(rest[:bytes.IndexByte(rest, '"')])
}

// post sends one attempt to a random replica and records the answer.
func (s *sim) post(occ *occurrence, format string, body []byte) answer {
	srv := s.replicas[s.intn(len(s.replicas))]
	var req *http.Request
	if format == "new" {
		req, _ = http.NewRequest(http.MethodPost, srv.URL+"/webhooks/codat", bytes.NewReader(body))
		for k, v := range s.signer.Headers(occ.msgID, time.Now(), body) { // re-signed on every attempt
			req.Header[k] = v
		}
	} else {
		req, _ = http.NewRequest(http.MethodPost, srv.URL+"/webhooks/codat/legacy", bytes.NewReader(body))
		req.Header.Set("Authorization", legacyAuth)
	}
	s.attempts.Add(1)
	resp, err := client.Do(req)
	a := answer{format: format}
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		a.status, a.result = resp.StatusCode, codathook.Result(resp.Header.Get(codathook.HeaderResult))
	}
	s.answersMu.Lock()
	s.answers[occ.key] = append(s.answers[occ.key], a)
	s.answersMu.Unlock()
	return a
}

// deliver plays one service delivering one occurrence: retries until a 2xx
// (Svix: 8 attempts, legacy: 4), sometimes two concurrent copies of an
// attempt, sometimes a resend after success.
func (s *sim) deliver(occ *occurrence, format string) {
	body, maxAttempts := occ.newBody, 8
	if format == "legacy" {
		body, maxAttempts = occ.legacy, 4
	}
	for range maxAttempts {
		n := 1
		if s.chance(0.1) {
			n = 2
			s.copies.Add(1)
		}
		var wg sync.WaitGroup
		var ok atomic.Bool
		for range n {
			wg.Go(func() {
				if a := s.post(occ, format, body); a.status >= 200 && a.status < 300 {
					ok.Store(true)
				}
			})
		}
		wg.Wait()
		if ok.Load() {
			break
		}
	}
	if s.chance(0.05) {
		s.resends.Add(1)
		s.post(occ, format, body) // a manual resend of a delivered message
	}
}

// run delivers every occurrence with workers goroutines; onProgress is called
// with the number of occurrences handed out so far, so flags can flip
// mid-stream.
func (s *sim) run(occs []*occurrence, workers int, onProgress func(done int)) {
	work := make(chan *occurrence)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for occ := range work {
				var inner sync.WaitGroup
				inner.Go(func() { s.deliver(occ, "new") })
				if occ.legacy != nil {
					inner.Go(func() { s.deliver(occ, "legacy") })
				}
				inner.Wait()
			}
		})
	}
	for i, occ := range occs {
		if onProgress != nil {
			onProgress(i)
		}
		work <- occ
	}
	close(work)
	wg.Wait()
}

// report holds the counts a run ends with.
type report struct {
	occurrences, processed, skippedOnly, unacknowledged, late int
	byResult                                                  map[codathook.Result]int
}

// check asserts the soak's invariants and returns the counts:
//   - no occurrence reached a callback twice;
//   - an occurrence reached a callback exactly once if any of its deliveries
//     got a 2xx other than "skipped" (processed, or matched as a duplicate);
//   - every "processed" answer matches one callback call, except that a
//     callback that returned after the deadline may have been answered 503
//     (failed) at the deadline: calls - late <= processed answers <= calls;
//   - an occurrence whose 2xx answers were all "skipped" was deliberately
//     skipped (both endpoints off when its deliveries arrived) and reached no
//     callback.
func (s *sim) check(occs []*occurrence) report {
	s.t.Helper()
	// A slow callback can outlast its sender's last attempt: wait for every
	// callback to return before reading the ledger.
	for deadline := time.Now().Add(30 * time.Second); s.running.Load() > 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			s.t.Fatalf("%d callbacks still running 30 s after the last delivery", s.running.Load())
		}
	}
	s.ledgerMu.Lock()
	defer s.ledgerMu.Unlock()
	r := report{occurrences: len(occs), byResult: map[codathook.Result]int{}}
	var failures []string
	for _, occ := range occs {
		calls := s.ledger[occ.key]
		var processedAnswers, nonSkipped2xx, any2xx int
		for _, a := range s.answers[occ.key] {
			r.byResult[a.result]++
			if a.status >= 200 && a.status < 300 {
				any2xx++
				if a.result != codathook.ResultSkipped {
					nonSkipped2xx++
				}
			}
			if a.result == codathook.ResultProcessed {
				processedAnswers++
			}
		}
		switch {
		case calls > 1:
			failures = append(failures, fmt.Sprintf("%s (%s): reached a callback %d times", occ.key, occ.eventType, calls))
		case nonSkipped2xx > 0 && calls != 1:
			failures = append(failures, fmt.Sprintf("%s (%s): acknowledged (%d non-skipped 2xx) but reached a callback %d times; answers %v", occ.key, occ.eventType, nonSkipped2xx, calls, s.answers[occ.key]))
		case processedAnswers > calls || processedAnswers < calls-s.late[occ.key]:
			failures = append(failures, fmt.Sprintf("%s (%s): %d processed answers for %d callback calls (%d late)", occ.key, occ.eventType, processedAnswers, calls, s.late[occ.key]))
		}
		r.late += s.late[occ.key]
		switch {
		case calls == 1:
			r.processed++
		case any2xx > 0:
			r.skippedOnly++
		default:
			r.unacknowledged++
		}
	}
	sort.Strings(failures)
	for i, f := range failures {
		if i == 20 {
			s.t.Errorf("... and %d more", len(failures)-20)
			break
		}
		s.t.Error(f)
	}
	return r
}

func (r report) String() string {
	var parts []string
	for res, n := range r.byResult {
		parts = append(parts, string(res)+"="+strconv.Itoa(n))
	}
	sort.Strings(parts)
	return fmt.Sprintf("occurrences=%d processed-once=%d (late %d) deliberately-skipped=%d never-acknowledged=%d answers{%s}",
		r.occurrences, r.processed, r.late, r.skippedOnly, r.unacknowledged, strings.Join(parts, " "))
}
