package soak

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/codathook/codathook"
)

// What the migration simulation asserts, and why it is right for any
// matcher with the documented semantics.
//
// An occurrence's deliveries are "sides": its legacy side (one Data sync
// completed, or that and Dataset data changed of one dataset, which are one
// arrival) and its new side. A side arrived when Codat sent at least one of
// its deliveries. A side is enabled when one of its deliveries was
// acknowledged (2xx) by an endpoint whose flag was on for the company at
// that attempt; an attempt that failed while on and whose retry was skipped
// after a flip processed nothing, and the skip is the operator's choice.
// An occurrence is expected to reach a callback exactly once if a side is
// enabled, else never ("skipped": only disabled endpoints acknowledged it;
// "undelivered": Codat dropped every delivery).
//
// Occurrences of one key K are indistinguishable to the matcher, so it may
// pair a legacy arrival with the new arrival of another occurrence of K
// whose occurrence time lies within the window: the callback then gets the
// other occurrence's body. The traffic keeps every cluster of K (its
// occurrences within 5 minutes, clusters at least 45 minutes apart; see
// migration_traffic_test.go) inside one window and apart from the others.
// Within a cluster every legacy and new arrival may pair, each with at most
// one of the other side, and an arrival pairs whenever a partner is free
// (nearest first), so none is left unpaired beside a free partner: whatever
// the matcher picks, it is a maximum matching of the cluster's arrivals.
// Each pair or unpaired arrival is one unit for the matcher, processed once
// if one of its members is enabled. So a cluster's callback count is the
// count of some maximum matching, between lo and hi (bounds). A push
// operation, matched by the operation key both formats carry, is a cluster
// of its own.
//
// Without a dropped delivery, every cluster of the runbook has one side
// enabled for all its occurrences (legacy in steps 1-4, new in 4-6), so lo
// = hi = the number of occurrences expected once: the count must be exact.
// A dropped delivery leaves its occurrence with one side, which the matcher
// may pair with another occurrence's delivery of the same K in the window:
// the two then count as one unit (one callback for two occurrences: lost),
// or an enabled occurrence's survivor pairs with a disabled one's (counts
// move). That is the documented effect of a drop ("a delivery missing on one
// side disturbs only pairings inside its window, never later ones"): in a
// cluster with a dropped delivery the count must lie within the bounds, and
// its deviation from the occurrences expected is reported as the drop's
// effect. Every other deviation fails the test; the right count never does,
// even outside the bounds (a matcher that keeps the survivors of two drops
// apart does better than they require). Per occurrence, a cluster
// with the right count may still have given one occurrence's callback
// another's body: mis-attributed, reported only.

type sideState int

const (
	sideAbsent  sideState = iota // the service was not sending (before step 2, after the rules' deletion)
	sideDropped                  // every delivery of this side was dropped
	sideSkipped                  // arrived; acknowledged by disabled endpoints only (or never acknowledged)
	sideEnabled                  // arrived; acknowledged by an enabled endpoint
)

func side(ds []*delivery) sideState {
	if len(ds) == 0 {
		return sideAbsent
	}
	st := sideDropped
	for _, d := range ds {
		if d.dropped {
			continue
		}
		st = max(st, sideSkipped)
		if d.final.ok() && d.final.flagOn {
			st = sideEnabled
		}
	}
	return st
}

func (o *occ) sides() (legacy, newer sideState) {
	var nd []*delivery
	if o.newD != nil {
		nd = []*delivery{o.newD}
	}
	return side(o.legacy), side(nd)
}

func (o *occ) expected() int {
	l, n := o.sides()
	if l == sideEnabled || n == sideEnabled {
		return 1
	}
	return 0
}

// cluster is the occurrences of one K within one window.
type cluster struct {
	k       string
	occs    []*occ
	want    int // occurrences expected once
	got     int // callback runs
	lo, hi  int // the count of a maximum matching's units: its bounds
	dropped bool
}

