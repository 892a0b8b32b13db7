package deduper

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/codathook/codathook/dedupe"
	"github.com/codathook/codathook/normalize"
)

// Key kinds. Every store key starts with one of these, so kinds never collide.
const (
	kindDelivery = "d:" // delivery key: webhook-id / svix-id, else body id / AlertId
	kindID       = "i:" // event id shared by both formats (legacy AlertId == new id)
	kindExact    = "x:" // Type + ExactID (push operation key, syncId, report id)
	kindDataset  = "s:" // legacy datasetId (Data sync completed / Dataset data changed)
	kindPair     = "p:" // the arrivals of an occurrence key K
	kindSlot     = "o:" // K # epoch # slot: the claim for one paired occurrence
	kindAudit    = "a:" // Type + ExactID: the arrivals of an exact occurrence, for the migration ledger only
	kindMember   = "ds:"
)

// maxKeyLen bounds the keys handed to a store: a longer key is replaced by
// its kind and a SHA-256 digest, so attacker-sized ids cost the store little.
const maxKeyLen = 200

// digestKeyLen is the length of a bounded key: kind, '#', base64 digest.
const digestKeyLen = 2 + 1 + 43

// guessEpochSlot is the room a Begin's key buffer keeps for the
// epoch "#" slot of each slot key, which is only known after the
// arrival: a longer one costs one more allocation, never a wrong key.
const guessEpochSlot = 24

// groupLen is the length of a key group: "{", 6 base64 bytes, "}".
const groupLen = 8

// group is the group of every key a delivery touches on a shared store:
// "{" + 36 bits of FNV-1a of its company id, ASCII case folded, in base64
// + "}". Its retries and its twin in the other format name the same
// company, so they touch keys of the same group, which a store that
// spreads keys over servers keeps together (see [dedupe.Store]): one
// script can then run a delivery's whole batch on Redis Cluster. Two
// companies may share a group; their keys still differ.
type group [groupLen]byte

