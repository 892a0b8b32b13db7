package dedupe

import (
	"context"
	"fmt"
	"hash/maphash"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/codathook/codathook/internal/monotime"
)

// defaultCapacity is the number of entries [NewLRU] uses when given a
// capacity <= 0: room for about 100,000 deliveries, at four entries each
// (delivery key, event id, recorded arrival, slot; twins share the slot),
// which is about 49 deliveries a minute, sustained, over the 34-hour
// retention. A delivery pushed out before its retention ends is forgotten:
// its retry, or its twin, is processed again ([LRU.LiveEvictions] counts
// such evictions; the receiver's Stats reports them).
const defaultCapacity = 400_000

// defaultCapacityMemory bounds the heap a full store of defaultCapacity
// entries holds under sustained churn: go -C bench run ./cmd/memory pushes
// 1,000,000 unique deliveries through a receiver with the default store and
// measured 45.9 MiB of live heap growth once the store was full (100,000
// deliveries, about 481 B each, the receiver's own state included).
// TestLRUMemoryPerEntry measures a claim at about 69 B and an occurrence
// record with one arrival at about 153 B.
const defaultCapacityMemory = 64 << 20

// LRUConfig configures [NewLRU]. The zero value selects every default.
type LRUConfig struct {
	// Capacity is the most entries the store holds, counting each claim
	// and each recorded arrival as one. The default, 400,000 entries,
	// holds about 100,000 deliveries and at most 64 MiB of heap
	// (docs/BENCHMARKS.md has the measurement).
	Capacity int
	// Now is the clock the store reads to compute and check expiry. The
	// default is the monotonic clock (expiry unaffected by steps of the wall
	// clock). Tests use it to move time without sleeping.
	Now func() time.Time
	// Logger reports evictions of entries that had not expired yet
	// (default slog.Default()).
	Logger *slog.Logger
}

// LRU is the in-memory [Store]: a bounded least-recently-used map whose
// values carry their own expiry time, under one mutex. It is safe for
// concurrent use; every method runs under the mutex, so each is atomic. It
// is also a [BatchStore] (a batch takes the mutex and reads the clock once)
// and can [LRU.Peek]. Its index and its recency list hold no pointers (an
// open-addressing table of node indexes, and nodes linked by index in one
// slice, an evicted entry's node reused), so a full store gives the
// garbage collector almost nothing to scan, an insert allocates nothing,
// and a lookup of a new key reads one cache line of the index.
//
// Keys are held as two independent 64-bit hashes (hash/maphash, with seeds
// drawn per store, a pair per namespace) rather than as strings: fixed-size
// keys make the index cheaper to probe and leave the garbage collector no
// key strings to trace.
// Two distinct keys collide only if both 64-bit hashes agree, with
// probability 2^-128 per pair: for a full default store of 100,000 entries
// looked up a billion times, about 10^-25.
//
// Expiry is lazy: an expired entry is ignored (and dropped) when a method
// next touches it, or evicted as the least recently used entry. No goroutine
// is started, so an LRU needs no Close to avoid leaks (Close still stops it).
//
// The store holds at most capacity entries, counting each claim key and
// each recorded arrival as one. When it is full, inserting a new key (or an
// arrival) evicts the least recently used keys until it fits. Evicting an
// entry that had not expired yet forgets a claim, a commit or a pairing
// record early, which can let a duplicate through; such evictions are
// counted ([LRU.LiveEvictions]) and logged at Warn level (at most once per
// [EvictionWarnInterval]). Size the capacity above the number of distinct
// deliveries (times about four: delivery, event id, arrival and slot)
// expected within the retention.
//
// An occurrence key's arrivals are kept in one record per window-aligned
// interval of the pairing window (see [Arrival]), and the records of one
// key in one entry, so that an Arrive finds its interval and both
// neighbours with one lookup. A record holds at most Limit arrivals per
// side and expires whole, a fixed time after its interval ends; since
// every arrival counts against the capacity, one hot key costs bounded
// records, never a record that grows, and never more than the capacity.
// docs/BENCHMARKS.md has the measured cost of an entry and of a record.
//
// An LRU is local to one process: several replicas need a shared store such
// as the redisstore module.
type LRU struct {
	mu       sync.Mutex
	cache    *lruTable
	seeds    [2][2]maphash.Seed // [claim or arrival namespace][half]
	capacity int
	now      func() int64 // Unix nanoseconds
	logger   *slog.Logger
	epochs   epochs // guarded by mu

	// While mu is held: the time of the current operation, and whether it
	// is inserting (so that onEvict reports capacity evictions only, not
	// removals).
	opNow     int64
	inserting bool
	lastWarn  int64 // opNow of the last eviction warning

	closed        atomic.Bool
	liveEvictions atomic.Uint64
}