func (c *cluster) bounds() {
	var a, b, eL, eN int
	for _, o := range c.occs {
		l, n := o.sides()
		if l >= sideSkipped {
			a++
		}
		if n >= sideSkipped {
			b++
		}
		if l == sideEnabled {
			eL++
		}
		if n == sideEnabled {
			eN++
		}
		if l == sideDropped || n == sideDropped {
			c.dropped = true
		}
		c.want += o.expected()
		c.got += len(o.calls)
	}
	// A maximum matching has p pairs; the units with an enabled member
	// number eL + eN minus the pairs whose two members are both enabled.
	p := min(a, b)
	c.lo = eL + eN - min(eL, eN, p)
	// Fewest enabled-enabled pairs: pair as many disabled arrivals as possible.
	l2, n2 := max(0, p-(a-eL)), max(0, p-(b-eN))
	c.hi = eL + eN - max(0, l2+n2-p)
}

// clusters groups the occurrences by K and window, checking the traffic's
// timing rules.
func (m *migration) clusters() []*cluster {
	byK := map[string][]*occ{}
	for _, o := range m.occs {
		byK[o.k] = append(byK[o.k], o)
	}
	var out []*cluster
	for k, os := range byK {
		slices.SortFunc(os, func(a, b *occ) int { return a.at.Compare(b.at) })
		var c *cluster
		for _, o := range os {
			if c != nil && o.at.Sub(c.occs[len(c.occs)-1].at) < clusterGap {
				if o.at.Sub(c.occs[0].at) > burstSpan {
					m.t.Fatalf("traffic: cluster of %s spans %v", k, o.at.Sub(c.occs[0].at))
				}
				c.occs = append(c.occs, o)
				continue
			}
			c = &cluster{k: k}
			c.occs = append(c.occs, o)
			out = append(out, c)
		}
	}
	for _, c := range out {
		c.bounds()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].occs[0].at.Before(out[j].occs[0].at) })
	return out
}

// stepCounts is one runbook step's line of the report.
type stepCounts struct {
	occs, want, skipped, undelivered, doubled, lost int
}

// migReport is what a simulation prints.
type migReport struct {
	occurrences, expectOnce, expectSkipped, expectUndelivered int
	clusters, bursty                                          int
	once, doubled, lost, misattributed                        int // doubled and lost: failures
	dropClusters, dropDoubled, dropLost                       int // the documented effect of dropped deliveries
	deliveries, legacy, newer, dropped, droppedLegacy         int
	dropNoEffect                                              int // dropped, but the occurrence's side arrived anyway
	dropSkipped                                               int // occurrences a drop left with a disabled endpoint's delivery only
	late, hoursLate, lostInTransit, attempts                  int
	injected, unsettled, instants, callbacks                  int
	answers                                                   map[string]int
	perStep                                                   []stepCounts
	failures                                                  []string
	failed                                                    map[string]int // assertion -> failures
}