// groupOf returns ev's group.
func groupOf(ev *normalize.Event) group {
	// FNV-1a (64 bits), inline: hash/fnv's interface would allocate.
	sum := uint64(14695981039346656037)
	if ev != nil {
		for i := 0; i < len(ev.CompanyID); i++ {
			c := ev.CompanyID[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			sum = (sum ^ uint64(c)) * 1099511628211
		}
	}
	var g group
	g[0], g[groupLen-1] = '{', '}'
	const enc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := 1; i < groupLen-1; i++ {
		g[i] = enc[sum&63]
		sum >>= 6
	}
	return g
}

// ungrouped returns key without its group, if it has one.
func ungrouped(key string) string {
	if len(key) >= groupLen && key[0] == '{' && key[groupLen-1] == '}' {
		return key[groupLen:]
	}
	return key
}

// bounded returns key, or its kind and digest when key is longer than maxKeyLen.
func bounded(key string) string {
	if len(key) <= maxKeyLen {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return key[:2] + "#" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// boundedLen is the length of bounded(k) for a key of length n.
func boundedLen(n int) int {
	if n <= maxKeyLen {
		return n
	}
	return digestKeyLen
}

// keyBuf builds the keys of one Begin (or Skip) after its first key in one
// allocation, sized once the occurrences are known: each key
// is appended to a strings.Builder and returned as a substring of its
// contents. Bytes once written are never changed (a Builder that grows
// copies to a new array and leaves the old one intact), so the substrings
// stay valid; a store that keeps a key keeps the buffer alive with it.
type keyBuf struct {
	b       strings.Builder
	group   group // written before every key when grouped
	grouped bool
}

// setGroup makes k write ev's group before every key.
func (k *keyBuf) setGroup(ev *normalize.Event) {
	k.group, k.grouped = groupOf(ev), true
}

// prefix is the group k writes before every key, or nothing.
func (k *keyBuf) prefix() []byte {
	if !k.grouped {
		return nil
	}
	return k.group[:]
}

// key appends the delivery's group and raw, bounded, and returns them as
// a string: a store key.
func (k *keyBuf) key(raw []byte) string {
	start := k.b.Len()
	k.b.Write(k.prefix())
	k.write(raw)
	return k.b.String()[start:]
}

// scratch is a stack buffer for assembling one key before it is bounded.
type scratch [maxKeyLen + groupLen + 64]byte

// add appends raw, bounded, and returns it as a string (a member: no
// group).
func (k *keyBuf) add(raw []byte) string {
	start := k.b.Len()
	k.write(raw)
	return k.b.String()[start:]
}

// write appends raw, bounded.
func (k *keyBuf) write(raw []byte) {
	if len(raw) <= maxKeyLen {
		k.b.Write(raw)
		return
	}
	sum := sha256.Sum256(raw)
	var enc [43]byte
	base64.RawURLEncoding.Encode(enc[:], sum[:])
	k.b.Write(raw[:2])
	k.b.WriteByte('#')
	k.b.Write(enc[:])
}

// is reports whether key is raw as k.key would write it.
func (k *keyBuf) is(key string, raw []byte) bool {
	g := k.prefix()
	if len(key) < len(g) || key[:len(g)] != string(g) {
		return false
	}
	key = key[len(g):]
	return key == string(raw) || len(raw) > maxKeyLen && key == bounded(string(raw))
}

// addRaw appends raw unbounded and returns it as a string.
func (k *keyBuf) addRaw(raw []byte) string {
	start := k.b.Len()
	k.b.Write(raw)
	return k.b.String()[start:]
}

// fields encodes strings without ambiguity: each is length-prefixed.
func fields(b []byte, ss ...string) []byte {
	for _, s := range ss {
		b = strconv.AppendInt(b, int64(len(s)), 10)
		b = append(b, ':')
		b = append(b, s...)
	}
	return b
}

// fieldsLen is len(fields(nil, ss...)).
func fieldsLen(ss ...string) int {
	n := 0
	for _, s := range ss {
		n += digits(len(s)) + 1 + len(s)
	}
	return n
}

// digits is the number of decimal digits of n >= 0.
func digits(n int) int {
	d := 1
	for n >= 10 {
		n /= 10
		d++
	}
	return d
}

// plan is the set of keys one delivery touches after its delivery claim,
// in Begin order. It lives on Begin's stack, and so do the arrays behind
// its slices in the common case (the id key and one or two occurrences).
type plan struct {
	exact []string // exact keys ("i:", "x:", "s:"), in claim order
	pairs []pair   // occurrences matched by pairing
	audit []pair   // occurrences with an ExactID: arrivals recorded, no slot claimed
	reads int      // number of read.completed elements among pairs
}

type claim struct {
	key string
	ttl time.Duration // commit TTL
}

type pair struct {
	occ     string // group + "p:" + K, bounded: the arrival key
	k       string // K itself (unbounded), for a slot of its own
	stem    string // group + "o:" + K (bounded) + "#": the slot keys' prefix
	member  string
	element int    // dataTypes index, -1 when not a read element
	slot    string // the slot claimed, once the arrival is known

	// The slot claim's result, once known (claimed: the claim ran).
	claimed bool
	state   dedupe.State
	err     error
}

// privateSlot marks a slot key that no twin can share: the arrival was not
// recorded (too old to pair, or over Config.MaxArrivals). No epoch starts
// with it.
const privateSlot = "~"

// deliveryKey is the key the delivery is known by: Delivery.Key, else the
// event id, else a digest of the body (identical bodies are one delivery).
func deliveryKey(del Delivery) string {
	if del.Key != "" {
		return del.Key
	}
	if del.Event == nil {
		return ""
	}
	if del.Event.ID != "" {
		return del.Event.ID
	}
	sum := sha256.Sum256(del.Event.Body)
	return "body#" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// side returns the pairing side of ev: "legacy", "new", or "" when its
// format cannot pair.
func side(ev *normalize.Event) string {
	if ev != nil && (ev.Format == normalize.FormatLegacy || ev.Format == normalize.FormatNew) {
		return string(ev.Format)
	}
	return ""
}

// firstKey returns the first key Begin claims: the delivery key, under
// group g (none: nil), in an allocation of its own (a retried duplicate
// needs nothing else), or claim when the caller built it ([Delivery.Claim]).
// When the delivery key is the event id itself, the id key stands in for
// it: one claim covers both.
func firstKey(g []byte, ev *normalize.Event, sd, dk, claim string) string {
	kind := kindDelivery
	if sd != "" && ev.ID != "" && dk == ev.ID {
		kind = kindID
	} else if len(g) == 0 && claim != "" {
		return claim
	}
	if len(g) == 0 || len(kind)+len(dk) > maxKeyLen {
		return string(g) + bounded(kind+dk)
	}
	var b strings.Builder // one allocation
	b.Grow(len(g) + len(kind) + len(dk))
	b.Write(g)
	b.WriteString(kind)
	b.WriteString(dk)
	return b.String()
}

// DeliveryClaim is the claim key of delivery key dk (when it is not the
// event id) on the in-memory store, without a group: "d:" + dk, bounded.
func DeliveryClaim(dk string) string { return bounded(kindDelivery + dk) }

// Processed reports whether the delivery whose [DeliveryClaim] is claim
// (see [MessageKeys]) was processed and committed, reading the store
// without claiming anything, so that a retry can be acknowledged before
// its body is even parsed. It reports false when the store is not the
// in-memory LRU, when it fails, and for a delivery whose key is its own
// event id ([Begin] records those under the id key): [Deduper.Begin] then
// decides as usual.
func (d *Deduper) Processed(ctx context.Context, claim string) bool {
	if d.lru == nil {
		return false
	}
	st, err := d.lru.Peek(ctx, claim)
	return err == nil && st == dedupe.Done
}

// MessageKeys returns the delivery key of the signed message id, "msg:" +
// id, and its [DeliveryClaim], built as one string when it fits a key.
func MessageKeys(id string) (key, claim string) {
	claim = kindDelivery + "msg:" + id
	key = claim[len(kindDelivery):]
	return key, bounded(claim)
}

// planLen is the key bytes buildPlan writes for occs, with slot keys
// estimated (epochs are not known yet).
func planLen(ev *normalize.Event, dk string, g int, occs []normalize.Occurrence) int {
	n := 0
	if ev.ID != "" {
		n += g + boundedLen(2+len(ev.ID))
	}
	for _, o := range occs {
		if o.ExactID != "" {
			n += 2 * (g + boundedLen(2+fieldsLen(o.Type, o.ExactID)))
			if len(dk) > maxKeyLen {
				n += digestKeyLen
			}
			continue
		}
		if o.DatasetID != "" {
			n += g + boundedLen(2+len(o.DatasetID)) + boundedLen(3+len(o.DatasetID))
		} else if o.Element >= 0 {
			n += boundedLen(len(dk) + 1 + digits(o.Element))
		} else if len(dk) > maxKeyLen {
			n += digestKeyLen
		}
		k := fieldsLen(o.Type, o.CompanyID, o.ConnectionID, o.DataType, o.Status)
		n += g + boundedLen(2+k) // the arrival key
		if 2+k > maxKeyLen {
			n += k
		}
		stem := g + boundedLen(2+k) + 1
		n += 2*stem + guessEpochSlot // the stem, and the slot key
	}
	return n
}

// buildPlan derives every key of a delivery with a pairing side after its
// first key, appending to exact and pairs (the caller's arrays). See the
// package documentation for the rules.
func buildPlan(k *keyBuf, ev *normalize.Event, dk, first string, exact []string, pairs, audit []pair) plan {
	occs := ev.Occurrences()
	if len(occs) > cap(pairs) {
		pairs = make([]pair, 0, len(occs))
	}
	p := plan{exact: exact, pairs: pairs, audit: audit}
	k.b.Grow(planLen(ev, dk, len(k.prefix()), occs))
	var s scratch
	if ev.ID != "" {
		p.exact = addExact(p.exact, k, first, append(append(s[:0], kindID...), ev.ID...))
	}
	for _, o := range occs {
		if o.ExactID != "" {
			p.exact = addExact(p.exact, k, first, fields(append(s[:0], kindExact...), o.Type, o.ExactID))
			a := pair{element: -1, occ: k.key(fields(append(s[:0], kindAudit...), o.Type, o.ExactID)), member: dk}
			if len(dk) > maxKeyLen {
				a.member = k.add(append(s[:0], dk...))
			}
			p.audit = append(p.audit, a)
			continue
		}
		if o.DatasetID != "" {
			p.exact = addExact(p.exact, k, first, append(append(s[:0], kindDataset...), o.DatasetID...))
		}
		raw := fields(append(s[:0], kindPair...), o.Type, o.CompanyID, o.ConnectionID, o.DataType, o.Status)
		pr := pair{element: o.Element}
		pr.occ = k.key(raw)
		if len(raw) <= maxKeyLen {
			pr.k = pr.occ[len(k.prefix())+len(kindPair):]
		} else {
			pr.k = k.addRaw(raw[len(kindPair):])
		}
		copy(raw, kindSlot) // "o:" + K, bounded, "#"
		start := k.b.Len()
		k.key(raw)
		k.b.WriteByte('#')
		pr.stem = k.b.String()[start:]
		switch {
		case o.DatasetID != "":
			// Both legacy events of one dataset are one arrival.
			pr.member = k.add(append(append(s[:0], kindMember...), o.DatasetID...))
		case o.Element >= 0:
			pr.member = k.add(strconv.AppendInt(append(append(s[:0], dk...), '#'), int64(o.Element), 10))
		case len(dk) > maxKeyLen:
			pr.member = k.add(append(s[:0], dk...))
		default:
			pr.member = dk
		}
		p.pairs = append(p.pairs, pr)
		if o.Element >= 0 {
			p.reads++
		}
	}
	return p
}

// addExact appends the exact key raw (grouped, bounded) to exact unless it
// is first or already there.
func addExact(exact []string, k *keyBuf, first string, raw []byte) []string {
	if k.is(first, raw) {
		return exact
	}
	for _, e := range exact {
		if k.is(e, raw) {
			return exact
		}
	}
	return append(exact, k.key(raw))
}

// slotKey writes and returns the claim of pg's slot for pr: its stem +
// epoch + "#" + slot, as [dedupe.Op.SlotPrefix] says; for an arrival that
// was not recorded (pg.Epoch empty), a slot of its own: group + "o:" + K +
// "#~" + side + "#" + member, bounded.
func slotKey(k *keyBuf, pr *pair, side string, pg dedupe.Pairing) string {
	var s scratch
	if pg.Epoch == "" {
		b := append(append(s[:0], kindSlot...), pr.k...)
		b = append(append(append(append(append(b, '#'), privateSlot...), side...), '#'), pr.member...)
		return k.key(b)
	}
	b := append(append(append(s[:0], pr.stem...), pg.Epoch...), '#')
	return k.addRaw(strconv.AppendInt(b, pg.Slot, 10))
}
