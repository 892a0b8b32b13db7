package soak

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

var (
	migrationSeed      = flag.Uint64("migration.seed", 1, "seed of the migration simulations (0: a random seed, printed)")
	migrationCompanies = flag.Int("migration.companies", 8, "companies in TestMigrationRunbook")
	migrationDays      = flag.Int("migration.days", 10, "simulated days of TestMigrationRunbook's runbook, shared 3:1:1:2:2:1 among its six stages (at least a day each)")
	migrationLong      = flag.Bool("migration.long", false, "long TestMigrationRunbook: 40 companies over 30 simulated days, unless -migration.companies or -migration.days say otherwise")
)

// migrationSettings returns the seed, companies and days the flags ask for.
func migrationSettings() (seed uint64, companies, days int) {
	seed, companies, days = *migrationSeed, *migrationCompanies, *migrationDays
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *migrationLong {
		if !set["migration.companies"] {
			companies = 40
		}
		if !set["migration.days"] {
			days = 30
		}
	}
	if seed == 0 {
		seed = rand.Uint64()
	}
	return seed, companies, days
}

// stepDurations shares days among the runbook's six stages: legacy alone
// 30%, new consumer with its endpoint off 10%, test company 10%, both on
// 20%, legacy off 20%, legacy rules deleted 10%; at least a day each.
func stepDurations(days int) [6]time.Duration {
	shares := [6]int{3, 1, 1, 2, 2, 1}
	var out [6]time.Duration
	for i, s := range shares {
		out[i] = time.Duration(max(1, (days*s+5)/10)) * 24 * time.Hour
	}
	return out
}

// TestMigrationRunbook is the library's central promise, end to end: across
// the whole migration runbook (docs/MIGRATION.md), every occurrence whose
// endpoint was enabled reaches a callback exactly once.
//
// Several companies live the runbook in simulated time (a week or more in a
// few seconds): step 1, the legacy consumer alone for days (no new
// deliveries exist); step 2, the new consumer configured, its endpoint off;
// step 3, one test company's new endpoint on; step 4, both on; step 5,
// legacy off; then the legacy rules deleted. Codat sends daily syncs
// (read.completed with three data types; Data sync completed per data type,
// with Dataset data changed for one company), push operations, and bursts
// of one key (a connection that disconnects twice within 3 minutes, a
// re-sync twice within 5), each in the formats whose service exists, with
// fresh ids on each side, to a random one of three replicas sharing a
// redis-server. Legacy attempts come seconds after the occurrence and are
// retried up to 3 times within about 2 minutes; new attempts follow Svix's
// schedule with jitter, some first reaching us hours late; the first
// callback run for one body in 20 fails (503, retried); one delivery in 200
// is never sent. migration_check_test.go says what is asserted and why; the
// replicas' readiness reports are checked too (migration_readiness_check_test.go),
// and -v logs each replica's steps and verdict at each stage's end.
//
//	go test -run TestMigrationRunbook -v -migration.long .
//	go test -run TestMigrationRunbook -v -migration.seed 0 -migration.companies 20 -migration.days 60 .
func TestMigrationRunbook(t *testing.T) {
	t.Parallel()
	seed, nc, days := migrationSettings()
	companies := make([]string, nc)
	for i := range companies {
		companies[i] = fmt.Sprintf("co-%02d", i+1)
	}
	cfg := migConfig{seed: seed, replicas: 3, steps: stepDurations(days), dropRate: 1.0 / 200, lateRate: 0.03, failRate: 0.05}
	m := newMigration(t, cfg, companies[0])
	newTraffic(m).customers(companies)
	t.Logf("seed=%d (rerun with -migration.seed=%d) companies=%d days=%d replicas=3 test company=%s",
		seed, seed, nc, days, companies[0])
	began := time.Now()
	m.run()
	simulated := m.clock.Now().Sub(m.start)
	r := m.check()
	t.Logf("%v%s%s simulated in %v", r, r.steps(m.steps), simulated.Round(time.Hour), time.Since(began).Round(time.Millisecond))
	if r.expectOnce == 0 {
		t.Error("no occurrence was expected to reach a callback")
	}
	if r.bursty == 0 || r.late == 0 || r.dropped == 0 {
		t.Logf("note: this run had %d bursty clusters, %d late new deliveries and %d dropped deliveries; more companies or days exercise more", r.bursty, r.late, r.dropped)
	}
}