// check asserts the simulation's invariants (see the top of this file) and
// returns the report; failures are reported through t.Errorf.
func (m *migration) check() migReport {
	t := m.t
	t.Helper()
	r := migReport{answers: map[string]int{}, perStep: make([]stepCounts, len(m.steps)), failed: map[string]int{}}
	fail := func(assertion, format string, args ...any) {
		r.failed[assertion]++
		r.failures = append(r.failures, fmt.Sprintf(format, args...))
	}

	// Answers: only the statuses the receiver documents, skipped exactly
	// when the simulation's flags were off, and every delivery Codat sent
	// ended with a 2xx.
	processed, failed := 0, 0
	for _, d := range m.deliveries {
		r.deliveries++
		if d.format == formatLegacy {
			r.legacy++
		} else {
			r.newer++
		}
		if d.dropped {
			r.dropped++
			if d.format == formatLegacy {
				r.droppedLegacy++
			}
			continue
		}
		if d.lost > 0 {
			r.late++
			if d.lost >= 4 {
				r.hoursLate++
			}
			r.lostInTransit += d.lost
		}
		for _, a := range d.answers {
			r.attempts++
			r.answers[strconv.Itoa(a.status)+" "+string(a.result)]++
			switch {
			case a.err != nil:
				fail("answers", "%s attempt %d at %s: %v", d.name, a.n, m.rel(a.at), a.err)
			case a.ok() && a.result == codathook.ResultSkipped:
				if a.flagOn {
					fail("answers", "%s attempt %d at %s: skipped while its flag was on", d.name, a.n, m.rel(a.at))
				}
			case a.ok() && (a.result == codathook.ResultProcessed || a.result == codathook.ResultDuplicate):
				if !a.flagOn {
					fail("answers", "%s attempt %d at %s: %s while its flag was off", d.name, a.n, m.rel(a.at), a.result)
				}
				if a.result == codathook.ResultProcessed {
					processed++
				}
			case a.status == 503 && (a.result == codathook.ResultFailed || a.result == codathook.ResultInFlight):
				if a.result == codathook.ResultFailed {
					failed++
				}
			default:
				fail("answers", "%s attempt %d at %s: answered %d %q", d.name, a.n, m.rel(a.at), a.status, a.result)
			}
		}
		if !d.final.ok() {
			r.unsettled++
			fail("2xx eventually", "%s (%s) ended without a 2xx: %s", d.name, d.occs[0].k, m.answersOf(d))
		}
	}
	r.injected = int(m.injected.Load())
	r.callbacks = m.calls
	r.instants = m.instants
	if processed != m.calls {
		fail("ledger", "%d processed answers for %d successful callback runs", processed, m.calls)
	}
	if failed != r.injected {
		fail("ledger", "%d failed answers for %d injected callback failures", failed, r.injected)
	}
	for _, u := range m.unknown {
		fail("ledger", "callback for a body the simulation never sent: %s", u)
	}

	// Occurrences, per window cluster of their key.
	for _, o := range m.occs {
		r.occurrences++
		s := &r.perStep[o.step]
		s.occs++
		l, n := o.sides()
		switch {
		case o.expected() == 1:
			r.expectOnce++
			s.want++
		case l <= sideDropped && n <= sideDropped:
			r.expectUndelivered++
			s.undelivered++
		default:
			r.expectSkipped++
			s.skipped++
			if l == sideDropped || n == sideDropped {
				r.dropSkipped++
			}
		}
		if l >= sideSkipped {
			for _, d := range o.legacy {
				if d.dropped {
					r.dropNoEffect++ // Dataset data changed or Data sync completed of one dataset: the other arrived
				}
			}
		}
	}
	for _, c := range m.clusters() {
		r.clusters++
		if len(c.occs) > 1 {
			r.bursty++
		}
		s := &r.perStep[c.occs[0].step]
		r.once += min(c.got, c.want)
		if !c.dropped && (c.lo != c.want || c.hi != c.want) {
			fail("model", "model: %s: bounds %d..%d for %d expected without a dropped delivery", m.describe(c), c.lo, c.hi, c.want)
		}
		switch {
		case c.got == c.want:
		case c.dropped && c.got >= c.lo && c.got <= c.hi:
			r.dropClusters++
			r.dropDoubled += max(0, c.got-c.want)
			r.dropLost += max(0, c.want-c.got)
		default:
			r.doubled += max(0, c.got-c.want)
			r.lost += max(0, c.want-c.got)
			s.doubled += max(0, c.got-c.want)
			s.lost += max(0, c.want-c.got)
			bounds := ""
			if c.dropped {
				bounds = fmt.Sprintf(", outside the bounds %d..%d that its dropped deliveries allow", c.lo, c.hi)
			}
			fail("exactly once per key and window", "%s: %d callback runs for %d occurrences expected once%s", m.describe(c), c.got, c.want, bounds)
		}
		if c.got == c.want {
			for _, o := range c.occs {
				r.misattributed += max(0, o.expected()-len(o.calls))
			}
		}
	}
	m.checkReadiness()
	for i, f := range r.failures {
		if i == 25 {
			t.Errorf("... and %d more", len(r.failures)-i)
			break
		}
		t.Error(f)
	}
	return r
}

// rel formats t relative to the simulation's start: +2d03:04:05.
func (m *migration) rel(t time.Time) string {
	d := t.Sub(m.start)
	return fmt.Sprintf("+%dd%02d:%02d:%02d", int(d/(24*time.Hour)), int(d/time.Hour)%24, int(d/time.Minute)%60, int(d/time.Second)%60)
}

