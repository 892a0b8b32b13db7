package codathook

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

func TestFlightGroupSharesAndBoundsWaits(t *testing.T) {
	var g flightGroup
	started, release := make(chan struct{}), make(chan struct{})
	leaderDone := make(chan outcome)
	go func() {
		res, leader := g.do("k", time.Second, func() outcome {
			close(started)
			<-release
			return outcome{result: ResultProcessed}
		})
		if !leader {
			t.Error("first caller is not the leader")
		}
		leaderDone <- res
	}()
	<-started

	// A waiter with time left shares the leader's outcome.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if res, leader := g.do("k", 5*time.Second, func() outcome { t.Error("waiter ran fn"); return outcome{} }); leader || res.result != ResultProcessed {
			t.Errorf("waiter: %v leader=%v, want the leader's processed", res.result, leader)
		}
	}()
	// Another key is independent.
	if res, leader := g.do("other", time.Second, func() outcome { return outcome{result: ResultSkipped} }); !leader || res.result != ResultSkipped {
		t.Errorf("other key: %v leader=%v", res.result, leader)
	}
	waitForWaiter(t, &g, "k")
	// A waiter with a short wait gives up: in flight.
	if res, leader := g.do("k", 10*time.Millisecond, func() outcome { t.Error("waiter ran fn"); return outcome{} }); leader || res.result != ResultInFlight {
		t.Errorf("impatient waiter: %v leader=%v, want in_flight", res.result, leader)
	}
	close(release)
	wg.Wait()
	if res := <-leaderDone; res.result != ResultProcessed {
		t.Errorf("leader: %v", res.result)
	}
	if len(g.m) != 0 {
		t.Errorf("%d calls left in the group", len(g.m))
	}
}

func TestFlightGroupLeaderGoexit(t *testing.T) {
	var g flightGroup
	started, release := make(chan struct{}), make(chan struct{})
	go func() {
		g.do("k", time.Second, func() outcome {
			close(started)
			<-release
			runtime.Goexit()
			return outcome{}
		})
	}()
	<-started
	got := make(chan outcome)
	go func() {
		// A wait far longer than the test: in_flight must come from the
		// leader's exit, not from the waiter giving up.
		res, _ := g.do("k", time.Hour, func() outcome { return outcome{} })
		got <- res
	}()
	waitForWaiter(t, &g, "k")
	close(release)
	select {
	case res := <-got:
		if res.result != ResultInFlight {
			t.Errorf("waiter of a leader that exited: %v, want in_flight", res.result)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiter was not released when its leader exited")
	}
}

// waitForWaiter returns once a call for key has a waiter.
func waitForWaiter(t *testing.T, g *flightGroup, key string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		g.mu.Lock()
		c := g.m[key]
		waiting := c != nil && c.done != nil
		g.mu.Unlock()
		if waiting {
			time.Sleep(5 * time.Millisecond) // from registering to blocking in select
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no waiter in 5s")
		}
		time.Sleep(time.Millisecond)
	}
}
