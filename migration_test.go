package codathook_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
	"github.com/codathook/codathook/dedupe"
	"github.com/codathook/codathook/toggle"
	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/memprovider"
)

// migrationRun drives a receiver through Codat's runbook the way a
// customer's traffic does: every hour, one occurrence of each of three
// types (a connection, a write, and the legacy-only Sync Started) for one
// of three companies, the new event sent first and its legacy twin 20
// seconds later, with its own AlertId.
type migrationRun struct {
	t     *testing.T
	h     *harness
	p     *memprovider.InMemoryProvider
	n     int  // occurrences so far
	want  int  // callback calls the occurrences so far should have caused
	noNew bool // the new consumer does not exist yet
}

var migrationTypes = []string{"connection.connected", "invoices.write.successful"}

// hour sends one hour's occurrences (dropNew drops the new twin of the
// connection, as a Codat outage would) and advances the clock an hour.
func (m *migrationRun) hour(dropNew bool) {
	m.t.Helper()
	m.n++
	o := codathooktest.SampleOptions{
		ID:            fmt.Sprintf("evt-%d", m.n),
		CompanyID:     fmt.Sprintf("co-%d", m.n%3),
		ConnectionID:  fmt.Sprintf("conn-%d", m.n%3),
		OperationID:   fmt.Sprintf("op-%d", m.n),
		GeneratedDate: m.h.clock.Now().Format(time.RFC3339Nano),
	}
	var legacy [][]byte
	for _, et := range migrationTypes {
		o := o
		o.ID = et + "-" + o.ID
		newB, legB, err := codathooktest.Twin(et, o)
		if err != nil {
			m.t.Fatal(err)
		}
		legB = bytes.Replace(legB, []byte(`"AlertId":"`+o.ID+`"`), []byte(`"AlertId":"legacy-`+o.ID+`"`), 1)
		legacy = append(legacy, legB)
		if m.noNew || dropNew && et == "connection.connected" {
			continue
		}
		if m.n%5 == 0 && et == "connection.connected" {
			// The first attempt fails; Svix retries the message 5 seconds later.
			var once atomic.Bool
			m.h.fail.Store(func(*codathook.Event) error {
				if once.CompareAndSwap(false, true) {
					return errors.New("database down")
				}
				return nil
			})
			signer := *m.h.signer
			signer.MsgID = "msg_" + codathooktest.NewID()
			resp, _ := send(m.t, signer.NewRequest(http.MethodPost, m.h.newURL(), newB))
			m.h.clock.Advance(5 * time.Second)
			retry, _ := send(m.t, signer.NewRequest(http.MethodPost, m.h.newURL(), newB))
			m.h.fail.Store(func(*codathook.Event) error { return nil })
			first, res := result(resp), result(retry)
			if first != codathook.ResultSkipped && (first != codathook.ResultFailed || res != codathook.ResultProcessed) {
				m.t.Fatalf("failed then retried: %d %s, then %s", resp.StatusCode, result(resp), res)
			}
			continue
		}
		resp, _ := send(m.t, m.h.signer.NewRequest(http.MethodPost, m.h.newURL(), newB))
		if resp.StatusCode >= 300 {
			m.t.Fatalf("new %s: %d %s", et, resp.StatusCode, result(resp))
		}
	}
	started, err := codathooktest.LegacySample("Sync Started", o)
	if err != nil {
		m.t.Fatal(err)
	}
	legacy = append(legacy, bytes.Replace(started, []byte(`"AlertId":"`+o.ID+`"`), []byte(`"AlertId":"started-`+o.ID+`"`), 1))
	m.h.clock.Advance(20 * time.Second)
	for _, b := range legacy {
		resp, _ := send(m.t, codathooktest.NewLegacyRequest(m.h.legacyURL(), legacyAuth, b))
		if resp.StatusCode >= 300 {
			m.t.Fatalf("legacy: %d %s", resp.StatusCode, result(resp))
		}
	}
	m.want += 3 // each occurrence is processed once, whichever endpoint is on
	m.h.clock.Advance(time.Hour - 20*time.Second)
}

func (m *migrationRun) hours(n int) {
	m.t.Helper()
	for range n {
		m.hour(false)
	}
}

func (m *migrationRun) flags(legacy, newOn memprovider.InMemoryFlag) {
	m.p.UpdateFlags(map[string]memprovider.InMemoryFlag{toggle.DefaultLegacyFlag: legacy, toggle.DefaultNewFlag: newOn})
}

// expect checks the report's step statuses, and that the verdict says
// each of words.
func (m *migrationRun) expect(stage string, statuses string, words ...string) codathook.Migration {
	m.t.Helper()
	r := m.h.rcv.Migration(context.Background())
	m.t.Logf("%s: %s", stage, r.Verdict)
	var got []string
	for _, s := range r.Steps {
		got = append(got, s.Status)
	}
	if strings.Join(got, " ") != statuses {
		m.t.Errorf("%s: steps %v, want %s\nverdict: %s", stage, got, statuses, r.Verdict)
	}
	for _, w := range words {
		if !strings.Contains(r.Verdict, w) {
			m.t.Errorf("%s: verdict %q does not say %q", stage, r.Verdict, w)
		}
	}
	if calls := int(m.h.calls.Load()); calls != m.want {
		m.t.Errorf("%s: %d callback calls for %d occurrences, want %d (each processed once)", stage, calls, m.n*3, m.want)
	}
	return r
}

