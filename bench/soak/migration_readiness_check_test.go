package soak

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/codathook/codathook"
)

// What the readiness checks assert, at every read of every replica's report
// (before an instant at which a pairing window has come due, and at each
// stage's end), against the model of migration_readiness_test.go:
//
//   - counts: Seen and Skipped, since start and in the look-back, are the
//     reports the replica's settled deliveries made; Unmatched (since start
//     and in the look-back) and Open lie within what the closed and open
//     windows allow, exactly so for an occurrence alone in its cluster; at the
//     end, when every window has closed, Open is 0 and Twinned + Unmatched =
//     Seen;
//   - steps: each step's status follows from the true counts as the runbook
//     says (docs/MIGRATION.md), and CompleteSince from when the last
//     unmatched legacy window was closed and the last new delivery skipped;
//   - at the stages' ends (stages of a day or more): step 1 done and 2 ready
//     after legacy alone; 2 done and 3 ready after the new consumer's first
//     stage; 3 done after the test company's (on a replica that settled one
//     of its deliveries); after both on, step 5 waiting on a replica that
//     settled a legacy occurrence in the look-back whose new twin did not
//     arrive in its window; step 5 done after legacy off and at the end;
//   - summed over replicas at the end: Seen is the distinct occurrences
//     settled plus the splits; Unmatched at least what the clusters force,
//     legacy Unmatched at least stage 1's legacy occurrences (no new
//     consumer), plus the later ones whose new twin never arrived.

// failures collects readiness failures by kind, so that one broken promise
// read thousands of times is reported a few times, with its count.
type failures struct {
	kinds []string
	n     map[string]int
	first map[string][]string
}

func (f *failures) add(kind, format string, args ...any) {
	if f.n == nil {
		f.n, f.first = map[string]int{}, map[string][]string{}
	}
	if f.n[kind] == 0 {
		f.kinds = append(f.kinds, kind)
	}
	f.n[kind]++
	if len(f.first[kind]) < 3 {
		f.first[kind] = append(f.first[kind], fmt.Sprintf(format, args...))
	}
}

func within(got uint64, lo, hi int) bool { return got >= uint64(lo) && got <= uint64(hi) }

// checkReadiness checks every read against the truth.
func (m *migration) checkReadiness() {
	t := m.t
	t.Helper()
	var f failures
	if ends := slices.DeleteFunc(slices.Clone(m.reads), func(r read) bool { return r.stage < 0 }); len(ends) != len(m.steps) {
		f.add("stage ends", "%d stage-end reads for %d stages", len(ends), len(m.steps))
	}
	tr := m.truth()
	cur := tr.cursor(len(m.rcvs))
	last := len(m.reads) - 1
	for ri, rd := range m.reads {
		exp := cur.at(rd.at)
		for i, rep := range rd.reps {
			where := fmt.Sprintf("read at %s, replica %d", m.rel(rd.at), i)
			if rd.stage >= 0 {
				where = fmt.Sprintf("end of stage %q (%s), replica %d", m.steps[rd.stage].name, m.rel(rd.at), i)
			}
			m.checkCounts(&f, where, rep, exp[i], ri == last)
			m.checkFollow(&f, where, rep, exp[i], rd.at)
			if rd.stage >= 0 {
				m.checkStage(&f, rd, i, exp[i], tr)
			}
		}
	}
	if last >= 0 {
		m.checkSums(&f, m.reads[last], tr)
	}
	t.Logf("readiness: %d reads of %d replicas' reports checked against %d ledger reports", len(m.reads), len(m.rcvs), len(tr.reports))
	for _, k := range f.kinds {
		t.Errorf("readiness, %s (%d failures): %s", k, f.n[k], strings.Join(f.first[k], "; "))
	}
}

// checkCounts checks one replica's counts at one read.
func (m *migration) checkCounts(f *failures, where string, rep replicaRead, exp [2]expect, final bool) {
	if len(rep.legacyOnly) > 0 {
		f.add("legacy-only types", "%s: %v, which the simulation never sends", where, rep.legacyOnly)
	}
	for side, e := range exp {
		tot, rec, name := rep.total[side], rep.recent[side], sideNames[side]
		if !within(tot.Seen, e.seen, e.seen+e.again) || !within(tot.Skipped, e.skipped, e.skipped+e.again) {
			f.add(name+" seen since start", "%s: seen %d, skipped %d; the replica settled %d, %d skipped (+%d settled again)", where, tot.Seen, tot.Skipped, e.seen, e.skipped, e.again)
		}
		if !within(rec.Seen, e.recentSeen, e.recentSeen+e.again) || !within(rec.Skipped, e.recentSkipped, e.recentSkipped+e.again) {
			f.add(name+" seen in the look-back", "%s: seen %d, skipped %d; the replica settled %d, %d skipped", where, rec.Seen, rec.Skipped, e.recentSeen, e.recentSkipped)
		}
		if !within(tot.Unmatched, e.unmatchedLo, e.unmatchedHi) || !within(rec.Unmatched, e.recentUnmatchedLo, e.recentUnmatchedHi) {
			f.add(name+" unmatched", "%s: unmatched %d (look-back %d); the closed windows hold %d..%d (%d..%d) without a twin",
				where, tot.Unmatched, rec.Unmatched, e.unmatchedLo, e.unmatchedHi, e.recentUnmatchedLo, e.recentUnmatchedHi)
		}
		if !within(tot.Open, e.openLo, e.openMax) {
			f.add(name+" open", "%s: %d open; %d..%d windows are open", where, tot.Open, e.openLo, e.openMax)
		}
		if final && tot.Twinned+tot.Unmatched != tot.Seen {
			f.add(name+" twinned+unmatched=seen", "%s: twinned %d + unmatched %d != seen %d", where, tot.Twinned, tot.Unmatched, tot.Seen)
		}
	}
}

