package deduper_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codathook/codathook/dedupe"
	"github.com/codathook/codathook/internal/deduper"
	"github.com/codathook/codathook/normalize"
)

const (
	company = "8a210b68-6988-11ed-a1eb-0242ac120002"
	conn    = "2e9d2c44-f675-40ba-8049-353bfcb5e171"
)

// Bodies in both formats, shaped like Codat's samples.

func legacyBody(alertID, rule, data string) []byte {
	return fmt.Appendf(nil, `{"AlertId":%q,"RuleType":%q,"CompanyId":%q,"DataConnectionId":%q,"Data":%s}`,
		alertID, rule, company, conn, data)
}

func newBody(id, eventType, payload string) []byte {
	return fmt.Appendf(nil, `{"id":%q,"eventType":%q,"generatedDate":"2025-01-10T00:00:00Z","payload":%s}`,
		id, eventType, payload)
}

func legacyConnStatus(alertID, oldStatus, newStatus string) []byte {
	return legacyBody(alertID, "DataConnectionStatusChanged",
		fmt.Sprintf(`{"dataConnectionId":%q,"newStatus":%q,"oldStatus":%q,"platformKey":"gbol"}`, conn, newStatus, oldStatus))
}

func newConn(id, eventType, status string) []byte {
	return newBody(id, eventType, fmt.Sprintf(`{"referenceCompany":{"id":%q},"connection":{"id":%q,"status":%q}}`, company, conn, status))
}

func legacyDataset(alertID, rule, dataType, datasetID string) []byte {
	return legacyBody(alertID, rule, fmt.Sprintf(`{"dataType":%q,"datasetId":%q}`, dataType, datasetID))
}

func newRead(id string, dataTypes ...string) []byte {
	var els []string
	for _, dt := range dataTypes {
		els = append(els, fmt.Sprintf(`{"connectionId":%q,"dataType":%q,"recordsModified":true,"status":"Complete"}`, conn, dt))
	}
	return newBody(id, "read.completed", fmt.Sprintf(`{"referenceCompany":{"id":%q},"dataTypes":[%s]}`, company, strings.Join(els, ",")))
}

func legacyPush(alertID, status, pushKey string) []byte {
	return legacyBody(alertID, "Push Operation Status Changed()",
		fmt.Sprintf(`{"dataType":"invoices","status":%q,"pushOperationKey":%q}`, status, pushKey))
}

func newWrite(id, outcome, status, pushKey string) []byte {
	return newBody(id, "invoices.write."+outcome, fmt.Sprintf(
		`{"id":%q,"type":"Create","referenceCompany":{"id":%q},"connectionId":%q,"status":%q}`, pushKey, company, conn, status))
}

func legacySync(alertID, syncID string) []byte {
	return legacyBody(alertID, "Sync Completed", fmt.Sprintf(`{"syncId":%q,"syncType":"Expense"}`, syncID))
}

func newSync(id, syncID string) []byte {
	return newBody(id, "expenses.sync.successful", fmt.Sprintf(`{"referenceCompany":{"id":%q},"syncId":%q}`, company, syncID))
}

func legacyRateLimit(alertID string) []byte {
	return legacyBody(alertID, "Rate Limit Reached", `{"DailyQuota":1000,"ExpiresUtc":"2025-01-11T00:00:00Z"}`)
}

func newRateLimit(id string) []byte {
	return newBody(id, "client.rateLimit.reached", `{"dailyQuota":1000,"expiresUtc":"2025-01-11T00:00:00Z"}`)
}

// env is a Deduper over an LRU on a hand-moved clock.
type env struct {
	t     *testing.T
	clk   *clock
	store dedupe.Store
	d     *deduper.Deduper
}

func newEnv(t *testing.T) *env {
	t.Helper()
	clk := newClock()
	return newEnvWith(t, clk, dedupe.NewLRU(dedupe.LRUConfig{Capacity: 10_000, Now: clk.Now}))
}

