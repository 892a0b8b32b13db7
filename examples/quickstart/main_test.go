package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codathook/codathook"
	"github.com/codathook/codathook/codathooktest"
)

// syncBuffer is a goroutine-safe stdout capture.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func start(t *testing.T, args ...string) (base string, stdout, stderr *syncBuffer) {
	t.Helper()
	stdout, stderr = &syncBuffer{}, &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), stdout, stderr, ready) }()
	select {
	case addr := <-ready:
		base = "http://" + addr
	case err := <-done:
		t.Fatalf("run: %v\nstderr:\n%s", err, stderr)
	case <-time.After(10 * time.Second):
		t.Fatal("quickstart did not start")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	return base, stdout, stderr
}

func post(t *testing.T, r *http.Request) *http.Response {
	t.Helper()
	r.RequestURI = ""
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func lines(t *testing.T, out string) []line {
	t.Helper()
	var ls []line
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var l line
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("stdout line %q is not the documented JSON object: %v", sc.Text(), err)
		}
		ls = append(ls, l)
	}
	return ls
}

func TestQuickstartPrintsOneLinePerCallback(t *testing.T) {
	t.Setenv("CODAT_WEBHOOK_SECRET", "")
	t.Setenv("CODAT_LEGACY_AUTH", "")
	base, stdout, stderr := start(t)
	if !strings.Contains(stderr.String(), "go run ./cmd/codathook send") {
		t.Errorf("stderr does not say how to send a delivery:\n%s", stderr)
	}
	signer := codathooktest.MustSigner(codathooktest.DevSecret)
	read := []byte(`{"id":"r1","eventType":"read.completed","generatedDate":"2022-10-23T00:00:00.000Z","payload":{"referenceCompany":{"id":"co1","name":"Toft"},"dataTypes":[{"connectionId":"k1","dataType":"invoices","recordsModified":true,"status":"Complete"},{"connectionId":"k1","dataType":"bills","recordsModified":false,"status":"Complete"}]}}`)
	if resp := post(t, signer.NewRequest(http.MethodPost, base+"/webhooks/codat", read)); resp.StatusCode != 204 {
		t.Fatalf("new delivery: status %d", resp.StatusCode)
	}
	legacy := []byte(`{"AlertId":"a1","RuleType":"DataConnectionStatusChanged","CompanyId":"co2","DataConnectionId":"k2","Data":{"dataConnectionId":"k2","newStatus":"Linked","oldStatus":"PendingAuth"}}`)
	if resp := post(t, codathooktest.NewLegacyRequest(base+"/webhooks/codat/legacy", codathooktest.DevAuthorization, legacy)); resp.StatusCode != 204 {
		t.Fatalf("legacy delivery: status %d", resp.StatusCode)
	}
	// A duplicate prints nothing.
	signer.MsgID = "msg_fixed"
	post(t, signer.NewRequest(http.MethodPost, base+"/webhooks/codat", []byte(`{"id":"x1","eventType":"company.created","payload":{"id":"co3","name":"n"}}`)))
	post(t, signer.NewRequest(http.MethodPost, base+"/webhooks/codat", []byte(`{"id":"x1","eventType":"company.created","payload":{"id":"co3","name":"n"}}`)))

	got := lines(t, stdout.String())
	want := []line{
		{EventType: "read.completed", EventID: "r1", CompanyID: "co1", Format: "new", Endpoint: "new", DataTypes: []string{"invoices", "bills"}},
		{EventType: "connection.connected", EventID: "a1", CompanyID: "co2", Format: "legacy", Endpoint: "legacy", DataTypes: []string{}},
		{EventType: "company.created", EventID: "x1", CompanyID: "co3", Format: "new", Endpoint: "new", DataTypes: []string{}},
	}
	if len(got) != len(want) {
		t.Fatalf("stdout has %d lines, want %d:\n%s", len(got), len(want), stdout)
	}
	for i := range want {
		g, _ := json.Marshal(got[i])
		w, _ := json.Marshal(want[i])
		if string(g) != string(w) {
			t.Errorf("line %d = %s, want %s", i, g, w)
		}
	}
}

