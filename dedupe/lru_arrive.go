package dedupe

import (
	"hash/maphash"
	"time"
)

// bucketRecord holds the arrivals of one occurrence key whose times fall in
// one window-aligned interval (see [Arrival]), allocated in one piece with
// room for the first arrival: an occurrence delivered in one format needs
// no more, and its twin, when it comes, grows the slice once. The records
// of one key are one entry of the store, a list from the latest interval
// to the earliest, so that an arrival finds its interval and both
// neighbours with one lookup; the entry weighs as many units of the
// store's capacity as it holds arrivals.
type bucketRecord struct {
	interval int64 // the arrivals' times, floor-divided by the window
	expires  int64 // a fixed time after the interval ends (see arrive)
	next     *bucketRecord
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

// arrive implements [Store.Arrive] on the records of the window-aligned
// intervals around a.At: the one holding it and its two neighbours, which
// hold every arrival at most a window away.
func (s *LRU) arrive(key string, a Arrival, now int64) Pairing {
	at, w := a.At.UnixMilli(), windowMillis(a.Window)
	b := floorDiv(at, w)
	h := s.key(true, key)
	side, member := maphash.String(s.seeds[1][0], a.Side), s.key(true, a.Member)
	var (
		head   *bucketRecord
		recs   [3]*bucketRecord // intervals b-1, b and b+1
		weight int32            // arrivals held by the live records
		pruned bool
	)
	e, ok, slot := s.lookup(h, now)
	if ok {
		// Walk the key's records, latest first, dropping expired ones: the
		// whole list, since a key that keeps arriving keeps its entry alive
		// and its old records must expire all the same.
		head = e.arr
		link := &head
		for r := head; r != nil; r = r.next {
			if r.expires <= now {
				*link, pruned = r.next, true
				continue
			}
			if b-1 <= r.interval && r.interval <= b+1 {
				recs[r.interval-(b-1)] = r
			}
			weight += int32(len(r.arrivals))
			link = &r.next
		}
	}
	// keep stores the pruned list when the arrival is not recorded.
	keep := func() {
		if pruned {
			s.put(h, lruEntry{expires: e.expires, arr: head, weight: weight}, now)
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
		keep()
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
			keep()
			return Pairing{}
		}
	}
	expires := now + ttlNanos(a.TTL) + ((b+1)*w-at)*int64(time.Millisecond)
	if cur == nil {
		cur = &bucketRecord{interval: b, epoch: s.epochs.nextEpoch()}
		cur.arrivals = cur.arr[:0]
		head = insertRecord(head, cur)
	}
	cur.expires = max(cur.expires, expires)
	x := arrival{side: side, member: member, at: at}
	if best != nil { // rule 3: its twin
		best.paired = true
		x.epoch, x.slot, x.paired = best.epoch, best.slot, true
	} else { // rule 4: a slot of its own
		cur.last++
		x.epoch, x.slot = cur.epoch, cur.last
	}
	cur.arrivals = append(cur.arrivals, x)
	s.putAt(h, lruEntry{expires: max(e.expires, cur.expires), arr: head, weight: weight + 1}, now, slot)
	return Pairing{Epoch: x.epoch, Slot: x.slot, Paired: x.paired}
}

// insertRecord inserts r into the list head, latest interval first, and
// returns the list.
func insertRecord(head, r *bucketRecord) *bucketRecord {
	link := &head
	for *link != nil && (*link).interval > r.interval {
		link = &(*link).next
	}
	r.next = *link
	*link = r
	return head
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
