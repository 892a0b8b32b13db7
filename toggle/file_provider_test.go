package toggle_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/codathook/codathook/toggle"
	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"
)

const flagsOn = `{"flags":{"codat-new-endpoint":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"on"},
  "codat-legacy-endpoint":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"on"}}}`

func flagsNew(variant string) string {
	return fmt.Sprintf(`{"flags":{"codat-new-endpoint":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":%q},
  "codat-legacy-endpoint":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"on"}}}`, variant)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// fileHarness is a FileProvider bound to an isolated API, with the events the
// API delivered to a client handler.
type fileHarness struct {
	path    string
	p       openfeature.FeatureProvider
	client  *openfeature.Client
	events  chan typedEvent
	log     *syncBuffer
	backlog []typedEvent
}

func newFileHarness(t *testing.T, content string) *fileHarness {
	t.Helper()
	h := &fileHarness{path: filepath.Join(t.TempDir(), "flags.json"), events: make(chan typedEvent, 64)}
	writeFile(t, h.path, content)
	log, buf := newLogger()
	h.log = buf
	p, err := toggle.NewFileProvider(h.path, &toggle.FileConfig{PollInterval: 10 * time.Millisecond, Logger: log})
	if err != nil {
		t.Fatalf("NewFileProvider: %v", err)
	}
	h.p = p
	api := isolated.NewAPI()
	if err := api.SetProviderAndWait(t.Context(), p); err != nil {
		t.Fatalf("SetProviderAndWait: %v", err)
	}
	t.Cleanup(func() { _ = api.Shutdown(context.Background()) })
	h.client = api.NewClient()
	for _, et := range []openfeature.EventType{openfeature.ProviderConfigChange, openfeature.ProviderError, openfeature.ProviderStale, openfeature.ProviderReady} {
		cb := func(d openfeature.EventDetails) { h.events <- typedEvent{et, d} }
		h.client.AddHandler(et, &cb)
	}
	// Drain the READY fired on registration.
	h.expect(t, openfeature.ProviderReady)
	return h
}

// expect waits up to 2s (the bound) for an event of type want. The
// SDK runs handlers on separate goroutines, so events may arrive out of
// order: others are kept for later calls.
func (h *fileHarness) expect(t *testing.T, want openfeature.EventType) openfeature.EventDetails {
	t.Helper()
	for i, e := range h.backlog {
		if e.t == want {
			h.backlog = slices.Delete(h.backlog, i, i+1)
			return e.d
		}
	}
	timeout := time.After(2 * time.Second)
	for {
		select {
		case e := <-h.events:
			if e.t == want {
				return e.d
			}
			h.backlog = append(h.backlog, e)
		case <-timeout:
			t.Fatalf("no %s event within 2s", want)
		}
	}
}

type typedEvent struct {
	t openfeature.EventType
	d openfeature.EventDetails
}

func (h *fileHarness) value(t *testing.T) bool {
	t.Helper()
	v, err := h.client.BooleanValue(t.Context(), toggle.DefaultNewFlag, false, openfeature.EvaluationContext{})
	if err != nil {
		t.Fatalf("BooleanValue: %v", err)
	}
	return v
}

func TestFileProviderNoticesEdits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		apply func(t *testing.T, path, content string)
	}{
		{name: "in-place edit", apply: writeFile},
		{name: "atomic rename over the file", apply: func(t *testing.T, path, content string) {
			tmp := path + ".tmp"
			writeFile(t, tmp, content)
			if err := os.Rename(tmp, path); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "delete and recreate", apply: func(t *testing.T, path, content string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			writeFile(t, path, content)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newFileHarness(t, flagsOn)
			if !h.value(t) {
				t.Fatal("initial value = false, want true")
			}
			for i, variant := range []string{"off", "on", "off"} {
				start := time.Now()
				tt.apply(t, h.path, flagsNew(variant))
				d := h.expect(t, openfeature.ProviderConfigChange)
				if got, want := d.FlagChanges, []string{toggle.DefaultNewFlag}; !slices.Equal(got, want) {
					t.Errorf("edit %d: FlagChanges = %v, want %v", i, got, want)
				}
				if got, want := h.value(t), variant == "on"; got != want {
					t.Errorf("edit %d: value = %v, want %v", i, got, want)
				}
				if el := time.Since(start); el > 2*time.Second {
					t.Errorf("edit %d noticed after %v, want < 2s", i, el)
				}
			}
		})
	}
}

