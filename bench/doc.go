// Package bench compares codathook's receive pipeline with what teams write
// today, in one process and one run: svix-go's Verify followed by
// encoding/json into typed structs (baseline A), and a hand-written receiver
// (baseline B: map[string]any and a sync.Map of seen ids). It is a separate
// module so that svix-go never enters codathook's go.mod.
//
// The package holds the deliveries ([Kind], [Source]), the three
// implementations ([Pipeline], [BaselineA], [BaselineB]) and the rows
// ([Rows], [Row.Bench]) shared by:
//
//   - cmd/compare: every row, interleaved over rounds, medians, ratios and
//     issue 7's targets (go -C bench run ./cmd/compare);
//   - BenchmarkReceive: the same rows as go test benchmarks;
//   - cmd/receiver, cmd/bare, cmd/sign and wrk/post.lua: the HTTP load test
//     run by scripts/bench-http.sh;
//   - cmd/memory: 1,000,000 unique deliveries through the default store;
//   - BenchmarkRedisReceiver: codathook on dedupe/redisstore against
//     [HandwrittenRedis] (svix-go, SET NX, the callback, DEL on failure;
//     with Lease, a claim and a commit) on one redis-server (REDIS_ADDR).
//
// docs/BENCHMARKS.md has the commands, the machine and the numbers.
package bench
