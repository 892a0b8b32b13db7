package soak

import (
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/codathook/codathook"
)

// The readiness report (rcv.Migration, docs/MIGRATION.md "The readiness
// report") checked against what the simulation knows happened: every
// replica's report must be true of its own deliveries, and the replicas'
// counts must add up to the simulation's (migration_readiness_check_test.go).
//
// The model. Each replica's ledger gets one report per side (format) of an
// occurrence that a delivery settled on that replica: the first 2xx answer
// processed, duplicate or skipped there (a failed or in-flight attempt
// reports nothing; the simulation never retries a 2xx). Data sync completed
// and Dataset data changed of one dataset are one arrival, so one report per
// replica; a side that settles on the replica again after its window closed
// would be counted again, which needs a settle at least Window + Grace -
// burstSpan after the occurrence (again below: a slack of one, not seen in
// practice). A new delivery whose generatedDate is older than Window plus the
// default Retention records no arrival and reports nothing.
//
// A report's window closes Window + Grace (ledgerClose) after it, at the
// replica's next read of its report: the simulation reads every report
// before an instant at which a window has come due (scrape), so a window
// closes before any later delivery.
// For an occurrence alone in its cluster (see migration_check_test.go) a
// side is then unmatched exactly when the other side's first recorded
// arrival, at any replica, came at or after the close (dropped, absent, or a
// new delivery that first reached us late); else twinned, by the store's
// answer, by the re-check of a shared store, or by the twin's report on the
// same replica; and it is open until then unless the twin had arrived before
// it, or a later report on the same replica resolved it (the twin's, or its
// other legacy delivery's once the store had the twin). In a cluster of several
// occurrences the matcher chooses which arrivals pair: each report may be
// either, and the cluster has at least as many unmatched reports of a side as
// it has reported occurrences of that side beyond the other side's arrivals.
//
// One deviation from "counted once": the two legacy deliveries of one
// dataset that settle on two replicas are counted by both (splits), so the
// replicas' Seen sum to the distinct occurrences plus the splits.

const (
	// ledgerClose is when the ledger closes a report's pairing window after
	// it: Window plus internal/deduper.Grace.
	ledgerClose = pairingWindow + 5*time.Minute + 10*time.Second
	// arrivalLife is the age (since generatedDate) from which a new delivery
	// records no arrival: Window plus dedupe's default Retention.
	arrivalLife = pairingWindow + 34*time.Hour
	// settleAfter is how long after the last attempt the last reports are
	// read: every window has closed.
	settleAfter = 16 * time.Minute
)

// Sides, as the report's Legacy and New counts.
const (
	sideLegacy = iota
	sideNew
)

var sideNames = [2]string{formatLegacy, formatNew}

// read is every replica's report at one time: before an instant's attempts,
// or at a stage's end (full reports, for the step checks and the log).
type read struct {
	at    time.Time
	stage int // the stage that ended, or -1
	reps  []replicaRead
	full  []codathook.Migration
}

// replicaRead is what the checks need of one report.
type replicaRead struct {
	total, recent [2]codathook.OccurrenceCounts // summed over the types
	legacyOnly    []string
	steps         []string // the statuses
	start         time.Time
	completeSince time.Time
	untracked     uint64
}

func readOf(mg codathook.Migration) replicaRead {
	rr := replicaRead{start: mg.Start, completeSince: mg.CompleteSince, untracked: mg.Untracked}
	add := func(a *codathook.OccurrenceCounts, b codathook.OccurrenceCounts) {
		a.Seen += b.Seen
		a.Twinned += b.Twinned
		a.Unmatched += b.Unmatched
		a.Open += b.Open
		a.Skipped += b.Skipped
	}
	for _, tm := range mg.Types {
		if tm.LegacyOnly {
			rr.legacyOnly = append(rr.legacyOnly, tm.EventType)
		}
		add(&rr.total[sideLegacy], tm.LegacyTotal)
		add(&rr.total[sideNew], tm.NewTotal)
		add(&rr.recent[sideLegacy], tm.Legacy)
		add(&rr.recent[sideNew], tm.New)
	}
	for _, s := range mg.Steps {
		rr.steps = append(rr.steps, s.Status)
	}
	return rr
}

// scrape reads every replica's report before an instant's attempts when a
// pairing window has come due, as a metrics adapter does at each scrape
// (every 15 s with Prometheus): a read closes the windows that are due, so
// each closes before the next delivery, and no delivery finds one due (none
// starts a background sweep). Without reads a window closes at the replica's
// first delivery after it is due, and a twin that arrived in between counts
// as twinned. (A read when no window is due changes nothing: skipping it
// keeps the long simulation's time in check.)
func (m *migration) scrape() {
	now, n := m.clock.Now(), 0
	for n < len(m.due) && !m.due[n].After(now) {
		n++
	}
	if n > 0 {
		m.due = m.due[n:]
		m.readAll(-1)
	}
}