var (
	_ BatchStore = (*LRU)(nil)
)

// lruKey is a key string's two hashes. Claim keys and arrival keys are
// separate namespaces: each is hashed under its own pair of seeds.
type lruKey [2]uint64

// key returns the index key of the claim or arrival key k.
func (s *LRU) key(arrival bool, k string) lruKey {
	seeds := &s.seeds[0]
	if arrival {
		seeds = &s.seeds[1]
	}
	return lruKey{maphash.String(seeds[0], k), maphash.String(seeds[1], k)}
}

// slotKey is s.key(false, slotKey(prefix, p)), assembled on the stack.
func (s *LRU) slotKey(prefix string, p Pairing) lruKey {
	var buf [256]byte
	b := append(append(append(buf[:0], prefix...), p.Epoch...), '#')
	b = strconv.AppendInt(b, p.Slot, 10)
	return lruKey{maphash.Bytes(s.seeds[0][0], b), maphash.Bytes(s.seeds[0][1], b)}
}

type lruEntry struct {
	expires int64         // Unix nanoseconds from the store's clock
	state   State         // claim keys: Pending or Done
	arr     *bucketRecord // arrival keys: the records, latest interval first
	weight  int32         // arrival keys: the arrivals recorded (claims weigh 1)
}

// epochChunk is how many epochs are formatted, and allocated, at once.
const epochChunk = 64

// epochs hands out the LRU's epochs: distinct base-36 numbers, cut from a
// string formatted epochChunk at a time, so a new arrival record costs no
// allocation of its own for its epoch. (A record keeps its chunk alive:
// under a kilobyte, shared by up to 64 records.) Guarded by LRU.mu.
type epochs struct {
	last  int64  // last number formatted
	chunk string // epochChunk numbers, back to back
	ends  [epochChunk]uint16
	next  int // index in chunk of the next epoch to hand out
}

// nextEpoch returns a new epoch.
func (e *epochs) nextEpoch() string {
	if e.chunk == "" || e.next == epochChunk {
		b := make([]byte, 0, epochChunk*8)
		for i := range e.ends {
			e.last++
			b = strconv.AppendInt(b, e.last, 36)
			e.ends[i] = uint16(len(b))
		}
		e.chunk, e.next = string(b), 0
	}
	start := 0
	if e.next > 0 {
		start = int(e.ends[e.next-1])
	}
	ep := e.chunk[start:e.ends[e.next]]
	e.next++
	return ep
}

// NewLRU returns an in-memory store configured by cfg.
func NewLRU(cfg LRUConfig) *LRU {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	capacity := cfg.Capacity
	if capacity <= 0 {
		capacity = defaultCapacity
	}
	s := &LRU{capacity: capacity, now: monotime.Of(cfg.Now), logger: cfg.Logger,
		seeds: [2][2]maphash.Seed{{maphash.MakeSeed(), maphash.MakeSeed()}, {maphash.MakeSeed(), maphash.MakeSeed()}}}
	s.cache = newLRUTable(capacity, s.onEvict)
	return s
}

