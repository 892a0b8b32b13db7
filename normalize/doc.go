// Package normalize classifies Codat webhook bodies and turns them into typed,
// normalized events, whichever format Codat sent them in.
//
// Codat delivers webhooks in two shapes. The new event types arrive in an
// envelope {id, eventType, generatedDate, payload}; the legacy "rules" arrive as
// {AlertId, RuleType, ..., Data}. [Parse] decodes either shape once and returns
// an [Event] whose Type is always a new event type name (for example
// "connection.connected"), so callers register one callback per new type and
// receive legacy deliveries through it with the same meaning.
//
// The package is pure: it does no I/O, keeps no state and is safe for
// concurrent use. It depends on the standard library only.
//
// # Classification
//
// Classification and [Parse] look only at top-level keys, matched case-insensitively
// (as encoding/json does):
//
//   - a non-empty string "eventType" means [FormatNew];
//   - otherwise a non-empty "RuleType" or "AlertId" means [FormatLegacy];
//   - otherwise a non-empty "type": a value containing a dot is the new
//     envelope with its type under "type" (the A′ shape of one Codat blog
//     example) and is [FormatNew]; any other value is a pre-2023 legacy body
//     that used "Type" for the rule type and is [FormatLegacy];
//   - any other JSON object is [FormatUnknown] (for example the pre-2025 bank
//     feed body {companyId, connectionId, bankAccount}). This is not an error.
//
// Bytes that are not JSON, or a top-level value that is not an object, give a
// [*MalformedError]. So does a known field holding the wrong JSON type (for
// example "payload": "x" or "dailyQuota": "ten"): Codat's schemas fix those types,
// and an event that cannot be represented faithfully is not half-decoded.
//
// # Legacy rule types
//
// Rule names are matched tolerantly: ASCII case is ignored and every character
// that is not a letter or a digit is dropped, so surrounding space, a trailing
// "()", hyphens and the Svix PascalCase catalogue names (for example
// "PushOperationStatusChanged") all match; "synchronised" equals
// "synchronized". The mapping catalogue lists every rule, the event type(s) it maps
// to and the field mapping; the table in the repository's docs/EVENTS.md is
// generated from it.
//
// Mapping decisions where Codat's tables are silent:
//
//   - DataConnectionStatusChanged: none→PendingAuth is connection.created,
//     PendingAuth→Linked connection.connected, Linked→Unlinked|Deauthorized
//     connection.disconnected, Unlinked|Deauthorized→Linked
//     connection.reconnected, and no status at all (Codat's "- / -" row)
//     connection.deleted. Every other transition (PendingAuth→Deauthorized,
//     Linked→Linked, none→Linked, unknown statuses, ...) becomes the legacy-only
//     type DataConnectionStatusChanged carrying a [*ConnectionEvent].
//     Statuses are compared ignoring ASCII case.
//   - Push Operation Status Changed: Success → {dataType}.write.successful;
//     Failed, TimedOut → {dataType}.write.unsuccessful; Pending →
//     PushOperationPending. Any other status, or a push rule without a
//     dataType, becomes PushOperationStatusChanged; all are [*WriteEvent].
//   - Data sync completed → read.completed with one element, status
//     "Complete", recordsModified false; Dataset data changed → the same with
//     recordsModified true; Data Sync Status Changed To Error → status taken
//     from datasetStatus (kept as sent, "" when missing), recordsModified false.
//   - New company synchronised → read.completed.initial with an empty
//     dataTypes array (the legacy body names no data type); the connection id
//     is in [Event.ConnectionID].
//   - Account Categories Updated, Sync Started and unknown rule types become
//     the legacy-only types AccountCategoriesUpdated, SyncStarted
//     and UnknownLegacyRule. An unknown rule is never an error.
//
// Every typed legacy field, including those the new schema dropped (Message,
// ClientId, ClientName, RuleId, datasetId, oldStatus, FailureStage, ...), and
// the raw Data stay available in [Event.Legacy]; the typed event's
// [Envelope.Legacy] points to the same value.
//
// A legacy body carries much less than its new event type, and what it does
// not carry stays empty (the zero value: "", 0, false, nil) in the typed
// event. [Envelope.GeneratedDate] is always empty; a legacy
// connection.connected, for example, fills only Payload.ReferenceCompany.ID
// and Payload.Connection's ID, IntegrationKey and Status, so
// Payload.Connection.PlatformName is "" although a new-format
// connection.connected carries it. A callback that serves both formats
// should rely only on fields both fill. The "Empty from legacy" column of
// the table in docs/EVENTS.md lists, for every rule, the fields that stay
// empty; the package's tests derive it from Codat's examples of both
// formats, so it follows the mapping.
//
// # Decoding
//
// Parse decodes legacy bodies and new-format bodies of the catalogue's
// families (all but event types this version does not know and the
// legacy-only AccountCategoriesUpdated, SyncStarted and UnknownLegacyRule)
// with a hand-written, validating, single-pass reader straight into the
// typed event: a few allocations per body instead of dozens, several times
// faster than encoding/json. It keeps encoding/json's semantics (keys matched ignoring
// case, unknown keys ignored, null leaving a field unset, strings unescaped
// byte for byte alike, invalid UTF-8 replaced). Any body it is not sure about
// (malformed JSON, wrong types, repeated keys, keys with escapes or non-ASCII
// bytes, numbers that do not fit) is decoded by encoding/json instead, so
// results and errors are the same either way; differential fuzz tests hold
// the two paths to that.
//
// # New-format quirks
//
// The event type is trusted as sent: Codat's example of client.rateLimit.reset
// that says "client.rateLimit.reached" is a reached event, and the OAS examples'
// literal "{dataType}.write.successful" is a write event whose data type is
// "{dataType}". Dates and enums stay strings, as sent, so
// "2024-09-01T23:59:99Z" survives. An event type this version does not know
// gives an [Event] with that Type and a nil Typed.
package normalize