// TestMigrationRunbookOffset is the runbook offset on its own: a key (one
// connection's invoices sync, hourly, for the test company and another)
// arrives a times in legacy alone before the new consumer exists, then
// through steps 2-6. The legacy-only arrivals have no new twin; none of the
// later occurrences may be lost for it, in step 5 (legacy off) least of all.
func TestMigrationRunbookOffset(t *testing.T) {
	t.Parallel()
	seed, _, _ := migrationSettings()
	for _, a := range []int{1, 3, 10} {
		t.Run(fmt.Sprintf("a=%d", a), func(t *testing.T) {
			t.Parallel()
			counts := [6]int{a, 2, 2, 2, a + 2, 2} // occurrences per step, an hour apart
			var durs [6]time.Duration
			total := 0
			for i, n := range counts {
				durs[i] = time.Duration(n) * time.Hour
				total += 2 * n
			}
			cfg := migConfig{seed: seed + uint64(a), replicas: 3, steps: durs, failRate: 0.05}
			companies := []string{fmt.Sprintf("co-test-a%d", a), fmt.Sprintf("co-other-a%d", a)}
			m := newMigration(t, cfg, companies[0])
			g := newTraffic(m)
			for i, s := range m.steps {
				for j := range counts[i] {
					at := s.start.Add(30*time.Minute + time.Duration(j)*time.Hour)
					for _, co := range companies {
						g.readIfFree(co, co+"-conn", at, []readElem{{dataType: "invoices", status: "Complete"}})
					}
				}
			}
			if len(m.occs) != total {
				t.Fatalf("generated %d occurrences, want %d", len(m.occs), total)
			}
			m.run()
			r := m.check()
			t.Logf("seed=%d\n%v%s", cfg.seed, r, r.steps(m.steps))
			if s5 := r.perStep[4]; s5.lost > 0 {
				t.Errorf("step 5 (legacy off) lost %d of its %d occurrences after %d legacy-only arrivals per key", s5.lost, s5.want, a)
			}
		})
	}
}

// TestMigrationDroppedDelivery shows the documented effect of a delivery
// that Codat never sends, on a cluster of one key (a connection that
// disconnects twice within 2 minutes, A then B): the matcher cannot tell A
// from B, so it may pair A's surviving delivery with B's. The count must
// stay within what some pairing of the cluster's arrivals gives (see
// migration_check_test.go), and the test prints the deviation.
func TestMigrationDroppedDelivery(t *testing.T) {
	t.Parallel()
	seed, _, _ := migrationSettings()
	for _, tc := range []struct {
		name string
		// before is how long before step 4 (both endpoints on) A occurs;
		// B occurs 2 minutes after A.
		before time.Duration
		drop   func(a, b *occ)
	}{{
		// Both on: A's legacy and B's new are dropped. A's new and B's
		// legacy arrive within the window and pair: one callback for
		// two occurrences.
		name: "one format each",
		drop: func(a, b *occ) { a.legacy[0].dropped, b.newD.dropped = true, true },
	}, {
		// Step 3, the company is not the test company (new off): A's
		// legacy is dropped, so A's only delivery is skipped (A expects
		// none). B's legacy pairs with A's skipped new and is processed;
		// B's new first reaches us hours later, in step 5, finds no
		// partner left and is processed too: B twice.
		name:   "skipped survivor",
		before: 5 * time.Minute,
		drop:   func(a, b *occ) { a.legacy[0].dropped, b.newD.lost = true, 4 },
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hour := time.Hour
			cfg := migConfig{seed: seed, replicas: 3, steps: [6]time.Duration{hour, hour, hour, hour, hour, hour}}
			m := newMigration(t, cfg, "co-test")
			g := newTraffic(m)
			co := "co-drop-" + strings.ReplaceAll(tc.name, " ", "-")
			at := m.steps[3].start.Add(30 * time.Minute)
			if tc.before > 0 {
				at = m.steps[3].start.Add(-tc.before)
			}
			g.connection("connection.disconnected", co, co+"-conn", "Deauthorized", at, at.Add(2*time.Minute))
			tc.drop(m.occs[0], m.occs[1])
			m.run()
			r := m.check()
			t.Logf("%v", r)
			if r.dropClusters == 0 {
				t.Logf("no drop effect: the matcher kept A and B apart")
			}
		})
	}
}
