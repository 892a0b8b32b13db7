package pgstore_test

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/codathook/codathook/dedupe"
	"github.com/codathook/codathook/dedupe/pgstore"
	"github.com/jackc/pgx/v5/pgxpool"
)

var (
	growthDeliveries = flag.Int("pgstore.deliveries", 0,
		"deliveries TestTableGrowth drives through a store (0 skips it; the README's numbers are for 1000000)")
	growthVacuum = flag.Int("pgstore.vacuum", 0,
		"TestTableGrowth runs VACUUM on the tables every this many deliveries (0: autovacuum alone)")
)

// The receiver's defaults (dedupe.Config).
const (
	retention = 30 * time.Hour // the default when README.md's figures were measured (now 34 hours)
	window    = 10 * time.Minute
	lease     = 2 * time.Minute
	limit     = 64
)

// delivery is one delivery of TestTableGrowth's traffic.
type delivery struct {
	occ    int // the occurrence, numbered from 0
	legacy bool
	at     time.Time // the occurrence time: a new event's generatedDate, a legacy delivery's arrival

	dKey, iKey, occKey, slotKey string
	pairing                     dedupe.Pairing
}

func uuid(kind byte, n int) string {
	return fmt.Sprintf("%08x-0000-4000-8%03x-%012x", n, kind, n)
}

// fields is the deduper's length-prefixed occurrence key.
func fields(ss ...string) string {
	var b []byte
	for _, s := range ss {
		b = append(strconv.AppendInt(b, int64(len(s)), 10), ':')
		b = append(b, s...)
	}
	return string(b)
}

func newDelivery(occ int, legacy bool, at time.Time) delivery {
	d := delivery{occ: occ, legacy: legacy, at: at}
	if legacy {
		alert := uuid('a', occ)
		d.dKey, d.iKey = "d:id:"+alert, "i:"+alert
	} else {
		d.dKey, d.iKey = fmt.Sprintf("d:msg:msg_%027d", occ), "i:"+uuid('e', occ)
	}
	d.occKey = "p:" + fields("connection.connected", uuid('c', occ), uuid('k', occ), "", "Linked")
	return d
}

