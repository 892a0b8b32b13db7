// Package redisstore is a [dedupe.Store] on Redis (github.com/redis/go-redis/v9),
// for receivers running as several replicas: every replica that shares one
// Redis sees the others' claims, commits and arrivals, so an occurrence is
// processed once across the fleet. It is a separate module so that the
// core module does not depend on a Redis client.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
//	store, err := redisstore.New(rdb, redisstore.WithPrefix("myapp:codathook:"))
//
// # Round trips
//
// Each operation is one round trip: Claim is SET key P NX GET PX ttl (Redis
// 7.0 or later; on an older server the store switches once, automatically,
// to an equivalent Lua script), Commit is SET key D PX ttl, and Release and
// Arrive are Lua scripts run with EVALSHA (one extra round trip the first
// time a server sees a script). The store is also a [dedupe.BatchStore]:
// the Deduper sends each of its batches as one pipeline. A new delivery
// costs 4 round trips whatever its number of keys (claim the delivery key;
// claim the exact keys and record the arrivals; claim the slots; commit),
// where one call per key took 7 for a paired event and 13 for a
// read.completed with three data types; a retried duplicate costs 1, and
// a cross-format twin decided at its slot 4. See TestRoundTripsPerDelivery.
//
// The commands, scripts and key layout live in the core module's
// internal/redisscript package, shared with the quickstart's stdlib Redis
// client, so both write the same keys with the same semantics.
//
// Every key touches one Redis key, so the store works with Redis Cluster.
//
// # Failure modes
//
// By default the store fails closed: a Redis error is returned, the
// Deduper returns it, and the receiver answers 503 so Codat retries later:
// nothing is lost and nothing is processed twice. [WithFailOpen] trades
// duplicates for availability: on a Redis error (other than a cancelled
// context) Claim reports Claimed, Arrive reports a fresh pairing slot of its
// own, and Commit and Release report success, so every delivery is
// processed while Redis is down, twins and retries included. Each such
// error is logged and counted ([Store.FailOpenErrors]).
//
// # Lifetime
//
// The store does not own the client: Close marks the store closed (later
// calls return [dedupe.ErrClosed]) and leaves the client open for its owner
// to close.
package redisstore