func newEnvWith(t *testing.T, clk *clock, s dedupe.Store) *env {
	t.Helper()
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	d, err := deduper.New(s, &dedupe.Config{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, clk: clk, store: s, d: d}
}

func (e *env) delivery(key string, body []byte) deduper.Delivery {
	e.t.Helper()
	ev, err := normalize.Parse(body)
	if err != nil {
		e.t.Fatalf("normalize.Parse(%s): %v", body, err)
	}
	return deduper.Delivery{Key: key, Event: ev}
}

func (e *env) begin(key string, body []byte) *deduper.Lease {
	e.t.Helper()
	l, err := e.d.Begin(e.t.Context(), e.delivery(key, body))
	if err != nil {
		e.t.Fatalf("Begin(%q): %v", key, err)
	}
	return l
}

// process runs a delivery to completion the way the receiver does: Begin,
// then Commit when the outcome is Process. It returns the outcome.
func (e *env) process(key string, body []byte) deduper.Outcome {
	e.t.Helper()
	l := e.begin(key, body)
	if l.Outcome() == deduper.Process {
		if err := l.Commit(e.t.Context()); err != nil {
			e.t.Fatalf("Commit(%q): %v", key, err)
		}
	}
	return l.Outcome()
}

func (e *env) skip(key string, body []byte) {
	e.t.Helper()
	if err := e.d.Skip(e.t.Context(), e.delivery(key, body)); err != nil {
		e.t.Fatalf("Skip(%q): %v", key, err)
	}
}

type step struct {
	key  string
	body []byte
	want deduper.Outcome
}

func (e *env) run(steps []step) {
	e.t.Helper()
	for i, s := range steps {
		if got := e.process(s.key, s.body); got != s.want {
			e.t.Errorf("step %d (%s): outcome = %v, want %v", i, s.key, got, s.want)
		}
	}
}

const (
	P = deduper.Process
	D = deduper.Duplicate
	F = deduper.InFlight
)

func TestDeduperRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		steps []step
	}{
		{name: "a retried new delivery is a duplicate", steps: []step{
			{"msg_1", newConn("e1", "connection.connected", "Linked"), P},
			{"msg_1", newConn("e1", "connection.connected", "Linked"), D},
			{"msg_1", newConn("e1", "connection.connected", "Linked"), D},
		}},
		{name: "a retried legacy delivery is a duplicate", steps: []step{
			{"a1", legacyConnStatus("a1", "PendingAuth", "Linked"), P},
			{"a1", legacyConnStatus("a1", "PendingAuth", "Linked"), D},
		}},
		{name: "a resend under another webhook-id with the same body id is a duplicate", steps: []step{
			{"msg_1", newConn("e1", "connection.connected", "Linked"), P},
			{"msg_2", newConn("e1", "connection.connected", "Linked"), D},
		}},
		{name: "deliveries without a key fall back to the body id", steps: []step{
			{"", newConn("e1", "connection.connected", "Linked"), P},
			{"", newConn("e1", "connection.connected", "Linked"), D},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			newEnv(t).run(tt.steps)
		})
	}
}

func TestDeduperCrossFormatTwins(t *testing.T) {
	t.Parallel()
	type twin struct {
		name           string
		legacy, newer  []byte
		legacyKey, key string
	}
	twins := []twin{
		{name: "connection status (pairing)",
			legacy: legacyConnStatus("a1", "PendingAuth", "Linked"), legacyKey: "a1",
			newer: newConn("e1", "connection.connected", "Linked"), key: "msg_1"},
		{name: "write result (push operation key)",
			legacy: legacyPush("a2", "Success", "push-1"), legacyKey: "a2",
			newer: newWrite("e2", "successful", "Success", "push-1"), key: "msg_2"},
		{name: "expenses sync (syncId)",
			legacy: legacySync("a3", "sync-1"), legacyKey: "a3",
			newer: newSync("e3", "sync-1"), key: "msg_3"},
		{name: "read element (Data sync completed)",
			legacy: legacyDataset("a4", "Data sync completed", "invoices", "ds-1"), legacyKey: "a4",
			newer: newRead("e4", "invoices"), key: "msg_4"},
		{name: "rate limit with AlertId equal to id (exact id)",
			legacy: legacyRateLimit("same-id"), legacyKey: "same-id",
			newer: newRateLimit("same-id"), key: "msg_5"},
	}
	for _, tw := range twins {
		for _, legacyFirst := range []bool{true, false} {
			name := tw.name + ": new first"
			first, second := step{tw.key, tw.newer, P}, step{tw.legacyKey, tw.legacy, D}
			if legacyFirst {
				name = tw.name + ": legacy first"
				first, second = step{tw.legacyKey, tw.legacy, P}, step{tw.key, tw.newer, D}
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t)
				retry := func(s step) step { s.want = D; return s }
				e.run([]step{first, second, retry(first), retry(second)})
				// Both copies' retries stay duplicates, and another
				// occurrence of the same kind is still processed.
				if got := e.process("msg_other", newConn("e-other", "connection.disconnected", "Unlinked")); got != P {
					t.Errorf("unrelated occurrence: outcome = %v, want %v", got, P)
				}
			})
		}
	}
}