// opened notes the windows that the deliveries settled at at opened: a 2xx
// answer reports to the ledger, whose window closes ledgerClose later.
func (m *migration) opened(at time.Time, answers []reply) {
	for i := range answers {
		if answers[i].ok() {
			m.due = append(m.due, at.Add(ledgerClose))
			return
		}
	}
}

// stagesEnd reads every replica's report at the end of each stage from m.cur
// to before stage i; the last stage's at least settleAfter after the last
// attempt.
func (m *migration) stagesEnd(i int) {
	for j := m.cur; j < i; j++ {
		at := m.steps[j].end
		if j == len(m.steps)-1 {
			at = maxTime(at, m.clock.Now().Add(settleAfter))
		}
		m.clock.Set(at)
		m.readAll(j)
	}
}

func (m *migration) readAll(stage int) {
	r := read{at: m.clock.Now(), stage: stage, reps: make([]replicaRead, len(m.rcvs)), full: make([]codathook.Migration, len(m.rcvs))}
	var wg sync.WaitGroup
	for i, rcv := range m.rcvs {
		wg.Go(func() {
			r.full[i] = rcv.Migration(m.t.Context())
			r.reps[i] = readOf(r.full[i])
		})
	}
	wg.Wait()
	if stage < 0 {
		r.full = nil
	}
	m.reads = append(m.reads, r)
}

// ledgerReport is one report a replica's ledger must have received.
type ledgerReport struct {
	o        *occ
	side     int
	replica  int
	at       time.Time // the first settle of the side on the replica
	skipped  bool      // answered skipped
	twinAt   time.Time // the other side's first recorded arrival (zero: none)
	resolved time.Time // a later report on the replica that may resolve it before its window closes (zero: none)
	bursty   bool      // the occurrence's cluster has several occurrences
	again    bool      // settled on the replica again, late enough to be counted twice
}

func (r ledgerReport) closed(t time.Time) bool { return !r.at.Add(ledgerClose).After(t) }

// unmatched reports whether an occurrence alone in its cluster is unmatched
// once its window closed.
func (r ledgerReport) unmatched() bool {
	return r.twinAt.IsZero() || !r.twinAt.Before(r.at.Add(ledgerClose))
}

// open reports whether an occurrence alone in its cluster, reported before
// t, is surely open at t.
func (r ledgerReport) open(t time.Time) bool {
	return !r.bursty && !r.again && !r.closed(t) && (r.twinAt.IsZero() || r.twinAt.After(r.at)) &&
		(r.resolved.IsZero() || !r.resolved.Before(t))
}

// recordable reports whether an attempt of side at t records an arrival.
func recordable(side int, o *occ, t time.Time) bool {
	return side == sideLegacy || t.Sub(o.at) < arrivalLife
}

// truth is what the ledgers must say, derived from the simulation.
type truth struct {
	reports  []ledgerReport        // by time
	arrived  map[*occ][2]time.Time // each side's first recorded arrival
	clusters []*cluster
	reads    []time.Time // when the reports were read: when windows close
}

func (m *migration) truth() *truth {
	tr := &truth{arrived: map[*occ][2]time.Time{}, clusters: m.clusters()}
	for _, r := range m.reads {
		tr.reads = append(tr.reads, r.at)
	}
	bursty := map[*occ]bool{}
	for _, c := range tr.clusters {
		for _, o := range c.occs {
			bursty[o] = len(c.occs) > 1
		}
	}
	type settle struct {
		at      time.Time
		skipped bool
	}
	for _, o := range m.occs {
		ds := [2][]*delivery{o.legacy, nil}
		if o.newD != nil {
			ds[sideNew] = []*delivery{o.newD}
		}
		var first [2]time.Time
		settles := [2]map[int][]settle{{}, {}}
		for side := range ds {
			for _, d := range ds[side] {
				if d.dropped || len(d.answers) == 0 {
					continue
				}
				if a := d.answers[0].at; recordable(side, o, a) && (first[side].IsZero() || a.Before(first[side])) {
					first[side] = a
				}
				if f := d.final; f.ok() && recordable(side, o, f.at) {
					settles[side][f.replica] = append(settles[side][f.replica], settle{f.at, f.result == codathook.ResultSkipped})
				}
			}
		}
		tr.arrived[o] = first
		for side := range settles {
			for rep, ss := range settles[side] {
				slices.SortFunc(ss, func(a, b settle) int { return a.at.Compare(b.at) })
				r := ledgerReport{o: o, side: side, replica: rep, at: ss[0].at, skipped: ss[0].skipped,
					twinAt: first[1-side], bursty: bursty[o], again: ss[len(ss)-1].at.Sub(o.at) >= ledgerClose-burstSpan}
				// The twin's report on the replica resolves it, and so does
				// a second settle of its side (its other legacy delivery)
				// once the twin has arrived: the store says it is paired.
				if other := settles[1-side][rep]; len(other) > 0 {
					r.resolved = slices.MinFunc(other, func(a, b settle) int { return a.at.Compare(b.at) }).at
				}
				for _, s := range ss[1:] {
					if !r.twinAt.IsZero() && !s.at.Before(r.twinAt) && (r.resolved.IsZero() || s.at.Before(r.resolved)) {
						r.resolved = s.at
						break
					}
				}
				tr.reports = append(tr.reports, r)
			}
		}
	}
	slices.SortStableFunc(tr.reports, func(a, b ledgerReport) int { return a.at.Compare(b.at) })
	return tr
}

