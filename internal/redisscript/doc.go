// Package redisscript is the Redis dedupe store shared by the go-redis
// store (module dedupe/redisstore) and the quickstart's stdlib client
// (internal/resp): the key layout, the commands and Lua scripts, the reply
// handling and the fail-open policy, over a [Transport] that only sends
// commands. Keeping them here means both clients run the same semantics
// against the same keys, so receivers using either can share one Redis.
//
// # Key layout
//
// Under a prefix (default [DefaultPrefix]):
//
//   - prefix + "c:" + key: a claim key, "P" while Pending, "D" once Done,
//     with the claim's or the commit's TTL (PX);
//   - prefix + "a:" + key: an arrival record, a hash: "e" the epoch,
//     "n<len>:<side>" a side's counter, "m<len>:<side><member>" a member's
//     ordinal; the hash expires ttl after the last arrival.
//
// Every command touches one Redis key, so the store works with Redis
// Cluster (a transport may split a batch across nodes).
//
// # Commands
//
// Claim is SET key P NX GET PX ttl (Redis 7.0 or later; on an older server
// the store switches once, automatically, to an equivalent Lua script),
// Commit is SET key D PX ttl, and Release and Arrive are Lua scripts run
// with EVALSHA (falling back to EVAL, which loads the script, when the
// server answers NOSCRIPT). [Store.Do] sends a whole batch in one
// round trip.
package redisscript