func TestFileProviderMalformedKeepsPreviousFlags(t *testing.T) {
	t.Parallel()
	h := newFileHarness(t, flagsNew("off"))
	writeFile(t, h.path, `{"flags": {`)
	d := h.expect(t, openfeature.ProviderError)
	if !strings.Contains(d.Message, "malformed") {
		t.Errorf("event message = %q, want it to mention malformed", d.Message)
	}
	if h.value(t) {
		t.Errorf("value after malformed file = true, want the previous false")
	}
	if got := h.log.String(); !strings.Contains(got, "level=ERROR") || !strings.Contains(got, "malformed") {
		t.Errorf("log = %q, want an error about the malformed file", got)
	}
	if got, want := h.client.State(), openfeature.ErrorState; got != want {
		t.Errorf("client state = %v, want %v", got, want)
	}
	// A semantically invalid file is rejected too.
	writeFile(t, h.path, `{"flags":{"codat-new-endpoint":{"state":"ENABLED","variants":{"on":true},"defaultVariant":"missing"}}}`)
	h.expect(t, openfeature.ProviderError)
	// Fixing the file recovers.
	writeFile(t, h.path, flagsNew("on"))
	h.expect(t, openfeature.ProviderReady)
	h.expect(t, openfeature.ProviderConfigChange)
	if !h.value(t) {
		t.Errorf("value after fix = false, want true")
	}
	if got, want := h.client.State(), openfeature.ReadyState; got != want {
		t.Errorf("client state = %v, want %v", got, want)
	}
}

func TestFileProviderDeletedKeepsPreviousFlags(t *testing.T) {
	t.Parallel()
	h := newFileHarness(t, flagsNew("off"))
	if err := os.Remove(h.path); err != nil {
		t.Fatal(err)
	}
	h.expect(t, openfeature.ProviderStale)
	if h.value(t) {
		t.Errorf("value after delete = true, want the previous false")
	}
	if got := h.log.String(); !strings.Contains(got, "unreadable") {
		t.Errorf("log = %q, want an error about the missing file", got)
	}
	writeFile(t, h.path, flagsNew("off")) // same content: READY only
	h.expect(t, openfeature.ProviderReady)
	writeFile(t, h.path, flagsNew("on"))
	h.expect(t, openfeature.ProviderConfigChange)
	if !h.value(t) {
		t.Errorf("value after recreate = false, want true")
	}
}