// sweptAt is when a window that closes at t was closed: the replica's first
// read at or after t.
func (tr *truth) sweptAt(t time.Time) time.Time {
	i := sort.Search(len(tr.reads), func(i int) bool { return !tr.reads[i].Before(t) })
	if i == len(tr.reads) {
		return time.Time{}
	}
	return tr.reads[i]
}

// expect is what one replica's report of one side must count at a read.
type expect struct {
	seen, again, skipped                 int
	recentSeen, recentSkipped            int
	unmatchedLo, unmatchedHi             int
	recentUnmatchedLo, recentUnmatchedHi int
	openLo, openMax                      int
	lastSkipped                          time.Time // of the side's reports
	lastUnmatchedLo, lastUnmatchedHi     time.Time // when the last unmatched report's window was closed
}

// cursor walks the reads in time order, counting the reports incrementally:
// those before the read, those whose window closed, and those older than the
// look-back (the hour of the read and the 24 before).
type cursor struct {
	tr                  *truth
	before, closed, old int // prefixes of tr.reports
	cum                 [][2]expect
	oldCum              [][2]expect
}

func (tr *truth) cursor(replicas int) *cursor {
	return &cursor{tr: tr, cum: make([][2]expect, replicas), oldCum: make([][2]expect, replicas)}
}

// at returns, per replica and side, what the reports read at t must count;
// t must not decrease from one call to the next.
func (c *cursor) at(t time.Time) [][2]expect {
	rs := c.tr.reports
	for ; c.before < len(rs) && rs[c.before].at.Before(t); c.before++ {
		r := &rs[c.before]
		e := &c.cum[r.replica][r.side]
		e.seen++
		if r.again {
			e.again++
		}
		if r.skipped {
			e.skipped++
			e.lastSkipped = r.at
		}
	}
	for ; c.closed < c.before && rs[c.closed].closed(t); c.closed++ {
		r := &rs[c.closed]
		closeUnmatched(&c.cum[r.replica][r.side], r, c.tr.sweptAt(r.at.Add(ledgerClose)))
	}
	oldest := (t.Unix()/3600 - 24) * 3600
	for ; c.old < c.closed && rs[c.old].at.Unix() < oldest; c.old++ {
		r := &rs[c.old]
		e := &c.oldCum[r.replica][r.side]
		e.seen++
		if r.skipped {
			e.skipped++
		}
		closeUnmatched(e, r, time.Time{})
	}
	out := slices.Clone(c.cum)
	for i := range out {
		for side := range out[i] {
			e, o := &out[i][side], c.oldCum[i][side]
			e.recentSeen, e.recentSkipped = e.seen-o.seen, e.skipped-o.skipped
			e.recentUnmatchedLo, e.recentUnmatchedHi = e.unmatchedLo-o.unmatchedLo, e.unmatchedHi-o.unmatchedHi
		}
	}
	for _, r := range rs[c.closed:c.before] {
		e := &out[r.replica][r.side]
		e.openMax++
		if r.again {
			e.openMax++
		}
		if r.open(t) {
			e.openLo++
		}
	}
	return out
}

// closeUnmatched counts r, whose window closed (swept at swept), in e's
// unmatched bounds.
func closeUnmatched(e *expect, r *ledgerReport, swept time.Time) {
	switch {
	case r.again:
		e.unmatchedHi += 2
		e.lastUnmatchedHi = maxTime(e.lastUnmatchedHi, swept)
	case r.bursty:
		e.unmatchedHi++
		e.lastUnmatchedHi = maxTime(e.lastUnmatchedHi, swept)
	case r.unmatched():
		e.unmatchedLo++
		e.unmatchedHi++
		e.lastUnmatchedLo = maxTime(e.lastUnmatchedLo, swept)
		e.lastUnmatchedHi = maxTime(e.lastUnmatchedHi, swept)
	}
}

// deficit returns, per side, the unmatched reports the clusters that only
// selects must have once their windows closed: per cluster, the occurrences
// whose side was reported beyond those whose other side arrived.
func (tr *truth) deficit(only func(*cluster) bool) [2]int {
	reported := map[*occ][2]bool{}
	for _, r := range tr.reports {
		rs := reported[r.o]
		rs[r.side] = true
		reported[r.o] = rs
	}
	var out [2]int
	for _, c := range tr.clusters {
		if !only(c) {
			continue
		}
		for side := range out {
			n := 0
			for _, o := range c.occs {
				if reported[o][side] {
					n++
				}
				if !tr.arrived[o][1-side].IsZero() {
					n--
				}
			}
			out[side] += max(0, n)
		}
	}
	return out
}
