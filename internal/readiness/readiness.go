// Package readiness keeps the receiver's migration ledger: for each
// occurrence a delivery settled (processed, a duplicate of its twin, or
// skipped by a flag), whether its twin in the other format arrived within
// the pairing window. It is fed by internal/deduper, which knows each
// occurrence's slot (the identity two twins share), and read by the
// receiver's Migration report.
//
// Accounting, per event type and side (format):
//
//   - Seen: the occurrence's first settled arrival on that side (a retry or
//     replay of the same arrival is the same ID and side, and is not counted
//     again while the ID is tracked);
//   - Twinned: its slot was shared with an arrival of the other side, known
//     from the store's answer at arrival, from the other side's report in
//     this process, or, for a shared store, from the store when the window
//     closed ([Ledger.Sweep] re-asks it);
//   - Unmatched: none of these by the time the window closed, which is
//     Window plus Grace after the first report (a twin that arrives later
//     still deduplicates, and counts as Twinned on its own side);
//   - Skipped: the arrival's endpoint had its flag off.
//
// Counts are kept per hour of the first report, for the last
// [Hours] hours, and as totals since the ledger started.
package readiness

import (
	"context"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"time"
)

// Sides: a report's Side indexes [Counts] arrays.
const (
	SideLegacy = 0
	SideNew    = 1
)

// Hours is how many hourly buckets a type keeps: the look-back is the
// current hour and the 24 before it.
const Hours = 25

// MaxTracked bounds the occurrences whose window is open; a report beyond
// it is counted in Untracked and not tracked.
const MaxTracked = 1 << 16

// MaxTypes bounds the event types kept; reports of further types are
// counted under "other".
const MaxTypes = 256

// ID names one occurrence: its arrival key and the slot its twins share.
type ID struct {
	Occ   string
	Epoch string
	Slot  int64
}

// Report is one settled arrival of one occurrence.
type Report struct {
	ID      ID
	Type    string
	Side    int
	Member  string    // the arrival's member, for the store's re-check
	At      time.Time // the arrival's occurrence time, for the re-check
	Paired  bool      // the store said the slot was shared
	Skipped bool      // the endpoint's flag was off
}

// Counts are one side's arrivals of one type.
type Counts struct {
	Seen, Twinned, Unmatched, Skipped uint64
	// Last is when the side's last arrival was reported, LastUnmatched
	// when its last arrival was found unmatched, LastSkipped when its last
	// skipped arrival was reported (zero when never).
	Last, LastUnmatched, LastSkipped time.Time
}

// Open is how many of the side's arrivals still wait for their window to close.
func (c Counts) Open() uint64 { return c.Seen - c.Twinned - c.Unmatched }

// Type is one event type's counts.
type Type struct {
	Name string
	// Recent covers the look-back (the current hour and the 24 before);
	// Total everything since the ledger started.
	Recent, Total [2]Counts
}

// Snapshot is the ledger at one time.
type Snapshot struct {
	Start, At time.Time
	Types     []Type // sorted by name
	// Untracked counts the reports not tracked (over MaxTracked) in the
	// look-back; UntrackedTotal since the ledger started.
	Untracked, UntrackedTotal uint64
}

// Recheck asks the store, for each item, whether the arrival is paired now,
// setting paired[i]; it reports false for an item it could not ask about.
type Recheck func(ctx context.Context, now time.Time, items []Report, paired []bool) []bool

// Ledger is safe for concurrent use.
//
// Its tracked entries hold no pointers (an ID is kept as a 64-bit hash,
// a type as an index), so that a ledger at its bound costs the garbage
// collector nothing to scan; only a ledger that re-checks a shared store
// keeps each entry's arrival key and member.
type Ledger struct {
	close time.Duration // window + grace
	start time.Time
	seed  maphash.Seed
	keep  bool // keep what a Recheck needs

	mu             sync.Mutex
	entries        map[uint64]int32 // ID hash -> index into queue
	queue          []entry          // by deadline; queue[head:] are live
	asks           []ask            // queue's arrival keys and members, when keep
	head           int
	types          map[string]uint16
	typeList       []*typeStats
	untracked      [Hours]bucket // reports not tracked, per hour (in seen)
	untrackedTotal uint64
	sweepMu        sync.Mutex // held by a running Sweep
}

// entry is one tracked occurrence: 48 bytes, plus its map slot.
type entry struct {
	id       uint64   // hash of the ID
	at       int64    // the first report's At, Unix nanoseconds
	deadline int64    // Unix nanoseconds
	hour     [2]int32 // each side's report hour (Unix hours)
	typ      uint16   // index into typeList
	side     uint8    // the first report's side
	present  [2]bool  // the side reported
	resolved [2]bool  // the side was counted Twinned or Unmatched
	paired   bool
	late     bool // the other side came after the deadline: the first side is unmatched
}

// ask is what a Recheck needs of an entry besides its side and time.
type ask struct {
	occ, member string
}

