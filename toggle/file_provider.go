package toggle

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/memprovider"
)

// fileProviderName is the provider name in the provider's Metadata and in
// the events it emits.
const fileProviderName = "codathook-file"

// defaultPollInterval is how often a file provider checks its file.
const defaultPollInterval = 250 * time.Millisecond

// racyWindow: a file modified less than this long ago is re-read (and its
// hash compared) on every poll even when its size and mtime look unchanged,
// because file systems with coarse timestamps can hide a second edit.
const racyWindow = 2 * time.Second

// errProviderShutdown is returned by Init after Shutdown.
var errProviderShutdown = errors.New("toggle: file provider shut down")

// FileConfig configures [NewFileProvider]. A nil *FileConfig selects every
// default.
type FileConfig struct {
	// PollInterval is how often the file is checked (default 250ms); an
	// edit is applied within about one interval, plus the time to read and
	// parse the file. Negative is invalid.
	PollInterval time.Duration
	// Logger receives reloads (info) and unreadable or malformed files
	// (error). The default is [slog.Default].
	Logger *slog.Logger
}

// fileProvider is the provider [NewFileProvider] returns.
type fileProvider struct {
	path     string
	interval time.Duration
	log      *slog.Logger
	mem      *memprovider.InMemoryProvider // not embedded: its UpdateFlags and Track must not be promoted
	events   chan openfeature.Event

	mu      sync.Mutex // guards started and stopped
	started bool
	stopped bool
	done    chan struct{}
	wg      sync.WaitGroup

	// Poller state, owned by the poller goroutine.
	raw      map[string]string // the served flags' definitions, from flagFile.raw
	lastInfo os.FileInfo
	lastHash [sha256.Size]byte
	badHash  [sha256.Size]byte
	state    fileState
}

type fileState int

const (
	fileOK fileState = iota
	fileMissing
	fileMalformed
)

var (
	_ openfeature.FeatureProvider = (*fileProvider)(nil)
	_ openfeature.StateHandler    = (*fileProvider)(nil)
	_ openfeature.EventHandler    = (*fileProvider)(nil)
)

// NewFileProvider returns an OpenFeature provider serving the flags of a flagd
// flag-definition file, for the quickstart and small deployments. It parses
// the file into [memprovider.InMemoryFlag] values and evaluates them with an
// in-memory provider from the OpenFeature SDK. The provider
// also implements openfeature.StateHandler and openfeature.EventHandler
// (not openfeature.Tracker: tracking events are dropped) and is safe for
// concurrent use.
//
// NewFileProvider reads and validates the file at path now, and fails if it
// cannot be read or parsed, or cfg is invalid. The file is watched only
// after Init, which the OpenFeature SDK calls when the provider is set;
// Shutdown (the SDK calls it on api.Shutdown) stops watching.
//
// # Supported format
//
// The file is a flagd flag-definition JSON document:
//
//	{"flags": {"codat-new-endpoint": {
//	    "state": "ENABLED",
//	    "variants": {"on": true, "off": false},
//	    "defaultVariant": "off",
//	    "targeting": {"if": [{"in": [{"var": "targetingKey"}, ["company-1", "company-2"]]}, "on", "off"]}
//	}}}
//
// Supported: "flags" with "state" ("ENABLED" or "DISABLED"; a disabled flag
// resolves to the caller's default with reason DISABLED), "variants" of any
// JSON type (the typed evaluations check the type; an integral number serves
// both IntEvaluation and FloatEvaluation, and ObjectEvaluation returns it as
// an int64), "defaultVariant" (a variant name; null, the caller's default, is
// rejected), "$schema" and "metadata" (both accepted and ignored).
//
// "targeting" is {"if": [condition, result, ..., else]}: each condition is
// {"in": [{"var": NAME}, [STRING, ...]]} or {"==": [{"var": NAME}, STRING]},
// where NAME is "targetingKey" or a context attribute holding a string; the
// first condition that holds selects its result, else the last argument
// (if the count is odd). A result is a variant name (reason
// TARGETING_MATCH) or null (the defaultVariant, reason DEFAULT). Every other
// construct, among them the other JsonLogic operators, flagd's "fractional"
// and "sem_ver" and "$ref", is rejected when the file is loaded, with an
// error naming it. An unknown key is ignored.
//
// # Reloading
//
// After Init, a goroutine checks the file every poll interval (size, mtime,
// identity, and a SHA-256 of the content), so in-place edits, atomic
// rename-over and delete/recreate are noticed within about one interval. A
// valid new file replaces the flags and emits PROVIDER_CONFIGURATION_CHANGED
// with the changed flag keys. A malformed file keeps the previous flags, is
// logged and emits PROVIDER_ERROR; a missing or unreadable file keeps the
// previous flags, is logged and emits PROVIDER_STALE. The next valid file
// emits PROVIDER_READY (then CONFIGURATION_CHANGED if flags changed). Each
// condition is reported once, not on every poll.
func NewFileProvider(path string, cfg *FileConfig) (openfeature.FeatureProvider, error) {
	p := &fileProvider{
		path:     path,
		interval: defaultPollInterval,
		log:      slog.Default(),
		events:   make(chan openfeature.Event, 8),
		done:     make(chan struct{}),
	}
	if cfg != nil {
		if cfg.PollInterval < 0 {
			return nil, fmt.Errorf("toggle: negative poll interval %v", cfg.PollInterval)
		}
		if cfg.PollInterval > 0 {
			p.interval = cfg.PollInterval
		}
		if cfg.Logger != nil {
			p.log = cfg.Logger
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("toggle: flag file: %w", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("toggle: flag file: %w", err)
	}
	fs, err := parseFlags(data)
	if err != nil {
		return nil, fmt.Errorf("toggle: flag file %s: %w", path, err)
	}
	p.mem, p.raw = memprovider.NewInMemoryProvider(fs.flags), fs.raw
	p.lastInfo, p.lastHash = fi, sha256.Sum256(data)
	return p, nil
}

// Metadata returns the provider's name, the package's name for it, "codathook-file".
func (p *fileProvider) Metadata() openfeature.Metadata {
	return openfeature.Metadata{Name: fileProviderName}
}

// Hooks returns no hooks.
func (p *fileProvider) Hooks() []openfeature.Hook { return nil }

// EventChannel returns the channel of provider events. The OpenFeature SDK
// drains it; a caller using the provider without the SDK must drain it too,
// or the watcher blocks until Shutdown. It is never closed.
func (p *fileProvider) EventChannel() <-chan openfeature.Event { return p.events }

// Init starts watching the file. It is idempotent and returns
// an error after Shutdown.
func (p *fileProvider) Init(openfeature.EvaluationContext) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return errProviderShutdown
	}
	if !p.started {
		p.started = true
		p.wg.Go(p.watch)
	}
	return nil
}

