// Package resp is a small Redis client on the standard library, enough for
// the quickstart's dedupe store (internal/redisscript): it speaks RESP2,
// sends a batch of commands as one pipelined write and reads their replies,
// keeps a few idle connections for reuse, and bounds every dial and round
// trip with a timeout and the caller's context. It has no retries, no
// cluster support and no pub/sub.
package resp
