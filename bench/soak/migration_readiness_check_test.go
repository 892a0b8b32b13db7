package soak

import (
	"fmt"
	"slices"
	"strings"

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
