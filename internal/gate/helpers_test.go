package gate_test

import (
	"bytes"
	"cmp"
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"
	"github.com/open-feature/go-sdk/openfeature/memprovider"
)

// boolFlag is an enabled boolean flag serving on (true) or off (false).
func boolFlag(on bool) memprovider.InMemoryFlag {
	v := "off"
	if on {
		v = "on"
	}
	return memprovider.InMemoryFlag{
		State:          memprovider.Enabled,
		DefaultVariant: v,
		Variants:       map[string]any{"on": true, "off": false},
	}
}

// newMemClient binds a fresh memprovider to a fresh isolated API and returns
// a client; the API is shut down when the test ends.
func newMemClient(t testing.TB, flags map[string]memprovider.InMemoryFlag) (*openfeature.Client, *memprovider.InMemoryProvider) {
	t.Helper()
	api := isolated.NewAPI()
	p := memprovider.NewInMemoryProvider(flags)
	if err := api.SetProviderAndWait(context.Background(), p); err != nil {
		t.Fatalf("SetProviderAndWait: %v", err)
	}
	t.Cleanup(func() {
		if err := api.Shutdown(context.Background()); err != nil {
			t.Errorf("api.Shutdown: %v", err)
		}
	})
	return api.NewClient(), p
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newLogger() (*slog.Logger, *syncBuffer) {
	b := &syncBuffer{}
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// fakeClient is a Client and EventSource whose answers the test controls.
type fakeClient struct {
	value    atomic.Bool
	reason   openfeature.Reason // of the answers without eval; "" = STATIC
	calls    atomic.Int64
	eval     func(ctx context.Context, flag string, def bool, ec openfeature.EvaluationContext) (openfeature.BooleanEvaluationDetails, error)
	mu       sync.Mutex
	handlers map[openfeature.EventType][]openfeature.EventCallback
}

func (f *fakeClient) BooleanValueDetails(ctx context.Context, flag string, def bool, ec openfeature.EvaluationContext, _ ...openfeature.Option) (openfeature.BooleanEvaluationDetails, error) {
	f.calls.Add(1)
	if f.eval != nil {
		return f.eval(ctx, flag, def, ec)
	}
	d := openfeature.BooleanEvaluationDetails{Value: f.value.Load()}
	d.Reason = cmp.Or(f.reason, openfeature.StaticReason)
	return d, nil
}

func (f *fakeClient) AddHandler(t openfeature.EventType, cb openfeature.EventCallback) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.handlers == nil {
		f.handlers = map[openfeature.EventType][]openfeature.EventCallback{}
	}
	f.handlers[t] = append(f.handlers[t], cb)
}

func (f *fakeClient) RemoveHandler(t openfeature.EventType, cb openfeature.EventCallback) {
	f.mu.Lock()
	defer f.mu.Unlock()
	hs := f.handlers[t]
	for i, h := range hs {
		if h == cb {
			f.handlers[t] = append(hs[:i:i], hs[i+1:]...)
			return
		}
	}
}

func (f *fakeClient) handlerCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, hs := range f.handlers {
		n += len(hs)
	}
	return n
}

// fire runs every handler for t synchronously.
func (f *fakeClient) fire(t openfeature.EventType) {
	f.mu.Lock()
	hs := append([]openfeature.EventCallback(nil), f.handlers[t]...)
	f.mu.Unlock()
	for _, h := range hs {
		(*h)(openfeature.EventDetails{ProviderName: "fake"})
	}
}

// waitFor polls cond until it holds or 5s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// hungProvider is an OpenFeature provider whose boolean evaluations block
// until unblock is called, ignoring their context, as a provider stuck on a
// dead connection does. It then answers true, with the reason reason
// (TARGETING_MATCH unless set).
type hungProvider struct {
	openfeature.NoopProvider
	reason  openfeature.Reason
	release chan struct{}
	once    sync.Once
	calls   atomic.Int64
}

func (p *hungProvider) Metadata() openfeature.Metadata { return openfeature.Metadata{Name: "hung"} }

func (p *hungProvider) BooleanEvaluation(context.Context, string, bool, openfeature.FlattenedContext) openfeature.BoolResolutionDetail {
	p.calls.Add(1)
	<-p.release
	return openfeature.BoolResolutionDetail{Value: true, ProviderResolutionDetail: openfeature.ProviderResolutionDetail{
		Reason: cmp.Or(p.reason, openfeature.TargetingMatchReason), Variant: "on",
	}}
}

// unblock releases every evaluation, present and future. It is idempotent.
func (p *hungProvider) unblock() { p.once.Do(func() { close(p.release) }) }

// newHungClient binds a fresh hungProvider to a fresh isolated API. When the
// test ends the provider is unblocked and the API shut down.
func newHungClient(t testing.TB) (*openfeature.Client, *hungProvider) {
	t.Helper()
	api := isolated.NewAPI()
	p := &hungProvider{release: make(chan struct{})}
	if err := api.SetProviderAndWait(context.Background(), p); err != nil {
		t.Fatalf("SetProviderAndWait: %v", err)
	}
	t.Cleanup(func() {
		p.unblock()
		if err := api.Shutdown(context.Background()); err != nil {
			t.Errorf("api.Shutdown: %v", err)
		}
	})
	return api.NewClient(), p
}
