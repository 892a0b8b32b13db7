package dedupe_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/codathook/codathook/dedupe"
)

// refStore is a trivially correct Store model: maps plus expiry times, no
// capacity bound, on the same clock as the LRU it is compared with.
type refStore struct {
	now     func() time.Time
	claims  map[string]refClaim
	records map[string]map[int64]*refBucket // key -> interval -> record
	nextRec int
	seq     int
}

type refClaim struct {
	state   dedupe.State
	expires time.Time
}

// refBucket holds a key's arrivals in one window-aligned interval, as the
// contract allows a store to keep them: they expire together.
type refBucket struct {
	id       int
	last     int
	arrivals []*refArrival
	expires  time.Time
}

type refArrival struct {
	side, member string
	at           int64
	slot         refSlot
	paired       bool
	seq          int // order of recording
}

type refSlot struct{ rec, n int }

func newRef(now func() time.Time) *refStore {
	return &refStore{now: now, claims: map[string]refClaim{}, records: map[string]map[int64]*refBucket{}}
}

func (r *refStore) live(key string) (refClaim, bool) {
	c, ok := r.claims[key]
	if !ok || !r.now().Before(c.expires) {
		return refClaim{}, false
	}
	return c, true
}

func (r *refStore) Claim(key string, ttl time.Duration) dedupe.State {
	if c, ok := r.live(key); ok {
		return c.state
	}
	r.claims[key] = refClaim{dedupe.Pending, r.now().Add(ttl)}
	return dedupe.Claimed
}

func (r *refStore) Commit(key string, ttl time.Duration) {
	r.claims[key] = refClaim{dedupe.Done, r.now().Add(ttl)}
}

func (r *refStore) Release(key string) {
	if c, ok := r.live(key); ok && c.state == dedupe.Pending {
		delete(r.claims, key)
	}
}

// Arrive applies the contract's rules literally, looking at every live
// arrival of the key (the LRU looks at three intervals only).
func (r *refStore) Arrive(key string, a dedupe.Arrival) (slot refSlot, paired, recorded bool) {
	at := a.At.UnixMilli()
	w := int64((a.Window + time.Millisecond - 1) / time.Millisecond)
	b := at / w // at >= 0 here
	recs := r.records[key]
	if recs == nil {
		recs = map[int64]*refBucket{}
		r.records[key] = recs
	}
	// better reports whether x beats y: nearer, then earlier, then
	// recorded first (within one record, arrivals are in record order).
	better := func(x, y *refArrival) bool {
		if y == nil {
			return true
		}
		dx, dy := max(at-x.at, x.at-at), max(at-y.at, y.at-at)
		return dx < dy || dx == dy && (x.at < y.at || x.at == y.at && x.seq < y.seq)
	}
	var retry, best *refArrival
	for i, rec := range recs {
		if !r.now().Before(rec.expires) {
			delete(recs, i)
			continue
		}
		for _, x := range rec.arrivals {
			switch {
			case max(at-x.at, x.at-at) > w:
			case x.side == a.Side:
				if x.member == a.Member && better(x, retry) {
					retry = x
				}
			case !x.paired && better(x, best):
				best = x
			}
		}
	}
	if retry != nil {
		return retry.slot, retry.paired, true
	}
	cur := recs[b]
	if cur != nil {
		n := 0
		for _, x := range cur.arrivals {
			if x.side == a.Side {
				n++
			}
		}
		if n >= a.Limit {
			return refSlot{}, false, false
		}
	}
	expires := r.now().Add(a.TTL + time.Duration((b+1)*w-at)*time.Millisecond)
	if cur == nil {
		r.nextRec++
		cur = &refBucket{id: r.nextRec, expires: expires}
		recs[b] = cur
	} else if expires.After(cur.expires) {
		cur.expires = expires
	}
	r.seq++
	x := &refArrival{side: a.Side, member: a.Member, at: at, seq: r.seq}
	if best != nil {
		best.paired = true
		x.slot, x.paired = best.slot, true
	} else {
		cur.last++
		x.slot = refSlot{cur.id, cur.last}
	}
	cur.arrivals = append(cur.arrivals, x)
	return x.slot, x.paired, true
}

// Sequences of operations are drawn from small sets: keys, sides, members,
// TTLs and occurrence times around interval boundaries of a 5 s window.
var (
	refKeys    = []string{"a", "b", "c", "", "é"}
	refSides   = []string{"legacy", "new"}
	refMembers = []string{"m1", "m2", "m3", "m4"}
	refTTLs    = []time.Duration{time.Second, 5 * time.Second, time.Minute}
	refBase    = time.Date(2025, 1, 10, 12, 0, 0, 0, time.UTC)
	refAts     = []time.Duration{0, time.Millisecond, 2 * time.Second, 4999 * time.Millisecond, 5 * time.Second, 7 * time.Second, 10 * time.Second, 10001 * time.Millisecond, 16 * time.Second}
)

