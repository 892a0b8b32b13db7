package codathook

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

type testKey struct{}

func TestCallbackCtxLikeWithTimeout(t *testing.T) {
	parent := context.WithValue(context.Background(), testKey{}, "v")
	del := &Delivery{ID: "msg:1"}
	deadline := time.Now().Add(time.Hour)
	c := newCallbackCtx(parent, deadline, del)

	if d, ok := c.Deadline(); !ok || !d.Equal(deadline) {
		t.Errorf("Deadline = %v, %v", d, ok)
	}
	if got, _ := DeliveryFromContext(c); got != del {
		t.Errorf("DeliveryFromContext = %v, want the delivery", got)
	}
	if c.Value(testKey{}) != "v" {
		t.Error("the request context's values are not visible")
	}
	if c.Err() != nil {
		t.Fatalf("Err before cancel = %v", c.Err())
	}
	select {
	case <-c.Done():
		t.Fatal("Done closed before cancel")
	default:
	}

	// Derived contexts attach without a goroutine each.
	before := runtime.NumGoroutine()
	child, cancelChild := context.WithCancel(c)
	defer cancelChild()
	timed, cancelTimed := context.WithTimeout(c, 2*time.Hour)
	defer cancelTimed()
	var ran atomic.Int32
	ranCh := make(chan struct{})
	context.AfterFunc(c, func() { ran.Add(1); close(ranCh) })
	stopped := context.AfterFunc(c, func() { ran.Add(100) })
	if !stopped() {
		t.Error("stop of a pending AfterFunc = false, want true")
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("deriving started %d goroutines, want none", n-before)
	}
	if d, _ := timed.Deadline(); !d.Equal(deadline) {
		t.Errorf("derived WithTimeout deadline = %v, want the parent's earlier %v", d, deadline)
	}

	c.cancel(context.DeadlineExceeded)
	c.cancel(context.Canceled) // the first cancel wins
	<-c.Done()
	if !errors.Is(c.Err(), context.DeadlineExceeded) || !errors.Is(context.Cause(c), context.DeadlineExceeded) {
		t.Errorf("Err = %v, Cause = %v; want DeadlineExceeded", c.Err(), context.Cause(c))
	}
	for name, d := range map[string]context.Context{"WithCancel": child, "WithTimeout": timed} {
		select {
		case <-d.Done():
		case <-time.After(5 * time.Second):
			t.Fatalf("derived %s not cancelled", name)
		}
		if !errors.Is(d.Err(), context.DeadlineExceeded) {
			t.Errorf("derived %s Err = %v, want DeadlineExceeded", name, d.Err())
		}
	}
	<-ranCh
	if got := ran.Load(); got != 1 {
		t.Errorf("AfterFunc runs = %d, want the registered one once and the stopped one never", got)
	}
	// Registering after cancellation runs at once; Done stays closed.
	late := make(chan struct{})
	if context.AfterFunc(c, func() { close(late) })() {
		t.Error("stop after cancellation = true")
	}
	<-late
	<-c.Done()
}

func TestCallbackCtxDoneAfterCancel(t *testing.T) {
	c := newCallbackCtx(context.Background(), time.Now(), nil)
	c.cancel(context.Canceled)
	select {
	case <-c.Done():
	default:
		t.Fatal("Done of a cancelled context is not closed")
	}
	if !errors.Is(c.Err(), context.Canceled) {
		t.Errorf("Err = %v", c.Err())
	}
}