// onEvict is the cache's eviction callback, run with mu held. It counts
// and logs entries evicted for room before they expired.
func (s *LRU) onEvict(k lruKey, e lruEntry) {
	if !s.inserting || e.expires <= s.opNow {
		return
	}
	n := s.liveEvictions.Add(1)
	// Log the first such eviction and then one per EvictionWarnInterval,
	// with the running count: under sustained overload every insert evicts.
	if s.lastWarn != 0 && s.opNow-s.lastWarn < int64(evictionWarnInterval) {
		return
	}
	s.lastWarn = s.opNow
	s.logger.Warn("dedupe: LRU evicted an entry before it expired; a duplicate may be processed. Size the capacity at about 4 entries per delivery received within the retention (34 hours by default), or use a shared store",
		slog.Int("capacity", s.capacity),
		slog.Int("deliveries_held", s.capacity/4),
		slog.Bool("arrival", e.arr != nil),
		slog.Duration("remaining", time.Duration(e.expires-s.opNow)),
		slog.Uint64("live_evictions_total", n))
}

// evictionWarnInterval is the least time between two warnings about entries
// evicted before they expired; [LRU.LiveEvictions] counts every one.
const evictionWarnInterval = time.Minute

// LiveEvictions reports how many entries were evicted for lack of capacity
// before they expired. Each one may have let a duplicate through; a growing
// count means the capacity is too small for the traffic.
func (s *LRU) LiveEvictions() uint64 { return s.liveEvictions.Load() }

// Len reports the number of entries held, counting each claim and each
// recorded arrival as one (as the capacity does), including expired ones
// that have not been dropped yet.
func (s *LRU) Len() int { return s.cache.Len() }

// get returns the live entry for k; it drops an expired one. Call with mu held.
func (s *LRU) get(k lruKey, now int64) (lruEntry, bool) {
	e, ok := s.cache.Get(k)
	if !ok {
		return lruEntry{}, false
	}
	if e.expires <= now {
		s.cache.Remove(k)
		return lruEntry{}, false
	}
	return e, true
}

// lookup is get, and when k is not held (ok false), the index slot
// [LRU.putAt] can insert it in until the table next changes; -1 when the
// lookup itself changed it (dropping an expired entry).
func (s *LRU) lookup(k lruKey, now int64) (e lruEntry, ok bool, slot int) {
	i, slot, ok := s.cache.Find(k)
	switch {
	case !ok:
		return lruEntry{}, false, slot
	case s.cache.nodes[i].expires <= now:
		s.cache.Remove(k)
		return lruEntry{}, false, -1
	}
	s.cache.toFront(i)
	return s.cache.entry(i), true, -1
}

// put stores e under k; the cache evicts the least recently used entry
// when it is full (see onEvict). Call with mu held.
func (s *LRU) put(k lruKey, e lruEntry, now int64) { s.putAt(k, e, now, -1) }

// putAt is put with the index slot of an absent k from [LRU.lookup] (-1:
// not known), which spares the index a second probe.
func (s *LRU) putAt(k lruKey, e lruEntry, now int64, slot int) {
	s.opNow, s.inserting = now, true
	if slot >= 0 {
		s.cache.AddAt(k, e, slot)
	} else {
		s.cache.Add(k, e)
	}
	s.inserting = false
}

func ttlNanos(ttl time.Duration) int64 {
	if ttl <= 0 {
		return 1
	}
	return int64(ttl)
}

// Claim implements [Store.Claim].
func (s *LRU) Claim(ctx context.Context, key string, ttl time.Duration) (State, error) {
	o := s.one(ctx, Op{Kind: OpClaim, Key: key, TTL: ttl})
	return o.State, o.Err
}

// Commit implements [Store.Commit].
func (s *LRU) Commit(ctx context.Context, key string, ttl time.Duration) error {
	return s.one(ctx, Op{Kind: OpCommit, Key: key, TTL: ttl}).Err
}

