package toggle

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
)

// FileProviderName is the provider name in [FileProvider.Metadata] and in
// the events it emits.
const FileProviderName = "codathook-file"

// DefaultPollInterval is how often a [FileProvider] checks its file.
const DefaultPollInterval = 250 * time.Millisecond

// racyWindow: a file modified less than this long ago is re-read (and its
// hash compared) on every poll even when its size and mtime look unchanged,
// because file systems with coarse timestamps can hide a second edit.
const racyWindow = 2 * time.Second

// ErrProviderShutdown is returned by [FileProvider.Init] after Shutdown.
var ErrProviderShutdown = errors.New("toggle: file provider shut down")

// FileOption configures a [FileProvider].
type FileOption func(*FileProvider) error

// WithPollInterval sets how often the file is checked. The default is
// [DefaultPollInterval] (250ms); an edit is applied within about one interval
// (plus the time to read and parse the file). Zero or negative is an error.
func WithPollInterval(d time.Duration) FileOption {
	return func(p *FileProvider) error {
		if d <= 0 {
			return fmt.Errorf("toggle: poll interval %v must be positive", d)
		}
		p.interval = d
		return nil
	}
}

// WithLogger sets the logger for reloads (info) and unreadable or malformed
// files (error). The default is [slog.Default]. A nil logger is an error.
func WithLogger(l *slog.Logger) FileOption {
	return func(p *FileProvider) error {
		if l == nil {
			return errors.New("toggle: nil logger")
		}
		p.log = l
		return nil
	}
}

// FileProvider is an OpenFeature provider serving the flags of a flagd
// flag-definition file, for the quickstart and small deployments. It
// implements openfeature.FeatureProvider, openfeature.StateHandler and
// openfeature.EventHandler and is safe for concurrent use.
//
// # Supported format
//
// The file is a flagd flag-definition JSON document:
//
//	{"flags": {"codat-new-endpoint": {
//	    "state": "ENABLED",
//	    "variants": {"on": true, "off": false},
//	    "defaultVariant": "on",
//	    "targeting": {"if": [{"in": [{"var": "targetingKey"}, ["company-1", "company-2"]]}, "on", "off"]}
//	}}}
//
// Supported: "flags" with "state" ("ENABLED" or "DISABLED"; a disabled flag
// resolves to the caller's default with reason DISABLED, as flagd and the
// OpenFeature in-memory provider do), "variants" of any JSON type (boolean,
// string, number, object or array: the typed evaluations check the type; an
// integer evaluation needs an integral number), "defaultVariant" (a variant
// name, or null for the caller's default), flag-level and top-level "metadata"
// (returned as flag metadata; flag-level wins), and "$schema" (ignored).
//
// "targeting" supports a subset of JsonLogic: "var" (dotted paths, optional
// default; "targetingKey" and every context attribute, plus
// "$flagd.flagKey"), "if", "==", "===", "!=", "!==", "!", "!!", "and", "or",
// "in" (array membership or substring), "<", "<=", ">", ">=" and flagd's
// "starts_with" and "ends_with". Targeting must yield a variant name (a
// boolean yields the variant "true" or "false"); null selects the
// defaultVariant with reason DEFAULT. Not supported, rejected when the file
// is loaded: flagd's "fractional" and "sem_ver", "$evaluators" references
// ("$ref"), and every other JsonLogic operator. An unknown top-level key is
// ignored.
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
type FileProvider struct {
	path     string
	interval time.Duration
	log      *slog.Logger
	flags    atomic.Pointer[flagSet]
	events   chan openfeature.Event

	mu      sync.Mutex // guards started and stopped
	started bool
	stopped bool
	done    chan struct{}
	wg      sync.WaitGroup

	// Poller state, owned by the poller goroutine.
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
	_ openfeature.FeatureProvider = (*FileProvider)(nil)
	_ openfeature.StateHandler    = (*FileProvider)(nil)
	_ openfeature.EventHandler    = (*FileProvider)(nil)
)

// NewFileProvider reads and validates the flag-definition file at path. It
// returns an error if the file cannot be read or parsed, or an option is
// invalid. The file is watched only after Init (which the OpenFeature SDK
// calls when the provider is set); call Shutdown (the SDK does, on
// api.Shutdown) to stop watching.
func NewFileProvider(path string, opts ...FileOption) (*FileProvider, error) {
	p := &FileProvider{
		path:     path,
		interval: DefaultPollInterval,
		log:      slog.Default(),
		events:   make(chan openfeature.Event, 8),
		done:     make(chan struct{}),
	}
	for _, o := range opts {
		if err := o(p); err != nil {
			return nil, err
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
	p.flags.Store(fs)
	p.lastInfo, p.lastHash = fi, sha256.Sum256(data)
	return p, nil
}

// Metadata returns the provider's name, [FileProviderName].
func (p *FileProvider) Metadata() openfeature.Metadata {
	return openfeature.Metadata{Name: FileProviderName}
}

// Hooks returns no hooks.
func (p *FileProvider) Hooks() []openfeature.Hook { return nil }

// EventChannel returns the channel of provider events. The OpenFeature SDK
// drains it; a caller using the provider without the SDK must drain it too,
// or the watcher blocks until Shutdown. It is never closed.
func (p *FileProvider) EventChannel() <-chan openfeature.Event { return p.events }

// Init starts watching the file. It is idempotent and returns
// [ErrProviderShutdown] after Shutdown.
func (p *FileProvider) Init(openfeature.EvaluationContext) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return ErrProviderShutdown
	}
	if !p.started {
		p.started = true
		p.wg.Go(p.watch)
	}
	return nil
}