func (m *migration) answersOf(d *delivery) string {
	if d.dropped {
		return d.name + " dropped"
	}
	var parts []string
	for _, a := range d.answers {
		res := string(a.result)
		if res == "" {
			res = strconv.Itoa(a.status)
		}
		parts = append(parts, fmt.Sprintf("%s@%s", res, m.rel(a.at)))
	}
	late := ""
	if d.lost > 0 {
		late = fmt.Sprintf(" (%d attempts lost)", d.lost)
	}
	return d.name + late + " " + strings.Join(parts, ",")
}

// describe names a cluster for a failure message: step, key, and each
// occurrence with its deliveries' answers and its callback runs.
func (m *migration) describe(c *cluster) string {
	var b strings.Builder
	fmt.Fprintf(&b, "step %s: %s", m.steps[c.occs[0].step].name, c.k)
	for _, o := range c.occs {
		fmt.Fprintf(&b, "\n\t#%d at %s:", o.id, m.rel(o.at))
		for _, d := range append(slices.Clone(o.legacy), o.newD) {
			if d != nil {
				fmt.Fprintf(&b, " [%s]", m.answersOf(d))
			}
		}
		fmt.Fprintf(&b, " expected %d, callbacks %d", o.expected(), len(o.calls))
		for _, cl := range o.calls {
			fmt.Fprintf(&b, " (%s@%s)", cl.d.name, m.rel(cl.at))
		}
	}
	return b.String()
}

func (r migReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "occurrences=%d (expected once %d, skipped by a flag %d, undelivered %d) clusters=%d (bursty %d)\n",
		r.occurrences, r.expectOnce, r.expectSkipped, r.expectUndelivered, r.clusters, r.bursty)
	fmt.Fprintf(&b, "deliveries=%d (legacy %d, new %d) attempts=%d at %d instants, late new deliveries=%d (%d hours late; %d attempts lost in transit), injected callback failures=%d, callbacks=%d\n",
		r.deliveries, r.legacy, r.newer, r.attempts, r.instants, r.late, r.hoursLate, r.lostInTransit, r.injected, r.callbacks)
	var answers []string
	for k, n := range r.answers {
		answers = append(answers, fmt.Sprintf("%s=%d", k, n))
	}
	sort.Strings(answers)
	fmt.Fprintf(&b, "answers: %s; deliveries ended without a 2xx: %d\n", strings.Join(answers, " "), r.unsettled)
	fmt.Fprintf(&b, "processed once=%d doubled=%d lost=%d mis-attributed=%d (a callback got another occurrence's body of the same key)\n",
		r.once, r.doubled, r.lost, r.misattributed)
	var failed []string
	for k, n := range r.failed {
		failed = append(failed, fmt.Sprintf("%s: %d", k, n))
	}
	sort.Strings(failed)
	if len(failed) == 0 {
		failed = []string{"none"}
	}
	fmt.Fprintf(&b, "failed assertions: %s\n", strings.Join(failed, "; "))
	fmt.Fprintf(&b, "dropped deliveries=%d (legacy %d, new %d), their effect: %d occurrences left with a disabled endpoint's delivery only (expected 0), %d with none (undelivered), %d with the other delivery of their dataset (no effect); %d clusters where the matcher paired a survivor with another occurrence of its key, allowed within the pairing bounds: %d doubled, %d lost\n",
		r.dropped, r.droppedLegacy, r.dropped-r.droppedLegacy, r.dropSkipped, r.expectUndelivered, r.dropNoEffect, r.dropClusters, r.dropDoubled, r.dropLost)
	return b.String()
}

func (r migReport) steps(steps []step) string {
	var b strings.Builder
	for i, s := range r.perStep {
		fmt.Fprintf(&b, "  step %-24s occurrences=%4d expected once=%4d skipped=%3d undelivered=%2d doubled=%3d lost=%3d\n",
			steps[i].name, s.occs, s.want, s.skipped, s.undelivered, s.doubled, s.lost)
	}
	return b.String()
}