// Release implements [Store.Release].
func (s *LRU) Release(ctx context.Context, key string) error {
	return s.one(ctx, Op{Kind: OpRelease, Key: key}).Err
}

// Arrive implements [Store.Arrive].
func (s *LRU) Arrive(ctx context.Context, key string, a Arrival) (Pairing, error) {
	o := s.one(ctx, Op{Kind: OpArrive, Key: key, Arrival: a})
	return o.Pairing, o.Err
}

// one runs o as a batch of one.
func (s *LRU) one(ctx context.Context, o Op) Op {
	ops := [1]Op{o}
	_ = s.Do(ctx, ops[:])
	return ops[0]
}

// Peek returns key's state without changing it or its recency: Pending,
// Done, or 0 when the key is absent or expired. The receiver uses it to
// recognise a retry of a processed delivery from its delivery key alone,
// before parsing the body; a networked store offers no such method, since
// every new delivery would pay one more round trip.
func (s *LRU) Peek(_ context.Context, key string) (State, error) {
	k := s.key(false, key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return 0, ErrClosed
	}
	if e, ok := s.cache.Peek(k); ok && e.expires > s.now() {
		return e.state, nil
	}
	return 0, nil
}

// Do implements [BatchStore.Do]: the whole batch runs, in order, under the
// store's mutex with one reading of its clock. After Close it sets every op's Err
// to [ErrClosed] and returns ErrClosed.
func (s *LRU) Do(_ context.Context, ops []Op) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		for i := range ops {
			ops[i].Err = ErrClosed
		}
		return ErrClosed
	}
	now := s.now()
	stopped := false
	for i := range ops {
		o := &ops[i]
		o.Err = nil
		if stopped {
			o.Err = ErrNotRun
			continue
		}
		switch o.Kind {
		case OpClaim:
			o.State = s.claim(s.key(false, o.Key), o.TTL, now)
			stopped = o.Gate && o.State != Claimed
		case OpCommit:
			s.commit(s.key(false, o.Key), o.TTL, now)
		case OpRelease:
			s.release(s.key(false, o.Key))
		case OpArrive:
			o.Pairing = s.arrive(o.Key, o.Arrival, now)
			o.State = 0
			if o.SlotPrefix != "" && o.Pairing.Epoch != "" {
				o.State = s.claim(s.slotKey(o.SlotPrefix, o.Pairing), o.TTL, now)
			}
		default:
			o.Err = fmt.Errorf("dedupe: unknown op kind %d", o.Kind)
		}
	}
	return nil
}

// The operations themselves; call with mu held and the store open.

func (s *LRU) claim(k lruKey, ttl time.Duration, now int64) State {
	e := lruEntry{expires: now + ttlNanos(ttl), state: Pending}
	i, slot, ok := s.cache.Find(k)
	switch {
	case !ok: // a new key, inserted without probing the index again
		s.opNow, s.inserting = now, true
		s.cache.AddAt(k, e, slot)
		s.inserting = false
	case s.cache.nodes[i].expires > now:
		s.cache.toFront(i)
		return State(s.cache.nodes[i].state)
	default: // expired: replaced, as a new claim
		s.put(k, e, now)
	}
	return Claimed
}

func (s *LRU) commit(k lruKey, ttl time.Duration, now int64) {
	s.put(k, lruEntry{expires: now + ttlNanos(ttl), state: Done}, now)
}

func (s *LRU) release(k lruKey) {
	if e, ok := s.cache.Peek(k); ok && e.state == Pending {
		s.cache.Remove(k)
	}
}

// Close stops the store and drops its entries. It is idempotent; afterwards
// every method returns [ErrClosed].
func (s *LRU) Close(_ context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.CompareAndSwap(false, true) {
		s.cache.Purge()
	}
	return nil
}