// TestTableGrowth drives the store the way the receiver drives it, for
// -pgstore.deliveries deliveries, on a clock that advances one second per
// occurrence: each occurrence is delivered in the new format, and every
// other one also in the legacy format five minutes later (its twin, a
// duplicate). A new delivery claims its delivery key, then its event id
// key and records its arrival, then claims its slot, then commits the
// three (the receiver's batches, with its lease, retention and slot
// TTLs); a legacy twin claims its delivery key, its id key and its
// arrival (paired), finds its slot Done, commits its delivery key and
// releases its id key. Deliveries go in batches of 256 per step (the
// tables hold the same rows as with one delivery per batch, in less
// time). It logs the rows and sizes of the tables as they grow, with the
// store's own sweeps (the defaults) deleting expired rows and PostgreSQL's
// autovacuum (the server's settings) reclaiming their space.
//
// The run compresses days into minutes (about 3,000 deliveries a second),
// but autovacuum visits a table at most once a minute (autovacuum_naptime)
// however many rows died since: so many more dead rows wait for it than at
// a real rate. -pgstore.vacuum=N runs VACUUM every N deliveries instead,
// which is what autovacuum does at its default threshold (20% of a
// table's rows dead) at a real rate: about every 15,000 deliveries for
// the claims (5 dead rows a delivery: each key's claim replaced by its
// commit, then deleted when it expires) and 24,000 for the arrivals.
func TestTableGrowth(t *testing.T) {
	total := *growthDeliveries
	if total <= 0 {
		t.Skip("a long run: go test -run TestTableGrowth -pgstore.deliveries=1000000 -timeout 3h (with PGSTORE_DSN)")
	}
	pool := newPool(t)
	clk := newClock()
	t0 := clk.Now()
	s, schema := newStoreIn(t, pool, pgstore.WithClock(clk.Now), pgstore.WithTimeout(time.Minute))
	ctx := t.Context()
	const chunk = 256
	const twinLag = 300 // seconds
	var (
		batch          []delivery
		ats            []int64 // every delivery's time, Unix seconds
		done, occ      int
		wrong          int
		start          = time.Now()
		nextCheckpoint = total / 10
	)
	t.Logf("%10s %10s %12s %12s %12s %12s %10s", "deliveries", "simulated", "claim rows", "claims size", "arrival rows", "arrival size", "elapsed")
	report := func() {
		c, a, cs, as := sizes(t, pool, schema)
		t.Logf("%10d %10s %12d %12s %12d %12s %10s", done, clk.Now().Sub(t0).Round(time.Hour), c, mib(cs), a, mib(as), time.Since(start).Round(time.Second))
	}
	run := func() {
		if len(batch) == 0 {
			return
		}
		clk.Advance(batch[len(batch)-1].at.Sub(clk.Now()))
		for i := range batch {
			ats = append(ats, batch[i].at.Unix())
		}
		wrong += runBatch(t, s, batch, clk.Now())
		done += len(batch)
		if v := *growthVacuum; v > 0 && done/v != (done-len(batch))/v {
			if _, err := pool.Exec(ctx, "VACUUM "+table(schema, "claims")+", "+table(schema, "arrivals")); err != nil {
				t.Fatal(err)
			}
		}
		if done >= nextCheckpoint {
			report()
			nextCheckpoint += total / 10
		}
		batch = batch[:0]
	}
	for sec := 0; done+len(batch) < total; sec++ {
		at := t0.Add(time.Duration(sec) * time.Second)
		batch = append(batch, newDelivery(occ, false, at))
		occ++
		if twin := sec - twinLag; twin >= 0 && twin%2 == 0 && done+len(batch) < total {
			batch = append(batch, newDelivery(twin, true, at))
		}
		if len(batch) >= chunk {
			run()
		}
	}
	run()
	s.WaitSweep()
	if wrong > 0 {
		t.Errorf("%d deliveries were not processed or answered as duplicates as their traffic says", wrong)
	}
	c, a, cs, as := sizes(t, pool, schema)
	// The deliveries whose keys are still kept: those of the last retention.
	alive := 0
	for _, at := range ats {
		if at > clk.Now().Add(-retention).Unix() {
			alive++
		}
	}
	t.Logf("after %d deliveries (%d occurrences over %v simulated): claims %d rows, %s; arrivals %d rows, %s; "+
		"%d deliveries in the last retention (%v): %.2f rows and %.0f B per such delivery",
		done, occ, clk.Now().Sub(t0).Round(time.Hour), c, mib(cs), a, mib(as), alive, retention,
		float64(c+a)/float64(alive), float64(cs+as)/float64(alive))
	var deadC, deadA int64
	if err := pool.QueryRow(ctx, `SELECT
		coalesce((SELECT n_dead_tup FROM pg_stat_user_tables WHERE relid = $1::regclass), 0),
		coalesce((SELECT n_dead_tup FROM pg_stat_user_tables WHERE relid = $2::regclass), 0)`,
		table(schema, "claims"), table(schema, "arrivals")).Scan(&deadC, &deadA); err != nil {
		t.Fatal(err)
	}
	t.Logf("dead tuples not vacuumed yet (pg_stat_user_tables, approximate): claims %d, arrivals %d", deadC, deadA)
	for _, name := range []string{"claims", "arrivals"} {
		var heap, idx string
		if err := pool.QueryRow(ctx, `SELECT pg_size_pretty(pg_relation_size($1::regclass)), pg_size_pretty(pg_indexes_size($1::regclass))`,
			table(schema, name)).Scan(&heap, &idx); err != nil {
			t.Fatal(err)
		}
		var each []string
		rows, err := pool.Query(ctx, `SELECT indexrelid::regclass::text, pg_size_pretty(pg_relation_size(indexrelid)) FROM pg_index WHERE indrelid = $1::regclass ORDER BY 1`, table(schema, name))
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var n, sz string
			if err := rows.Scan(&n, &sz); err != nil {
				t.Fatal(err)
			}
			each = append(each, n+" "+sz)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: heap %s, indexes %s (%s)", name, heap, idx, strings.Join(each, ", "))
	}
}

