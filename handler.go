package codathook

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/codathook/codathook/normalize"
)

// On registers fn as the callback for the event types that pattern names.
//
// pattern is an event type ("connection.connected"), a legacy-only stable
// name ("AccountCategoriesUpdated"), or a dotted pattern in which "*" stands
// for exactly one segment ("*.write.successful", "connection.*"), except that
// a final "*" stands for one or more segments ("reports.*") and a lone "*"
// matches every event.
//
// T must be the Go type that the matched event types are delivered as (for
// example *ConnectionEvent for "connection.*", *WriteEvent for
// "*.write.successful"), or *Event, which receives any event with its raw
// body and typed value. On returns an error, and registers nothing, when
// pattern is malformed, already registered, matches event types of other
// Go types than T, or matches no event type this version knows, whatever
// T: a typo ("conection.*", "invocies.write.successful") is caught here,
// with the nearest known name or pattern in the message, instead of
// sending every such event to the fallback. Declare event types newer than
// this version with [WithNewerEventTypes] to register them. Messages name
// types as this package exports them (*codathook.ConnectionEvent).
//
// Each delivery runs at most one callback: an exact name wins over patterns,
// a pattern with more literal characters over one with fewer, and between
// equals the earlier registration. Events with no callback go to the
// fallback (see [WithFallback]). On is safe to call while the receiver
// serves; deliveries see the new callback from the next request on.
func On[T any](r *Receiver, pattern string, fn func(ctx context.Context, ev T) error) error {
	if r == nil {
		return errors.New("codathook: On with nil receiver")
	}
	if fn == nil {
		return fmt.Errorf("codathook: On(%q) with nil callback", pattern)
	}
	if err := validatePattern(pattern); err != nil {
		return err
	}
	t := reflect.TypeFor[T]()
	generic := t == reflect.TypeFor[*normalize.Event]()
	if err := r.checkPattern(pattern, t); err != nil {
		return err
	}
	cb := &callback{pattern: pattern, wildcard: strings.Contains(pattern, "*"), literal: len(strings.ReplaceAll(pattern, "*", ""))}
	if generic {
		cb.call = func(ctx context.Context, ev *normalize.Event) (bool, error) {
			return true, fn(ctx, any(ev).(T))
		}
	} else {
		cb.call = func(ctx context.Context, ev *normalize.Event) (bool, error) {
			v, ok := ev.Typed.(T)
			if !ok {
				return false, nil
			}
			return true, fn(ctx, v)
		}
	}
	return r.register(cb)
}

// callback is one registration.
type callback struct {
	pattern  string
	wildcard bool
	literal  int
	seq      int
	// call runs the callback; handled is false when the event's typed value
	// is not of the callback's type (a pattern matched an event type of
	// another family that this version did not know at registration).
	call func(ctx context.Context, ev *normalize.Event) (handled bool, err error)
}

// registry is immutable once published; registration copies it.
type registry struct {
	exact    map[string]*callback
	patterns []*callback // most specific first
	seq      int
}

func (r *Receiver) register(cb *callback) error {
	r.regMu.Lock()
	defer r.regMu.Unlock()
	old := r.reg.Load()
	next := &registry{exact: make(map[string]*callback, len(old.exact)+1), seq: old.seq + 1}
	for k, v := range old.exact {
		next.exact[k] = v
	}
	next.patterns = append(next.patterns, old.patterns...)
	if _, dup := old.exact[cb.pattern]; dup {
		return fmt.Errorf("codathook: a callback for %q is already registered", cb.pattern)
	}
	for _, p := range old.patterns {
		if p.pattern == cb.pattern {
			return fmt.Errorf("codathook: a callback for %q is already registered", cb.pattern)
		}
	}
	cb.seq = next.seq
	if cb.wildcard {
		next.patterns = append(next.patterns, cb)
		sort.SliceStable(next.patterns, func(i, j int) bool {
			a, b := next.patterns[i], next.patterns[j]
			if a.literal != b.literal {
				return a.literal > b.literal
			}
			return a.seq < b.seq
		})
	} else {
		next.exact[cb.pattern] = cb
	}
	r.reg.Store(next)
	return nil
}

// dispatch runs the callback registered for ev, or the fallback.
func (r *Receiver) dispatch(ctx context.Context, ev *normalize.Event) error {
	reg := r.reg.Load()
	if cb, ok := reg.exact[ev.Type]; ok {
		if handled, err := cb.call(ctx, ev); handled {
			return err
		}
	}
	if ev.Type != "" {
		for _, cb := range reg.patterns {
			if !matchPattern(cb.pattern, ev.Type) {
				continue
			}
			if handled, err := cb.call(ctx, ev); handled {
				return err
			}
		}
	}
	return r.cfg.fallback(ctx, ev)
}

func validatePattern(p string) error {
	if p == "" {
		return errors.New("codathook: empty event type pattern")
	}
	if p == "*" {
		return nil
	}
	for _, seg := range strings.Split(p, ".") {
		if seg == "" {
			return fmt.Errorf("codathook: pattern %q has an empty segment", p)
		}
		if strings.Contains(seg, "*") && seg != "*" {
			return fmt.Errorf("codathook: pattern %q: \"*\" must be a whole segment", p)
		}
	}
	return nil
}

// matchPattern reports whether eventType matches pattern (see [On]).
func matchPattern(pattern, eventType string) bool {
	if pattern == "*" {
		return true
	}
	if !strings.Contains(pattern, "*") {
		return pattern == eventType
	}
	for {
		pseg, prest, pmore := strings.Cut(pattern, ".")
		eseg, erest, emore := strings.Cut(eventType, ".")
		if pseg == "*" && !pmore {
			return eseg != "" // final "*": one or more segments
		}
		if pseg != "*" && pseg != eseg {
			return false
		}
		if pseg == "*" && eseg == "" {
			return false
		}
		if !pmore || !emore {
			return pmore == emore
		}
		pattern, eventType = prest, erest
	}
}

// checkPattern verifies that pattern matches an event type this version
// knows or [WithNewerEventTypes] declared, and that every one it matches is
// delivered as t (any type is delivered as *Event).
func (r *Receiver) checkPattern(pattern string, t reflect.Type) error {
	generic := t == reflect.TypeFor[*normalize.Event]()
	names := append(normalize.EventTypes(), r.cfg.newerTypes...)
	matched := 0
	for _, name := range names {
		if !matchPattern(pattern, name) {
			continue
		}
		matched++
		if generic {
			continue
		}
		want, ok := normalize.GoType(name)
		if !ok {
			// A declared newer type: delivered as *Event, with no typed value.
			if name == pattern {
				return fmt.Errorf("codathook: %q is newer than this version, which delivers it as %s only: register %s for it",
					pattern, typeName(reflect.TypeFor[*normalize.Event]()), typeName(reflect.TypeFor[*normalize.Event]()))
			}
			continue
		}
		if want != t {
			return fmt.Errorf("codathook: %q delivers %s, not %s (register %s to receive several families)",
				name, typeName(want), typeName(t), typeName(reflect.TypeFor[*normalize.Event]()))
		}
	}
	if matched == 0 {
		return unknownPattern(pattern, names)
	}
	// A pattern that matches a write type of a data type this version does
	// not list matches a listed one too, so its Go type was checked.
	return nil
}