// Shutdown stops watching the file and waits for the watcher goroutine to
// exit. It is idempotent. The last flags stay available to evaluations.
func (p *fileProvider) Shutdown() {
	p.mu.Lock()
	if !p.stopped {
		p.stopped = true
		close(p.done)
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *fileProvider) watch() {
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
			p.check()
		}
	}
}

// check runs one poll; only the watcher goroutine calls it.
func (p *fileProvider) check() {
	fi, err := os.Stat(p.path)
	if err != nil {
		p.unreadable(err)
		return
	}
	last := p.lastInfo
	changed := last == nil || !os.SameFile(fi, last) || fi.Size() != last.Size() ||
		!fi.ModTime().Equal(last.ModTime()) || time.Since(fi.ModTime()) < racyWindow
	if !changed {
		return
	}
	data, err := os.ReadFile(p.path)
	if err != nil {
		p.unreadable(err)
		return
	}
	p.lastInfo = fi
	h := sha256.Sum256(data)
	switch {
	case p.state == fileOK && h == p.lastHash:
		return
	case p.state == fileMalformed && h == p.badHash:
		return
	}
	fs, err := parseFlags(data)
	if err != nil {
		p.state, p.badHash = fileMalformed, h
		p.log.Error("toggle: flag file is malformed; keeping the previous flags", "path", p.path, "err", err)
		p.emit(openfeature.ProviderError, fmt.Sprintf("flag file %s is malformed (previous flags kept): %v", p.path, err), nil)
		return
	}
	recovered := p.state != fileOK
	p.state, p.lastHash = fileOK, h
	changes := changedFlags(p.raw, fs.raw)
	if len(changes) > 0 {
		p.raw = fs.raw
		p.mem.UpdateFlags(fs.flags)
		// Drop UpdateFlags' own event: it names every flag and the in-memory
		// provider, and cannot be ordered with READY; ours is emitted below.
		select {
		case <-p.mem.EventChannel():
		default:
		}
	}
	p.log.Info("toggle: flag file reloaded", "path", p.path, "flags_changed", changes)
	if recovered {
		p.emit(openfeature.ProviderReady, "flag file "+p.path+" is valid again", nil)
	}
	if len(changes) > 0 {
		p.emit(openfeature.ProviderConfigChange, "flag file "+p.path+" changed", changes)
	}
}

func (p *fileProvider) unreadable(err error) {
	p.lastInfo = nil
	if p.state == fileMissing {
		return
	}
	p.state = fileMissing
	p.log.Error("toggle: flag file is unreadable; keeping the previous flags", "path", p.path, "err", err)
	p.emit(openfeature.ProviderStale, fmt.Sprintf("flag file %s is unreadable (previous flags kept): %v", p.path, err), nil)
}

