// Package dedupe makes every Codat webhook occurrence reach a callback once,
// across Svix retries, both payload formats (legacy rules and new event
// types) and several replicas. It holds the [Store] contract, the in-memory
// [LRU] store, the [Noop] store, and the [Deduper] that derives keys from a
// normalized event and drives a store through claim, commit and release.
//
// Stores for several replicas live in nested modules (redisstore); every
// store passes the conformance suite in dedupetest.
package dedupe