func targeted(on func(openfeature.FlattenedContext) bool) memprovider.InMemoryFlag {
	ce := func(this memprovider.InMemoryFlag, fc openfeature.FlattenedContext) (any, openfeature.ProviderResolutionDetail) {
		return on(fc), openfeature.ProviderResolutionDetail{Reason: openfeature.TargetingMatchReason}
	}
	f := boolFlag(false)
	f.ContextEvaluator = &ce
	return f
}

// TestMigrationReadinessRunbook runs the whole runbook, from days of the
// legacy consumer alone to the day its rules are deleted, and checks at
// each step what the report says and that every occurrence was processed
// once.
func TestMigrationReadinessRunbook(t *testing.T) {
	t.Parallel()
	h, p := newFlagged(t, map[string]memprovider.InMemoryFlag{
		toggle.DefaultLegacyFlag: boolFlag(true), toggle.DefaultNewFlag: boolFlag(false),
	}, &toggle.Config{Timeout: -1})
	m := &migrationRun{t: t, h: h, p: p, noNew: true}

	m.expect("before any delivery", "waiting waiting waiting waiting waiting", "Step 1", "mount")
	// Step 1: the legacy consumer alone, for two days.
	m.hours(48)
	r := m.expect("legacy alone", "done ready waiting waiting waiting", "Step 2", "add the new consumer in the Portal")
	if ty := typeLine(t, r, "connection.connected"); ty.Legacy.Unmatched != 24 || ty.Legacy.Seen != 24 {
		t.Errorf("legacy alone: connection.connected legacy %+v, want 24 seen and 24 unmatched in the look-back", ty.Legacy)
	}
	// Step 2: the new consumer delivers; its endpoint is off.
	m.noNew = false
	m.hours(3)
	r = m.expect("new consumer configured", "done done ready waiting waiting", "Step 3", "test company")
	if ty := typeLine(t, r, "connection.connected"); ty.New.Seen != 3 || ty.New.Skipped != 3 || ty.New.Twinned != 3 {
		t.Errorf("new off: connection.connected new %+v, want 3 seen, skipped and twinned", ty.New)
	}
	// Step 3: on for one company.
	m.flags(boolFlag(true), targeted(func(fc openfeature.FlattenedContext) bool { return fc["targetingKey"] == "co-1" }))
	m.hours(3)
	m.expect("validating", "done done done ready waiting", "Step 4", "turn codat-new-endpoint on for every company")
	// Step 4: on for everyone. The skipped deliveries of step 3 are still
	// in the look-back for a day.
	m.flags(boolFlag(true), boolFlag(true))
	m.hours(10)
	m.expect("enabled, 10 hours", "done done done ready waiting", "Step 4", "skipped 10 occurrences")
	m.hours(16)
	r = m.expect("enabled, 26 hours", "done done done done ready", "legacy can be turned off", "SyncStarted")
	if !strings.Contains(r.Steps[4].Detail, "except the legacy-only types SyncStarted") {
		t.Errorf("step 5: %q does not name the legacy-only type", r.Steps[4].Detail)
	}
	// One new delivery never arrives: the new consumer is not complete.
	m.hour(false)
	m.hour(true)
	m.hours(1)
	r = m.expect("a new twin missing", "done done done done waiting", "1 legacy occurrence had no new twin", "connection.connected (1)")
	missing := typeLine(t, r, "connection.connected").Legacy.LastUnmatched
	m.hours(25)
	r = m.expect("a day after", "done done done done ready", "legacy can be turned off")
	if !r.CompleteSince.Equal(missing) {
		t.Errorf("CompleteSince = %v, want the missing twin's window close %v", r.CompleteSince, missing)
	}
	// Step 5: legacy off except for the legacy-only type.
	m.flags(targeted(func(fc openfeature.FlattenedContext) bool { return fc["eventType"] == "SyncStarted" }), boolFlag(true))
	m.hours(25)
	m.expect("legacy off", "done done done done done", "delete the legacy rules in the Portal")
	// The legacy rules are deleted: only the new consumer delivers.
	m.noNew = false
	for range 26 {
		m.n++
		o := codathooktest.SampleOptions{ID: fmt.Sprintf("evt-%d", m.n), CompanyID: "co-0", ConnectionID: "conn-0",
			OperationID: fmt.Sprintf("op-%d", m.n), GeneratedDate: h.clock.Now().Format(time.RFC3339Nano)}
		for _, et := range migrationTypes {
			o := o
			o.ID = et + "-" + o.ID
			b, err := codathooktest.Sample(et, o)
			if err != nil {
				t.Fatal(err)
			}
			send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), b))
		}
		m.want += 2
		h.clock.Advance(time.Hour)
	}
	m.n -= 26 // expect counts three per hour; only the callbacks matter here
	m.expect("legacy rules deleted", "done done done done done", "no legacy deliveries since", "remove the legacy endpoint")
}