func TestDeduperWriteOutcomesAreDistinct(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.run([]step{
		{"a1", legacyPush("a1", "Pending", "push-1"), P},
		{"a2", legacyPush("a2", "Success", "push-1"), P},
		{"msg_1", newWrite("e1", "successful", "Success", "push-1"), D},
		{"msg_2", newWrite("e2", "unsuccessful", "Failed", "push-2"), P},
	})
}

func TestDeduperGenuineRepeatsAreNotMerged(t *testing.T) {
	t.Parallel()
	connected := func(i int) []byte { return newConn(fmt.Sprint("ec", i), "connection.connected", "Linked") }
	disconnected := func(i int) []byte { return newConn(fmt.Sprint("ed", i), "connection.disconnected", "Unlinked") }
	lConnected := func(i int) []byte { return legacyConnStatus(fmt.Sprint("ac", i), "PendingAuth", "Linked") }
	lDisconnected := func(i int) []byte { return legacyConnStatus(fmt.Sprint("ad", i), "Linked", "Unlinked") }
	tests := []struct {
		name  string
		steps []step
	}{
		{name: "one format: connected, disconnected, connected again are three occurrences", steps: []step{
			{"n1", connected(1), P}, {"n2", disconnected(1), P}, {"n3", connected(2), P},
		}},
		{name: "legacy all first, then new all: new copies are all duplicates", steps: []step{
			{"ac1", lConnected(1), P}, {"ad1", lDisconnected(1), P}, {"ac2", lConnected(2), P},
			{"n1", connected(1), D}, {"n2", disconnected(1), D}, {"n3", connected(2), D},
		}},
		{name: "interleaved twins: second connected is processed, its twin is not", steps: []step{
			{"ac1", lConnected(1), P}, {"n1", connected(1), D},
			{"ad1", lDisconnected(1), P},
			{"ac2", lConnected(2), P}, // a genuine second connect, not a twin
			{"n2", disconnected(1), D},
			{"n3", connected(2), D},
			{"n4", connected(3), P}, // a third connect, only in the new format so far
			{"ac3", lConnected(3), D},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			newEnv(t).run(tt.steps)
		})
	}
}

func TestDeduperReadCompletedElements(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.run([]step{{"a1", legacyDataset("a1", "Data sync completed", "invoices", "ds-inv"), P}})

	l := e.begin("msg_1", newRead("e1", "invoices", "bills", "customers"))
	if got, want := l.Outcome(), P; got != want {
		t.Fatalf("read.completed with one element done: outcome = %v, want %v", got, want)
	}
	if got, want := l.Elements(), []int{1, 2}; !slices.Equal(got, want) {
		t.Errorf("Elements() = %v, want %v", got, want)
	}
	// The legacy twin of an element held by the lease is in flight.
	if got := e.process("a2", legacyDataset("a2", "Data sync completed", "bills", "ds-bills")); got != F {
		t.Errorf("legacy twin of a held element: outcome = %v, want %v", got, F)
	}
	if err := l.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.run([]step{
		{"a2", legacyDataset("a2", "Data sync completed", "bills", "ds-bills"), D},
		{"a3", legacyDataset("a3", "Data sync completed", "customers", "ds-cust"), D},
		{"msg_1", newRead("e1", "invoices", "bills", "customers"), D},
	})

	// A fresh read.completed whose elements are all new has Elements nil (all).
	l = e.begin("msg_2", newRead("e2", "invoices", "bills"))
	if got := l.Elements(); got != nil || l.Outcome() != P {
		t.Errorf("fresh read.completed: Outcome, Elements = %v, %v; want process, nil", l.Outcome(), got)
	}
}

func TestDeduperReadCompletedAllDoneIsDuplicate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.run([]step{
		{"a1", legacyDataset("a1", "Data sync completed", "invoices", "ds-1"), P},
		{"a2", legacyDataset("a2", "Data sync completed", "bills", "ds-2"), P},
		{"msg_1", newRead("e1", "bills", "invoices"), D},
	})
}