type typeStats struct {
	name  string
	hours [2][Hours]bucket
	total [2]Counts
}

type bucket struct {
	hour                              int64 // Unix hour; the bucket is empty unless it matches
	seen, twinned, unmatched, skipped uint64
}

// New returns a ledger, started at start, that closes an occurrence's
// window window+grace after its first report. keep makes it keep what a
// [Recheck] needs (for a shared store). The ledger reads no clock: its
// callers pass the time.
func New(window, grace time.Duration, start time.Time, keep bool) *Ledger {
	return &Ledger{
		close:   window + grace,
		start:   start,
		seed:    maphash.MakeSeed(),
		keep:    keep,
		entries: make(map[uint64]int32),
		types:   make(map[string]uint16),
	}
}

// Record accounts for rs, one delivery's reports (of one event type),
// settled at now.
func (l *Ledger) Record(now time.Time, rs ...Report) {
	if len(rs) == 0 {
		return
	}
	hour := now.Unix() / 3600
	l.mu.Lock()
	defer l.mu.Unlock()
	ti := l.typeOf(rs[0].Type)
	for i := range rs {
		if i > 0 && rs[i].Type != rs[0].Type {
			ti = l.typeOf(rs[i].Type)
		}
		l.record(&rs[i], l.hash(rs[i].ID), ti, now, hour)
	}
}

// hash is the entry key of id. Two IDs with one hash (about one chance in
// 2^64 per pair) would be counted as one occurrence.
func (l *Ledger) hash(id ID) uint64 {
	h := maphash.String(l.seed, id.Occ)
	h ^= (maphash.String(l.seed, id.Epoch) + uint64(id.Slot)) * 0x9e3779b97f4a7c15
	return h
}

func (l *Ledger) record(r *Report, id uint64, ti uint16, now time.Time, hour int64) {
	if i, ok := l.entries[id]; ok {
		e := &l.queue[i]
		ts := l.typeList[e.typ]
		switch {
		case e.present[r.Side]:
			// The same arrival again (a retry or replay).
			if r.Paired && !e.resolved[r.Side] && now.UnixNano() < e.deadline {
				e.paired = true
				l.resolve(e, r.Side, true, now)
			}
		default:
			// The twin: it is twinned on its own side; the first side is
			// twinned only if its window is still open, else it is
			// unmatched when the sweep closes the entry (the twin came
			// late).
			e.present[r.Side], e.hour[r.Side] = true, int32(hour)
			l.seen(ts, r.Side, hour, r.Skipped, now)
			l.resolve(e, r.Side, true, now)
			if now.UnixNano() >= e.deadline {
				e.late = true
				return
			}
			e.paired = true
			if o := 1 - r.Side; e.present[o] && !e.resolved[o] {
				l.resolve(e, o, true, now)
			}
		}
		return
	}
	if len(l.queue)-l.head >= MaxTracked {
		b := &l.untracked[hour%Hours]
		if b.hour != hour {
			*b = bucket{hour: hour}
		}
		b.seen++
		l.untrackedTotal++
		return
	}
	e := entry{id: id, typ: ti, at: r.At.UnixNano(), deadline: now.Add(l.close).UnixNano(),
		side: uint8(r.Side), paired: r.Paired}
	e.present[r.Side], e.hour[r.Side] = true, int32(hour)
	l.seen(l.typeList[ti], r.Side, hour, r.Skipped, now)
	if r.Paired {
		l.resolve(&e, r.Side, true, now)
	}
	l.entries[id] = int32(len(l.queue))
	l.queue = append(l.queue, e)
	if l.keep {
		l.asks = append(l.asks, ask{occ: r.ID.Occ, member: r.Member})
	}
}

// typeOf returns the index of name's stats, creating them (or "other"
// past MaxTypes).
func (l *Ledger) typeOf(name string) uint16 {
	if i, ok := l.types[name]; ok {
		return i
	}
	if len(l.types) >= MaxTypes {
		name = "other"
		if i, ok := l.types[name]; ok {
			return i
		}
	}
	ts := &typeStats{name: strings.Clone(name)}
	i := uint16(len(l.typeList))
	l.typeList = append(l.typeList, ts)
	l.types[ts.name] = i
	return i
}

// bucket returns ts's bucket of side for hour, emptying a stale one.
func (ts *typeStats) bucket(side int, hour int64) *bucket {
	b := &ts.hours[side][hour%Hours]
	if b.hour != hour {
		*b = bucket{hour: hour}
	}
	return b
}

func (l *Ledger) seen(ts *typeStats, side int, hour int64, skipped bool, now time.Time) {
	b := ts.bucket(side, hour)
	b.seen++
	ts.total[side].Seen++
	ts.total[side].Last = now
	if skipped {
		b.skipped++
		ts.total[side].Skipped++
		ts.total[side].LastSkipped = now
	}
}

