package bench

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"

	svix "github.com/svix/svix-webhooks/go"
)

// BaselineA is what a team writes with svix-go: io.ReadAll, svix-go's
// Verify, and encoding/json into the typed struct of the body's shape, then
// a typed callback. The shape is known in advance (legacy rows decode into
// [LegacyAlert], the others into [ReadCompleted]): one decode, no envelope
// pass, no dedupe, no flags. That favours the baseline.
type BaselineA struct {
	wh     *svix.Webhook
	legacy bool
	// Calls counts the callback's runs.
	Calls atomic.Int64
}

// NewBaselineA returns baseline A for deliveries of kind k.
func NewBaselineA(k Kind) (*BaselineA, error) {
	wh, err := svix.NewWebhook(Secret)
	if err != nil {
		return nil, err
	}
	return &BaselineA{wh: wh, legacy: k == Legacy}, nil
}

func (a *BaselineA) onReadCompleted(ev *ReadCompleted) error {
	if len(ev.Payload.DataTypes) == 0 {
		return errors.New("bench: read.completed without dataTypes")
	}
	a.Calls.Add(1)
	return nil
}

func (a *BaselineA) onLegacy(ev *LegacyAlert) error {
	if ev.AlertID == "" {
		return errors.New("bench: legacy alert without AlertId")
	}
	a.Calls.Add(1)
	return nil
}

// ServeHTTP verifies, decodes and calls back, answering 204, 401, 400 or 500.
func (a *BaselineA) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if err := a.wh.Verify(body, r.Header); err != nil {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if a.legacy {
		var ev LegacyAlert
		if err := json.Unmarshal(body, &ev); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		err = a.onLegacy(&ev)
	} else {
		var ev ReadCompleted
		if err := json.Unmarshal(body, &ev); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		err = a.onReadCompleted(&ev)
	}
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// BaselineB is the receiver a team writes by hand: io.ReadAll, svix-go's
// Verify, json.Unmarshal into map[string]any, and a sync.Map of seen message
// ids (never pruned), then a callback on the map.
type BaselineB struct {
	wh   *svix.Webhook
	seen sync.Map
	// Calls counts the callback's runs.
	Calls atomic.Int64
}

// NewBaselineB returns a fresh baseline B.
func NewBaselineB() (*BaselineB, error) {
	wh, err := svix.NewWebhook(Secret)
	if err != nil {
		return nil, err
	}
	return &BaselineB{wh: wh}, nil
}

func (h *BaselineB) handle(ev map[string]any) error {
	typ, _ := ev["eventType"].(string)
	if typ == "" {
		typ, _ = ev["RuleType"].(string)
	}
	if typ == "" {
		return errors.New("bench: no event type")
	}
	h.Calls.Add(1)
	return nil
}

// ServeHTTP verifies, decodes, deduplicates on the message id and calls
// back, answering 204, 401, 400 or 500.
func (h *BaselineB) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if err := h.wh.Verify(body, r.Header); err != nil {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var ev map[string]any
	if err := json.Unmarshal(body, &ev); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	id := r.Header.Get("webhook-id")
	if id == "" {
		id = r.Header.Get("svix-id")
	}
	if _, dup := h.seen.LoadOrStore(id, struct{}{}); dup {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if err := h.handle(ev); err != nil {
		h.seen.Delete(id)
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