func TestDeduperDatasetEventsAreOneOccurrence(t *testing.T) {
	t.Parallel()
	dsc := legacyDataset("a1", "Data sync completed", "invoices", "ds-1")
	ddc := legacyDataset("a2", "Dataset data changed", "invoices", "ds-1")
	tests := []struct {
		name  string
		steps []step
	}{
		{name: "sync completed first wins; data changed is its duplicate", steps: []step{
			{"a1", dsc, P}, {"a2", ddc, D}, {"msg_1", newRead("e1", "invoices"), D},
		}},
		{name: "data changed first wins; sync completed is its duplicate", steps: []step{
			{"a2", ddc, P}, {"a1", dsc, D}, {"msg_1", newRead("e1", "invoices"), D},
		}},
		{name: "the new element first; both legacy events are duplicates", steps: []step{
			{"msg_1", newRead("e1", "invoices"), P}, {"a1", dsc, D}, {"a2", ddc, D},
		}},
		{name: "the next sync of the same data type is a new occurrence", steps: []step{
			{"a1", dsc, P}, {"a2", ddc, D}, {"msg_1", newRead("e1", "invoices"), D},
			{"a3", legacyDataset("a3", "Data sync completed", "invoices", "ds-2"), P},
			{"a4", legacyDataset("a4", "Dataset data changed", "invoices", "ds-2"), D},
			{"msg_2", newRead("e2", "invoices"), D},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			newEnv(t).run(tt.steps)
		})
	}
	t.Run("data changed while sync completed is held is in flight", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		l := e.begin("a1", dsc)
		if got := e.process("a2", ddc); got != F {
			t.Errorf("outcome = %v, want %v", got, F)
		}
		if err := l.Release(t.Context()); err != nil {
			t.Fatal(err)
		}
		e.run([]step{{"a2", ddc, P}, {"a1", dsc, D}})
	})
}

// TestDeduperSkipKeepsFormatsAligned is the flag-flip scenario from the
// package documentation: legacy on and new off, then flipped.
func TestDeduperSkipKeepsFormatsAligned(t *testing.T) {
	t.Parallel()
	lc := func(i int) (string, []byte) {
		k := fmt.Sprint("ac", i)
		return k, legacyConnStatus(k, "PendingAuth", "Linked")
	}
	nc := func(i int) (string, []byte) {
		return fmt.Sprint("msg_", i), newConn(fmt.Sprint("ec", i), "connection.connected", "Linked")
	}
	for _, withSkip := range []bool{true, false} {
		t.Run(fmt.Sprintf("skip recorded=%v", withSkip), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			// Phase 1: legacy on, new off.
			for i := 1; i <= 3; i++ {
				k, b := lc(i)
				if got := e.process(k, b); got != P {
					t.Fatalf("legacy #%d: outcome = %v, want %v", i, got, P)
				}
				if withSkip {
					e.skip(nc(i))
				}
			}
			// Phase 2: flipped: legacy off, new on. A 4th occurrence.
			k, b := nc(4)
			got := e.process(k, b)
			want := P
			if !withSkip {
				// Without Skip the new #4 takes ordinal 1 and is dropped
				// as the twin of legacy #1: the lost occurrence Skip
				// exists to prevent.
				want = D
			}
			if got != want {
				t.Fatalf("new #4 after the flip: outcome = %v, want %v", got, want)
			}
			if !withSkip {
				return
			}
			e.skip(lc(4))
			// Replays of skipped deliveries keep their ordinals: their twins
			// were processed, so they are duplicates.
			for _, i := range []int{2, 1, 3} {
				k, b := nc(i)
				if got := e.process(k, b); got != D {
					t.Errorf("replay of skipped new #%d: outcome = %v, want %v", i, got, D)
				}
			}
			k, b = lc(4)
			if got := e.process(k, b); got != D {
				t.Errorf("replay of skipped legacy #4: outcome = %v, want %v", got, D)
			}
			// A 5th occurrence is processed once.
			k, b = nc(5)
			if got := e.process(k, b); got != P {
				t.Errorf("new #5: outcome = %v, want %v", got, P)
			}
		})
	}
}

func TestDeduperSkippedDeliveryIsProcessedOnReplay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	body := newConn("e1", "connection.connected", "Linked")
	e.skip("msg_1", body)
	e.skip("msg_1", body) // a retry while still off
	e.run([]step{{"msg_1", body, P}, {"msg_1", body, D}})
}

