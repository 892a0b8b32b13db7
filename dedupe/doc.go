// Package dedupe holds what the receiver's deduplication is configured
// with: the [Store] contract a shared store implements, the in-memory [LRU]
// store (the receiver's default), and [Config], the pairing window,
// retention and lease (codathook.WithDedupe).
//
// A delivery is processed once across Svix retries, both payload formats
// (legacy rules and new event types) and several replicas: the receiver
// claims a key per delivery and per occurrence in the store before any
// callback, commits on success and releases on failure. The same
// occurrence delivered once in each format is matched on its occurrence
// key and time through [Store.Arrive]; docs/DEDUPLICATION.md states the
// keys, the pairing rules and every case in which an occurrence can be
// processed twice or lost.
//
// [LRU] is bounded, expires lazily, runs no goroutine and is local to one
// process. For several replicas use a shared store: the redisstore module,
// or your own, checked with the conformance suite in dedupetest. A store
// that also implements [BatchStore] receives each step's keys in one call
// (one round trip for a networked store). The LRU also lets the receiver
// recognise a retry of a processed delivery before parsing it ([LRU.Peek]).
package dedupe
