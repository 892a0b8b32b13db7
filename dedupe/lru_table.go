package dedupe

import "math"

// lruTable is the bounded least-recently-used map under [LRU]: an index
// from key to node index ([lruIndex]), and the nodes, linked by index into
// one list from the most to the least recently used, in a slice. Neither
// the index nor the nodes hold a pointer, so the garbage collector never
// scans them, and reusing evicted and removed nodes makes an insert into a
// full table allocation-free. Only arrival records, in a slice of their
// own, are scanned. (It replaces golang-lru's simplelru, whose list
// elements are pointer-linked heap objects, one allocated per insert, and
// then a Go map as the index: docs/BENCHMARKS.md has the measurements.) It
// is not safe for concurrent use; LRU holds its mutex around every call.
//
// Each entry has a weight, at least 1: a claim weighs 1, an occurrence
// key's records one per arrival they hold. The table holds at most size
// weight in all, and evicts the least recently used entries until it does.
type lruTable struct {
	index   lruIndex
	nodes   []lruNode       // nodes[0] is the list's sentinel: next is the most recent
	recs    []*bucketRecord // recs[i] is node i's arrival records, or nil
	free    int32           // first unused node, chained by next; 0 when none
	used    int             // the weight held
	size    int             // the most weight held
	onEvict func(lruKey, lruEntry)
}

// lruNode is one entry of the table, or the list's sentinel.
type lruNode struct {
	key        lruKey
	expires    int64
	prev, next int32
	weight     int32
	state      uint8 // a State
	// arr: recs holds the entry's records. A claim's node never touches
	// recs, whose line (a cache miss in a full table) only arrival
	// entries then pay for.
	arr bool
}

// maxTableSize is the most weight a table holds: node indexes are int32.
const maxTableSize = math.MaxInt32 - 2

// newLRUTable returns an empty table of at most size (> 0) weight.
// onEvict is called with each entry evicted for room.
func newLRUTable(size int, onEvict func(lruKey, lruEntry)) *lruTable {
	size = min(size, maxTableSize)
	t := &lruTable{size: size, onEvict: onEvict}
	t.Purge()
	return t
}

// Len reports the weight held: the number of claims plus the number of
// arrivals recorded.
func (t *lruTable) Len() int { return t.used }

// keys reports the number of keys held.
func (t *lruTable) keys() int { return t.index.n }

// Purge drops every entry.
func (t *lruTable) Purge() {
	t.index.reset()
	t.nodes = make([]lruNode, 1, min(t.size+2, 1024))
	t.recs = make([]*bucketRecord, 1, cap(t.nodes))
	t.free, t.used = 0, 0
}

// entry returns node i's entry.
func (t *lruTable) entry(i int32) lruEntry {
	n := &t.nodes[i]
	e := lruEntry{expires: n.expires, state: State(n.state), weight: n.weight}
	if n.arr {
		e.arr = t.recs[i]
	}
	return e
}

// Get returns k's entry and makes it the most recently used.
func (t *lruTable) Get(k lruKey) (lruEntry, bool) {
	i, _, ok := t.index.find(k, t.nodes)
	if !ok {
		return lruEntry{}, false
	}
	t.toFront(i)
	return t.entry(i), true
}

// Peek returns k's entry without changing its recency.
func (t *lruTable) Peek(k lruKey) (lruEntry, bool) {
	i, _, ok := t.index.find(k, t.nodes)
	if !ok {
		return lruEntry{}, false
	}
	return t.entry(i), true
}

// Add sets k's entry to e (its weight at least 1) and makes it the most
// recently used, then evicts the least recently used other entries until
// the table holds at most its size.
func (t *lruTable) Add(k lruKey, e lruEntry) {
	i, slot, ok := t.index.find(k, t.nodes)
	if !ok {
		t.AddAt(k, e, slot)
		return
	}
	t.used -= int(t.nodes[i].weight)
	t.toFront(i)
	t.set(i, k, e)
}

// Find returns k's node and whether k is held; when it is not, slot is
// where [lruTable.AddAt] can insert it, until the table next changes.
func (t *lruTable) Find(k lruKey) (node int32, slot int, ok bool) {
	return t.index.find(k, t.nodes)
}

// AddAt is Add of a key k that is not held, with slot as [lruTable.Find]
// returned it: the index is not probed again.
func (t *lruTable) AddAt(k lruKey, e lruEntry, slot int) {
	i := t.node()
	t.index.insertAt(k, i, slot)
	t.link(i)
	t.set(i, k, e)
}

// set stores k and e (its weight at least 1) in node i, linked at the
// front, then evicts the least recently used other entries until the
// table holds at most its size.
func (t *lruTable) set(i int32, k lruKey, e lruEntry) {
	w := max(e.weight, 1)
	n := &t.nodes[i]
	if n.arr || e.arr != nil {
		t.recs[i] = e.arr
	}
	n.key, n.expires, n.state, n.weight = k, e.expires, uint8(e.state), w
	n.arr = e.arr != nil
	t.used += int(w)
	for t.used > t.size && t.nodes[0].prev != i {
		j := t.nodes[0].prev
		old := t.entry(j)
		key := t.nodes[j].key
		t.evict(j)
		t.onEvict(key, old)
	}
}

// node returns an unused node, unlinked: a removed or evicted one if any.
func (t *lruTable) node() int32 {
	if i := t.free; i != 0 {
		t.free = t.nodes[i].next
		return i
	}
	if len(t.nodes) == cap(t.nodes) {
		// Grow by doubling, but never past the most nodes a full table
		// needs: one per unit of weight, one being inserted, the sentinel.
		n := min(2*cap(t.nodes), t.size+2)
		t.nodes = append(make([]lruNode, 0, n), t.nodes...)
		t.recs = append(make([]*bucketRecord, 0, n), t.recs...)
	}
	t.nodes = append(t.nodes, lruNode{})
	t.recs = append(t.recs, nil)
	return int32(len(t.nodes) - 1)
}

// Remove drops k's entry, if any.
func (t *lruTable) Remove(k lruKey) {
	if i, slot, ok := t.index.find(k, t.nodes); ok {
		t.drop(i, slot)
	}
}

// evict drops node i's entry (found in the index by its key).
func (t *lruTable) evict(i int32) {
	if _, slot, ok := t.index.find(t.nodes[i].key, t.nodes); ok {
		t.drop(i, slot)
	}
}

// drop removes node i's entry, held in the index's slot, and frees the
// node.
func (t *lruTable) drop(i int32, slot int) {
	n := &t.nodes[i]
	t.index.removeAt(slot)
	t.used -= int(n.weight)
	t.unlink(i)
	if n.arr {
		t.recs[i] = nil
	}
	*n = lruNode{next: t.free}
	t.free = i
}

// link puts node i (unlinked) at the front.
func (t *lruTable) link(i int32) {
	front := t.nodes[0].next
	t.nodes[i].prev, t.nodes[i].next = 0, front
	t.nodes[front].prev, t.nodes[0].next = i, i
}

// unlink takes node i out of the list.
func (t *lruTable) unlink(i int32) {
	n := &t.nodes[i]
	t.nodes[n.prev].next, t.nodes[n.next].prev = n.next, n.prev
}

// toFront makes node i the most recently used.
func (t *lruTable) toFront(i int32) {
	if t.nodes[0].next == i {
		return
	}
	t.unlink(i)
	t.link(i)
}
