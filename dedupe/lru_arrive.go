package dedupe

import (
	"hash/maphash"
	"time"
)

// bucketRecord holds the arrivals of one occurrence key whose times fall in
// one window-aligned interval (see [Arrival]), allocated in one piece with
// room for the first arrival: an occurrence delivered in one format needs
// no more, and its twin, when it comes, grows the slice once.
type bucketRecord struct {
	epoch    string // the epoch of the slots this record hands out
	last     int64  // the last slot handed out
	arrivals []arrival
	arr      [1]arrival
}

// arrival is one recorded arrival. Its side and member are kept as hashes
// (under the arrival namespace's seeds), like the store's keys: fixed size,
// and no string of the caller's kept alive by the record.
type arrival struct {
	side   uint64
	member lruKey
	at     int64  // occurrence time, Unix milliseconds
	epoch  string // the slot: its own record's epoch, or its twin's
	slot   int64
	paired bool
}

// newBucketRecord returns an empty record of epoch.
func newBucketRecord(epoch string) *bucketRecord {
	r := &bucketRecord{epoch: epoch}
	r.arrivals = r.arr[:0]
	return r
}

// arrive implements [Store.Arrive] on the records of the window-aligned
// intervals around a.At: the one holding it and its two neighbours, which
// hold every arrival at most a window away.
func (s *LRU) arrive(key string, a Arrival, now int64) Pairing {
	at, w := a.At.UnixMilli(), windowMillis(a.Window)
	b := floorDiv(at, w)
	h := s.key(true, key)
	side, member := maphash.String(s.seeds[1][0], a.Side), s.key(true, a.Member)
	var (
		keys [3]lruKey
		recs [3]*bucketRecord
	)
	for i := range keys {
		keys[i] = bucketKey(h, b-1+int64(i))
		if e, ok := s.get(keys[i], now); ok {
			recs[i] = e.arr
		}
	}
	var retry, best *arrival
	for _, r := range recs {
		if r == nil {
			continue
		}
		for j := range r.arrivals {
			x := &r.arrivals[j]
			switch {
			case abs(at-x.at) > w:
			case x.side == side:
				if x.member == member && nearer(at, x, retry) {
					retry = x
				}
			case !x.paired && nearer(at, x, best):
				best = x
			}
		}
	}
	if retry != nil { // rule 1
		return Pairing{Epoch: retry.epoch, Slot: retry.slot, Paired: retry.paired}
	}
	cur := recs[1]
	if cur != nil && a.Limit > 0 {
		n := 0
		for j := range cur.arrivals {
			if cur.arrivals[j].side == side {
				n++
			}
		}
		if n >= a.Limit { // rule 2
			return Pairing{}
		}
	}
	expires := now + ttlNanos(a.TTL) + ((b+1)*w-at)*int64(time.Millisecond)
	e := lruEntry{expires: expires}
	if cur == nil {
		cur = newBucketRecord(s.epochs.nextEpoch())
	} else if old, _ := s.cache.Peek(keys[1]); old.expires > expires {
		e.expires = old.expires
	}
	e.arr = cur
	x := arrival{side: side, member: member, at: at}
	if best != nil { // rule 3: its twin
		best.paired = true
		x.epoch, x.slot, x.paired = best.epoch, best.slot, true
	} else { // rule 4: a slot of its own
		cur.last++
		x.epoch, x.slot = cur.epoch, cur.last
	}
	cur.arrivals = append(cur.arrivals, x)
	s.put(keys[1], e, now)
	return Pairing{Epoch: x.epoch, Slot: x.slot, Paired: x.paired}
}

// nearer reports whether x is nearer to at than y (or y is nil); on a tie,
// whether x is earlier. Arrivals at one time are met in the order they
// were recorded, so the first recorded stays.
func nearer(at int64, x, y *arrival) bool {
	if y == nil {
		return true
	}
	dx, dy := abs(at-x.at), abs(at-y.at)
	return dx < dy || dx == dy && x.at < y.at
}

// bucketKey is the map key of the record of interval b of the occurrence
// key whose hashes are h: each half mixed with b (splitmix64's finalizer),
// so that records of one key never collide with each other.
func bucketKey(h lruKey, b int64) lruKey {
	return lruKey{mix(h[0] + uint64(b)*0x9e3779b97f4a7c15), mix(h[1] + uint64(b)*0x9e3779b97f4a7c15)}
}

func mix(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// windowMillis is the pairing window in whole milliseconds, rounded up, at
// least 1.
func windowMillis(w time.Duration) int64 {
	return max(1, int64((w+time.Millisecond-1)/time.Millisecond))
}

// floorDiv is a/b rounded down (b > 0).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

func abs(d int64) int64 {
	if d < 0 {
		return -d
	}
	return d
}
