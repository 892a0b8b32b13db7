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
//   - prefix + "a:{#" + key + "}:" + interval: the arrivals of an
//     occurrence key in one window-aligned interval (interval = occurrence
//     time in Unix ms divided by the window, rounded down), a hash: "e" the
//     epoch, "n" the last slot, "o" arrivals recorded, "c<len>:<side>" a
//     side's arrivals, "m<len>:<side><member>" an arrival ("<at> <order>
//     <slot> <paired> <slot's epoch>"). It expires a fixed time after the
//     interval ends (dedupe.Arrival's TTL plus the rest of the interval) and
//     never slides.
//
// Every command but Arrive touches one Redis key; Arrive's script touches
// the three intervals around an arrival, which share the hash tag
// "{#" + key + "}" and so one Redis Cluster slot (a transport may split a
// batch across nodes).
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