func TestDeduperReleaseThenRetryProcesses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		key   string
		body  []byte
		twinK string
		twin  []byte
	}{
		{name: "paired occurrence", key: "msg_1", body: newConn("e1", "connection.connected", "Linked"),
			twinK: "a1", twin: legacyConnStatus("a1", "PendingAuth", "Linked")},
		{name: "exact occurrence", key: "msg_2", body: newWrite("e2", "successful", "Success", "push-9"),
			twinK: "a2", twin: legacyPush("a2", "Success", "push-9")},
		{name: "read.completed", key: "msg_3", body: newRead("e3", "invoices", "bills"),
			twinK: "a3", twin: legacyDataset("a3", "Data sync completed", "bills", "ds-3")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			l := e.begin(tt.key, tt.body)
			if got := l.Outcome(); got != P {
				t.Fatalf("first Begin: outcome = %v, want %v", got, P)
			}
			if got := e.process(tt.key, tt.body); got != F {
				t.Errorf("concurrent copy: outcome = %v, want %v", got, F)
			}
			if got := e.process(tt.twinK, tt.twin); got != F {
				t.Errorf("twin while held: outcome = %v, want %v", got, F)
			}
			if err := l.Release(t.Context()); err != nil {
				t.Fatal(err)
			}
			if err := l.Commit(t.Context()); err != nil { // settled: no-op
				t.Fatal(err)
			}
			e.run([]step{{tt.key, tt.body, P}, {tt.key, tt.body, D}, {tt.twinK, tt.twin, D}})
		})
	}
}

func TestDeduperCrashedClaimExpiresAfterLease(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	body := newConn("e1", "connection.connected", "Linked")
	l := e.begin("msg_1", body) // never settled: the process "crashed"
	if got := e.process("msg_1", body); got != F {
		t.Errorf("before the lease expires: outcome = %v, want %v", got, F)
	}
	e.clk.Advance(deduper.DefaultLease + time.Second)
	if got := e.process("msg_1", body); got != P {
		t.Errorf("after the lease expired: outcome = %v, want %v", got, P)
	}
	_ = l
}

// generatedAt returns body with its generatedDate set to t.
func generatedAt(body []byte, t time.Time) []byte {
	return bytes.Replace(body, []byte(`"generatedDate":"2025-01-10T00:00:00Z"`),
		fmt.Appendf(nil, `"generatedDate":%q`, t.UTC().Format(time.RFC3339Nano)), 1)
}

func TestDeduperWindow(t *testing.T) {
	t.Parallel()
	start := newClock().Now()
	tests := []struct {
		name      string
		advance   time.Duration // when the new twin arrives
		generated time.Duration // its generatedDate, after the legacy arrival
		want      deduper.Outcome
	}{
		{name: "a twin generated within the window is a duplicate", advance: deduper.DefaultWindow - time.Minute, generated: deduper.DefaultWindow - time.Minute, want: D},
		{name: "a twin generated before the legacy arrival is a duplicate", advance: time.Minute, generated: -2 * time.Minute, want: D},
		{name: "a twin whose first attempts failed, 28 hours later, is a duplicate", advance: 28 * time.Hour, generated: 0, want: D},
		{name: "an arrival generated after the window is processed", advance: deduper.DefaultWindow + time.Minute, generated: deduper.DefaultWindow + time.Minute, want: P},
		{name: "an arrival generated before the window is processed", advance: 0, generated: -deduper.DefaultWindow - time.Second, want: P},
		{name: "an arrival older than window plus retention is processed", advance: deduper.DefaultRetention + deduper.DefaultWindow + time.Second, generated: 0, want: P},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.run([]step{{"a1", legacyConnStatus("a1", "PendingAuth", "Linked"), P}})
			e.clk.Advance(tt.advance)
			e.run([]step{{"msg_1", generatedAt(newConn("e1", "connection.connected", "Linked"), start.Add(tt.generated)), tt.want}})
		})
	}
}

// countingStore counts store calls and can fail them.
type countingStore struct {
	dedupe.Store
	calls atomic.Int64
	fail  atomic.Bool
}

var errBackend = errors.New("backend down")

func (c *countingStore) Claim(ctx context.Context, k string, ttl time.Duration) (dedupe.State, error) {
	c.calls.Add(1)
	if c.fail.Load() {
		return 0, errBackend
	}
	return c.Store.Claim(ctx, k, ttl)
}

