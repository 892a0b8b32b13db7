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
// A single operation is one command: Claim is SET key P NX GET PX ttl
// (Redis 7.0 or later; on an older server the store switches once,
// automatically, to its Lua script), Commit is SET key D PX ttl, and
// Release and Arrive are calls of the store's one Lua script
// ([redis.Script]), run with EVALSHA and resent with EVAL, which loads
// it, when the server answers NOSCRIPT: one extra round trip the first
// time a server meets the script. The store is also a
// [dedupe.BatchStore], and a batch of more than one op is one call of
// that script, which runs the ops in order on the server: a gate claim
// ([dedupe.Op.Gate]) that is not Claimed ends the batch there, and an
// arrival with a slot prefix ([dedupe.Op.SlotPrefix]) claims its slot in
// the same call. So the batch that begins a new delivery (its delivery
// key the gate, its exact keys, its arrivals, each claiming its slot) is
// one round trip; the same batch for a retried duplicate is one round
// trip too, the gate Done and nothing else run; and the batch that
// settles it (commits and releases) is one more (TestBatchRoundTrips).
// BenchmarkDo compares it with the same batch in the steps of
// [dedupe.DoInSteps], as pipelines. TestRoundTripsPerDelivery counts a
// delivery's round trips through a receiver; see Redis Cluster below for
// a cluster.
//
// # Key layout
//
// Under the prefix ([WithPrefix], default [DefaultPrefix]):
//
//   - prefix + "c:" + key: a claim key, "P" while Pending, "D" once Done,
//     with the claim's or the commit's TTL (PX). An arrival's slot claim
//     ([dedupe.Op.SlotPrefix]) is the claim key prefix + "c:" + slot
//     prefix + epoch + "#" + slot, which the script names itself.
//   - prefix + "a:" + key + ":" + interval, for a key with a group ("{g}"
//     first, see [dedupe.Store]; g not starting with "#"), and prefix +
//     "a:{#" + key + "}:" + interval for any other key: the arrivals of an
//     occurrence key in one window-aligned interval (interval = occurrence
//     time in Unix ms divided by the window, rounded down), a hash: "e" the
//     epoch, "n" the last slot, "o" arrivals recorded, "c<len>:<side>" a
//     side's arrivals, "m<len>:<side><member>" an arrival ("<at> <order>
//     <slot> <paired> <slot's epoch>"). It expires a fixed time after the
//     interval ends (dedupe.Arrival's TTL plus the rest of the interval) and
//     never slides. A group that starts with "#" keeps the second form, so
//     that the intervals of "{#x}" and of "x" never share a name (on a
//     cluster its batches then run in steps, see Redis Cluster).
//
// So the claim keys, the arrival intervals and the slot keys (of slot
// prefixes) of one group all have the group as their hash tag, unless
// the prefix has a tag of its own, which wins; an ungrouped key's
// intervals share the tag "#" + key.
//
// The layout changed in this version: a grouped key's intervals were
// prefix + "a:{#" + key + "}:" + interval before, so what an older build
// wrote for grouped keys is not read by this one (nor anything it wrote,
// once the Deduper puts a group on every key). Deploy it with a fresh
// prefix, or accept that the deliveries whose retries or twins arrive
// within the retention of the old keys are processed again.
//
// Receivers that share a Redis and a prefix see each other's deliveries.
//
// # Redis Cluster
//
// On a [redis.ClusterClient] (or a [redis.Ring], whose shards follow hash
// tags too) the store runs a batch as one script call only when every key
// it touches has one hash tag, and so one slot: its claim keys, its
// arrivals' intervals and the slot keys the script makes. That holds
// when the keys share a group (a Deduper gives every key of a delivery,
// of its retries and of its twin the same one), or when the prefix has a
// tag of its own ("{app}:" puts every key on one slot, one master: it
// works, unsharded). Redis accepts the slot keys, which the script
// writes without having them in KEYS, as they are in the slot of the
// KEYS; a key of a slot another master serves it would refuse
// (TestClusterKeysShareSlots).
// A grouped batch then costs what it costs on one server, one round trip,
// to its group's master (TestClusterBatchRoundTrips); a group spreads
// companies over the masters, not one company's deliveries.
//
// Any other batch (keys of several groups or of none, such as the
// migration re-check's arrivals) goes out as go-redis pipelines, which
// the cluster client splits by node and sends to the nodes in parallel,
// in the steps of [dedupe.DoInSteps] when it has a gate or slot claims:
// each step costs one round trip per master its keys land on. Keys of no
// group hash to unrelated slots, so such a begin batch costs a round
// trip per master per step (TestClusterBatchRoundTrips checks its
// results). A Deduper's keys all have a group: a new delivery costs 2
// round trips, a retried duplicate 1 (TestClusterRoundTripsPerDelivery;
// before the groups, 5.8 on average, 4 to 7). A single
// arrival's three intervals always share a tag, the group or "#" + key.
// New refuses on a cluster a prefix whose first "{" is followed by "}",
// which would turn tags off. TestClusterConformance and TestClusterReplicas
// run on three masters. Each master is a server of the Durability list
// above for the keys on its slots, and a failover loses what the failed
// master had not yet replicated: those deliveries are processed again
// when resent or twinned.
//
// # Failure modes
//
// By default the store fails closed: a Redis error is returned, the
// Deduper returns it, and the receiver answers 503 so Codat retries later:
// nothing is lost and nothing is processed twice. [WithFailOpen] trades
// duplicates for availability: on a Redis error (other than a cancelled
// context) Claim reports Claimed, Arrive reports a fresh pairing slot of its
// own, and Commit and Release report success, so every delivery is
// processed while Redis is down, twins and retries included. A batch
// that fails whole (its round trip, or its script refused) gives every
// op the error, never [dedupe.ErrNotRun], or its fail-open answer: a gate
// claim Claimed, so the ops after it get theirs, and an arrival's slot
// claim Claimed. Each such error is logged and counted
// ([Store.FailOpenErrors]). At start, New fails on a server it cannot
// reach; with WithFailOpen it warns and goes on unchecked.
//
// # Lifetime
//
// The store does not own the client: Close marks the store closed (later
// calls return [dedupe.ErrClosed]) and leaves the client open for its owner
// to close.
package redisstore
