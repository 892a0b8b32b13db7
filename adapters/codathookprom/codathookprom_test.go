package codathookprom_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
	"github.com/codathook/codathook/dedupe"
)

// TestDeliveries sends, through a real server, a delivery, its retry, an
// occurrence and its legacy twin (with a different AlertId, so only
// pairing matches it), a delivery whose callback fails and one with a
// wrong Authorization, and checks the series the observer feeds.
func TestDeliveries(t *testing.T) {
	t.Parallel()
	h := newHarness(t)

	h.signer.MsgID = "msg_" + codathooktest.NewID()
	first := sample(t, "connection.connected", codathooktest.SampleOptions{ID: "e1", ConnectionID: "c1"})
	want(t, "first", h.signed(t, first), codathook.ResultProcessed)
	want(t, "retry", h.signed(t, first), codathook.ResultDuplicate)
	h.signer.MsgID = ""

	newBody, legacyBody, err := codathooktest.Twin("connection.connected", codathooktest.SampleOptions{ID: "e2", ConnectionID: "c2"})
	if err != nil {
		t.Fatal(err)
	}
	legacyBody = setField(t, legacyBody, "AlertId", "legacy-e2")
	want(t, "twin, new", h.signed(t, newBody), codathook.ResultProcessed)
	want(t, "twin, legacy", h.send(t, "/legacy", codathooktest.NewLegacyRequest("/legacy", codathooktest.DevAuthorization, legacyBody)), codathook.ResultDuplicate)

	failing := sample(t, "connection.connected", codathooktest.SampleOptions{ID: "fail-1", ConnectionID: "c3"})
	want(t, "failing callback", h.signed(t, failing), codathook.ResultFailed)
	want(t, "wrong authorization", h.send(t, "/legacy", codathooktest.NewLegacyRequest("/legacy", "Bearer wrong", legacyBody)), codathook.ResultUnauthorized)

	const expected = `
# HELP codathook_deliveries_total Deliveries answered, by endpoint, body format, normalized event type and result.
# TYPE codathook_deliveries_total counter
codathook_deliveries_total{endpoint="legacy",event_type="",format="",result="unauthorized"} 1
codathook_deliveries_total{endpoint="legacy",event_type="connection.connected",format="legacy",result="duplicate"} 1
codathook_deliveries_total{endpoint="new",event_type="",format="",result="duplicate"} 1
codathook_deliveries_total{endpoint="new",event_type="connection.connected",format="new",result="failed"} 1
codathook_deliveries_total{endpoint="new",event_type="connection.connected",format="new",result="processed"} 2
# HELP codathook_duplicates_total Deliveries acknowledged as duplicates, by endpoint and the kind of key that matched (message, event, occurrence, twin).
# TYPE codathook_duplicates_total counter
codathook_duplicates_total{endpoint="legacy",match="event"} 0
codathook_duplicates_total{endpoint="legacy",match="message"} 0
codathook_duplicates_total{endpoint="legacy",match="occurrence"} 0
codathook_duplicates_total{endpoint="legacy",match="twin"} 1
codathook_duplicates_total{endpoint="new",match="event"} 0
codathook_duplicates_total{endpoint="new",match="message"} 1
codathook_duplicates_total{endpoint="new",match="occurrence"} 0
codathook_duplicates_total{endpoint="new",match="twin"} 0
# HELP codathook_twins_paired_total Deliveries acknowledged as the other format's twin of an occurrence already processed, by the endpoint of the later one.
# TYPE codathook_twins_paired_total counter
codathook_twins_paired_total{endpoint="legacy"} 1
codathook_twins_paired_total{endpoint="new"} 0
# HELP codathook_store_failures_total Deliveries answered 503 because the dedupe store failed, by endpoint.
# TYPE codathook_store_failures_total counter
codathook_store_failures_total{endpoint="legacy"} 0
codathook_store_failures_total{endpoint="new"} 0
`
	if err := testutil.GatherAndCompare(h.reg, strings.NewReader(expected),
		"codathook_deliveries_total", "codathook_duplicates_total", "codathook_twins_paired_total", "codathook_store_failures_total"); err != nil {
		t.Error(err)
	}
	// Every delivery is in the histogram, under its endpoint and result.
	if n := testutil.CollectAndCount(h.col, "codathook_delivery_duration_seconds"); n != 5 {
		t.Errorf("codathook_delivery_duration_seconds has %d series, want 5 (one per endpoint and result seen)", n)
	}
	if err := testutil.GatherAndCompare(h.reg, strings.NewReader(`
# HELP codathook_dedupe_commit_failures_total Deliveries whose callback succeeded but whose commit to the dedupe store failed: a retry or twin may be processed again.
# TYPE codathook_dedupe_commit_failures_total counter
codathook_dedupe_commit_failures_total 0
`), "codathook_dedupe_commit_failures_total"); err != nil {
		t.Error(err)
	}
}