func (c *countingStore) Commit(ctx context.Context, k string, ttl time.Duration) error {
	c.calls.Add(1)
	if c.fail.Load() {
		return errBackend
	}
	return c.Store.Commit(ctx, k, ttl)
}

func (c *countingStore) Arrive(ctx context.Context, k string, a dedupe.Arrival) (dedupe.Pairing, error) {
	c.calls.Add(1)
	if c.fail.Load() {
		return dedupe.Pairing{}, errBackend
	}
	return c.Store.Arrive(ctx, k, a)
}

func TestDeduperDuplicateViaTwinCommitsDeliveryKey(t *testing.T) {
	t.Parallel()
	clk := newClock()
	cs := &countingStore{Store: dedupe.NewLRU(dedupe.LRUConfig{Capacity: 100, Now: clk.Now})}
	e := newEnvWith(t, clk, cs)
	e.run([]step{
		{"a1", legacyConnStatus("a1", "PendingAuth", "Linked"), P},
		{"msg_1", newConn("e1", "connection.connected", "Linked"), D},
	})
	before := cs.calls.Load()
	e.run([]step{{"msg_1", newConn("e1", "connection.connected", "Linked"), D}})
	if got, want := cs.calls.Load()-before, int64(1); got != want {
		t.Errorf("store calls for a retry of a twin duplicate = %d, want %d (the delivery key alone)", got, want)
	}
}

func TestDeduperStoreErrors(t *testing.T) {
	t.Parallel()
	clk := newClock()
	cs := &countingStore{Store: dedupe.NewLRU(dedupe.LRUConfig{Capacity: 100, Now: clk.Now})}
	e := newEnvWith(t, clk, cs)
	body := newConn("e1", "connection.connected", "Linked")
	cs.fail.Store(true)
	if l, err := e.d.Begin(t.Context(), e.delivery("msg_1", body)); !errors.Is(err, errBackend) || l != nil {
		t.Errorf("Begin with a failing store = %v, %v; want nil, an error matching errBackend", l, err)
	}
	if err := e.d.Skip(t.Context(), e.delivery("msg_1", body)); !errors.Is(err, errBackend) {
		t.Errorf("Skip with a failing store error = %v, want errBackend", err)
	}
	cs.fail.Store(false)
	l := e.begin("msg_1", body)
	cs.fail.Store(true)
	if err := l.Commit(t.Context()); !errors.Is(err, errBackend) {
		t.Errorf("Commit with a failing store error = %v, want errBackend", err)
	}
	cs.fail.Store(false)
	// The failed commit left the claims to expire: the delivery is in
	// flight until the lease runs out, then processed again.
	e.run([]step{{"msg_1", body, F}})
	clk.Advance(deduper.DefaultLease + time.Second)
	e.run([]step{{"msg_1", body, P}})
}

func TestDeduperConcurrentTwinsProcessOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var bodies []step
	for i := range 4 {
		bodies = append(bodies,
			step{key: fmt.Sprint("a", i), body: legacyConnStatus(fmt.Sprint("a", i), "PendingAuth", "Linked")},
			step{key: fmt.Sprint("msg_", i), body: newConn(fmt.Sprint("e", i), "connection.connected", "Linked")})
	}
	var (
		wg        sync.WaitGroup
		processed atomic.Int64
	)
	// Every delivery is sent 8 times concurrently; InFlight copies retry.
	for _, s := range bodies {
		for range 8 {
			wg.Go(func() {
				for {
					l, err := e.d.Begin(context.Background(), e.delivery(s.key, s.body))
					if err != nil {
						t.Error(err)
						return
					}
					switch l.Outcome() {
					case deduper.Process:
						processed.Add(1)
						if err := l.Commit(context.Background()); err != nil {
							t.Error(err)
						}
						return
					case deduper.Duplicate:
						return
					}
				}
			})
		}
	}
	wg.Wait()
	if got, want := processed.Load(), int64(4); got != want {
		t.Errorf("processed %d times, want %d (4 occurrences, each sent 8 times in both formats)", got, want)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		store   dedupe.Store
		cfg     *dedupe.Config
		wantErr bool
	}{
		{name: "nil config selects defaults", store: &deduper.Noop{}, cfg: nil},
		{name: "nil store is refused", store: nil, cfg: nil, wantErr: true},
		{name: "negative lease is refused", store: &deduper.Noop{}, cfg: &dedupe.Config{Lease: -1}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := deduper.New(tt.store, tt.cfg)
			if got := err != nil; got != tt.wantErr {
				t.Errorf("New error = %v, want error: %v", err, tt.wantErr)
			}
		})
	}
}

