// Package pgstore is a [dedupe.Store] on PostgreSQL (github.com/jackc/pgx/v5,
// through a pgxpool.Pool), for receivers running as several replicas:
// every replica that shares the store's tables sees the others' claims,
// commits and arrivals, so an occurrence is processed once across the
// fleet. It is a separate module so that the core module does not depend
// on a PostgreSQL driver.
//
//	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
//	...
//	if err := pgstore.CreateSchema(ctx, pool); err != nil { ... } // idempotent
//	store, err := pgstore.New(ctx, pool)
//	...
//	rcv, err := codathook.New(..., codathook.WithDedupe(store, nil))
//
// # Schema
//
// Two tables and a sequence, named by [WithPrefix] (default
// [DefaultPrefix]) in the schema of [WithSchema] (default: the current
// one); [SchemaSQL] returns their DDL for a migration tool and
// [CreateSchema] runs it:
//
//   - prefix + "claims" (expires, done, key): one row per claim key held
//     or committed: Pending while done is false, Done once true, until
//     expires. key is the first 16 bytes of the key's SHA-256, so keys of
//     any length and content cost 16 bytes; find one with
//     substr(sha256(convert_to(k, 'UTF8')), 1, 16).
//   - prefix + "arrivals" (at, id, epoch, slot, expires, paired, okey,
//     side, member): one row per recorded arrival of an occurrence key
//     (okey, its digest as for claims), keyed by (okey, at, id). id comes
//     from the sequence prefix + "arrival_id", in the order arrivals of a
//     key were recorded; a new slot is its arrival's id with a fresh
//     random epoch, and a twin copies it.
//
// Both tables have an index on expires, for the sweeps.
//
// # Atomicity
//
// Every operation is atomic on its own, across processes, at read
// committed (which [New] checks):
//
//   - Claim is INSERT ... ON CONFLICT (key) DO UPDATE ... WHERE expired:
//     it takes an absent or expired key; otherwise it changes nothing but
//     locks the live row, and the next statement of the same transaction
//     reads its state (Pending or Done), which no one can change before
//     the transaction ends.
//   - Commit is an INSERT ... ON CONFLICT DO UPDATE; Release a DELETE of
//     the key's row while it is Pending.
//   - Arrive takes pg_advisory_xact_lock of the occurrence key (64 bits of
//     its digest, mixed with the table's name), then one statement, whose
//     snapshot therefore holds every arrival of the key recorded before,
//     applies the rules of [dedupe.Arrival] and records the arrival.
//
// # Round trips
//
// Each call is one round trip (the Claim's and the Arrive's two
// statements go together), and the store is a [dedupe.BatchStore]: a
// batch is one pgx.Batch, one round trip, which PostgreSQL runs as one
// transaction (a failed statement rolls the batch back, and every op gets
// the error). Its ops run ordered by key, so batches that share keys lock
// them in one order and never deadlock. A new delivery costs 4 round
// trips (claim its delivery key; claim its exact keys and record its
// arrivals; claim its slots; commit), a retried duplicate 1 and a
// cross-format twin decided at its slot 4 (TestRoundTripsPerDelivery).
// pgx prepares each statement once per connection, one more round trip
// the first time; and pgxpool pings a connection idle for over a second
// before handing it out (pgxpool.Config.ShouldPing), one more after a
// pause.
//
// # Expiry
//
// An expired row is ignored at once; deleting it only keeps the tables
// bounded. Every 1000 operations ([WithExpireEvery]) the store starts a
// sweep in the background (one at a time, stopped by Close) that deletes
// expired rows, up to 1000 per table and statement (FOR UPDATE SKIP
// LOCKED, so it never waits for a delivery), until it finds fewer. With
// the sweeps off, call [Store.Expire]. PostgreSQL's autovacuum reclaims
// the space of the deleted and updated rows; the README has the tables'
// size under a million deliveries.
//
// Expiry reads the server's clock (statement_timestamp()), which every
// replica shares, unless [WithClock].
//
// # Durability
//
// A committed delivery is remembered as long as its row: PostgreSQL
// answers a COMMIT once its WAL is flushed (synchronous_commit on, the
// default), so a committed key survives a restart and a crash of the
// server or its host. Measured by TestDurabilityAcrossRestart (50
// committed occurrences, PostgreSQL 15):
//
//   - synchronous_commit on, immediate shutdown (a crash): 0 of 50
//     processed again;
//   - synchronous_commit off, fast shutdown: 0 of 50;
//   - synchronous_commit off, immediate shutdown: the last commits are
//     forgotten (their WAL was still in the server's buffers): 3 of 50
//     processed again. [New] warns about synchronous_commit off, and
//     about fsync off (a host crash can then lose or corrupt anything).
//
// Replication is the server's: with asynchronous streaming replication
// (PostgreSQL's default) a failover loses the commits the standby had not
// received, and their deliveries are processed again when resent; with
// synchronous_standby_names set and synchronous_commit on (or
// remote_apply), a commit is answered once a standby has it, and a
// failover to that standby loses none. [New] refuses a standby; point the
// pool at the primary (target_session_attrs=read-write in the connection
// string), so that it reconnects to the new one after a failover.
//
// # Failure modes
//
// The store fails closed: an error of the server or the connection is
// returned, the Deduper returns it, and the receiver answers 503 so that
// Codat retries later: nothing is lost and nothing is processed twice.
// Every call is bounded by [WithTimeout] (3 s by default), as the
// receiver's store calls outlive the request. At start, [New] fails on a
// server it cannot reach.
//
// # Lifetime
//
// The store does not own the pool: Close stops the sweep, marks the store
// closed (later calls return [dedupe.ErrClosed]) and leaves the pool open
// for its owner to close.
package pgstore
