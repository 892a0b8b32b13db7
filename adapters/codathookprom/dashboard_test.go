package codathookprom_test

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
)

// TestDashboardQueriesUseExportedSeries parses every PromQL expr of
// dashboard.json and checks that each metric it selects is one the
// Collector exports (a histogram's _bucket, _sum and _count count as the
// histogram), gathered from a registry after one delivery of an
// occurrence happening now, so that the migration series are there too.
// Rows hold no query.
func TestDashboardQueriesUseExportedSeries(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	now := codathooktest.SampleOptions{GeneratedDate: time.Now().UTC().Format(time.RFC3339Nano)}
	want(t, "delivery", h.signed(t, sample(t, "read.completed", now)), codathook.ResultProcessed)
	mfs, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]bool{}
	for _, mf := range mfs {
		exported[mf.GetName()] = true
		if mf.GetType() == dto.MetricType_HISTOGRAM {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				exported[mf.GetName()+s] = true
			}
		}
	}

	data, err := os.ReadFile("dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("dashboard.json: %v", err)
	}
	if len(dash.Panels) == 0 {
		t.Fatal("dashboard.json has no panels")
	}
	used, rows := map[string]bool{}, map[string]bool{}
	for _, p := range dash.Panels {
		if p.Type == "row" {
			rows[p.Title] = true
			if len(p.Targets) != 0 {
				t.Errorf("row %q has queries", p.Title)
			}
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			names, err := metricNames(tg.Expr)
			if err != nil {
				t.Errorf("panel %q: %q: %v", p.Title, tg.Expr, err)
				continue
			}
			if len(names) == 0 {
				t.Errorf("panel %q: %q selects no metric", p.Title, tg.Expr)
			}
			for _, n := range names {
				used[n] = true
				if !exported[n] {
					t.Errorf("panel %q: %q selects %s, which the collector does not export", p.Title, tg.Expr, n)
				}
			}
		}
	}
	for _, n := range []string{"codathook_deliveries_total", "codathook_delivery_duration_seconds_bucket",
		"codathook_duplicates_total", "codathook_twins_paired_total", "codathook_store_failures_total",
		"codathook_flag_errors_total", "codathook_dedupe_commit_failures_total", "codathook_dedupe_unpaired_total",
		"codathook_dedupe_live_evictions_total", "codathook_migration_step", "codathook_migration_unmatched_total",
		"codathook_migration_occurrences_total", "codathook_migration_twinned_total", "codathook_migration_skipped_total",
		"codathook_migration_open", "codathook_migration_untracked_total",
		"codathook_migration_last_occurrence_timestamp_seconds", "codathook_migration_complete_since_timestamp_seconds"} {
		if !used[n] {
			t.Errorf("no dashboard panel shows %s", n)
		}
	}
	if !rows["Migration readiness"] {
		t.Error("dashboard.json has no Migration readiness row")
	}
}

// TestMetricNames checks the PromQL reader the dashboard test relies on.
func TestMetricNames(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		expr string
		want []string
	}{
		{`histogram_quantile(0.99, sum by (le, endpoint) (rate(a_bucket{endpoint=~"$endpoint",result="x"}[$__rate_interval])))`, []string{"a_bucket"}},
		{`sum(rate(a_total[5m])) / ignoring (match) group_left sum without (result) (b_total offset 1h) > bool 0`, []string{"a_total", "b_total"}},
		{`up{job="a b{c}"} or on (instance) vector(1)`, []string{"up"}},
		{`sum(rate(a_total[5m])`, nil},
		{`a_total{job="x"`, nil},
	} {
		got, err := metricNames(tc.expr)
		if tc.want == nil {
			if err == nil {
				t.Errorf("metricNames(%q) = %v, want an error", tc.expr, got)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("metricNames(%q) = %v, %v; want %v", tc.expr, got, err, tc.want)
		}
	}
}