func typeLine(t *testing.T, m codathook.Migration, eventType string) codathook.TypeMigration {
	t.Helper()
	i := slices.IndexFunc(m.Types, func(ty codathook.TypeMigration) bool { return ty.EventType == eventType })
	if i < 0 {
		t.Fatalf("no %s line in %+v", eventType, m.Types)
	}
	return m.Types[i]
}

// sharedStore hides the LRU's type, so that receivers on it treat it as a
// shared store (as they would Redis) and re-check it when a window closes.
type sharedStore struct{ dedupe.Store }

// replica is one receiver on store behind its own server.
type replica struct {
	rcv *codathook.Receiver
	url string
}

func newReplica(t *testing.T, store dedupe.Store, clock *testClock) replica {
	t.Helper()
	rcv, err := codathook.New(codathook.WithSecrets(testSecret), codathook.WithLegacyAuthorization(legacyAuth),
		codathook.WithClock(clock.Now), codathook.WithDedupe(store, nil), codathook.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rcv.Close(context.Background()) })
	if err := codathook.On(rcv, "*", func(context.Context, *codathook.Event) error { return nil }); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/webhooks/codat", rcv.Handler(codathook.EndpointNew))
	mux.Handle("/webhooks/codat/legacy", rcv.Handler(codathook.EndpointLegacy))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return replica{rcv, srv.URL}
}

// Two replicas on one store: the legacy delivery reaches one, its new twin
// the other. Each report counts its own delivery twinned; the legacy
// replica learns it from the store when the window closes.
func TestMigrationAcrossReplicas(t *testing.T) {
	t.Parallel()
	clock := &testClock{t: epoch}
	store := sharedStore{dedupe.NewLRU(dedupe.LRUConfig{Now: clock.Now})}
	a, b := newReplica(t, store, clock), newReplica(t, store, clock)
	signer := codathooktest.MustSigner(testSecret)
	signer.Now = clock.Now
	o := codathooktest.SampleOptions{ID: "evt-1", CompanyID: "co-1", ConnectionID: "conn-1", GeneratedDate: clock.Now().Format(time.RFC3339Nano)}
	newB, legB, err := codathooktest.Twin("connection.connected", o)
	if err != nil {
		t.Fatal(err)
	}
	legB = bytes.Replace(legB, []byte(`"AlertId":"evt-1"`), []byte(`"AlertId":"legacy-1"`), 1)
	clock.Advance(10 * time.Second)
	send(t, codathooktest.NewLegacyRequest(a.url+"/webhooks/codat/legacy", legacyAuth, legB))
	clock.Advance(10 * time.Second)
	resp, _ := send(t, signer.NewRequest(http.MethodPost, b.url+"/webhooks/codat", newB))
	if got := result(resp); got != codathook.ResultDuplicate {
		t.Fatalf("the twin on the other replica: %s, want duplicate", got)
	}
	ra := a.rcv.Migration(context.Background())
	if l := typeLine(t, ra, "connection.connected").Legacy; l.Open != 1 || l.Twinned != 0 {
		t.Fatalf("replica A before the window closed: %+v, want 1 open", l)
	}
	clock.Advance(16 * time.Minute) // the 10-minute window and the grace
	ra, rb := a.rcv.Migration(context.Background()), b.rcv.Migration(context.Background())
	if l := typeLine(t, ra, "connection.connected").Legacy; l.Twinned != 1 || l.Unmatched != 0 {
		t.Errorf("replica A: legacy %+v, want twinned (its twin went to replica B)", l)
	}
	if n := typeLine(t, rb, "connection.connected").New; n.Twinned != 1 || n.Unmatched != 0 {
		t.Errorf("replica B: new %+v, want twinned", n)
	}
}

// Only the legacy-only names this version knows are legacy-only: a new
// event type it does not know is not, whatever its spelling.
func TestMigrationLegacyOnlyTypes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	o := codathooktest.SampleOptions{ID: "s-1", CompanyID: "co-1", OperationID: "sync-1"}
	started, err := codathooktest.LegacySample("Sync Started", o)
	if err != nil {
		t.Fatal(err)
	}
	send(t, codathooktest.NewLegacyRequest(h.legacyURL(), legacyAuth, started))
	unknown := fmt.Appendf(nil, `{"id":"u-1","eventType":"WidgetCreated","generatedDate":%q,"payload":{"referenceCompany":{"id":"co-1"}}}`,
		h.clock.Now().Format(time.RFC3339))
	if resp, _ := send(t, h.signer.NewRequest(http.MethodPost, h.newURL(), unknown)); resp.StatusCode >= 300 {
		t.Fatalf("unknown new type: %d %s", resp.StatusCode, result(resp))
	}
	m := h.rcv.Migration(context.Background())
	if !typeLine(t, m, "SyncStarted").LegacyOnly {
		t.Error("SyncStarted is not legacy-only")
	}
	if typeLine(t, m, "WidgetCreated").LegacyOnly {
		t.Error("an unknown new type is legacy-only")
	}
}
