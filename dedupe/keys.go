package dedupe

import (
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"time"

	"github.com/codathook/codathook/normalize"
)

// Key kinds. Every store key starts with one of these, so kinds never collide.
const (
	kindDelivery = "d:" // delivery key: webhook-id / svix-id, else body id / AlertId
	kindID       = "i:" // event id shared by both formats (legacy AlertId == new id)
	kindExact    = "x:" // Type + ExactID (push operation key, syncId, report id)
	kindDataset  = "s:" // legacy datasetId (Data sync completed / Dataset data changed)
	kindPair     = "p:" // arrival record of an occurrence key K
	kindSlot     = "o:" // K # epoch # ordinal: the claim for one paired occurrence
)

// maxKeyLen bounds the keys handed to a store: a longer key is replaced by
// its kind and a SHA-256 digest, so attacker-sized ids cost the store little.
const maxKeyLen = 200

// Sides of a pairing: the event's format.
const (
	sideLegacy = string(normalize.FormatLegacy)
	sideNew    = string(normalize.FormatNew)
)

// bounded returns key, or its kind and digest when key is longer than maxKeyLen.
func bounded(key string) string {
	if len(key) <= maxKeyLen {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return key[:2] + "#" + base64.RawURLEncoding.EncodeToString(sum[:])
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

// plan is the set of keys one delivery touches, in Begin order.
type plan struct {
	side   string  // "legacy" or "new"; "" when the format cannot pair
	claims []claim // delivery key first, then exact keys
	pairs  []pair  // occurrences matched by pairing
	reads  int     // number of read.completed elements among pairs
}

type claim struct {
	key string
	ttl time.Duration // commit TTL
}

type pair struct {
	occ     string // occurrence key K (already prefixed and bounded for Arrive)
	slot    string // prefix for the slot key: "o:" + K
	member  string
	element int // dataTypes index, -1 when not a read element
}

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

// deliveryClaim is the first key Begin claims. When the delivery key is the
// event id itself, the id key stands in for it: one claim covers both.
func (d *Deduper) deliveryClaim(del Delivery, dk string) claim {
	if ev := del.Event; side(ev) != "" && ev.ID != "" && dk == ev.ID {
		return claim{bounded(kindID + ev.ID), d.retention}
	}
	return claim{bounded(kindDelivery + dk), d.retention}
}

// plan derives every key of del after first (its delivery claim). See the
// package documentation for the rules.
func (d *Deduper) plan(del Delivery, dk string, first claim) plan {
	p := plan{side: side(del.Event), claims: []claim{first}}
	ev := del.Event
	if p.side == "" {
		return p
	}
	seen := map[string]bool{first.key: true}
	add := func(k string) {
		k = bounded(k)
		if !seen[k] {
			seen[k] = true
			p.claims = append(p.claims, claim{k, d.retention})
		}
	}
	if ev.ID != "" {
		add(kindID + ev.ID)
	}
	var buf []byte
	for _, o := range ev.Occurrences() {
		if o.ExactID != "" {
			buf = fields(append(buf[:0], kindExact...), o.Type, o.ExactID)
			add(string(buf))
			continue
		}
		if o.DatasetID != "" {
			add(kindDataset + o.DatasetID)
		}
		buf = fields(buf[:0], o.Type, o.CompanyID, o.ConnectionID, o.DataType, o.Status)
		k := string(buf)
		member := dk
		switch {
		case o.DatasetID != "":
			// Both legacy events of one dataset are one arrival.
			member = "ds:" + o.DatasetID
		case o.Element >= 0:
			member = dk + "#" + strconv.Itoa(o.Element)
		}
		p.pairs = append(p.pairs, pair{
			occ:     bounded(kindPair + k),
			slot:    kindSlot + k,
			member:  bounded(member),
			element: o.Element,
		})
		if o.Element >= 0 {
			p.reads++
		}
	}
	return p
}

// slotKey names the claim for the ordinal-th arrival of a pairing in epoch.
func slotKey(prefix, epoch string, ordinal int64) string {
	b := make([]byte, 0, len(prefix)+len(epoch)+24)
	b = append(b, prefix...)
	b = append(b, '#')
	b = append(b, epoch...)
	b = append(b, '#')
	b = strconv.AppendInt(b, ordinal, 10)
	return bounded(string(b))
}