func TestNoopNeverDuplicates(t *testing.T) {
	t.Parallel()
	d, err := deduper.New(&deduper.Noop{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := normalize.Parse(newConn("e1", "connection.connected", "Linked"))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		l, err := d.Begin(t.Context(), deduper.Delivery{Key: "msg_1", Event: ev})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := l.Outcome(), deduper.Process; got != want {
			t.Errorf("Noop outcome = %v, want %v", got, want)
		}
		_ = l.Commit(t.Context())
	}
}

// TestDeduperInFlightStillCountsEveryElement checks that a read.completed
// turned away as InFlight has still taken its place (ordinal) for every
// element, so later syncs do not jump the queue.
func TestDeduperInFlightStillCountsEveryElement(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	held := e.begin("a1", legacyDataset("a1", "Data sync completed", "invoices", "ds-inv"))
	first := newRead("e1", "invoices", "bills")
	if got := e.process("msg_1", first); got != F {
		t.Fatalf("read.completed with a held element: outcome = %v, want %v", got, F)
	}
	if err := held.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.run([]step{
		{"msg_2", newRead("e2", "bills"), P},                                         // the next sync: bills #2
		{"a2", legacyDataset("a2", "Data sync completed", "bills", "ds-bills-1"), P}, // legacy bills #1
		{"msg_1", first, D}, // both its elements are done
		{"a3", legacyDataset("a3", "Data sync completed", "bills", "ds-bills-2"), D}, // legacy bills #2
	})
}

// TestDeduperInFlightAtExactKeyStillCounts checks that a delivery turned
// away as InFlight at an exact key (its twin with the same id is being
// processed) has still taken its pairing ordinal, so the next occurrence on
// its side does not take that ordinal and wait for (then be matched with)
// the twin's slot.
func TestDeduperInFlightAtExactKeyStillCounts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	held := e.begin("X", legacyConnStatus("X", "PendingAuth", "Linked")) // legacy #1, slot 1
	a := newConn("X", "connection.connected", "Linked")                  // its new twin: same id
	e.run([]step{
		{"msg_a", a, F}, // i:X is held: in flight, but new #1 is taken
		{"msg_b", newConn("Y", "connection.connected", "Linked"), P}, // new #2: slot 2
	})
	if err := held.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.run([]step{
		{"msg_a", a, D}, // its twin was processed
		{"Y2", legacyConnStatus("Y2", "PendingAuth", "Linked"), D}, // legacy #2: msg_b's twin
	})
}

func TestDeduperProcessed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	body := newConn("e1", "connection.connected", "Linked")
	if e.d.Processed(ctx, deduper.DeliveryClaim("msg_1")) {
		t.Fatal("Processed before any delivery")
	}
	l := e.begin("msg_1", body)
	if e.d.Processed(ctx, deduper.DeliveryClaim("msg_1")) {
		t.Error("Processed while the delivery is held")
	}
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if e.d.Processed(ctx, deduper.DeliveryClaim("msg_1")) {
		t.Error("Processed after a release")
	}
	if got := e.process("msg_1", body); got != P {
		t.Fatalf("outcome = %v, want process", got)
	}
	if !e.d.Processed(ctx, deduper.DeliveryClaim("msg_1")) {
		t.Error("not Processed after a commit")
	}
	if e.d.Processed(ctx, deduper.DeliveryClaim("msg_2")) || e.d.Processed(ctx, deduper.DeliveryClaim("")) {
		t.Error("Processed for a key never committed")
	}
	// A delivery known by its event id is recorded under the id key, which
	// Processed does not read: Begin decides it.
	if got := e.process("e9", newConn("e9", "connection.connected", "Linked")); got != P {
		t.Fatalf("outcome = %v, want process", got)
	}
	if e.d.Processed(ctx, deduper.DeliveryClaim("e9")) {
		t.Error("Processed read an id key")
	}
	// A store that cannot peek never short-cuts.
	n, err := deduper.New(&deduper.Noop{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n.Processed(ctx, deduper.DeliveryClaim("msg_1")) {
		t.Error("Processed over a store without Peek")
	}
}