func TestQuickstartFlagsFileSwitchesEndpointsLive(t *testing.T) {
	t.Setenv("CODAT_WEBHOOK_SECRET", "")
	t.Setenv("CODAT_LEGACY_AUTH", "")
	dir := t.TempDir()
	path := filepath.Join(dir, "flags.json")
	write := func(legacyOn bool) {
		variant := "off"
		if legacyOn {
			variant = "on"
		}
		doc := `{"flags":{"codat-new-endpoint":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"on"},` +
			`"codat-legacy-endpoint":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"` + variant + `"}}}`
		tmp := filepath.Join(dir, "flags.json.tmp")
		if err := os.WriteFile(tmp, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write(true)
	base, stdout, _ := start(t, "-flags", path)
	legacy := func(id string) *http.Request {
		body := []byte(`{"AlertId":"` + id + `","RuleType":"Account Categories Updated","CompanyId":"co","Data":{"modifiedDate":"2019-08-24T14:15:22Z"}}`)
		return codathooktest.NewLegacyRequest(base+"/webhooks/codat/legacy", codathooktest.DevAuthorization, body)
	}
	if resp := post(t, legacy("a1")); resp.Header.Get(codathook.HeaderResult) != "processed" {
		t.Fatalf("legacy on: result %q", resp.Header.Get(codathook.HeaderResult))
	}
	write(false)
	deadline := time.Now().Add(5 * time.Second)
	var result string
	for time.Now().Before(deadline) {
		resp := post(t, legacy("a-probe-"+time.Now().Format("150405.000000000")))
		if result = resp.Header.Get(codathook.HeaderResult); result == "skipped" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if result != "skipped" {
		t.Fatalf("legacy flag flipped off in the file: result %q, want skipped within the provider's reload time", result)
	}
	if n := strings.Count(stdout.String(), "\n"); n < 1 {
		t.Errorf("stdout lines = %d, want at least the first delivery", n)
	}
}

// The flag file shipped next to the quickstart is the runbook's step 1,
// as docs/MIGRATION.md shows it: the legacy endpoint processes, the new one
// acknowledges without processing, and the log says which flag skipped it.
func TestShippedFlagsFile(t *testing.T) {
	t.Setenv("CODAT_WEBHOOK_SECRET", "")
	t.Setenv("CODAT_LEGACY_AUTH", "")
	shipped, err := os.ReadFile("flags.json")
	if err != nil {
		t.Fatal(err)
	}
	runbook, err := os.ReadFile(filepath.Join("..", "..", "docs", "MIGRATION.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, step1, _ := strings.Cut(string(runbook), "## Step 1")
	_, block, _ := strings.Cut(step1, "```json\n")
	block, _, _ = strings.Cut(block, "```")
	var got, want any
	if err := json.Unmarshal(shipped, &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(block), &want); err != nil {
		t.Fatalf("MIGRATION.md step 1's flag file: %v\n%s", err, block)
	}
	if g, w := fmt.Sprint(got), fmt.Sprint(want); g != w {
		t.Errorf("flags.json = %s\nwant step 1 of MIGRATION.md: %s", g, w)
	}

	base, stdout, stderr := start(t, "-flags", "flags.json")
	newBody := []byte(`{"id":"f1","eventType":"company.created","payload":{"id":"co-f","name":"n"}}`)
	if resp := post(t, codathooktest.MustSigner(codathooktest.DevSecret).NewRequest(http.MethodPost, base+"/webhooks/codat", newBody)); resp.Header.Get(codathook.HeaderResult) != "skipped" {
		t.Errorf("new endpoint with the shipped flags: result %q, want skipped", resp.Header.Get(codathook.HeaderResult))
	}
	legacy := []byte(`{"AlertId":"f2","RuleType":"Account Categories Updated","CompanyId":"co-f","Data":{"modifiedDate":"2019-08-24T14:15:22Z"}}`)
	if resp := post(t, codathooktest.NewLegacyRequest(base+"/webhooks/codat/legacy", codathooktest.DevAuthorization, legacy)); resp.Header.Get(codathook.HeaderResult) != "processed" {
		t.Errorf("legacy endpoint with the shipped flags: result %q, want processed", resp.Header.Get(codathook.HeaderResult))
	}
	if got := len(lines(t, stdout.String())); got != 1 {
		t.Errorf("stdout lines = %d, want 1 (the legacy delivery)", got)
	}
	wantLog(t, stderr, "msg=\"skipped: the endpoint's flag is off, so the delivery is not processed\" endpoint=new event_type=company.created flag=codat-new-endpoint")
	wantLog(t, stderr, "as at runbook step 1")
}

// wantLog waits a little for the quickstart's log to say want.
func wantLog(t *testing.T, stderr *syncBuffer, want string) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(stderr.String(), want) {
			return
		}
	}
	t.Errorf("the quickstart's log lacks %q:\n%s", want, stderr)
}

// The quickstart serves the migration page, and its JSON counts what was
// delivered.
func TestQuickstartServesTheMigrationPage(t *testing.T) {
	t.Setenv("CODAT_WEBHOOK_SECRET", "")
	t.Setenv("CODAT_LEGACY_AUTH", "")
	base, _, stderr := start(t)
	if !strings.Contains(stderr.String(), base+"/codathook/migration") {
		t.Errorf("stderr does not give the migration page's address:\n%s", stderr)
	}
	legacy := []byte(`{"AlertId":"a1","RuleType":"DataConnectionStatusChanged","CompanyId":"co2","DataConnectionId":"k2","Data":{"dataConnectionId":"k2","newStatus":"Linked","oldStatus":"PendingAuth"}}`)
	post(t, codathooktest.NewLegacyRequest(base+"/webhooks/codat/legacy", codathooktest.DevAuthorization, legacy))
	resp, err := http.Get(base + "/codathook/migration?format=json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m codathook.Migration
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	if len(m.Types) != 1 || m.Types[0].EventType != "connection.connected" || m.Types[0].Legacy.Seen != 1 {
		t.Errorf("types %+v, want one legacy connection.connected", m.Types)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/codathook/migration", nil)
	page := post(t, req)
	defer page.Body.Close()
	if page.StatusCode != http.StatusOK || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") {
		t.Errorf("page: %d %s", page.StatusCode, page.Header.Get("Content-Type"))
	}
}
