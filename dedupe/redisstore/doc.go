// Package redisstore is a [dedupe.Store] on Redis (github.com/redis/go-redis/v9),
// for receivers running as several replicas: every replica that shares one
// Redis sees the others' claims, commits and arrivals, so an occurrence is
// processed once across the fleet. It is a separate module so that the
// core module does not depend on a Redis client.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
//	store, err := redisstore.New(ctx, rdb, redisstore.WithPrefix("myapp:codathook:"))
//
// # Durability
//
// A dedupe key is only as durable as the Redis holding it: a committed
// delivery whose key is lost is processed again when resent, or when its
// twin in the other format arrives. [New] checks each server (each master
// of a cluster) in one round trip: it refuses an evicting policy, and logs
// at Warn (see [WithLogger]) a setup that can lose commits and what it
// could not check (managed Redis often forbids CONFIG; the policy is then
// read from INFO). Measured by TestDurabilityAcrossRestart (50 committed
// occurrences) and TestMemoryPressure (200), redis 7.0:
//
//   - No persistence (save "", appendonly no): a restart forgets every
//     commit, 50 of 50 processed again. New warns.
//   - RDB snapshots only: SHUTDOWN saves one (0 of 50); a crash forgets
//     the commits since the last one (50 of 50). New warns.
//   - AOF, appendfsync everysec: 0 of 50 after SHUTDOWN; a host crash
//     loses about the last second (Redis's documentation).
//   - AOF, appendfsync always: 0 of 50 even after SIGKILL.
//   - AOF, appendfsync no: the OS flushes when it likes (about 30 s on
//     Linux); a host crash loses that much. New warns.
//   - noeviction at the memory limit: writes fail, so most new deliveries
//     are answered 503 and retried by Codat (145 to 200 of 200 over five
//     runs), resends too or answered as duplicates; none is processed
//     again, and once memory is freed the retries are processed once.
//     With [WithFailOpen] the failures are swallowed: deliveries are
//     processed without deduplication.
//   - Every other policy evicts dedupe keys under memory pressure: the
//     allkeys-* ones, and the volatile-* ones too, as every dedupe key has
//     a TTL (186 to 200 of 200 resends processed again with allkeys-lru,
//     five runs). New
//     refuses them with an [*EvictionPolicyError] unless
//     [WithEvictionAllowed]; without a memory limit (maxmemory 0) it warns.
//
// Use AOF with appendfsync everysec or always, and noeviction. Replicas
// are not checked, and Redis replicates asynchronously: a failover can
// lose the last commits whatever the master's persistence.
//
// # Round trips
//
// Each operation is one round trip: Claim is SET key P NX GET PX ttl (Redis
// 7.0 or later; on an older server the store switches once, automatically,
// to an equivalent Lua script), Commit is SET key D PX ttl, and Release and
// Arrive are Lua scripts ([redis.Script]) run with EVALSHA, resent with
// EVAL, which loads them, when the server answers NOSCRIPT: one extra
// round trip the first time a server sees a script. The store is also a
// [dedupe.BatchStore]: the Deduper sends each of its batches as one
// go-redis pipeline, and the commands answered NOSCRIPT in it go again in
// one more. A new delivery costs 4 round trips whatever its number of keys
// (claim the delivery key; claim the exact keys and record the arrivals;
// claim the slots; commit), where one call per key took 7 for a paired
// event and 13 for a read.completed with three data types; a retried
// duplicate costs 1, and a cross-format twin decided at its slot 4. See
// TestRoundTripsPerDelivery, and Redis Cluster below for a cluster.
//
// # Key layout
//
// Under the prefix ([WithPrefix], default [DefaultPrefix]):
//
//   - prefix + "c:" + key: a claim key, "P" while Pending, "D" once Done,
//     with the claim's or the commit's TTL (PX);
//   - prefix + "a:{#" + key + "}:" + interval: the arrivals of an
//     occurrence key in one window-aligned interval (interval = occurrence
//     time in Unix ms divided by the window, rounded down), a hash: "e" the
//     epoch, "n" the last slot, "o" arrivals recorded, "c<len>:<side>" a
//     side's arrivals, "m<len>:<side><member>" an arrival ("<at> <order>
//     <slot> <paired> <slot's epoch>"). It expires a fixed time after the
//     interval ends (dedupe.Arrival's TTL plus the rest of the interval) and
//     never slides.
//
// Receivers that share a Redis and a prefix see each other's deliveries.
//
// # Redis Cluster
//
// Every command but Arrive touches one Redis key; Arrive's script touches
// the three intervals around an arrival, which share the hash tag
// "{#" + key + "}" and so one slot: the store works on a
// [redis.ClusterClient], as TestClusterConformance,
// TestClusterKeysShareSlots and TestClusterReplicas show on three masters.
// A prefix's own hash tag wins ("{app}:" puts every key on one slot);
// New refuses on a cluster a prefix whose first "{" is followed by "}",
// which would turn tags off. Pipelines go out per node, in parallel: a
// delivery takes the steps it takes on one server, each costing one round
// trip per master its keys land on (with three masters, a new paired
// delivery 4 to 7, 5.8 on average; a retried duplicate 1; see
// TestClusterRoundTripsPerDelivery). Each master is a server of the
// Durability list above for the keys on its slots, and a failover loses
// what the failed master had not yet replicated: those deliveries are
// processed again when resent or twinned.
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
// error is logged and counted ([Store.FailOpenErrors]). At start, New
// fails on a server it cannot reach; with WithFailOpen it warns and goes
// on unchecked.
//
// # Lifetime
//
// The store does not own the client: Close marks the store closed (later
// calls return [dedupe.ErrClosed]) and leaves the client open for its owner
// to close.
package redisstore