// TestDurationObserved checks that a delivery's duration lands in the
// histogram in seconds: a callback that holds a delivery for 30 ms falls
// in the 0.05 s bucket and no lower one.
func TestDurationObserved(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	go func() {
		<-h.inside
		time.Sleep(30 * time.Millisecond)
		close(h.block)
	}()
	want(t, "slow callback", h.signed(t, sample(t, "read.completed", codathooktest.SampleOptions{ID: "block-1"})), codathook.ResultProcessed)
	mfs, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "codathook_delivery_duration_seconds" {
			continue
		}
		hist := mf.GetMetric()[0].GetHistogram()
		if hist.GetSampleCount() != 1 || hist.GetSampleSum() < 0.03 || hist.GetSampleSum() > 5 {
			t.Fatalf("histogram count %d sum %v s, want one sample of at least 0.03 s", hist.GetSampleCount(), hist.GetSampleSum())
		}
		for _, b := range hist.GetBucket() {
			in := b.GetCumulativeCount() == 1
			if b.GetUpperBound() < 0.03 && in {
				t.Errorf("a 30 ms delivery is counted in the %v s bucket", b.GetUpperBound())
			}
		}
		return
	}
	t.Fatal("codathook_delivery_duration_seconds not gathered")
}

// TestStoreFailure sends a delivery to a receiver whose dedupe store is
// closed: it is answered unavailable and counted as a store failure.
func TestStoreFailure(t *testing.T) {
	t.Parallel()
	store := dedupe.NewLRU(dedupe.LRUConfig{})
	if err := store.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, codathook.WithDedupe(store, nil))
	want(t, "closed store", h.signed(t, sample(t, "connection.connected", codathooktest.SampleOptions{})), codathook.ResultUnavailable)
	if err := testutil.GatherAndCompare(h.reg, strings.NewReader(`
# HELP codathook_store_failures_total Deliveries answered 503 because the dedupe store failed, by endpoint.
# TYPE codathook_store_failures_total counter
codathook_store_failures_total{endpoint="legacy"} 0
codathook_store_failures_total{endpoint="new"} 1
`), "codathook_store_failures_total"); err != nil {
		t.Error(err)
	}
}

// TestUnknownEventTypesAreBounded sends signed deliveries of 20 event types
// no catalogue has, and 20 writes of unknown data types: they add three
// series, not forty.
func TestUnknownEventTypesAreBounded(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	base := sample(t, "connection.connected", codathooktest.SampleOptions{})
	for i := range 20 {
		id := fmt.Sprintf("u%d", i)
		body := setField(t, setField(t, base, "eventType", "hostile.type."+codathooktest.NewID()), "id", id)
		want(t, "unknown type", h.signed(t, body), codathook.ResultProcessed)
		outcome := "successful"
		if i%2 == 1 {
			outcome = "unsuccessful"
		}
		body = sample(t, fmt.Sprintf("made%sup.write.%s", codathooktest.NewID()[:8], outcome), codathooktest.SampleOptions{ID: "w" + id, OperationID: "op" + id})
		want(t, "unknown write", h.signed(t, body), codathook.ResultProcessed)
	}
	want(t, "known write", h.signed(t, sample(t, "invoices.write.successful", codathooktest.SampleOptions{ID: "inv", OperationID: "op-inv"})), codathook.ResultProcessed)
	const expected = `
# HELP codathook_deliveries_total Deliveries answered, by endpoint, body format, normalized event type and result.
# TYPE codathook_deliveries_total counter
codathook_deliveries_total{endpoint="new",event_type="invoices.write.successful",format="new",result="processed"} 1
codathook_deliveries_total{endpoint="new",event_type="other",format="new",result="processed"} 20
codathook_deliveries_total{endpoint="new",event_type="other.write.successful",format="new",result="processed"} 10
codathook_deliveries_total{endpoint="new",event_type="other.write.unsuccessful",format="new",result="processed"} 10
`
	if err := testutil.GatherAndCompare(h.reg, strings.NewReader(expected), "codathook_deliveries_total"); err != nil {
		t.Error(err)
	}
}