// checkFollow checks that one replica's steps and CompleteSince follow from
// the true counts (the report's own are checked by checkCounts).
func (m *migration) checkFollow(f *failures, where string, rep replicaRead, exp [2]expect, at time.Time) {
	L, N := exp[sideLegacy], exp[sideNew]
	if len(rep.steps) != 5 {
		f.add("steps", "%s: %d steps", where, len(rep.steps))
		return
	}
	if L.again+N.again > 0 {
		return // counts within a slack
	}
	processed := N.recentSeen > N.recentSkipped
	done := [5]bool{
		L.recentSeen+N.recentSeen > 0,
		N.recentSeen > 0,
		processed,
		processed && N.recentSkipped == 0,
		L.recentSeen > 0 && L.recentSkipped == L.recentSeen || L.recentSeen == 0 && L.seen > 0 && L.skipped > 0,
	}
	for i, d := range done {
		want := "waiting"
		switch {
		case d:
			want = "done"
		case i == 4 && done[3] && rep.recent[sideLegacy].Unmatched == 0 && L.recentSeen > 0 && rep.untracked == 0 &&
			at.Sub(rep.completeSince) >= 24*time.Hour:
			want = "ready"
		case i == 4: // waiting: for step 4, an unmatched legacy occurrence, or 24 h of evidence
		case i > 0 && done[i-1]:
			want = "ready"
		}
		if rep.steps[i] != want {
			f.add(fmt.Sprintf("step %d follows from the counts", i+1), "%s: step %d is %s, want %s (legacy %d seen %d skipped in the look-back, %d and %d since start; new %d seen %d skipped in the look-back)",
				where, i+1, rep.steps[i], want, L.recentSeen, L.recentSkipped, L.seen, L.skipped, N.recentSeen, N.recentSkipped)
		}
	}
	if !processed {
		if !rep.completeSince.IsZero() {
			f.add("complete since", "%s: complete since %s, but the new endpoint processed nothing in the look-back", where, m.rel(rep.completeSince))
		}
		return
	}
	lo := maxTime(rep.start, maxTime(N.lastSkipped, L.lastUnmatchedLo))
	hi := maxTime(lo, L.lastUnmatchedHi)
	if rep.completeSince.Before(lo) || rep.completeSince.After(hi) {
		f.add("complete since", "%s: complete since %s, want %s..%s (the last unmatched legacy window closed, the last new delivery skipped)", where, m.rel(rep.completeSince), m.rel(lo), m.rel(hi))
	}
}

// checkStage checks one replica's steps at a stage's end, and logs them with
// the verdict, when every stage lasts a day or more.
func (m *migration) checkStage(f *failures, rd read, ri int, exp [2]expect, tr *truth) {
	for _, d := range m.cfg.steps {
		if d < 24*time.Hour {
			return // the look-back spans several stages
		}
	}
	rep, st := rd.full[ri], rd.reps[ri].steps
	if len(st) != 5 {
		return
	}
	where := fmt.Sprintf("end of stage %q (%s), replica %d", m.steps[rd.stage].name, m.rel(rd.at), ri)
	m.t.Logf("%s: steps %s; %s", where, strings.Join(st, " "), rep.Verdict)
	want := func(step int, status string) {
		if st[step-1] != status {
			f.add(fmt.Sprintf("step %d after stage %d", step, rd.stage+1), "%s: step %d is %s, want %s: %s", where, step, st[step-1], status, rep.Steps[step-1].Detail)
		}
	}
	switch rd.stage {
	case 0: // legacy alone, days
		want(1, "done")
		want(2, "ready")
	case 1: // new consumer, new endpoint off
		want(2, "done")
		want(3, "ready")
	case 2: // the test company's new endpoint on
		if exp[sideNew].recentSeen > exp[sideNew].recentSkipped {
			want(3, "done")
		} else {
			want(3, "ready")
			m.t.Logf("%s: no delivery of the test company settled on this replica", where)
		}
	case 3: // both on
		if why := m.mustWait(rd.at, ri, tr); why != "" {
			m.t.Logf("%s: step 5 must wait: %s", where, why)
			want(5, "waiting")
		}
	case 4, 5: // legacy off for days; the rules deleted
		want(5, "done")
	}
}

// recent reports whether r is in the look-back of a report read at t.
func (r ledgerReport) recent(t time.Time) bool {
	return r.at.Before(t) && r.at.Unix()/3600 >= t.Unix()/3600-24
}

