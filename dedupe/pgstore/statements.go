package pgstore

import "strings"

// statements are the store's SQL, with its table names filled in. Every
// statement reads the time once, as now: the injected clock ([WithClock])
// when its parameter is set, else statement_timestamp(). A row whose
// expires is not after now is expired: as if absent.
type statements struct {
	// claim takes key ($1) for ttl microseconds ($3) if it is absent or
	// expired, returning a row; otherwise it returns none, but still locks
	// the live row (ON CONFLICT DO UPDATE locks the rows its WHERE
	// rejects), so that state, next in the same transaction, reads it as
	// it is until the transaction ends.
	claim string
	// state reads the key's done flag.
	state string
	// commit marks key Done for ttl, whatever it was.
	commit string
	// release deletes key while it is Pending.
	release string
	// lock takes the transaction-level advisory lock of an occurrence key:
	// its own statement, so that arrive's snapshot, taken after it, sees
	// every arrival recorded before.
	lock string
	// arrive applies dedupe.Arrival's rules (see arriveSQL).
	arrive string
	// expireClaims and expireArrivals delete up to $2 expired rows.
	expireClaims, expireArrivals string
}

const nowSQL = `coalesce($%s::timestamptz, statement_timestamp())`

func nowParam(param string) string { return strings.Replace(nowSQL, "%s", param, 1) }

func newStatements(n names) statements {
	r := strings.NewReplacer("{claims}", n.claims, "{arrivals}", n.arrivals, "{seq}", literal(n.seq),
		"{now2}", nowParam("2"), "{now1}", nowParam("1"), "{now8}", nowParam("8"))
	return statements{
		claim: r.Replace(`INSERT INTO {claims} AS c (key, done, expires)
VALUES ($1::bytea, false, {now2} + $3::bigint * interval '1 microsecond')
ON CONFLICT (key) DO UPDATE SET done = false, expires = excluded.expires
WHERE c.expires <= {now2}
RETURNING true`),
		state: r.Replace(`SELECT done FROM {claims} WHERE key = $1::bytea`),
		commit: r.Replace(`INSERT INTO {claims} (key, done, expires)
VALUES ($1::bytea, true, {now2} + $3::bigint * interval '1 microsecond')
ON CONFLICT (key) DO UPDATE SET done = true, expires = excluded.expires`),
		release: r.Replace(`DELETE FROM {claims} WHERE key = $1::bytea AND NOT done`),
		lock:    `SELECT pg_advisory_xact_lock($1::bigint)`,
		arrive:  r.Replace(arriveSQL),
		expireClaims: r.Replace(`DELETE FROM {claims} WHERE ctid = ANY (ARRAY(
	SELECT ctid FROM {claims} WHERE expires <= {now1}
	ORDER BY expires LIMIT $2::int FOR UPDATE SKIP LOCKED))`),
		expireArrivals: r.Replace(`DELETE FROM {arrivals} WHERE ctid = ANY (ARRAY(
	SELECT ctid FROM {arrivals} WHERE expires <= {now1}
	ORDER BY expires LIMIT $2::int FOR UPDATE SKIP LOCKED))`),
	}
}

// arriveSQL applies the rules of dedupe.Arrival to the live arrivals of
// one occurrence key, under the key's advisory lock. Parameters: $1 the
// key's digest, $2 side, $3 member, $4 at and $5 the window (Unix ms), $6
// the start of at's window-aligned interval, $7 the limit, $8 now (NULL:
// the server's clock), $9 how long the arrival is kept (microseconds), $10
// the epoch of a new slot. It returns the pairing (epoch, slot, paired):
// the retried arrival's, or the recorded one's; no row under the Limit
// rule.
//
//   - near: the live arrivals at most a window from at;
//   - retry (rule 1): the member's nearest arrival on its side, the
//     earlier on a tie;
//   - rec: whether to record (no retry, and fewer than limit arrivals of
//     the side in the interval: rule 2);
//   - twin (rule 3): the nearest unpaired arrival of another side, then
//     the earlier, then the first recorded (the lowest id: ids are drawn
//     in the order arrivals of a key are recorded, under its lock);
//   - mark pairs the twin; ins records the arrival with the twin's slot,
//     or (rule 4) a slot of its own: its id, from a sequence that never
//     goes back, with a fresh random epoch.
const arriveSQL = `WITH n AS (
	SELECT {now8} AS now
), near AS (
	SELECT a.at, a.id, a.side, a.member, a.epoch, a.slot, a.paired
	FROM {arrivals} a, n
	WHERE a.okey = $1::bytea AND a.at BETWEEN $4::bigint - $5::bigint AND $4::bigint + $5::bigint
		AND a.expires > n.now
), retry AS (
	SELECT epoch, slot, paired FROM near
	WHERE side = $2::bytea AND member = $3::bytea
	ORDER BY abs(at - $4::bigint), at
	LIMIT 1
), rec AS (
	SELECT NOT EXISTS (SELECT FROM retry) AND (
		SELECT count(*) FROM (
			SELECT FROM near WHERE side = $2::bytea AND at >= $6::bigint AND at < $6::bigint + $5::bigint
			LIMIT $7::int
		) l
	) < $7::int AS ok
), twin AS (
	SELECT near.at, near.id, near.epoch, near.slot FROM near, rec
	WHERE rec.ok AND near.side <> $2::bytea AND NOT near.paired
	ORDER BY abs(near.at - $4::bigint), near.at, near.id
	LIMIT 1
), mark AS (
	UPDATE {arrivals} a SET paired = true FROM twin
	WHERE a.okey = $1::bytea AND a.at = twin.at AND a.id = twin.id
), ins AS (
	INSERT INTO {arrivals} (at, id, epoch, slot, expires, paired, okey, side, member)
	SELECT $4::bigint, i.id, coalesce(twin.epoch, $10::bigint), coalesce(twin.slot, i.id),
		n.now + $9::bigint * interval '1 microsecond', twin.id IS NOT NULL, $1::bytea, $2::bytea, $3::bytea
	FROM n CROSS JOIN rec CROSS JOIN (SELECT nextval({seq}) AS id) i LEFT JOIN twin ON true
	WHERE rec.ok
	RETURNING epoch, slot, paired
)
SELECT epoch, slot, paired FROM retry
UNION ALL
SELECT epoch, slot, paired FROM ins`
