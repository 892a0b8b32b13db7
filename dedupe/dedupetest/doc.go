// Package dedupetest is the conformance suite for [dedupe.Store]
// implementations, in the manner of testing/slogtest: [Run] runs one subtest
// per rule of the Store contract and names the rule in every failure, and
// [RunBenchmarks] measures the hot paths, including a b.RunParallel
// claim+commit benchmark that doubles as a race finder under -race.
//
// A store that also implements [dedupe.BatchStore] is checked to give
// every op of a batch the result of its single call.
//
// It depends only on the standard library and the dedupe package, so any
// store module can use it without inheriting an assertion library.
//
// # Using it
//
//	func TestConformance(t *testing.T) {
//		dedupetest.Run(t, func(t *testing.T) dedupe.Store {
//			return mystore.New(...) // an empty, isolated store
//		}, nil)
//	}
//
// The factory must return an empty store that no other test shares (for a
// shared backend, use a unique key prefix per call); the suite closes it.
//
// # Time
//
// Expiry rules need time to pass. A store with an injectable clock passes
// [Config.Clock] and the suite moves a fake clock forward without sleeping.
// Without it the suite uses short real TTLs ([Config.RealTTL], default 200ms)
// and sleeps past them; this is the only place the suite sleeps.
package dedupetest