// promqlKeywords are PromQL's binary operators and modifiers that read
// like identifiers; grouping ones are followed by a label list.
var promqlKeywords = map[string]bool{
	"and": true, "or": true, "unless": true, "bool": true, "offset": true, "atan2": true,
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

// promqlAggregations are PromQL's aggregation operators, which may be
// followed by a grouping clause before their parenthesis.
var promqlAggregations = map[string]bool{
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
	"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
	"limitk": true, "limit_ratio": true,
}

var groupingKeywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

// metricNames returns the metric names a PromQL expression selects, in
// order: identifiers that are not functions, aggregations, keywords,
// label names or Grafana variables. It reports unbalanced brackets and
// unterminated strings.
func metricNames(expr string) ([]string, error) {
	var names []string
	depth := 0
	isStart := func(c byte) bool { return c == '_' || c == ':' || 'a' <= c|0x20 && c|0x20 <= 'z' }
	isPart := func(c byte) bool { return isStart(c) || '0' <= c && c <= '9' }
	skipSpace := func(i int) int {
		for i < len(expr) && (expr[i] == ' ' || expr[i] == '\t' || expr[i] == '\n') {
			i++
		}
		return i
	}
	// skipTo returns the index after the closing byte of a bracket opened
	// at i, skipping strings.
	skipTo := func(i int, closing byte) (int, error) {
		for i++; i < len(expr); i++ {
			switch c := expr[i]; {
			case c == closing:
				return i + 1, nil
			case c == '"' || c == '\'' || c == '`':
				j := strings.IndexByte(expr[i+1:], c)
				if j < 0 {
					return 0, fmt.Errorf("unterminated string at %d", i)
				}
				i += j + 1
			}
		}
		return 0, fmt.Errorf("unclosed %q", closing)
	}
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '{':
			j, err := skipTo(i, '}')
			if err != nil {
				return nil, err
			}
			i = j
		case c == '[':
			j, err := skipTo(i, ']')
			if err != nil {
				return nil, err
			}
			i = j
		case c == '"' || c == '\'' || c == '`':
			j := strings.IndexByte(expr[i+1:], c)
			if j < 0 {
				return nil, fmt.Errorf("unterminated string at %d", i)
			}
			i += j + 2
		case c == '(':
			depth++
			i++
		case c == ')':
			if depth--; depth < 0 {
				return nil, fmt.Errorf("unbalanced ) at %d", i)
			}
			i++
		case c == '$':
			for i++; i < len(expr) && isPart(expr[i]); i++ {
			}
		case '0' <= c && c <= '9' || c == '.':
			for i++; i < len(expr) && (isPart(expr[i]) || expr[i] == '.'); i++ {
			}
		case isStart(c):
			j := i + 1
			for j < len(expr) && isPart(expr[j]) {
				j++
			}
			word, next := expr[i:j], skipSpace(j)
			switch {
			case groupingKeywords[word] && next < len(expr) && expr[next] == '(':
				k, err := skipTo(next, ')')
				if err != nil {
					return nil, err
				}
				j = k
			case promqlKeywords[word], promqlAggregations[word], next < len(expr) && expr[next] == '(':
				// A keyword, an aggregation, or a function.
			default:
				names = append(names, word)
			}
			i = j
		default:
			i++
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("%d unclosed (", depth)
	}
	return names, nil
}

// TestLint checks the Collector's series against Prometheus' naming and
// help conventions (promlint), with every series present: after deliveries
// of several results on both endpoints, one of them processed (for the
// migration series).
func TestLint(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	now := codathooktest.SampleOptions{GeneratedDate: time.Now().UTC().Format(time.RFC3339Nano)}
	want(t, "processed", h.signed(t, sample(t, "read.completed", now)), codathook.ResultProcessed)
	body := sample(t, "connection.connected", codathooktest.SampleOptions{ID: "fail-1"})
	want(t, "failed", h.signed(t, body), codathook.ResultFailed)
	want(t, "unauthorized", h.send(t, "/legacy", codathooktest.NewLegacyRequest("/legacy", "Bearer wrong", body)), codathook.ResultUnauthorized)
	problems, err := testutil.CollectAndLint(h.col)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	mfs, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) != 27 {
		t.Errorf("linted %d metric families, want all 27 present", len(mfs))
	}
}