func (p *fileProvider) emit(t openfeature.EventType, msg string, changes []string) {
	ev := openfeature.Event{
		ProviderName: fileProviderName,
		EventType:    t,
		ProviderEventDetails: openfeature.ProviderEventDetails{
			Message:     msg,
			FlagChanges: changes,
		},
	}
	if t == openfeature.ProviderError {
		ev.ErrorCode = openfeature.ParseErrorCode
	}
	select {
	case p.events <- ev:
	case <-p.done:
	}
}

// flagFile is one parsed flag-definition file. It is immutable once built.
type flagFile struct {
	flags map[string]memprovider.InMemoryFlag
	raw   map[string]string // compacted JSON of each definition, for change detection
}

// parseFlags parses a flagd flag-definition document.
func parseFlags(data []byte) (*flagFile, error) {
	var doc struct {
		Flags map[string]json.RawMessage `json:"flags"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if doc.Flags == nil {
		return nil, errors.New(`missing "flags" object`)
	}
	ff := &flagFile{flags: map[string]memprovider.InMemoryFlag{}, raw: map[string]string{}}
	for _, key := range slices.Sorted(maps.Keys(doc.Flags)) {
		f, err := parseFlag(key, doc.Flags[key])
		if err != nil {
			return nil, fmt.Errorf("flag %q: %w", key, err)
		}
		var buf bytes.Buffer
		_ = json.Compact(&buf, doc.Flags[key]) // valid JSON: it was decoded
		ff.flags[key], ff.raw[key] = f, buf.String()
	}
	return ff, nil
}

func parseFlag(key string, raw json.RawMessage) (memprovider.InMemoryFlag, error) {
	var fj struct {
		State          string         `json:"state"`
		Variants       map[string]any `json:"variants"`
		DefaultVariant *string        `json:"defaultVariant"`
		Targeting      any            `json:"targeting"`
	}
	f := memprovider.InMemoryFlag{Key: key}
	if err := json.Unmarshal(raw, &fj); err != nil {
		return f, err
	}
	if f.State = memprovider.State(fj.State); f.State != memprovider.Enabled && f.State != memprovider.Disabled {
		return f, fmt.Errorf(`state %q: want "ENABLED" or "DISABLED"`, fj.State)
	}
	if fj.DefaultVariant == nil {
		return f, errors.New(`missing or null defaultVariant (the caller's default) is not supported: name a variant, or use "state": "DISABLED"`)
	}
	if _, ok := fj.Variants[*fj.DefaultVariant]; !ok {
		return f, fmt.Errorf(`defaultVariant %q is not a variant in "variants"`, *fj.DefaultVariant)
	}
	f.DefaultVariant, f.Variants = *fj.DefaultVariant, fj.Variants
	for name, v := range f.Variants { // JSON numbers are float64; integral ones serve IntEvaluation too
		if n, ok := v.(float64); ok && n == math.Trunc(n) && math.Abs(n) <= 1<<53 {
			f.Variants[name] = int64(n)
		}
	}
	var err error
	if f.ContextEvaluator, err = compileTargeting(fj.Targeting, fj.Variants); err != nil {
		return f, fmt.Errorf("targeting: %w", err)
	}
	return f, nil
}

// changedFlags lists the keys added, removed or modified between a and b.
func changedFlags(a, b map[string]string) []string {
	var out []string
	for k := range a {
		if _, ok := b[k]; !ok {
			out = append(out, k)
		}
	}
	for k, d := range b {
		if o, ok := a[k]; !ok || o != d {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// BooleanEvaluation resolves a boolean flag.
func (p *fileProvider) BooleanEvaluation(ctx context.Context, flag string, defaultValue bool, flat openfeature.FlattenedContext) openfeature.BoolResolutionDetail {
	return p.mem.BooleanEvaluation(ctx, flag, defaultValue, flat)
}

// StringEvaluation resolves a string flag.
func (p *fileProvider) StringEvaluation(ctx context.Context, flag string, defaultValue string, flat openfeature.FlattenedContext) openfeature.StringResolutionDetail {
	return p.mem.StringEvaluation(ctx, flag, defaultValue, flat)
}

// FloatEvaluation resolves a numeric flag as float64.
func (p *fileProvider) FloatEvaluation(ctx context.Context, flag string, defaultValue float64, flat openfeature.FlattenedContext) openfeature.FloatResolutionDetail {
	return p.mem.FloatEvaluation(ctx, flag, defaultValue, flat)
}

// IntEvaluation resolves a numeric flag whose value is an integer.
func (p *fileProvider) IntEvaluation(ctx context.Context, flag string, defaultValue int64, flat openfeature.FlattenedContext) openfeature.IntResolutionDetail {
	return p.mem.IntEvaluation(ctx, flag, defaultValue, flat)
}

// ObjectEvaluation resolves a flag of any type; the value is shared with the
// provider and must not be modified.
func (p *fileProvider) ObjectEvaluation(ctx context.Context, flag string, defaultValue any, flat openfeature.FlattenedContext) openfeature.InterfaceResolutionDetail {
	return p.mem.ObjectEvaluation(ctx, flag, defaultValue, flat)
}