// Shutdown stops watching the file and waits for the watcher goroutine to
// exit. It is idempotent. The last flags stay available to evaluations.
func (p *FileProvider) Shutdown() {
	p.mu.Lock()
	if !p.stopped {
		p.stopped = true
		close(p.done)
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *FileProvider) watch() {
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
func (p *FileProvider) check() {
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
	prev := p.flags.Swap(fs)
	recovered := p.state != fileOK
	p.state, p.lastHash = fileOK, h
	changes := changedFlags(prev, fs)
	p.log.Info("toggle: flag file reloaded", "path", p.path, "flags_changed", changes)
	if recovered {
		p.emit(openfeature.ProviderReady, "flag file "+p.path+" is valid again", nil)
	}
	if len(changes) > 0 {
		p.emit(openfeature.ProviderConfigChange, "flag file "+p.path+" changed", changes)
	}
}

func (p *FileProvider) unreadable(err error) {
	p.lastInfo = nil
	if p.state == fileMissing {
		return
	}
	p.state = fileMissing
	p.log.Error("toggle: flag file is unreadable; keeping the previous flags", "path", p.path, "err", err)
	p.emit(openfeature.ProviderStale, fmt.Sprintf("flag file %s is unreadable (previous flags kept): %v", p.path, err), nil)
}

func (p *FileProvider) emit(t openfeature.EventType, msg string, changes []string) {
	ev := openfeature.Event{
		ProviderName: FileProviderName,
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

// BooleanEvaluation resolves a boolean flag.
func (p *FileProvider) BooleanEvaluation(_ context.Context, flag string, defaultValue bool, flat openfeature.FlattenedContext) openfeature.BoolResolutionDetail {
	v, d, ok := p.flags.Load().resolve(flag, flat)
	if ok {
		if b, isBool := v.(bool); isBool {
			return openfeature.BoolResolutionDetail{Value: b, ProviderResolutionDetail: d}
		}
		d = typeMismatch(d, "boolean", v)
	}
	return openfeature.BoolResolutionDetail{Value: defaultValue, ProviderResolutionDetail: d}
}

// StringEvaluation resolves a string flag.
func (p *FileProvider) StringEvaluation(_ context.Context, flag string, defaultValue string, flat openfeature.FlattenedContext) openfeature.StringResolutionDetail {
	v, d, ok := p.flags.Load().resolve(flag, flat)
	if ok {
		if s, isString := v.(string); isString {
			return openfeature.StringResolutionDetail{Value: s, ProviderResolutionDetail: d}
		}
		d = typeMismatch(d, "string", v)
	}
	return openfeature.StringResolutionDetail{Value: defaultValue, ProviderResolutionDetail: d}
}

// FloatEvaluation resolves a numeric flag as float64.
func (p *FileProvider) FloatEvaluation(_ context.Context, flag string, defaultValue float64, flat openfeature.FlattenedContext) openfeature.FloatResolutionDetail {
	v, d, ok := p.flags.Load().resolve(flag, flat)
	if ok {
		if f, isNum := v.(float64); isNum {
			return openfeature.FloatResolutionDetail{Value: f, ProviderResolutionDetail: d}
		}
		d = typeMismatch(d, "number", v)
	}
	return openfeature.FloatResolutionDetail{Value: defaultValue, ProviderResolutionDetail: d}
}

// IntEvaluation resolves a numeric flag whose value is an integer.
func (p *FileProvider) IntEvaluation(_ context.Context, flag string, defaultValue int64, flat openfeature.FlattenedContext) openfeature.IntResolutionDetail {
	v, d, ok := p.flags.Load().resolve(flag, flat)
	if ok {
		if f, isNum := v.(float64); isNum && f == math.Trunc(f) && math.Abs(f) <= 1<<53 {
			return openfeature.IntResolutionDetail{Value: int64(f), ProviderResolutionDetail: d}
		}
		d = typeMismatch(d, "integer", v)
	}
	return openfeature.IntResolutionDetail{Value: defaultValue, ProviderResolutionDetail: d}
}

// ObjectEvaluation resolves a flag of any type; the value is shared with the
// provider and must not be modified.
func (p *FileProvider) ObjectEvaluation(_ context.Context, flag string, defaultValue any, flat openfeature.FlattenedContext) openfeature.InterfaceResolutionDetail {
	v, d, ok := p.flags.Load().resolve(flag, flat)
	if !ok {
		v = defaultValue
	}
	return openfeature.InterfaceResolutionDetail{Value: v, ProviderResolutionDetail: d}
}

func typeMismatch(d openfeature.ProviderResolutionDetail, want string, got any) openfeature.ProviderResolutionDetail {
	d.ResolutionError = openfeature.NewTypeMismatchResolutionError(fmt.Sprintf("variant %q is %T, want %s", d.Variant, got, want))
	d.Reason = openfeature.ErrorReason
	d.Variant = ""
	return d
}