// resolve counts e's arrival on side as Twinned or Unmatched.
func (l *Ledger) resolve(e *entry, side int, twinned bool, now time.Time) {
	if e.resolved[side] {
		return
	}
	e.resolved[side] = true
	ts := l.typeList[e.typ]
	h := int64(e.hour[side])
	b := &ts.hours[side][h%Hours]
	if b.hour != h {
		// The arrival's hour left the look-back (a window longer than it).
		b = &bucket{}
	}
	if twinned {
		b.twinned++
		ts.total[side].Twinned++
		return
	}
	b.unmatched++
	ts.total[side].Unmatched++
	ts.total[side].LastUnmatched = now
}

// Due reports whether an occurrence's window has closed at t, so that a
// Sweep has work.
func (l *Ledger) Due(t time.Time) bool {
	now := t.UnixNano()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.head < len(l.queue) && l.queue[l.head].deadline <= now
}

// Sweep closes the windows that are due at now. An arrival still unpaired is
// asked about through recheck (when not nil) before it is counted
// Unmatched. Sweeps do not overlap: with wait, Sweep waits for a running
// one to end (so that what it closed is counted when Sweep returns);
// without, it returns at once.
func (l *Ledger) Sweep(ctx context.Context, now time.Time, recheck Recheck, wait bool) {
	if wait {
		l.sweepMu.Lock()
	} else if !l.sweepMu.TryLock() {
		return
	}
	defer l.sweepMu.Unlock()
	l.mu.Lock()
	// Windows that closed paired (or with nothing to ask) are counted at
	// once; the others wait for the store's answer, outside the lock.
	var due []entry
	var items []Report
	for l.head < len(l.queue) && l.queue[l.head].deadline <= now.UnixNano() {
		e := &l.queue[l.head]
		if e.late {
			e.paired = false // the first side's twin came after its deadline
		}
		if !e.paired && !e.late && recheck != nil && l.keep {
			due = append(due, *e)
			items = append(items, Report{ID: ID{Occ: l.asks[l.head].occ}, Side: int(e.side), Member: l.asks[l.head].member, At: time.Unix(0, e.at)})
		} else {
			l.close1(e, now)
		}
		if l.keep {
			l.asks[l.head] = ask{}
		}
		delete(l.entries, e.id)
		l.head++
	}
	if l.head > len(l.queue)/2 {
		// Compact: the live entries move to the front.
		n := copy(l.queue, l.queue[l.head:])
		l.queue = l.queue[:n]
		if l.keep {
			copy(l.asks, l.asks[l.head:])
			clear(l.asks[n:])
			l.asks = l.asks[:n]
		}
		for i := range l.queue {
			l.entries[l.queue[i].id] = int32(i)
		}
		l.head = 0
	}
	if len(due) == 0 {
		l.mu.Unlock()
		return
	}
	l.mu.Unlock()

	paired := recheck(ctx, now, items, make([]bool, len(items)))

	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range due {
		due[i].paired = paired[i]
		l.close1(&due[i], now)
	}
}

// close1 counts each side of e, whose window closed at now.
func (l *Ledger) close1(e *entry, now time.Time) {
	for side := range e.present {
		if e.present[side] {
			l.resolve(e, side, e.paired, now)
		}
	}
}

// Snapshot returns the ledger's counts at now.
func (l *Ledger) Snapshot(now time.Time) Snapshot {
	oldest := now.Unix()/3600 - (Hours - 1)
	l.mu.Lock()
	defer l.mu.Unlock()
	s := Snapshot{Start: l.start, At: now, UntrackedTotal: l.untrackedTotal, Types: make([]Type, 0, len(l.typeList))}
	for _, b := range l.untracked {
		if b.hour >= oldest && b.hour <= now.Unix()/3600 {
			s.Untracked += b.seen
		}
	}
	for _, ts := range l.typeList {
		t := Type{Name: ts.name, Total: ts.total}
		for side := range ts.hours {
			r := &t.Recent[side]
			for _, b := range ts.hours[side] {
				if b.hour >= oldest && b.hour <= now.Unix()/3600 {
					r.Seen += b.seen
					r.Twinned += b.twinned
					r.Unmatched += b.unmatched
					r.Skipped += b.skipped
				}
			}
			if !ts.total[side].Last.IsZero() && ts.total[side].Last.Unix()/3600 >= oldest {
				r.Last = ts.total[side].Last
			}
			if !ts.total[side].LastUnmatched.IsZero() && ts.total[side].LastUnmatched.Unix()/3600 >= oldest {
				r.LastUnmatched = ts.total[side].LastUnmatched
			}
			if !ts.total[side].LastSkipped.IsZero() && ts.total[side].LastSkipped.Unix()/3600 >= oldest {
				r.LastSkipped = ts.total[side].LastSkipped
			}
		}
		s.Types = append(s.Types, t)
	}
	slices.SortFunc(s.Types, func(a, b Type) int { return strings.Compare(a.Name, b.Name) })
	return s
}