// TestLRUMatchesReference runs random operation sequences against the LRU
// and the reference model and requires identical results. Slot values
// differ between the two, so slots are compared by identity: a fresh
// reference slot must be a fresh LRU slot, and a repeated one the same.
func TestLRUMatchesReference(t *testing.T) {
	t.Parallel()
	for seed := range uint64(300) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, 0x5eed))
			matchReference(t, 400, func(n int) (int, bool) { return rng.IntN(n), true })
		})
	}
}

// FuzzLRUMatchesReference is TestLRUMatchesReference with the sequence
// drawn from the fuzzer's bytes.
func FuzzLRUMatchesReference(f *testing.F) {
	f.Add([]byte{4, 0, 0, 0, 0, 0, 4, 0, 1, 1, 0, 1, 5, 3, 4, 0, 0, 0, 4, 6})
	f.Add([]byte("\x04\x01\x00\x01\x02\x03\x04\x02\x01\x00\x02\x04\x04\x01\x00\x00\x03\x05\x05\x04\x04\x01\x00\x00\x03\x05"))
	f.Fuzz(func(t *testing.T, data []byte) {
		matchReference(t, len(data), func(n int) (int, bool) {
			if len(data) == 0 {
				return 0, false
			}
			b := data[0]
			data = data[1:]
			return int(b) % n, true
		})
	})
}

// matchReference runs up to ops operations, each drawn with pick (which
// returns false when it has nothing left), against an LRU and the
// reference model, and fails at the first difference.
func matchReference(t *testing.T, ops int, pick func(n int) (int, bool)) {
	t.Helper()
	clk := newClock()
	lru := dedupe.NewLRU(dedupe.LRUConfig{Capacity: 1 << 16, Now: clk.Now})
	t.Cleanup(func() { _ = lru.Close(context.Background()) })
	ref := newRef(clk.Now)
	slotMap := map[refSlot][2]any{} // reference slot -> LRU slot
	seenLRU := map[[2]any]bool{}
	ctx := t.Context()
	var trace []string
	fail := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("REFTRACE") != "" {
			t.Log(strings.Join(trace, "\n"))
		}
		t.Fatalf("after %d ops (last: %v): "+format, append([]any{len(trace), trace[max(0, len(trace)-8):]}, args...)...)
	}
	ok := true
	draw := func(n int) int {
		i, more := pick(n)
		ok = ok && more
		return i
	}
	for range ops {
		k := refKeys[draw(len(refKeys))]
		ttl := refTTLs[draw(len(refTTLs))]
		op := draw(6)
		if !ok {
			return
		}
		switch op {
		case 0, 1:
			trace = append(trace, fmt.Sprintf("Claim(%q,%v)", k, ttl))
			got, err := lru.Claim(ctx, k, ttl)
			if err != nil {
				fail("Claim error: %v", err)
			}
			if want := ref.Claim(k, ttl); got != want {
				fail("Claim(%q) = %v, reference says %v", k, got, want)
			}
		case 2:
			trace = append(trace, fmt.Sprintf("Commit(%q,%v)", k, ttl))
			if err := lru.Commit(ctx, k, ttl); err != nil {
				fail("Commit error: %v", err)
			}
			ref.Commit(k, ttl)
		case 3:
			trace = append(trace, fmt.Sprintf("Release(%q)", k))
			if err := lru.Release(ctx, k); err != nil {
				fail("Release error: %v", err)
			}
			ref.Release(k)
		case 4:
			side, m := refSides[draw(len(refSides))], refMembers[draw(len(refMembers))]
			a := dedupe.Arrival{Side: side, Member: m, At: refBase.Add(refAts[draw(len(refAts))]), Window: 5 * time.Second, TTL: ttl, Limit: 3}
			trace = append(trace, fmt.Sprintf("Arrive(%q,%s,%s,%v,%v)", k, side, m, a.At.Sub(refBase), ttl))
			got, err := lru.Arrive(ctx, k, a)
			if err != nil {
				fail("Arrive error: %v", err)
			}
			want, paired, recorded := ref.Arrive(k, a)
			if !recorded {
				if got != (dedupe.Pairing{}) {
					fail("Arrive = %+v, want the zero Pairing (over the limit)", got)
				}
				break
			}
			if got.Paired != paired {
				fail("Arrive Paired = %v, reference says %v", got.Paired, paired)
			}
			gs := [2]any{got.Epoch, got.Slot}
			if mapped, ok := slotMap[want]; ok {
				if gs != mapped {
					fail("Arrive slot = %v, want %v (the reference's slot %v)", gs, mapped, want)
				}
			} else {
				if seenLRU[gs] {
					fail("Arrive slot = %v, reused although the reference made a new slot", gs)
				}
				slotMap[want] = gs
				seenLRU[gs] = true
			}
		case 5:
			// Coarse steps land exactly on expiry boundaries often.
			steps := []time.Duration{0, 500 * time.Millisecond, time.Second, 2 * time.Second, 5 * time.Second, time.Minute}
			d := steps[draw(len(steps))]
			trace = append(trace, fmt.Sprintf("Advance(%v)", d))
			clk.Advance(d)
		}
	}
}