// runBatch runs ds's four steps at now, as the receiver's Deduper batches
// them, and returns how many deliveries did not go as their traffic says.
func runBatch(t *testing.T, s *pgstore.Store, ds []delivery, now time.Time) (wrong int) {
	t.Helper()
	do := func(ops []dedupe.Op) {
		t.Helper()
		if err := s.Do(t.Context(), ops); err != nil {
			t.Fatal(err)
		}
		for i := range ops {
			if ops[i].Err != nil {
				t.Fatal(ops[i].Err)
			}
		}
	}
	// 1. The delivery key.
	ops := make([]dedupe.Op, 0, 3*len(ds))
	for i := range ds {
		ops = append(ops, dedupe.Op{Kind: dedupe.OpClaim, Key: ds[i].dKey, TTL: lease})
	}
	do(ops)
	for i := range ops {
		if ops[i].State != dedupe.Claimed {
			wrong++
		}
	}
	// 2. The id key and the arrival.
	ops = ops[:0]
	for i := range ds {
		d := &ds[i]
		side := "new"
		if d.legacy {
			side = "legacy"
		}
		ops = append(ops, dedupe.Op{Kind: dedupe.OpClaim, Key: d.iKey, TTL: lease},
			dedupe.Op{Kind: dedupe.OpArrive, Key: d.occKey, Arrival: dedupe.Arrival{
				Side: side, Member: d.dKey, At: d.at, Window: window, TTL: d.at.Add(window + retention).Sub(now), Limit: limit}})
	}
	do(ops)
	for i := range ds {
		d := &ds[i]
		d.pairing = ops[2*i+1].Pairing
		if ops[2*i].State != dedupe.Claimed || d.pairing.Epoch == "" || d.pairing.Paired != d.legacy {
			wrong++
		}
		d.slotKey = "o:" + d.occKey[2:] + "#" + d.pairing.Epoch + "#" + strconv.FormatInt(d.pairing.Slot, 10)
	}
	// 3. The slot.
	ops = ops[:0]
	for i := range ds {
		ops = append(ops, dedupe.Op{Kind: dedupe.OpClaim, Key: ds[i].slotKey, TTL: lease})
	}
	do(ops)
	for i := range ds {
		if want := map[bool]dedupe.State{false: dedupe.Claimed, true: dedupe.Done}[ds[i].legacy]; ops[i].State != want {
			wrong++
		}
	}
	// 4. Settle: a processed delivery commits its keys; a duplicate commits
	// its delivery key and releases the rest.
	ops = ops[:0]
	for i := range ds {
		d := &ds[i]
		if d.legacy {
			ops = append(ops, dedupe.Op{Kind: dedupe.OpCommit, Key: d.dKey, TTL: retention}, dedupe.Op{Kind: dedupe.OpRelease, Key: d.iKey})
			continue
		}
		ops = append(ops, dedupe.Op{Kind: dedupe.OpCommit, Key: d.dKey, TTL: retention},
			dedupe.Op{Kind: dedupe.OpCommit, Key: d.iKey, TTL: retention},
			dedupe.Op{Kind: dedupe.OpCommit, Key: d.slotKey, TTL: 2*window + retention})
	}
	do(ops)
	return wrong
}

// sizes returns the rows and pg_total_relation_size (heap, indexes and
// TOAST) of the store's tables in schema.
func sizes(t *testing.T, pool *pgxpool.Pool, schema string) (claims, arrivals, claimsSize, arrivalsSize int64) {
	t.Helper()
	c, a := table(schema, "claims"), table(schema, "arrivals")
	err := pool.QueryRow(t.Context(), fmt.Sprintf(`SELECT (SELECT count(*) FROM %s), (SELECT count(*) FROM %s),
		pg_total_relation_size($1::regclass), pg_total_relation_size($2::regclass)`, c, a), c, a).
		Scan(&claims, &arrivals, &claimsSize, &arrivalsSize)
	if err != nil {
		t.Fatal(err)
	}
	return claims, arrivals, claimsSize, arrivalsSize
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