// mustWait says why the replica's step 5 must wait at t: a legacy
// occurrence it settled in the look-back, whose window closed, without a new
// twin in time (dropped, or arriving late); "" when none.
func (m *migration) mustWait(t time.Time, ri int, tr *truth) string {
	for _, r := range tr.reports {
		if r.side != sideLegacy || r.replica != ri || !r.recent(t) || r.bursty || r.again || !r.closed(t) || !r.unmatched() {
			continue
		}
		why := "its new twin never arrived"
		if !r.twinAt.IsZero() {
			why = fmt.Sprintf("its new twin first reached a replica at %s, %v after it settled", m.rel(r.twinAt), r.twinAt.Sub(r.at))
		}
		return fmt.Sprintf("legacy occurrence #%d (%s) settled on it at %s and %s", r.o.id, r.o.k, m.rel(r.at), why)
	}
	// A cluster of several occurrences with fewer new arrivals than legacy
	// occurrences, all settled on this replica in the look-back.
	for _, c := range tr.clusters {
		if len(c.occs) < 2 {
			continue
		}
		n, mine := 0, true
		for _, r := range tr.reports {
			if r.side == sideLegacy && slices.Contains(c.occs, r.o) {
				mine = mine && r.replica == ri && r.recent(t) && r.closed(t) && !r.again
			}
		}
		for _, o := range c.occs {
			if !tr.arrived[o][sideLegacy].IsZero() {
				n++
			}
			if !tr.arrived[o][sideNew].IsZero() {
				n--
			}
		}
		if mine && n > 0 {
			return fmt.Sprintf("the cluster of %s at %s had %d legacy occurrences settled on it beyond its new arrivals", c.k, m.rel(c.occs[0].at), n)
		}
	}
	return ""
}

// checkSums checks the final reports summed over replicas.
func (m *migration) checkSums(f *failures, rd read, tr *truth) {
	var got [2]codathook.OccurrenceCounts
	for _, rep := range rd.reps {
		for side := range got {
			got[side].Seen += rep.total[side].Seen
			got[side].Unmatched += rep.total[side].Unmatched
			got[side].Skipped += rep.total[side].Skipped
		}
	}
	// Distinct occurrences settled per side, the splits (the same side on
	// another replica), and the unmatched that singletons force.
	var distinct, splits, lo, late [2]int
	seen := map[*occ][2]bool{}
	stage1 := 0
	for _, r := range tr.reports {
		s := seen[r.o]
		if s[r.side] {
			splits[r.side]++
		} else {
			distinct[r.side]++
			if r.side == sideLegacy && r.o.step == 0 {
				stage1++
			}
		}
		s[r.side] = true
		seen[r.o] = s
		if !r.bursty && !r.again && r.closed(rd.at) && r.unmatched() {
			lo[r.side]++
			if !r.twinAt.IsZero() {
				late[r.side]++
			}
		}
	}
	d := tr.deficit(func(c *cluster) bool { return len(c.occs) > 1 })
	dropped := tr.deficit(func(c *cluster) bool { return c.occs[0].step > 0 })
	for side := range got {
		name := sideNames[side]
		if got[side].Seen != uint64(distinct[side]+splits[side]) {
			f.add(name+" seen, all replicas", "seen %d; the simulation settled %d distinct occurrences, and %d more on a second replica", got[side].Seen, distinct[side], splits[side])
		}
		if want := lo[side] + d[side]; got[side].Unmatched < uint64(want) {
			f.add(name+" unmatched, all replicas", "%d unmatched; at least %d must be (%d alone in their cluster, %d in clusters of several)", got[side].Unmatched, want, lo[side], d[side])
		}
	}
	// Stage 1: no new consumer, so no legacy occurrence can find a twin.
	if got[sideLegacy].Unmatched < uint64(stage1) {
		f.add("stage 1 legacy unmatched", "%d legacy unmatched, fewer than the %d legacy occurrences of stage 1, which had no new consumer", got[sideLegacy].Unmatched, stage1)
	}
	if got[sideLegacy].Unmatched < uint64(stage1+dropped[sideLegacy]) {
		f.add("dropped new twins unmatched", "%d legacy unmatched, fewer than stage 1's %d plus the %d later legacy occurrences whose new twin never arrived", got[sideLegacy].Unmatched, stage1, dropped[sideLegacy])
	}
	m.t.Logf("readiness, all replicas at %s: legacy seen=%d (%d distinct + %d on a second replica) unmatched=%d (stage 1: %d; new twin never arrived: %d; arrived after the window: %d) skipped=%d; new seen=%d (%d distinct) unmatched=%d skipped=%d",
		m.rel(rd.at), got[sideLegacy].Seen, distinct[sideLegacy], splits[sideLegacy], got[sideLegacy].Unmatched, stage1, dropped[sideLegacy], late[sideLegacy], got[sideLegacy].Skipped,
		got[sideNew].Seen, distinct[sideNew], got[sideNew].Unmatched, got[sideNew].Skipped)
}
