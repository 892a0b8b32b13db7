package codathook_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/toggle"
	"github.com/open-feature/go-sdk/openfeature/memprovider"
)

// migratedHarness is a receiver 26 hours into step 4 of the runbook, with
// its migration page mounted at /migration.
func migratedHarness(t *testing.T) (*harness, string) {
	t.Helper()
	h, p := newFlagged(t, map[string]memprovider.InMemoryFlag{
		toggle.DefaultLegacyFlag: boolFlag(true), toggle.DefaultNewFlag: boolFlag(true),
	}, &toggle.Config{Timeout: -1})
	m := &migrationRun{t: t, h: h, p: p}
	m.hours(26)
	mux := http.NewServeMux()
	mux.Handle("GET /migration", h.rcv.MigrationHandler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return h, srv.URL + "/migration"
}

func TestMigrationHandlerJSON(t *testing.T) {
	t.Parallel()
	_, url := migratedHarness(t)
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", "application/json")
	resp, body := send(t, req)
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "application/json" {
		t.Fatalf("%d %s, want 200 application/json", resp.StatusCode, ct)
	}
	var m codathook.Migration
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("%v in %s", err, body)
	}
	if len(m.Steps) != 5 || m.Steps[4].Status != "ready" || !strings.Contains(m.Verdict, "legacy can be turned off") {
		t.Errorf("steps %+v, verdict %q", m.Steps, m.Verdict)
	}
	if !strings.Contains(body, `"eventType": "connection.connected"`) || !strings.Contains(body, `"legacyOnly": true`) {
		t.Errorf("JSON without the per-type lines: %s", body)
	}
}

func TestMigrationHandlerMethods(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	srv := httptest.NewServer(h.rcv.MigrationHandler())
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest(http.MethodPost, srv.URL, nil)
	resp, _ := send(t, req)
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %d, Allow %q; want 405 with GET, HEAD", resp.StatusCode, resp.Header.Get("Allow"))
	}
	req, _ = http.NewRequest(http.MethodHead, srv.URL, nil)
	resp, body := send(t, req)
	if resp.StatusCode != http.StatusOK || body != "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("HEAD: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

// browser returns the path of a Chromium-like browser: $CHROMIUM, else one
// on PATH. Without one the test skips, or fails under CI=true (the test
// command installs Chromium).
func browser(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("CHROMIUM"); b != "" {
		return b
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chromium (chromium, chromium-browser, google-chrome) on PATH and CHROMIUM unset; scripts/test.sh installs it")
	}
	t.Skip("no Chromium on PATH (scripts/test.sh installs it); set CHROMIUM to a browser")
	return ""
}

// TestMigrationPageInBrowser renders the migration page in headless
// Chromium and checks what the page shows once the browser has parsed it:
// the verdict, the five steps and their statuses, the endpoints' counters,
// and the per-type lines.
func TestMigrationPageInBrowser(t *testing.T) {
	t.Parallel()
	bin := browser(t)
	h, url := migratedHarness(t)
	want := h.rcv.Migration(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(), "--dump-dom", url)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s --dump-dom: %v\n%s", bin, err, out)
	}
	dom := string(out)
	text := func(id string) string {
		t.Helper()
		re := regexp.MustCompile(`(?s)<[a-z0-9]+ id="` + id + `"[^>]*>(.*?)</(p|tr|span)>`)
		m := re.FindStringSubmatch(dom)
		if m == nil {
			t.Fatalf("the page has no element #%s:\n%s", id, dom)
		}
		return html.UnescapeString(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(m[1], " "))
	}
	if got := text("verdict"); !strings.Contains(got, "legacy can be turned off") || !strings.Contains(got, "SyncStarted") {
		t.Errorf("verdict shown: %q", got)
	}
	for i, st := range want.Steps {
		got := strings.Fields(text("step-" + string(rune('1'+i))))
		if len(got) < 3 || !strings.Contains(strings.Join(got, " "), st.Status) {
			t.Errorf("step %d shows %q, want status %s", st.Step, got, st.Status)
		}
	}
	// 57 deliveries: 52 processed, and 5 first attempts that failed and were retried.
	if got := strings.Join(strings.Fields(text("endpoint-new")), " "); !strings.HasPrefix(got, "new 57 52 0 0 5 ") {
		t.Errorf("new endpoint row %q, want 57 deliveries, 52 processed, 5 failed", got)
	}
	row := regexp.MustCompile(`(?s)<tr data-type="connection.connected">(.*?)</tr>`).FindStringSubmatch(dom)
	if row == nil {
		t.Fatalf("no connection.connected row:\n%s", dom)
	}
	cells := strings.Fields(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(row[1], " "))
	// seen, twinned, unmatched, open, skipped for legacy, then new.
	if strings.Join(cells, " ") != "connection.connected 24 24 0 0 0 24 24 0 0 0" {
		t.Errorf("connection.connected row shows %q", cells)
	}
	if !strings.Contains(dom, "SyncStarted <em>(legacy-only)</em>") {
		t.Errorf("SyncStarted not marked legacy-only")
	}
	if strings.Contains(dom, "<script") {
		t.Errorf("the page has a script")
	}
}