func TestFileProviderShutdown(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "flags.json")
	writeFile(t, path, flagsOn)
	log, _ := newLogger()
	fp, err := toggle.NewFileProvider(path, &toggle.FileConfig{PollInterval: time.Millisecond, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	p := fp.(openfeature.StateHandler)
	if err := p.Init(openfeature.EvaluationContext{}); err != nil {
		t.Fatal(err)
	}
	if err := p.Init(openfeature.EvaluationContext{}); err != nil {
		t.Fatalf("second Init: %v", err)
	}
	writeFile(t, path, flagsNew("off")) // nobody drains events: Shutdown must still return
	time.Sleep(20 * time.Millisecond)
	done := make(chan struct{})
	go func() { p.Shutdown(); p.Shutdown(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Shutdown did not return (watcher goroutine stuck)")
	}
	if err := p.Init(openfeature.EvaluationContext{}); !errors.Is(err, toggle.ErrProviderShutdown) {
		t.Errorf("Init after Shutdown = %v, want ErrProviderShutdown", err)
	}
}

func TestNewFileProviderErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	writeFile(t, bad, `{"flags":`)
	good := filepath.Join(dir, "good.json")
	writeFile(t, good, flagsOn)
	tests := []struct {
		name string
		path string
		cfg  *toggle.FileConfig
	}{
		{name: "missing file", path: filepath.Join(dir, "nope.json")},
		{name: "malformed file", path: bad},
		{name: "negative poll interval", path: good, cfg: &toggle.FileConfig{PollInterval: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if p, err := toggle.NewFileProvider(tt.path, tt.cfg); err == nil {
				t.Errorf("NewFileProvider = %v, nil; want an error", p)
			}
		})
	}
}

func TestFileProviderFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		file    string
		wantErr string // substring; "" = valid
	}{
		{name: "minimal boolean flag", file: flagsOn},
		{name: "schema and metadata are accepted", file: `{"$schema":"https://flagd.dev/schema/v0/flags.json","metadata":{"team":"x"},"flags":{"f":{"state":"DISABLED","variants":{"a":1},"defaultVariant":"a","metadata":{"owner":"y"}}}}`},
		{name: "null defaultVariant", file: `{"flags":{"f":{"state":"ENABLED","variants":{"a":1},"defaultVariant":null}}}`, wantErr: "null defaultVariant"},
		{name: "missing defaultVariant", file: `{"flags":{"f":{"state":"ENABLED","variants":{"a":1}}}}`, wantErr: "null defaultVariant"},
		{name: "empty targeting", file: `{"flags":{"f":{"state":"ENABLED","variants":{"a":1},"defaultVariant":"a","targeting":{}}}}`},
		{name: "missing flags", file: `{}`, wantErr: `missing "flags"`},
		{name: "not an object", file: `[]`, wantErr: "decode"},
		{name: "trailing data", file: `{"flags":{}} {}`, wantErr: "after top-level"},
		{name: "bad state", file: `{"flags":{"f":{"state":"ON","variants":{"a":1},"defaultVariant":"a"}}}`, wantErr: "state"},
		{name: "no variants", file: `{"flags":{"f":{"state":"ENABLED","defaultVariant":"a"}}}`, wantErr: "variants"},
		{name: "unknown default variant", file: `{"flags":{"f":{"state":"ENABLED","variants":{"a":1},"defaultVariant":"b"}}}`, wantErr: "not a variant"},
		{name: "fractional is not supported", file: `{"flags":{"f":{"state":"ENABLED","variants":{"a":1},"defaultVariant":"a","targeting":{"fractional":[["a",50],["a",50]]}}}}`, wantErr: `"fractional" is not supported`},
		{name: "$ref is not supported", file: `{"$evaluators":{"x":{"in":[1,[1]]}},"flags":{"f":{"state":"ENABLED","variants":{"a":1},"defaultVariant":"a","targeting":{"if":[{"$ref":"x"},"a",null]}}}}`, wantErr: `"$ref" is not supported`},
		{name: "targeting result must be a variant", file: `{"flags":{"f":{"state":"ENABLED","variants":{"a":1},"defaultVariant":"a","targeting":{"if":[{"==":[{"var":"x"},"y"]},"zzz","a"]}}}}`, wantErr: `"zzz"`},
		{name: "rule with two operators", file: `{"flags":{"f":{"state":"ENABLED","variants":{"a":1},"defaultVariant":"a","targeting":{"if":[true,"a"],"or":[]}}}}`, wantErr: "exactly one operator"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "flags.json")
			writeFile(t, path, tt.file)
			_, err := toggle.NewFileProvider(path, nil)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("NewFileProvider: %v, want success", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("NewFileProvider error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestFileProviderRejectsTargeting: every construct outside the supported
// subset fails the load with an error naming it.
func TestFileProviderRejectsTargeting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		targeting string
		wantErr   string
	}{
		{name: "and", targeting: `{"if":[{"and":[{"==":[{"var":"a"},"b"]}]},"on","off"]}`, wantErr: `operator "and" is not supported`},
		{name: "or", targeting: `{"if":[{"or":[{"==":[{"var":"a"},"b"]}]},"on","off"]}`, wantErr: `operator "or" is not supported`},
		{name: "not", targeting: `{"if":[{"!":[{"var":"a"}]},"on","off"]}`, wantErr: `operator "!" is not supported`},
		{name: "not equal", targeting: `{"if":[{"!=":[{"var":"a"},"b"]},"on","off"]}`, wantErr: `operator "!=" is not supported`},
		{name: "strict equal", targeting: `{"if":[{"===":[{"var":"a"},"b"]},"on","off"]}`, wantErr: `operator "===" is not supported`},
		{name: "starts_with", targeting: `{"if":[{"starts_with":[{"var":"eventType"},"client."]},"on","off"]}`, wantErr: `operator "starts_with" is not supported`},
		{name: "ends_with", targeting: `{"if":[{"ends_with":[{"var":"eventType"},".x"]},"on","off"]}`, wantErr: `operator "ends_with" is not supported`},
		{name: "comparison", targeting: `{"if":[{">=":[{"var":"tier"},3]},"on","off"]}`, wantErr: `operator ">=" is not supported`},
		{name: "sem_ver", targeting: `{"if":[{"sem_ver":[{"var":"v"},">=","1.0.0"]},"on","off"]}`, wantErr: `operator "sem_ver" is not supported`},
		{name: "fractional at the top", targeting: `{"fractional":[["on",50],["off",50]]}`, wantErr: `operator "fractional" is not supported`},
		{name: "a bare var at the top", targeting: `{"var":"targetingKey"}`, wantErr: `want {"if"`},
		{name: "if with one argument", targeting: `{"if":[{"==":[{"var":"a"},"b"]}]}`, wantErr: `want {"if"`},
		{name: "a literal condition", targeting: `{"if":[true,"on","off"]}`, wantErr: "exactly one operator, got true"},
		{name: "substring in", targeting: `{"if":[{"in":["invoices",{"var":"dataType"}]},"on","off"]}`, wantErr: "condition"},
		{name: "in over a non-string", targeting: `{"if":[{"in":[{"var":"tier"},[1,2]]},"on","off"]}`, wantErr: "condition"},
		{name: "equal to a number", targeting: `{"if":[{"==":[{"var":"tier"},3]},"on","off"]}`, wantErr: "condition"},
		{name: "var with a default", targeting: `{"if":[{"==":[{"var":["a","z"]},"b"]},"on","off"]}`, wantErr: "condition"},
		{name: "dotted var", targeting: `{"if":[{"==":[{"var":"$flagd.flagKey"},"b"]},"on","off"]}`, wantErr: "condition"},
		{name: "if as a condition", targeting: `{"if":[{"if":[{"==":[{"var":"a"},"b"]},true,false]},"on","off"]}`, wantErr: "condition"},
		{name: "a boolean result", targeting: `{"if":[{"==":[{"var":"a"},"b"]},true,"off"]}`, wantErr: "a result must be a variant name or null, got true"},
		{name: "a nested if result", targeting: `{"if":[{"==":[{"var":"a"},"b"]},{"if":[{"==":[{"var":"a"},"b"]},"on"]},"off"]}`, wantErr: "a result must be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "flags.json")
			writeFile(t, path, `{"flags":{"f":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"off","targeting":`+tt.targeting+`}}}`)
			if _, err := toggle.NewFileProvider(path, nil); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("NewFileProvider error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

const targetingFile = `{"flags":{
  "codat-new-endpoint":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"off",
    "targeting":{"if":[
      {"in":[{"var":"targetingKey"},["pilot-1","pilot-2"]]},"on",
      {"==":[{"var":"eventType"},"client.rateLimit.reset"]},"on",
      {"in":[{"var":"eventType"},["bills.write.unsuccessful"]]},null,
      "off"]}},
  "codat-legacy-endpoint":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"on",
    "targeting":{"if":[{"==":[{"var":"format"},"legacy"]},"off"]}},
  "str":{"state":"ENABLED","variants":{"a":"alpha","n":42,"f":1.5,"o":{"k":[1,2]}},"defaultVariant":"a"},
  "int":{"state":"ENABLED","variants":{"n":42},"defaultVariant":"n"},
  "float":{"state":"ENABLED","variants":{"f":1.5},"defaultVariant":"f"},
  "obj":{"state":"ENABLED","variants":{"o":{"k":[1,2]}},"defaultVariant":"o"},
  "off":{"state":"DISABLED","variants":{"o":true},"defaultVariant":"o"}
}}`

func TestFileProviderTargeting(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "flags.json")
	writeFile(t, path, targetingFile)
	p, err := toggle.NewFileProvider(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		flag       string // "" = DefaultNewFlag
		ctx        openfeature.FlattenedContext
		want       bool
		wantReason openfeature.Reason
	}{
		{name: "listed company gets the new endpoint", ctx: openfeature.FlattenedContext{"targetingKey": "pilot-2"}, want: true, wantReason: openfeature.TargetingMatchReason},
		{name: "unlisted company takes the else branch", ctx: openfeature.FlattenedContext{"targetingKey": "other"}, want: false, wantReason: openfeature.TargetingMatchReason},
		{name: "an equal event type gets the new endpoint", ctx: openfeature.FlattenedContext{"targetingKey": "other", "eventType": "client.rateLimit.reset"}, want: true, wantReason: openfeature.TargetingMatchReason},
		{name: "a prefix of the event type is not equal", ctx: openfeature.FlattenedContext{"eventType": "client.rateLimit"}, want: false, wantReason: openfeature.TargetingMatchReason},
		{name: "the first matching condition wins", ctx: openfeature.FlattenedContext{"targetingKey": "pilot-1", "eventType": "bills.write.unsuccessful"}, want: true, wantReason: openfeature.TargetingMatchReason},
		{name: "null result uses the default variant", ctx: openfeature.FlattenedContext{"eventType": "bills.write.unsuccessful"}, want: false, wantReason: openfeature.DefaultReason},
		{name: "missing attribute matches nothing", ctx: openfeature.FlattenedContext{}, want: false, wantReason: openfeature.TargetingMatchReason},
		{name: "a non-string attribute matches nothing", ctx: openfeature.FlattenedContext{"targetingKey": 1.0}, want: false, wantReason: openfeature.TargetingMatchReason},
		{name: "no else branch uses the default variant", flag: toggle.DefaultLegacyFlag, ctx: openfeature.FlattenedContext{"format": "new"}, want: true, wantReason: openfeature.DefaultReason},
		{name: "a matching condition without else", flag: toggle.DefaultLegacyFlag, ctx: openfeature.FlattenedContext{"format": "legacy"}, want: false, wantReason: openfeature.TargetingMatchReason},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := p.BooleanEvaluation(t.Context(), cmp.Or(tt.flag, toggle.DefaultNewFlag), !tt.want, tt.ctx)
			if r.Value != tt.want || r.Reason != tt.wantReason {
				t.Errorf("got %v/%s, want %v/%s (err %v)", r.Value, r.Reason, tt.want, tt.wantReason, r.Error())
			}
		})
	}
}

func TestFileProviderTypes(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "flags.json")
	writeFile(t, path, targetingFile)
	p, err := toggle.NewFileProvider(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	flat := openfeature.FlattenedContext{}
	if r := p.StringEvaluation(ctx, "str", "d", flat); r.Value != "alpha" || r.Reason != openfeature.StaticReason || r.Variant != "a" {
		t.Errorf("string = %+v, want alpha/STATIC/a", r)
	}
	if r := p.IntEvaluation(ctx, "int", 0, flat); r.Value != 42 {
		t.Errorf("int = %v, want 42", r.Value)
	}
	if r := p.IntEvaluation(ctx, "float", 7, flat); r.Value != 7 || r.Error() == nil {
		t.Errorf("int of 1.5 = %v/%v, want default 7 with a type mismatch", r.Value, r.Error())
	}
	if r := p.FloatEvaluation(ctx, "float", 0, flat); r.Value != 1.5 {
		t.Errorf("float = %v, want 1.5", r.Value)
	}
	if r := p.ObjectEvaluation(ctx, "obj", nil, flat); fmt.Sprint(r.Value) != "map[k:[1 2]]" {
		t.Errorf("object = %v, want map[k:[1 2]]", r.Value)
	}
	if r := p.BooleanEvaluation(ctx, "str", true, flat); r.Value != true || r.Error() == nil || !strings.Contains(r.Error().Error(), string(openfeature.TypeMismatchCode)) {
		t.Errorf("bool of string = %v/%v, want default with TYPE_MISMATCH", r.Value, r.Error())
	}
	if r := p.BooleanEvaluation(ctx, "missing", true, flat); r.Value != true || r.Error() == nil || !strings.Contains(r.Error().Error(), string(openfeature.FlagNotFoundCode)) {
		t.Errorf("missing flag = %v/%v, want default with FLAG_NOT_FOUND", r.Value, r.Error())
	}
	if r := p.BooleanEvaluation(ctx, "off", false, flat); r.Value != false || r.Reason != openfeature.DisabledReason || r.Error() != nil {
		t.Errorf("disabled flag = %v/%s/%v, want default/DISABLED/no error", r.Value, r.Reason, r.Error())
	}
	if got := p.Metadata().Name; got != toggle.FileProviderName {
		t.Errorf("Metadata().Name = %q, want %q", got, toggle.FileProviderName)
	}
}

// TestRunbookFlagFiles loads every flag file shown in the migration runbook
// (docs/MIGRATION.md) and checks that the stage-3 and stage-5 targeting does
// what the runbook says.
func TestRunbookFlagFiles(t *testing.T) {
	t.Parallel()
	const runbook = "../docs/MIGRATION.md"
	md, err := os.ReadFile(runbook)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(string(md), "```json\n")[1:]
	if got, want := len(parts), 5; got != want {
		t.Fatalf("flag files in %s = %d, want %d", runbook, got, want)
	}
	type check struct {
		flag string
		ctx  openfeature.FlattenedContext
		want bool
	}
	checks := map[int][]check{
		0: {{toggle.DefaultLegacyFlag, nil, true}, {toggle.DefaultNewFlag, nil, false}},
		1: {{toggle.DefaultNewFlag, openfeature.FlattenedContext{"targetingKey": "<test-company-id>"}, true}, {toggle.DefaultNewFlag, openfeature.FlattenedContext{"targetingKey": "x"}, false}},
		2: {{toggle.DefaultLegacyFlag, nil, true}, {toggle.DefaultNewFlag, nil, true}},
		3: {{toggle.DefaultLegacyFlag, openfeature.FlattenedContext{"eventType": "SyncStarted"}, true}, {toggle.DefaultLegacyFlag, openfeature.FlattenedContext{"eventType": "PushOperationStatusChanged"}, true}, {toggle.DefaultLegacyFlag, openfeature.FlattenedContext{"eventType": "connection.connected"}, false}, {toggle.DefaultNewFlag, nil, true}},
		4: {{toggle.DefaultNewFlag, nil, true}},
	}
	for i, part := range parts {
		body := part[:strings.Index(part, "```")]
		if !strings.Contains(body, `"flags"`) {
			continue // a Go or other block
		}
		path := filepath.Join(t.TempDir(), fmt.Sprintf("stage%d.json", i))
		writeFile(t, path, body)
		p, err := toggle.NewFileProvider(path, nil)
		if err != nil {
			t.Errorf("flag file %d: %v", i, err)
			continue
		}
		for _, c := range checks[i] {
			if got := p.BooleanEvaluation(t.Context(), c.flag, !c.want, c.ctx).Value; got != c.want {
				t.Errorf("flag file %d: %s with %v = %v, want %v", i, c.flag, c.ctx, got, c.want)
			}
		}
	}
}
