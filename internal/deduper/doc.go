// Package deduper is the receiver's deduplication engine: it derives keys
// from a normalized event and drives a [dedupe.Store] through claim,
// arrival, commit and release. docs/DEDUPLICATION.md states the semantics
// for users; this comment states them for maintainers.
//
// # Lifecycle
//
// The receiver calls [Deduper.Begin] after authenticating, normalizing and
// gating a delivery, and before any callback:
//
//   - [Process]: run the callbacks, then [Lease.Commit] on success, or
//     [Lease.Release] on error, panic or timeout, so a retry processes what
//     failed. Claims expire after [dedupe.Config.Lease] (default 2 minutes), so a
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
// 200 bytes are replaced by their kind and a SHA-256 digest. On a shared
// store (any store but the LRU) every key starts, before its kind, with
// the delivery's group, "{" + 6 base64 bytes of an FNV-1a hash of the
// company id (ASCII case folded) + "}": a delivery, its retries and its
// twin name one company, so every key they touch is in one group, which
// redisstore makes one Redis Cluster hash slot (see [dedupe.Store]). Two
// formats of one occurrence that named its company differently (other
// than in case) would miss each other's exact keys, as they already miss
// each other's pairing keys, which include the company id.
//
//   - "d:" delivery key: the webhook-id/svix-id header (stable over Svix
//     retries, resends and replays), else the body id or AlertId
//     ([Delivery.Key]). Committed for [dedupe.Config.Retention] (default 34 hours,
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
//   - "a:" audit arrival: Type and ExactID again, for an occurrence with an
//     ExactID. Its arrival is recorded like a pairing arrival (the same
//     batch) but no slot is claimed: it only tells the migration ledger
//     whether the occurrence found its twin (see "Migration ledger").
//
// Begin claims the delivery key first (Done: Duplicate; Pending:
// InFlight; a retried duplicate costs one store call). Then, in one batch,
// it claims the exact keys and records every pairing arrival, each arrival
// claiming its slot once its pairing is known ([dedupe.Op.SlotPrefix]); a
// store without batches claims the slots in a second step. On a networked
// [dedupe.BatchStore] the two are one batch: the delivery key is its
// [dedupe.Op.Gate] (nothing else runs for a retry), so that a store that
// runs a batch whole (redisstore's script) takes one round trip. So it is
// on the LRU for a signed message, whose processed retries the receiver
// answers before parsing ([Deduper.Processed]); for any other delivery the
// LRU claims the delivery key alone first, so that a retried duplicate
// skips deriving the other keys. A slot claimed for a delivery that the
// exact keys then decided is released with the rest. The arrivals are recorded
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
// strings.Builder sized once the occurrences are known).
//
// # Pairing
//
// Without a shared identifier, the same occurrence delivered once as legacy
// and once as new is matched on its occurrence key
// K = Type|CompanyID|ConnectionID|DataType|Status (length-prefixed fields,
// only those that every legacy rule of the type carries: see
// [normalize.Occurrence]) and on its occurrence time:
//
//   - a new event's time is its generatedDate, identical across Svix
//     retries, resends and replays, even a day later (a date in the future
//     counts as now);
//   - a legacy delivery's time is when its first attempt arrived: legacy
//     retries come within about 2 minutes and keep the AlertId, so a retry
//     finds its first arrival again (the Retry rule of [dedupe.Arrival]).
//
// [dedupe.Store.Arrive] records each arrival under K and pairs it, atomically,
// with the nearest unpaired arrival of the other side whose time is at most
// [dedupe.Config.Window] (default 10 minutes) away. Twins share one slot,
// "o:"+K+"#"+epoch+"#"+slot, and Begin claims it like any other key, so the
// occurrence is processed once, by whichever format gets there first.
// Arrivals of one side never share a slot, so two genuine occurrences of
// one key (connected, disconnected, connected again) are never merged, even
// within one window. Occurrences with equal K are indistinguishable to the
// matcher (same type, company, connection, data type and status): when two
// fall in one window, which legacy delivery pairs with which new one does
// not change what callbacks are asked to do, only which copy of the body
// they receive.
//
// Errors stay local. An arrival is paired only with arrivals whose times
// are at most Window from its own, and there is no counter: a delivery
// missing in one format, or an extra one, can change only pairings of
// arrivals of its key within Window of it (and, through them, of a run of
// arrivals each within Window of the next). For a key that recurs less
// often than Window, such as a daily sync, it affects only its own
// occurrence, which is then processed once by the format that did arrive.
// (Ordinal pairing, "the i-th legacy arrival is the twin of the i-th new
// one", lost or doubled every later occurrence of the key after one
// missing delivery; TestPairingRunbookOffset and TestPairingErrorsStayLocal
// prove the difference.)
//
// Bounded records. Arrivals are kept per window-aligned interval of K
// (see [dedupe.Arrival]); an interval's record expires a fixed time after its
// occurrence times, Window plus [dedupe.Config.Retention] (default 34 hours,
// covering Svix's 28-hour retry horizon), and never slides. A record holds
// at most [dedupe.Config.MaxArrivals] (default 64) arrivals per side: one more is
// not recorded, is processed on a slot of its own, and its twin may be
// processed too, a double and never a loss ([Deduper.Unpaired] counts
// them, and the first in a minute is logged at Warn). A delivery whose
// occurrence is older than Window plus Retention is handled the same way.
// So a hot key at a steady rate costs at most one bounded record per
// interval alive.
//
// The limits, so that every lost or doubled event can be explained:
//
//   - a twin that arrives more than Window after its occurrence time (a
//     legacy delivery delayed by more than Window, or a replay of a new
//     event older than Window plus Retention) is processed again;
//   - a legacy retry more than Window after its first arrival, or a body
//     without a generatedDate retried more than Window later, pairs afresh
//     and may be processed again;
//   - a delivery that Codat never sends affects its key only within
//     Window of it. Alone in its window, its occurrence is processed once
//     by the format that did arrive. With two occurrences of K within
//     Window, the survivors may pair with each other: when each occurrence
//     lost a different format, the two survivors are taken for twins and
//     one occurrence is lost; when the survivor's endpoint was off and its
//     twin was taken by the other occurrence, one is processed twice
//     (soak's TestMigrationDroppedDelivery shows both). A narrower Window
//     makes this rarer and a late legacy delivery more likely to be
//     processed again;
//   - every replica sharing a store must use the same Window.
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
// has still taken its place on its side). A sync's element therefore
// reaches the read.completed callback once, whichever format delivered it
// first.
//
// # Gated-off deliveries
//
// When one endpoint is switched off, its deliveries still arrive;
// [Deduper.Skip] records their arrival without claiming anything. Example,
// legacy on and new off: the legacy deliveries are processed and their new
// twins, skipped, pair with them. After the operator flips the flags
// (legacy off, new on) a legacy delivery is skipped and recorded, and its
// new twin pairs with it and finds the slot free: it is processed. A replay
// of a skipped delivery keeps its slot and is processed only if its twin
// was not.
//
// # Migration ledger
//
// Each settled delivery (committed, a Duplicate decided past its delivery
// key, or skipped) reports its recorded arrivals to internal/readiness:
// the arrival's slot is the identity its twin shares, and Paired says
// whether the store had paired it. The ledger closes an arrival's window
// Window plus [Grace] after the report; an arrival still unpaired is then,
// for a store other than the LRU, re-asked through Arrive with the same
// side, member and time, which is the Retry rule: it records nothing and
// returns the pairing as it is now, so a twin that another replica
// received is found. A retry that was failed or in flight reports nothing;
// its successful retry does.
//
// # Stores
//
// [dedupe.LRU] is the in-memory default: bounded, lazy expiry, no goroutine, local
// to one process. For several replicas use a shared store (the redisstore
// module). [Noop] never reports a duplicate.
//
// A store that also implements [dedupe.BatchStore] receives Begin's batch,
// and each settlement (Commit, Release, or the commit and releases of a
// Duplicate), as one Do call. On redisstore, which runs a batch whose keys
// share a group as one script, a new delivery costs two round trips
// (Begin; commit), a retried duplicate one and a twin's duplicate two
// (Begin; commit its delivery key and release the rest); pgstore runs
// Begin's batch in three steps ([dedupe.DoInSteps]). Other stores get one
// call per key. The LRU is a BatchStore too: a batch takes its lock and
// reads its clock once.
//
// With the LRU, [Deduper.Processed] answers from a local read
// ([dedupe.LRU.Peek]): the receiver then recognises a retry of a processed
// delivery from its webhook-id before parsing it. A networked store offers
// no such read (every new delivery would pay one more round trip).
package deduper
