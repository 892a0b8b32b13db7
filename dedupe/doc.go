// Package dedupe makes every Codat webhook occurrence reach a callback once,
// across Svix retries, both payload formats (legacy rules and new event
// types) and several replicas. It holds the [Store] contract, the in-memory
// [LRU] store, the [Noop] store, and the [Deduper], which derives keys from a
// normalized event and drives a store through claim, commit and release.
// Stores for several replicas live in nested modules (redisstore); every
// store passes the conformance suite in the dedupetest package.
//
// # Lifecycle
//
// The receiver calls [Deduper.Begin] after authenticating, normalizing and
// gating a delivery, and before any callback:
//
//   - [Process]: run the callbacks, then [Lease.Commit] on success, or
//     [Lease.Release] on error, panic or timeout, so a retry processes what
//     failed. Claims expire after [Config.Lease] (default 2 minutes), so a
//     crashed process blocks nothing for long; a callback must finish within
//     the lease or it may run twice.
//   - [Duplicate]: answer 2xx without running anything.
//   - [InFlight]: another holder (a concurrent copy, possibly on another
//     replica) is processing it; answer 503 with Retry-After.
//
// A delivery that a flag switched off is passed to [Deduper.Skip] instead:
// it claims nothing (a later replay must be processed), but records the
// arrival for pairing (see "Gated-off deliveries" below).
//
// # Keys
//
// Every key starts with its kind, so kinds never collide; keys longer than
// 200 bytes are replaced by their kind and a SHA-256 digest.
//
//   - "d:" delivery key: the webhook-id/svix-id header (stable over Svix
//     retries, resends and replays), else the body id or AlertId
//     ([Delivery.Key]). Committed for [Config.Retention] (default 30 hours,
//     covering Svix's ~28-hour retry horizon).
//   - "i:" event id: the legacy AlertId and the new body id are one key, so
//     the two formats of one occurrence match exactly when Codat gives them
//     the same id. When the delivery key is the event id, this key is the
//     delivery key.
//   - "x:" exact occurrence key: Type and [normalize.Occurrence.ExactID],
//     the identifier both formats carry: the push operation key (legacy
//     pushOperationKey, new write payload.id), the expenses syncId, the
//     report id. Status is left out: Type already carries the outcome
//     (write.successful/unsuccessful), and the legacy and new spellings of a
//     status need not agree. Occurrences with an ExactID are not paired.
//   - "s:" dataset key (legacy only): Data.datasetId. Legacy "Data sync
//     completed" and "Dataset data changed" (and "Data Sync Status Changed To
//     Error") of one dataset are ONE occurrence: the first to arrive is
//     processed and the others are duplicates of it. Both also arrive under
//     one pairing member, "ds:"+datasetId, so together they count as one
//     legacy arrival and pair with one new read.completed element.
//   - "p:" and "o:" pairing, for every other occurrence (below).
//
// Begin claims the delivery key first, alone (Done: Duplicate; Pending:
// InFlight; a retried duplicate costs one store call). Then, in one batch,
// it claims the exact keys and records every pairing arrival; then, in a
// second batch, it claims the pairing slots. The arrivals are recorded
// whatever the exact keys say, so a delivery takes its place on its side
// when it first gets past its delivery key, not when a retry finally gets
// through. The first exact key (in the order above) that is Done makes the
// delivery a Duplicate, else the first Pending one makes it InFlight;
// then, after the slots, any Pending slot makes it InFlight and all slots
// Done a Duplicate. A Duplicate commits only its own delivery key (so
// retries of it are cheap duplicates) and releases the other keys it
// claimed: they were claimed for an occurrence that was processed through
// another key, and committing them could mark a different occurrence
// processed when exact ids and pairing disagree. An InFlight releases every
// key it claimed.
//
// The delivery key is built on its own (a retried duplicate needs nothing
// else); every other key of one Begin is built in one buffer (a
// strings.Builder sized once the occurrences are known), so a new delivery
// with one occurrence costs the Deduper three allocations (delivery key,
// key buffer, Lease; its occurrence list stays on the stack) on top of the
// store's: eight in all on the LRU (BenchmarkDeduper).
//
// # Pairing
//
// Without a shared identifier, the same occurrence delivered once as legacy
// and once as new is matched on its occurrence key
// K = Type|CompanyID|ConnectionID|DataType|Status (length-prefixed fields).
// Per K the store keeps a record ("p:"+K) with one counter per side (the
// event's Format, "legacy" or "new") and a member -> ordinal map, where the
// member is the delivery key (plus "#index" for a read.completed element).
// [Store.Arrive] returns the member's 1-based ordinal among its side's
// arrivals and the record's epoch; Begin then claims the slot
// "o:"+K+"#"+epoch+"#"+ordinal like any other key. So:
//
//   - the i-th legacy arrival and the i-th new arrival of K share a slot:
//     they are twins and the slot is processed once;
//   - two arrivals on the SAME side never share a slot, so two genuine
//     occurrences in one window (connected, disconnected, connected again)
//     are never merged;
//   - a retry of a delivery is the same member and gets the same ordinal.
//
// Proof sketch. Fix K and let L and N be the numbers of distinct legacy and
// new deliveries of K in the window (retries collapse into their member).
// Ordinals on each side are 1..L and 1..N, so the slots claimed are exactly
// 1..max(L, N), each processed once (the store's Claim is atomic and Commit
// keeps it Done). If Codat delivers each occurrence of K once per enabled
// format, the number of occurrences is max(L, N): every occurrence is
// processed once. Occurrences with equal K are indistinguishable to the
// matcher (same type, company, connection, data type and status), so which
// legacy delivery pairs with which new one does not change what callbacks
// are asked to do, only which copy of the body they receive.
//
// The record lives for [Config.Window] (default 30 hours) after the LAST
// arrival of K (sliding). When it expires, the next arrival creates a new
// epoch: ordinals restart at 1 and the old slots become unreachable. Limits:
// a twin that arrives more than Window after the last arrival of its K is
// processed again; and if one format drops an occurrence that the other
// delivers, the count stays right but later twins of K may be matched with a
// neighbour's body.
//
// # read.completed
//
// read.completed and read.completed.initial are paired per dataTypes[]
// element, since legacy sends one "Data sync completed" per data type where
// the new format batches them. [Lease.Elements] lists the element indexes
// still to process (nil means all); if every element was already processed
// the delivery is a Duplicate; if any element is Pending elsewhere the
// delivery is InFlight (and what Begin claimed is released; Begin records
// every element's arrival before claiming any slot, so an InFlight delivery
// has still taken its place on its side). A sync's element
// therefore reaches the read.completed callback once, whichever format
// delivered it first.
//
// # Gated-off deliveries
//
// When one endpoint is switched off, its deliveries still arrive; pairing
// stays aligned only if they still count. Example, legacy on and new off:
// legacy connected #1..#3 are processed (legacy ordinals 1..3, slots 1..3);
// their new twins are skipped. Then the operator flips the flags (legacy off,
// new on) and a 4th occurrence arrives in both formats. Had the skipped new
// deliveries not been counted, the new #4 would take new ordinal 1, find
// slot 1 Done and be dropped as a duplicate: an occurrence lost. Because
// [Deduper.Skip] records each skipped arrival, new #4 takes ordinal 4, its
// slot is free, and it is processed; the skipped legacy #4 takes legacy
// ordinal 4 for the same reason. A replay of a skipped delivery gets its
// remembered ordinal and is processed only if its twin was not.
//
// # Stores
//
// [LRU] is the in-memory default: bounded, lazy expiry, no goroutine, local
// to one process. For several replicas use a shared store (the redisstore
// module). [Noop] never reports a duplicate.
//
// A store that also implements [BatchStore] receives each of Begin's
// batches, and each settlement (Commit, Release, or the commit and
// releases of a Duplicate), as one Do call: one round trip for a networked
// store. A new delivery then costs four round trips (delivery key; exact
// keys and arrivals; slots; commit) and a retried duplicate one. Other
// stores get one call per key. The LRU is a BatchStore too: a batch takes
// its lock and reads its clock once.
//
// A store that implements [Peeker] can answer [Deduper.Processed] from a
// local read: the receiver then recognises a retry of a processed delivery
// from its webhook-id before parsing it. A networked store should not
// implement it (every new delivery would pay one more round trip).
package dedupe
